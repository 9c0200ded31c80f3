"""Request-scoped dependencies: settings, a database session, the caller's key, parameters.

Dependencies that only read ``app.state`` are ``async def``: FastAPI runs a plain ``def``
dependency in the thread pool, a hop that costs more than the lookup itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any, TypeVar, cast

import numpy as np
from fastapi import Depends, Header, HTTPException, Path, Query, Request
from sqlalchemy.orm import Session

from api.admission import CLIENT_GONE
from api.editor import auth
from api.regions_prefix import region_of_scope
from api.replicas import read_session
from geo.analysis import engine
from geo.analysis.coverage import CoverageModel, StationPoints, TypeRadius
from geo.analysis.planning import PlanResult
from geo.analysis.solver_pool import SolverBusy, TimeLimitExceeded
from geo.analysis.whatif import WhatIf
from geo.core.crs import CoordSystem
from geo.notices import DEMO
from geo.reference.region import RegionConfig
from geo.services.coverage_query import ModelCache
from geo.services.transaction import end_reads
from geo.settings import Settings
from geo.store.keys import Caller, authenticate
from geo.store.scope import RegionNotCity, set_scope
from geo.services.rollup import ProvinceArea

T = TypeVar("T")


async def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    return cast(Settings, request.app.state.settings)  # set by create_app


def get_session(request: Request) -> Iterator[Session]:
    """A session for this request; handlers that write do so in ``unit_of_work``.

    Used with ``scope="function"`` (``SessionDep``): the session is closed, and its connection
    back in the pool, as soon as the endpoint returns, not after the response has been sent
    to a client that may read it slowly or never.
    """
    with request.app.state.session_factory() as session:
        yield session


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    """A read-only session in autocommit for hot read paths (the phone finder, OGC API).

    Async on purpose: making and closing it does no I/O (no transaction to roll back), so it
    need not cost two hops through the thread pool as a sync dependency would.
    """
    session = await read_session(request)  # a replica's, or the primary's (api/replicas.py)
    try:
        yield session
    finally:
        session.close()


async def get_area(request: Request) -> RegionConfig | ProvinceArea:
    """The region this request is for: the one its ``/r/{code}/`` prefix names
    (``api.regions_prefix``), else the default; a city's configuration, or a province of cities.
    Read at start-up."""
    code = region_of_scope(request.scope)
    state = request.app.state
    if code is None:
        return cast(RegionConfig, state.region)  # set by create_app
    return cast(RegionConfig | ProvinceArea, state.regions.get(code) or state.provinces[code])


AreaDep = Annotated[RegionConfig | ProvinceArea, Depends(get_area)]


async def get_region(area: AreaDep) -> RegionConfig:
    """The configuration (time zone, names, files) of the city this request is for; 409 for a
    province, whose pages are its roll-up and its cities' stations, not a city's analysis."""
    if isinstance(area, ProvinceArea):
        raise RegionNotCity(f"{area.name_zh}（{area.code}）是省级汇总，此功能按市提供，请在 /r/<市代码>/ 下使用 / "
                            f"{area.name_en} ({area.code}) is a province: this is per city, use /r/<city code>/ "
                            f"(its cities: {', '.join(area.cities)})")
    return area


RegionDep = Annotated[RegionConfig, Depends(get_region)]


def cities_of(area: RegionConfig | ProvinceArea) -> tuple[str, ...]:
    """The cities a request's rows come from: the city, or the province's cities."""
    return area.cities if isinstance(area, ProvinceArea) else (area.code,)


async def region_session(session: Annotated[Session, Depends(get_session, scope="function")],
                         area: AreaDep) -> Session:
    """The request's session, scoped to the request's region (``geo.store.scope``)."""
    set_scope(session, cities_of(area))
    return session


async def region_read_session(session: Annotated[Session, Depends(get_read_session, scope="function")],
                              area: AreaDep) -> Session:
    """The request's read-only session, scoped to the request's region."""
    set_scope(session, cities_of(area))
    return session


async def get_model_cache(request: Request) -> ModelCache:
    """The app's in-memory model of the demand grid (rebuilt when the grid changes)."""
    return cast(ModelCache, request.app.state.model_cache)  # set by create_app


SessionDep = Annotated[Session, Depends(region_session)]
ReadSessionDep = Annotated[Session, Depends(region_read_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ModelCacheDep = Annotated[ModelCache, Depends(get_model_cache)]
# Ids as the database stores them (bigint, integer): larger numbers are a 422, not a database error.
StationId = Annotated[int, Path(ge=1, le=2**63 - 1, description="站点编号 / station id")]
PlanId = Annotated[int, Path(ge=1, le=2**31 - 1, description="方案编号 / plan id")]
CrsParam = Annotated[CoordSystem, Query(
    description="坐标系 / coordinate system of coordinates in and out: wgs84 (default), gcj02 (Amap), bd09 (Baidu)")]
DemoParam = Annotated[bool | None, Query(description=f"{DEMO.label}: only demo (true) or only real (false) rows")]


def client_of(request: Request) -> str:
    """The client's address, as quotas and logs name it."""
    return request.client.host if request.client else "unknown"


def get_caller(request: Request, session: SessionDep,
               authorization: Annotated[str | None, Header(description="Bearer <API key>")] = None,
               x_api_key: Annotated[str | None, Header(description="API key (alternative header)")] = None,
               ) -> Caller | None:
    """The caller of a valid key, or of the editor's session cookie (``api.editor.auth``), or None.

    A client that sent too many wrong keys gets 429 until its window passes (guessing keys is
    then too slow to matter). The lookup's transaction ends at once: no connection is held
    while the request goes on to read an upload, say.
    """
    key = x_api_key
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise HTTPException(401, detail="Authorization must be 'Bearer <API key>'",
                                headers={"WWW-Authenticate": "Bearer"})
        key = value.strip()
    if key is None:
        return auth.session_caller(request, session)
    failures = request.app.state.key_failures
    client = client_of(request)
    failures.check(client, "密钥错误次数过多 / too many wrong API keys from this client")
    caller = authenticate(session, key)
    end_reads(session)
    if caller is None:
        failures.record(client)
        raise HTTPException(401, detail="unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    return caller


def require_writer(request: Request, caller: Annotated[Caller | None, Depends(get_caller)]) -> Caller:
    """Writes need an editor or admin key (or its session): 401 without one, 403 with a read-only
    one or a session cookie without its CSRF token."""
    if caller is None and auth.csrf_missing(request):
        raise HTTPException(403, detail=auth.CSRF_MISSING)
    if caller is None:
        raise HTTPException(401, detail="writing needs an API key (header Authorization: Bearer <key>)",
                            headers={"WWW-Authenticate": "Bearer"})
    if not caller.can_write:
        raise HTTPException(403, detail=f"key {caller.name!r} has role {caller.role!r}: it may not write")
    return caller


WriterDep = Annotated[Caller, Depends(require_writer)]


def solve_plan(request: Request, grid_key: str, model: CoverageModel, stations: StationPoints, kind: TypeRadius,
               grid_resolution: int, *, time_limit_s: float | None = None, **options: Any) -> PlanResult:
    """A plan (on the default candidates, or on ``candidates=``), in the app's solver processes, on
    their warm engine.

    Only the grid's version goes to the solver process; the model (24 MB) follows once, when
    that process does not hold this version yet (``geo.analysis.engine``).
    """
    return on_warm_engine(request, engine.propose_warm, engine.propose_cold, grid_key, model,
                          stations, kind, grid_resolution, time_limit_s=time_limit_s, **options)


def evaluate_plan(request: Request, grid_key: str, model: CoverageModel, stations: StationPoints, kind: TypeRadius,
                  grid_resolution: int, lon: np.ndarray, lat: np.ndarray) -> WhatIf:
    """What each site adds, in order (a what-if, no solve), in the app's solver processes on their
    warm model and instances, as :func:`solve_plan` plans."""
    return on_warm_engine(request, engine.evaluate_warm, engine.evaluate_cold, grid_key, model,
                          stations, kind, grid_resolution, lon, lat)


def on_warm_engine(request: Request, warm: Callable[..., T], cold: Callable[..., T], grid_key: str,
                   model: CoverageModel, /, *args: Any, time_limit_s: float | None = None, **options: Any) -> T:
    """``warm(grid_key, *args)`` in a solver process; when it holds no model of ``grid_key``
    (EngineCold), ``cold(grid_key, model, *args)``, which sends it the model once."""
    try:
        return run_plan_for(request, warm, grid_key, *args, time_limit_s=time_limit_s, **options)
    except engine.EngineCold:
        return run_plan_for(request, cold, grid_key, model, *args, time_limit_s=time_limit_s, **options)


def run_plan_for(request: Request, function: Callable[..., T], /, *args: Any, time_limit_s: float | None = None,
                 **kwargs: Any) -> T:
    """Run a plan function (``geo.analysis.engine.propose_warm``, say) in the app's solver processes for this request.

    Stopped when the client hangs up (``api.admission.CLIENT_GONE``) or at its wall-clock limit:
    the caller's own ``time_limit_s`` (an exact plan: past it a 422 naming the field) or, when
    none is given, the server's ``plan_time_limit_s`` (past it the server is too busy: 503).
    """
    settings: Settings = request.app.state.settings
    limit_s = time_limit_s if time_limit_s is not None else settings.plan_time_limit_s
    try:
        return request.app.state.solver_pool.run(  # type: ignore[no-any-return]
            function, *args, time_limit_s=limit_s, timeout_s=limit_s + settings.solver_grace_s,
            cancelled=request.scope.get(CLIENT_GONE), **kwargs)
    except TimeLimitExceeded as error:
        if time_limit_s is not None:
            raise
        raise SolverBusy(f"服务器繁忙，规划未在时限内完成 / the server is busy: the plan missed the server's "
                         f"limit of {limit_s:g} s") from error


def count_anonymous_plan(request: Request, caller: Caller | None) -> None:
    """A solve without a key counts against the client's allowance (429 past it); a key's does not."""
    if caller is None:
        quota, client = request.app.state.anonymous_plans, client_of(request)
        quota.check(client, "无密钥的规划请求过多 / too many plans without an API key from this client")
        quota.record(client)
