"""``unionmap map render KIND -o FILE.html``: a map as a standalone HTML file (assets inlined)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo import db
from geo.cli import _fail, app, console, get_settings
from geo.errors import UnionmapError

map_app = typer.Typer(help="地图 / maps as standalone HTML files", no_args_is_help=True)
app.add_typer(map_app, name="map")
KINDS = ("stations", "coverage", "gaps", "plan", "station")


@map_app.command("render")
def render(
    kind: Annotated[str, typer.Argument(help="stations | coverage | gaps | plan | station")],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出 HTML 文件 / output file")],
    type_code: Annotated[str, typer.Option("--type", help="服务类型（coverage, plan）")] = "love_station",
    add: Annotated[int, typer.Option(help="新增站点数（plan）")] = 10,
    station_id: Annotated[int | None, typer.Option("--id", help="站点编号（station）")] = None,
    basemap: Annotated[str | None, typer.Option(help="none | osm | amap | tianditu")] = None,
) -> None:
    """把地图写成独立 HTML（离线可打开）/ write a map as one HTML file that opens offline."""
    from geo import map_data, service_types
    from geo.catalogue import check_type
    from geo.coverage_query import ModelCache
    from maps import assets, pages

    if kind not in KINDS:
        raise _fail(UnionmapError(f"KIND must be one of {', '.join(KINDS)}, not {kind!r}"))
    if kind == "station" and station_id is None:
        raise _fail(UnionmapError("a station map needs --id"))
    settings = get_settings()
    cache = ModelCache()
    try:
        with db.session_scope(settings) as session:
            if kind in ("coverage", "plan"):
                check_type(session, type_code)
            data = {
                "stations": lambda: map_data.stations_data(session, cache),
                "coverage": lambda: map_data.coverage_data(session, cache, type_code),
                "gaps": lambda: map_data.gaps_data(session, cache),
                "plan": lambda: map_data.plan_data(session, cache, type_code, add),
                "station": lambda: map_data.station_data(session, cache, station_id or 0),
            }[kind]()
        amenities = service_types.read_amenities(settings.data_dir / "amenities.yaml")
        map_ = pages.build(data, amenity_names={c: a.name_zh for c, a in amenities.items()},
                           basemap=basemap or settings.basemap, tianditu_key=settings.tianditu_key)
    except (UnionmapError, ValueError) as error:
        raise _fail(error) from error
    output.write_text(assets.render(map_, standalone=True), encoding="utf-8")
    console.print(f"已写入 / written: {output} ({output.stat().st_size / 1e6:.1f} MB, 独立文件 standalone)")
