"""FastAPI application factory: ``uvicorn api.app:create_app --factory``."""

from __future__ import annotations

import gc
import logging
import threading
from dataclasses import replace
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import admission, body_limit, docs_page, replicas, responses, unavailable, warmup
from api.admission import app_path
from api.compression import Compression
from api.cors import Cors
from api.etags import OgcETags
from api.head import PREFIXES as HEAD_PREFIXES
from api.head import HeadAsGet
from api.hosts import TrustedHosts
from api.ogc import router as ogc
from api.ogc.exceptions import exception_response, is_ogc
from api.quota import SlidingWindow
from api.regions_prefix import RegionPrefix
from api.routers import (
    analysis,
    deployment,
    editor,
    editor_bulk,
    editor_card,
    editor_history,
    editor_reports,
    editor_stations,
    finder,
    health,
    home,
    hours,
    maps,
    plan_jobs,
    plan_page,
    regions,
    reports,
    station_undo,
    station_writes,
    stations,
    tiles,
    transfer,
)
from api.security_headers import SecurityHeaders
from geo.analysis import engine
from geo.analysis.siting import InfeasibleProblem, SolverFailed
from geo.analysis.solver_pool import Cancelled, SolverBusy, SolverPool, TimeLimitExceeded
from geo.errors import (
    Forbidden,
    InputError,
    InputErrors,
    NotFound,
    PreconditionRequired,
    RateLimited,
    StateConflict,
    UnionmapError,
    VersionConflict,
)
from geo.reference.region import load_config
from geo.services.coverage_features import CoverageCache
from geo.services.coverage_query import ModelCache, NoGrid
from geo.services.region_of_database import active_region, folder_in_use, held_regions
from geo.services.rollup import province_areas
from geo.services.reports import ClientHasher, ReportedClosed
from geo.settings import Settings, get_settings
from geo.store import db
from maps import assets

log = logging.getLogger("unionmap.app")

ERROR_STATUS: dict[type[UnionmapError], int] = {
    NotFound: 404, InputError: 422, InputErrors: 422, InfeasibleProblem: 422, SolverFailed: 422,
    VersionConflict: 412, PreconditionRequired: 428, NoGrid: 409, TimeLimitExceeded: 422, SolverBusy: 503,
    Cancelled: 499,  # the client has gone; nobody reads it (nginx's "client closed request")
    Forbidden: 403, StateConflict: 409, RateLimited: 429,
}

# The OGC exception code of an HTTP error under /ogc that no route raised itself.
OGC_CODES = {404: "NotFound", 405: "MethodNotAllowed", 406: "NotAcceptable", 413: "PayloadTooLarge"}

DESCRIPTION = """
{union}服务阵地目录与覆盖分析 API：爱心驿站、三师一室、职工书屋、工人文化宫、职工之家。

Catalogue and coverage API of trade-union service points. Coordinates are WGS-84 (EPSG:4326),
GeoJSON order (lon, lat). **Demo data and approximate boundaries are flagged in every feature**
(`is_demo`, `region_is_approximate`, `boundary_is_approximate`, `population_is_modelled`).
"""


class RefuseNulBytes:
    """PostgreSQL text cannot hold NUL: answer 422 (400 in OGC's shape under /ogc) naming the
    parameter instead of failing in the database. A plain ASGI middleware: Starlette's
    ``BaseHTTPMiddleware`` costs every request a task group and a copy of the response."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "http" and (b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", "")):
            from starlette.requests import Request as StarletteRequest

            request = StarletteRequest(scope)
            for name, value in request.query_params.multi_items():
                if "\x00" in value or "\x00" in name:
                    if is_ogc(app_path(scope)):
                        response = exception_response(400, "InvalidParameterValue",
                                                      f"parameter {name!r} contains a NUL byte", name)
                    else:
                        response = JSONResponse(status_code=422, content=validation_body(
                            [InputError("contains a NUL byte", field=name)],
                            f"query parameter {name!r} contains a NUL byte"))
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def validation_body(errors: list[InputError], message: str) -> dict[str, object]:
    """A 422 body in FastAPI's own shape (``detail``: loc, msg, type), so every 422 of the API
    reads the same; ``loc`` ends with the field, and the row for files. Also ``message`` (one
    line for people), ``field`` (the first field) and, for files, ``errors`` (row, field, reason)."""
    detail = [{"loc": [*(["row", e.row] if e.row is not None else []), e.field or "body"], "msg": e.reason,
               "type": "value_error"} for e in errors]
    body: dict[str, object] = {"detail": detail, "message": message, "field": errors[0].field if errors else None}
    if any(e.row is not None for e in errors):
        body["errors"] = [{"row": e.row, "field": e.field, "reason": e.reason} for e in errors]
    return body


def _take_the_database_regions(app: FastAPI, settings: Settings) -> None:
    """At start-up: serve the regions the database holds (their folders, names, time zones), the
    default one at ``/`` (the one the settings name, when they name one) and every one at
    ``/r/{code}/``. A region named in the settings that the database does not hold stops the start
    (``RegionMismatch``, logged with both). A database that cannot be reached leaves the settings'
    region: the app starts and answers 503 until the database is back."""
    try:
        with app.state.session_factory() as session:
            default = active_region(settings, session)
            held = held_regions(settings, session)
            provinces = province_areas(session)
    except sqlalchemy.exc.OperationalError as error:
        log.warning("数据库不可达，暂用设置中的地区 / database unreachable, serving the settings' region: %s",
                    error.orig or error)
        return
    except UnionmapError as error:
        log.error("拒绝启动 / refusing to start: %s", error)
        raise
    app.state.regions = {config.code: config for config in held} or {default.code: default}
    app.state.provinces = {code: replace(area, county_units=any(
        app.state.regions[city].county_units for city in area.cities if city in app.state.regions))
        for code, area in provinces.items()}
    if default.folder != app.state.region.folder:
        app.state.region = default
        app.description = DESCRIPTION.format(union=default.union_name)
        app.openapi_schema = None


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for the given settings (default: from the environment)."""
    settings = settings or get_settings()
    if not assets.installed():
        raise RuntimeError(f"map assets missing in {assets.ASSETS_DIR}: run scripts/setup.sh")
    if settings.basemap == "pmtiles" and settings.drawn_basemap != "pmtiles":
        log.error("离线底图文件不存在 / UNIONMAP_BASEMAP_PMTILES=%s is not a file: the maps draw no basemap "
                  "until it is there", settings.basemap_pmtiles)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = db.make_engine(settings, server=True)
        app.state.incidents.watch(engine)
        app.state.read_routing = replicas.start_routing(settings, app.state.incidents)  # None: no read URLs
        replicas.watch_commits(engine)
        app.state.session_factory = db.make_session_factory(engine)
        app.state.read_session_factory = db.make_read_session_factory(engine)
        _take_the_database_regions(app, settings)
        # The ~220 000 objects of start-up (geopandas, pyproj, the routes) live as long as the
        # process: out of the collector's sight, a full collection takes 0.5–1.3 ms instead
        # of 164–184 ms that would land on some request's latency.
        gc.freeze()
        if settings.solver_warm_at_start:
            threading.Thread(target=warmup.warm_siting, args=(app,), name="siting-warm", daemon=True).start()
        yield
        app.state.solver_pool.close()
        engine.dispose()
        if app.state.read_routing is not None:
            app.state.read_routing.dispose()

    # /docs is added below with Swagger UI from this app's own assets (FastAPI's loads a CDN).
    # the database's region when it can be reached (the default folder may not exist in another city's
    # deployment); start-up checks it again against the settings (``_take_the_database_region``)
    region = load_config(folder_in_use(settings))
    app = FastAPI(title="unionmap 工会服务阵地地图", description=DESCRIPTION.format(union=region.union_name),
                  version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.incidents = unavailable.Incidents()
    app.state.key_failures = SlidingWindow("wrong API keys", allowed=settings.key_failures_allowed,
                                           window_s=settings.key_failure_window_s)
    app.state.anonymous_plans = SlidingWindow("anonymous plans", allowed=settings.anonymous_plans_allowed,
                                              window_s=settings.anonymous_plan_window_s)
    app.state.lanes = admission.lanes_for(settings)
    app.state.solver_pool = SolverPool(settings.solver_processes, wait_s=settings.solver_wait_s)
    app.state.region = region  # the default region, served at / (start-up reads the database's)
    app.state.regions = {region.code: region}  # every city held, served at /r/{code}/
    app.state.provinces = {}  # every province held (geo.services.rollup.ProvinceArea), at /r/{code}/ too
    app.state.model_cache = ModelCache(engine.files_directory(settings))
    app.state.ogc_coverage_cache = CoverageCache(app.state.model_cache)
    app.state.report_hasher = ClientHasher()  # riders' reports: the client-hash key, read once
    app.state.reported_closed = ReportedClosed(refresh_s=settings.reported_closed_refresh_s)
    # Any route may answer 503 (admission control, a database away): documented once, for all.
    busy: dict[int | str, dict[str, Any]] = {503: responses.UNAVAILABLE}
    for router in (health.router, deployment.router, stations.router, station_writes.router, station_undo.router, regions.router,
                   transfer.router, plan_jobs.router, analysis.router, plan_page.router, hours.router, reports.router):
        app.include_router(router, prefix="/api/v1", responses=busy)
    for router in (maps.router, ogc.router, finder.router, home.router, tiles.router, editor.router,
                   editor_bulk.router, editor_card.router, editor_history.router, editor_reports.router,
                   editor_stations.router):
        app.include_router(router, responses=busy)
    app.mount(assets.URL_PREFIX, StaticFiles(directory=assets.ASSETS_DIR), name="vendor")
    app.mount(assets.OWN_PREFIX, StaticFiles(directory=assets.OWN_DIR), name="unionmap")

    @app.get("/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return docs_page.swagger_ui(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} · API")

    app.add_middleware(replicas.CommitPosition, settings=settings)  # innermost: it sees the handler's own answer
    app.add_middleware(RefuseNulBytes)
    app.add_middleware(TrustedHosts, settings=settings)  # 400 for a Host not in settings.trusted_hosts
    app.add_middleware(OgcETags)  # inside compression: one tag for the body, whatever its encoding
    app.add_middleware(SecurityHeaders, settings=settings)
    app.add_middleware(Compression)  # outside SecurityHeaders: it rewrites a page's scripts uncompressed

    app.add_middleware(body_limit.BodyLimit, settings=settings)
    app.add_middleware(HeadAsGet)  # outside compression and the page rewriter: HEAD's headers are GET's
    app.add_middleware(Cors, settings=settings)  # a preflight is answered before the body limit reads anything
    # Outermost: a request without a slot is answered before any other work is done for it.
    app.add_middleware(admission.AdmissionControl, lanes=app.state.lanes)
    # Outside even that: /r/{code}/… becomes the region's root path before anything reads the path.
    app.add_middleware(RegionPrefix, held=lambda: [*app.state.regions, *app.state.provinces])
    database_unavailable = unavailable.handler(app.state.incidents, settings.retry_after_s)
    for kind in unavailable.UNAVAILABLE:
        app.add_exception_handler(kind, database_unavailable)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        """Under /ogc every error has the standard's exception body (an unknown path's 404, a
        405); elsewhere FastAPI's own ``{"detail": …}``. A 405's ``Allow`` names HEAD wherever
        ``api.head`` answers it."""
        headers = dict(error.headers or {})
        allowed = headers.get("Allow", "")
        if "GET" in allowed and "HEAD" not in allowed and app_path(request.scope).startswith(HEAD_PREFIXES):
            headers["Allow"] = allowed.replace("GET", "GET, HEAD", 1)
        if is_ogc(app_path(request.scope)) and error.status_code >= 400:
            return exception_response(error.status_code, OGC_CODES.get(error.status_code, "HTTPError"),
                                      str(error.detail), headers=headers)
        return await http_exception_handler(request, StarletteHTTPException(error.status_code, error.detail, headers))

    @app.exception_handler(UnionmapError)
    async def domain_error(request: Request, error: UnionmapError) -> JSONResponse:
        status = next((code for kind, code in ERROR_STATUS.items() if isinstance(error, kind)), 400)
        headers = ({"ETag": f'"{error.current}"'} if isinstance(error, VersionConflict)
                   else {"Retry-After": str(error.retry_after_s)} if isinstance(error, RateLimited)
                   else {"Retry-After": str(settings.retry_after_s)} if status == 503 else None)
        if status != 422:
            return JSONResponse(status_code=status, content={"detail": str(error)}, headers=headers)
        if isinstance(error, InputErrors):
            errors = error.errors
        elif isinstance(error, InputError):
            errors = [error]
        else:  # e.g. an infeasible plan: the request as a whole cannot be met
            field = "time_limit_s" if isinstance(error, TimeLimitExceeded) else getattr(error, "field", None)
            errors = [InputError(str(error), field=field)]
        return JSONResponse(status_code=422, content=validation_body(errors, str(error)))

    return app
