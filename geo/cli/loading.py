"""``unionmap load reference|demo|boundaries|population``: reference geography, demo registry, measured data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from geo.cli.common import CRS_HELP, console, coord_system, fail, settings_for, timed
from geo.errors import UnionmapError
from geo.notices import APPROXIMATE, COUNTY_UNITS, DEMO
from geo.services import transaction
from geo.settings import get_settings
from geo.store import cluster, db

load_app = typer.Typer(help="载入数据 / load reference geography, demo registry, boundaries", no_args_is_help=True)


@load_app.command("reference")
def load_reference(
    region: Annotated[str | None, typer.Option(
        help="地区文件夹 / region folder under data/ (default: the database's default region, else UNIONMAP_REGION)"
    )] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="取代默认地区 / take the default region's place (it leaves the deployment)")] = False,
    default: Annotated[bool, typer.Option(
        "--default", help="设为默认地区 / make this region the deployment's default")] = False,
) -> None:
    """载入参考地理 / load one city's service types, counties, townships, population and targets
    (another city is added beside those the database holds)."""
    from geo.reference import layers as reference
    from geo.reference import service_types, targets
    from geo.reference.region import load_config
    from geo.services import loading
    from geo.services.region_of_database import folder_to_load, region_named

    settings = settings_for(region)
    started = time.perf_counter()
    actor = "unionmap load reference"
    try:
        folder = settings.region_dir  # a folder named is read (and checked) before the database is touched
        if not region_named(settings):  # else the database's region, if it holds one
            db.prepare(settings).dispose()
            with transaction.session_scope(settings, actor=actor) as session:
                folder = folder_to_load(settings, session)
        config = load_config(folder)
        types_file = folder / "service_types.yaml"
        types = service_types.read_service_types(types_file if types_file.exists()
                                                 else settings.data_dir / "service_types.yaml")
        layers = reference.read_reference(config)
        target_specs = targets.read_region_targets(config.path(config.targets), config.code) if config.targets else []
        db.prepare(settings).dispose()
        with transaction.session_scope(settings, actor=actor) as session:
            loaded = loading.load_reference(session, types, layers, target_specs, config,
                                            targets_file=str(config.path(config.targets or "")),
                                            replace=replace, make_default=default, actor=actor)
    except (UnionmapError, cluster.ClusterError) as error:
        raise fail(error) from error
    if loaded.replaced is not None:
        console.print(f"已替换 / replaced {loaded.replaced.label()}; {loaded.demo_removed} 个旧演示站点已删除 / demo "
                      "stations of the old region removed (real stations kept)")
    elif loaded.added and loaded.previous is not None:
        console.print(f"已加入部署 / added beside {loaded.previous.label()} (the default); its pages are under "
                      f"/r/{config.code}/, its commands take --region {folder.name}")
    counties, townships = layers.counties, layers.townships
    units = (f"{len(townships)} 个区县单元 county units ({COUNTY_UNITS.label})" if config.county_units
             else f"{len(townships)} 乡级 townships ({APPROXIMATE.label})")
    console.print(f"{config.name_zh} / {config.name_en} ({config.code}, folder {folder.name}): "
                  f"{len(counties)} 县级 counties, {units}, "
                  f"{len(types)} service types, {len(target_specs)} targets; 数据库已记录此地区 / the database "
                  "now holds this region")
    timed("load reference", started)


@load_app.command("demo")
def load_demo(
    seed: Annotated[int | None, typer.Option(help="随机种子 / random seed")] = None,
    region: Annotated[str | None, typer.Option(
        help="地区文件夹 / region folder (must be the database's; not needed after load reference)")] = None,
) -> None:
    """生成演示登记数据 / replace the demo (synthetic) stations of the database's region; real rows are kept."""
    from geo.reference import demo
    from geo.services import loading
    from geo.services.region_of_database import active_region_of

    settings = settings_for(region)
    seed = settings.demo_seed if seed is None else seed
    started = time.perf_counter()
    try:
        config = active_region_of(settings)
        if not config.demo:
            raise UnionmapError(f"{config.folder}/region.yaml names no demo file")
        spec = demo.read_demo_spec(config.path(config.demo))
        with transaction.session_scope(settings, actor="unionmap load demo") as session:
            stations = loading.load_demo(session, spec, seed=seed)
    except UnionmapError as error:
        raise fail(error) from error
    table = Table("类型 type", "数量 count", title=f"{DEMO.label} (seed {seed})")
    for code, n in stations["type_code"].value_counts(sort=False).items():
        table.add_row(str(code), str(n))
    console.print(table)
    console.print(f"{len(stations)} 个演示站点 / demo stations (is_demo = true)")
    timed("load demo", started)


@load_app.command("province")
def load_province(
    code: Annotated[str, typer.Argument(help="省级区划代码 / province code, e.g. 360000 (after region init-province)")],
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="为尚无演示数据的市生成 / draw demo stations for "
                                       "cities that have none")] = True,
    seed: Annotated[int | None, typer.Option(help="随机种子 / random seed of the demo registries")] = None,
    reload: Annotated[bool, typer.Option("--reload", help="重新载入已有的市 / load cities already held again")] = False,
) -> None:
    """载入全省 / load every prefecture of a province (each a region of its own) and the province's roll-up."""
    import hashlib
    import getpass

    from geo.reference.province import PROVINCE_FILE, province_folder, read_province
    from geo.store import deployment

    settings = get_settings()
    started = time.perf_counter()
    path = province_folder(settings, code) / PROVINCE_FILE
    try:
        if not path.is_file():
            raise UnionmapError(f"没有 {path} / no province descriptor for {code!r}: run `unionmap region "
                                f"init-province {code}` first")
        province = read_province(path)
        db.prepare(settings).dispose()
        with transaction.session_scope(settings, actor="unionmap load province") as session:
            held = {row.code for row in deployment.all_regions(session)}
            with_demo = set(deployment.cities_with_demo(session))
    except (UnionmapError, cluster.ClusterError) as error:
        raise fail(error) from error
    for member in province.members:
        if member.code in held and not reload:
            console.print(f"{member.name_zh} ({member.code}) 已载入 / already held: kept (--reload loads it again)")
        else:
            load_reference(region=member.folder)
        if demo and member.code not in with_demo:
            load_demo(seed=seed, region=member.folder)
    row = deployment.RegionRow(
        code=province.code, name_zh=province.name_zh, name_en=province.name_en, timezone=province.timezone,
        folder=province.code, config_hash=hashlib.sha256(path.read_bytes()).hexdigest(), loaded_at=None,
        loaded_by=f"unionmap load province ({_os_user(getpass)})", level=deployment.PROVINCE)
    try:
        with transaction.session_scope(settings, actor="unionmap load province") as session:
            deployment.write_province(session, row, [member.code for member in province.members])
    except UnionmapError as error:
        raise fail(error) from error
    console.print(f"{province.name_zh} / {province.name_en} ({province.code}): {len(province.members)} 个市 "
                  f"cities; 汇总页 / roll-up at /r/{province.code}/")
    timed("load province", started)


def _os_user(getpass: Any) -> str:
    """Who runs the command (a container's uid may have no passwd entry)."""
    try:
        return str(getpass.getuser())
    except (KeyError, OSError):
        return "unknown user"


@load_app.command("boundaries")
def load_boundaries(
    file: Annotated[Path, typer.Argument(help="GeoJSON / GeoPackage / Shapefile", exists=True)],
    level: Annotated[str, typer.Option(help="county | township")] = "township",
    code_field: Annotated[str, typer.Option(help="代码字段 / field holding the division code")] = "code",
    name_field: Annotated[str, typer.Option(help="名称字段 / field holding the name")] = "name",
    crs: Annotated[str, typer.Option(help=CRS_HELP)] = "wgs84",
) -> None:
    """导入官方边界 / replace derived polygons with official ones (clears the approximate flag)."""
    from geo.services import loading
    from geo.services.region_of_database import active_region_of

    if level not in ("county", "township"):
        raise fail(UnionmapError(f"--level must be county or township, not {level!r}"))
    source_crs = coord_system(crs)
    settings = get_settings()
    started = time.perf_counter()
    try:
        config = active_region_of(settings)
        with transaction.session_scope(settings, actor="unionmap load boundaries") as session:
            count = loading.replace_boundaries(session, file, level=level, config=config,
                                                 code_field=code_field, name_field=name_field,
                                                 source_crs=source_crs)
    except UnionmapError as error:
        raise fail(error) from error
    console.print(f"{count} 个{level}边界已替换为官方边界 / official boundaries loaded")
    timed("load boundaries", started)


@load_app.command("population")
def load_population(
    file: Annotated[Path, typer.Argument(help="人口栅格 GeoTIFF（人/像元）/ population raster, people per pixel")],
) -> None:
    """导入人口栅格 / replace the modelled grid population with a raster's (any CRS); totals kept."""
    from geo.services import loading

    started = time.perf_counter()
    try:
        with transaction.session_scope(get_settings(), actor="unionmap load population") as session:
            loaded = loading.load_population(session, file)
    except UnionmapError as error:
        raise fail(error) from error
    aggregate, total = loaded.aggregate, loaded.assigned
    console.print(f"栅格 raster: {aggregate.pixels_read:,} pixels, {aggregate.raster_total:,.0f} people in the window; "
                  f"{total:,.0f} assigned to {len(aggregate.cells):,} cells of the grid "
                  "(人口为实测栅格 / measured, no longer modelled)")
    timed("load population", started)
