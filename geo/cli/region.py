"""``unionmap region ...``: make and check region folders (``init`` here; ``check`` joins this group)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geo.cli import region_check
from geo.cli.common import CRS_HELP, console, coord_system, fail
from geo.errors import UnionmapError
from geo.settings import get_settings

region_app = typer.Typer(help="地区文件夹 / region folders: make one for any city, check one", no_args_is_help=True)
region_check.register(region_app)


@region_app.command("init")
def init(
    adcode: Annotated[str, typer.Argument(help="地级市（或县级）区划代码 / prefecture or county adcode")],
    townships: Annotated[Path, typer.Option(help="乡级名单 CSV：code, county_code, name / township list")],
    seats: Annotated[list[Path] | None, typer.Option(help="驻地 CSV：code, lon, lat（可多次）/ seats")] = None,
    seats_crs: Annotated[str, typer.Option(help=CRS_HELP)] = "wgs84",
    places: Annotated[Path | None, typer.Option(help="居民点 CSV：name, lon, lat（WGS-84）/ places")] = None,
    targets: Annotated[Path | None, typer.Option(help="目标 YAML，须写明 region: 代码 / targets.yaml")] = None,
    name_en: Annotated[str | None, typer.Option(help="英文名 / English name (default: the adcode)")] = None,
    folder: Annotated[str | None, typer.Option(help="data/ 下的文件夹名 / folder under data/")] = None,
    force: Annotated[bool, typer.Option(help="替换已有文件夹 / replace an existing folder")] = False,
    load: Annotated[bool, typer.Option(help="随后载入 / then run `unionmap load reference --region FOLDER`")] = False,
    replace: Annotated[bool, typer.Option(
        "--replace", help="与 --load 同用：替换库中的另一地区 / with --load: replace the region the database holds"),
    ] = False,
) -> None:
    """新建地区文件夹 / write data/<folder>/ for any prefecture: counties, census population, your townships."""
    from geo.services import region_init

    source_crs = coord_system(seats_crs, "--seats-crs")
    try:
        draft = region_init.draft_region(adcode, townships=townships, seats=seats, seats_crs=source_crs,
                                         places=places, targets=targets, name_en=name_en)
        name = folder or region_init.slug(name_en or "") or draft.code
        if Path(name).name != name or name.startswith("."):
            raise UnionmapError(f"--folder must be a plain folder name, not {name!r}")
        written = region_init.write_region(draft, get_settings().data_dir / name, force=force)
    except UnionmapError as error:
        raise fail(error) from error
    _report(draft, name, written, region_init.SEATS_HINT)
    if load:
        from geo.cli.loading import load_reference

        load_reference(region=name, replace=replace)


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
    console.print(f"{len(draft.townships)} 乡级单位 townships; {len(draft.seats)} with a seat (驻地), "
                  f"{missing} without")
    if missing:
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
