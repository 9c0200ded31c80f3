"""``unionmap region ...``: make and check region folders (``init`` here; ``check`` joins this group)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo.cli import region_check
from geo.cli.common import CRS_HELP, console, coord_system, fail
from geo.errors import UnionmapError
from geo.notices import COUNTY_UNITS
from geo.reference.demo import DemoBasis, DemoSpec
from geo.reference.region import region_folder
from geo.settings import Settings, get_settings

region_app = typer.Typer(help="地区文件夹 / region folders: make one for any city, check one", no_args_is_help=True)
region_check.register(region_app)


@region_app.command("init")
def init(
    adcode: Annotated[str, typer.Argument(help="地级市（或县级）区划代码 / prefecture or county adcode")],
    townships: Annotated[Path | None, typer.Option(
        help="乡级名单 CSV：code, county_code, name；不给则以区县为分析单元 / township list; without it the counties "
             "are the units")] = None,
    seats: Annotated[list[Path] | None, typer.Option(help="驻地 CSV：code, lon, lat（可多次）/ seats")] = None,
    seats_crs: Annotated[str, typer.Option(help=CRS_HELP)] = "wgs84",
    places: Annotated[Path | None, typer.Option(help="居民点 CSV：name, lon, lat（WGS-84）/ places")] = None,
    targets: Annotated[Path | None, typer.Option(help="目标 YAML，须写明 region: 代码 / targets.yaml")] = None,
    name_en: Annotated[str | None, typer.Option(help="英文名 / English name (default: the adcode)")] = None,
    folder: Annotated[str | None, typer.Option(help="data/ 下的文件夹名 / folder under data/")] = None,
    force: Annotated[bool, typer.Option(help="替换已有文件夹 / replace an existing folder")] = False,
    grid_resolution: Annotated[int | None, typer.Option(
        help="需求网格的 H3 分辨率（默认 9）/ H3 resolution of the demand grid (default 9; 7 for a whole country)",
    )] = None,
    load: Annotated[bool, typer.Option(help="随后载入 / then run `unionmap load reference --region FOLDER`")] = False,
    replace: Annotated[bool, typer.Option(
        "--replace", help="与 --load 同用：替换库中的另一地区 / with --load: replace the region the database holds"),
    ] = False,
) -> None:
    """新建地区文件夹 / write data/<folder>/ for any prefecture: counties, census population, your townships
    (or, without --townships, each county one unit), a demo registry scaled from the default region's."""
    from geo.services import region_init

    source_crs = coord_system(seats_crs, "--seats-crs")
    settings = get_settings()
    try:
        seed = _demo_seed(settings)
        draft = region_init.draft_region(adcode, townships=townships, seats=seats, seats_crs=source_crs,
                                         places=places, targets=targets, name_en=name_en, seed=seed,
                                         grid_resolution=grid_resolution)
        name = folder or region_init.slug(name_en or "") or draft.code
        if Path(name).name != name or name.startswith("."):
            raise UnionmapError(f"--folder must be a plain folder name, not {name!r}")
        written = region_init.write_region(draft, settings.data_dir / name, force=force)
    except UnionmapError as error:
        raise fail(error) from error
    _report(draft, name, written, region_init.SEATS_HINT)
    if draft.demo is None:
        console.print("没有演示登记 / no demo.yaml: the default region (UNIONMAP_REGION) has no folder with a "
                      "demo file here to scale one from", markup=False)
    if load:
        from geo.cli.loading import load_reference

        load_reference(region=name, replace=replace)


def _demo_seed(settings: Settings) -> tuple[DemoSpec, DemoBasis] | None:
    """The default region's demo registry and figures, which a new city's ``demo.yaml`` is scaled from."""
    from geo.services import region_init

    return region_init.demo_seed(region_folder(settings, settings.region))


def _report(draft: object, name: str, written: list[Path], seats_hint: str) -> None:
    from geo.services.region_init import RegionDraft

    assert isinstance(draft, RegionDraft)
    people = int(draft.population["population_2020"].sum())
    console.print(f"{draft.name_zh} {draft.code}: {len(draft.counties)} 县级单位 counties, "
                  f"2020 年常住人口 population {people:,}")
    if not draft.unplaced.empty:
        units = ", ".join(f"{code} {unit}" for code, unit in zip(draft.unplaced["code"], draft.unplaced["name"],
                                                                strict=True))
        console.print(f"  另有 {int(draft.unplaced['population_2020'].sum()):,} 人不在任何县级单位内 / population "
                      f"not placed in a county: {len(draft.unplaced)} unit(s) without a polygon ({units})",
                      soft_wrap=True, markup=False)
    missing = len(draft.townships) - len(draft.seats)
    if draft.county_units:
        console.print(f"{COUNTY_UNITS.label}: {len(draft.counties)} 个区县即 {len(draft.counties)} 个分析单元 / "
                      f"{len(draft.counties)} county units — {COUNTY_UNITS.detail}", markup=False)
    else:
        console.print(f"{len(draft.townships)} 乡级单位 townships; {len(draft.seats)} with a seat (驻地), "
                      f"{missing} without")
    if missing > 0:
        console.print(f"  add the rest with --seats: {seats_hint}", markup=False)
    for seat in draft.seats_outside:
        console.print(f"  注意 / note: {seat.file} row {seat.row}: the seat of {seat.code} lies outside its county "
                      f"{seat.county_code} (it will be snapped inside; check the point)", markup=False)
    if not draft.name_en_given:
        console.print(f"  name_en is the adcode {draft.code}: pass --name-en (or edit region.yaml)", markup=False)
    console.print(f"{draft.target_count} 项目标 targets" if draft.targets_file else
                  "没有目标 / no targets: add --targets FILE (with region: \"" + draft.code + "\") to track a report's")
    console.print("files written / 已写入: " + ", ".join(str(path) for path in written), soft_wrap=True, markup=False)
    console.print(f"next / 下一步: unionmap load reference --region {name}   "
                  f"(then UNIONMAP_REGION={name} unionmap serve)", markup=False)


@region_app.command("init-province")
def init_province(
    adcode: Annotated[str, typer.Argument(help="省级区划代码 / province adcode, e.g. 360000")],
    name_en: Annotated[str | None, typer.Option(help="省的英文名 / English name of the province")] = None,
    force: Annotated[bool, typer.Option(help="替换已生成的文件夹 / replace folders written before")] = False,
    grid_resolution: Annotated[int | None, typer.Option(
        help="需求网格的 H3 分辨率（默认 9）/ H3 resolution of the demand grid (default 9; 7 for a whole country)",
    )] = None,
) -> None:
    """为全省每个地级市生成地区文件夹 / a region folder for every prefecture of a province not in data/
    (counties as units), under .state/regions/, and its province.yaml."""
    from geo.services import province_init

    settings = get_settings()
    try:
        seed = _demo_seed(settings)
        draft = province_init.draft_province(adcode, data_dir=settings.data_dir, name_en=name_en, seed=seed,
                                                     grid_resolution=grid_resolution)
        written = province_init.write_province(draft, settings, force=force)
    except UnionmapError as error:
        raise fail(error) from error
    config = draft.config
    console.print(f"{config.name_zh} {config.code}: {len(config.members)} 个地级市 prefectures", markup=False)
    for member in config.members:
        if member.generated:
            region = next(d for d in draft.drafts if d.code == member.code)
            people = int(region.population["population_2020"].sum())
            console.print(f"  {member.code} {member.name_zh}: written, {len(region.counties)} counties "
                          f"({COUNTY_UNITS.label_zh}), population {people:,}, demo "
                          f"{sum(s.count for s in region.demo.stations.values()) if region.demo else 0} stations",
                          markup=False)
        else:
            console.print(f"  {member.code} {member.name_zh}: kept / 保留 {draft.kept[member.code]}", markup=False)
    console.print("files written / 已写入: " + ", ".join(str(path) for path in written), soft_wrap=True, markup=False)
    console.print("English names are the adcodes: edit name_en in each region.yaml / 英文名暂为区划代码",
                  markup=False)
