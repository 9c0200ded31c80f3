"""The ``unionmap`` console entry point: the core's commands plus ``serve`` and ``map render``.

Composed here, at the outermost layer, because these two commands need the web app and the map
builders: the core (``geo.cli``) never imports ``api`` or ``maps``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from geo.cli import core_app
from geo.cli.common import console, fail
from geo.errors import UnionmapError
from geo.reference import DEFAULT_TYPE
from geo.services import transaction
from geo.settings import get_settings, worker_count
from geo.store import cluster, db

map_app = typer.Typer(help="地图 / maps as standalone HTML files", no_args_is_help=True)
KINDS = ("stations", "coverage", "gaps", "plan", "station")


def serve(
    host: Annotated[str | None, typer.Option(help="监听地址 / host")] = None,
    port: Annotated[int | None, typer.Option(help="端口 / port")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="进程数 / worker processes (default: UNIONMAP_WORKERS, else one per core)")] = None,
) -> None:
    """启动网页服务 / serve the API and maps (uvicorn)."""
    from api import serve as server  # uvicorn and the region reader load only for this command
    from geo.services.region_of_database import active_region_of

    if host:  # the app's settings (its trusted hosts among them) follow the address it serves
        os.environ["UNIONMAP_HOST"] = host
        get_settings.cache_clear()
    settings = get_settings()
    try:
        db.prepare(settings).dispose()
        # The database's region (a bad region.yaml, or UNIONMAP_REGION naming another region, stops
        # here with a message, not in every worker); the workers are told its folder.
        region = active_region_of(settings)
    except (UnionmapError, cluster.ClusterError) as error:
        raise fail(error) from error
    os.environ["UNIONMAP_REGION"] = region.folder.name
    get_settings.cache_clear()
    settings = get_settings()
    server.run(host or settings.host, port or settings.port, workers or worker_count(settings),
               access_log=settings.access_log, header_timeout_s=settings.header_timeout_s,
               healthcheck_s=settings.worker_healthcheck_s)


@map_app.command("render")
def render(
    kind: Annotated[str, typer.Argument(help="stations | coverage | gaps | plan | station")],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出 HTML 文件 / output file")],
    type_code: Annotated[str, typer.Option("--type", help="服务类型（coverage, plan）")] = DEFAULT_TYPE,
    add: Annotated[int, typer.Option(help="新增站点数（plan）")] = 10,
    station_id: Annotated[int | None, typer.Option("--id", help="站点编号（station）")] = None,
    basemap: Annotated[str | None, typer.Option(help="none | osm | amap | tianditu | pmtiles")] = None,
) -> None:
    """把地图写成独立 HTML（离线可打开）/ write a map as one HTML file that opens offline."""
    from geo.reference import service_types
    from geo.services import map_data
    from geo.services.coverage_query import ModelCache
    from geo.services.region_of_database import active_region
    from geo.store.service_types import check_type
    from maps import assets, pages

    if kind not in KINDS:
        raise fail(UnionmapError(f"KIND must be one of {', '.join(KINDS)}, not {kind!r}"))
    if kind == "station" and station_id is None:
        raise fail(UnionmapError("a station map needs --id"))
    settings = get_settings()
    cache = ModelCache()
    try:
        with transaction.session_scope(settings) as session:
            region = active_region(settings, session)
            report = region.report_zh if kind == "gaps" else None
            if kind in ("coverage", "plan"):
                check_type(session, type_code)
            data = {
                "stations": lambda: map_data.stations_data(session, cache),
                "coverage": lambda: map_data.coverage_data(session, cache, type_code),
                "gaps": lambda: map_data.gaps_data(session, cache, report=report),
                "plan": lambda: map_data.plan_data(session, cache, type_code, add),
                "station": lambda: map_data.station_data(session, cache, station_id or 0),
            }[kind]()
            data = map_data.with_region_notes(map_data.with_places(data, region), region)
        amenities = service_types.read_amenities(settings.data_dir / "amenities.yaml")
        map_ = pages.build(data, amenity_names={c: a.name_zh for c, a in amenities.items()},
                           basemap=basemap or settings.drawn_basemap, tianditu_key=settings.tianditu_key)
    except (UnionmapError, ValueError) as error:
        raise fail(error) from error
    output.write_text(assets.render(map_, standalone=True), encoding="utf-8")
    console.print(f"已写入 / written: {output} ({output.stat().st_size / 1e6:.1f} MB, 独立文件 standalone)")


def build_app() -> typer.Typer:
    """The whole ``unionmap`` command: the core's commands, ``serve`` and ``map render``."""
    app = core_app()
    app.command("serve")(serve)
    app.add_typer(map_app, name="map")
    return app


app = build_app()

if __name__ == "__main__":  # ``python -m api.cli``: how ``serve`` starts the job runner
    app()
