"""Reference geography built from a region folder: counties, derived townships, modelled population.

Pure (files in, frames out, no database): ``geo.services.loading`` writes the layers through
``geo.store.regions`` and rebuilds the demand grid from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.core import crs
from geo.errors import InputError
from geo.reference.boundaries import derive_townships, township_kinds
from geo.reference.population import model_township_population
from geo.reference.region import (
    RegionConfig,
    cached_by_version,
    first_row,
    foreign_counties,
    parse_numbers,
    read_csv,
    read_polygons,
    require_filled,
    require_unique,
)
from geo.reference.targets import TargetSpec


@dataclass(frozen=True)
class Reference:
    """Counties and townships of a region, WGS-84, with population."""

    counties: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    metric_crs: CRS


def metric_crs_of(frame: gpd.GeoDataFrame) -> CRS:
    """The UTM zone of a WGS-84 frame's centre: where its metres are measured."""
    west, south, east, north = frame.total_bounds
    return crs.utm_crs_for((west + east) / 2, (south + north) / 2)


def metric_crs_of_bounds(lon: np.ndarray, lat: np.ndarray) -> CRS:
    """The UTM zone of the centre of the points' bounding box."""
    return crs.utm_crs_for((lon.min() + lon.max()) / 2, (lat.min() + lat.max()) / 2)


def read_counties(config: RegionConfig) -> gpd.GeoDataFrame:
    """County polygons (WGS-84) joined with their census population and urban share."""
    source = config.counties
    counties = read_polygons(config.path(source.file), code_field=source.code_field,
                             name_field=source.name_field, source_crs=source.crs)
    foreign = foreign_counties(config, counties["code"])
    if foreign:
        raise InputError(f"县级代码 {', '.join(foreign)} 不属于本地区代码 {config.code} / county code(s) not under the "
                         f"region's code {config.code}: fix region.yaml's code or the file",
                         file=str(config.path(source.file)), field=source.code_field)
    pop_config = config.population
    pop_path = config.path(pop_config.file)
    census = read_csv(pop_path, [pop_config.code_field, pop_config.population_field,
                                 pop_config.urban_share_field])
    census["population"] = parse_numbers(census, pop_config.population_field, pop_path,
                                         required=True, low=0)
    census["urban_share"] = parse_numbers(census, pop_config.urban_share_field, pop_path,
                                          required=True, low=0, high=1)
    census["code"] = census[pop_config.code_field].str.strip()
    unknown = ~census["code"].isin(counties["code"])
    if unknown.any():
        row = first_row(unknown)
        raise InputError(f"unknown county code {census.at[row, 'code']!s}", file=str(pop_path),
                         row=row, field=pop_config.code_field)
    merged = counties.merge(census[["code", "population", "urban_share"]], on="code", how="left")
    if merged["population"].isna().any():
        code = merged.loc[merged["population"].isna(), "code"].iloc[0]
        raise InputError(f"no population for county {code}", file=str(pop_path),
                         field=pop_config.code_field)
    merged["population"] = merged["population"].astype(np.int64)
    merged["urban_population"] = np.rint(merged["population"] * merged["urban_share"]).astype(np.int64)
    return merged


def read_township_file(path: Path, county_codes: Iterable[str]) -> pd.DataFrame:
    """A township list (code, county_code, name), each row checked against the counties; errors name
    the row. Read by ``load reference`` and by ``region init`` (the user's file) alike."""
    codes = list(county_codes)
    townships = read_csv(path, ["code", "county_code", "name"])
    for field in ("code", "county_code", "name"):
        townships[field] = townships[field].str.strip()
    require_filled(townships, ["code", "county_code", "name"], path)
    require_unique(townships, "code", path)
    unknown = ~townships["county_code"].isin(codes)
    if unknown.any():
        row = first_row(unknown)
        county = str(townships.at[row, "county_code"])
        raise InputError(f"县级代码 {county} 不属于本地区 / county code {county} is not one of this region's counties "
                         f"({', '.join(codes)})", file=str(path), row=row, field="county_code")
    return townships


def read_township_list(config: RegionConfig, county_codes: pd.Series) -> pd.DataFrame:
    """The township-level units (code, county_code, name, kind), checked against the counties."""
    townships = read_township_file(config.path(config.townships.file or ""), county_codes)
    townships["kind"] = township_kinds(townships["name"])
    return townships[["code", "county_code", "name", "kind"]]


def read_seats(config: RegionConfig, township_codes: pd.Series) -> pd.DataFrame:
    """Seat points (code, lon, lat in WGS-84; NaN where unknown); later files win."""
    frames = []
    for name in config.seats.files:
        path = config.path(name)
        seats = read_csv(path, ["code", "lon", "lat"])
        seats["code"] = seats["code"].str.strip()
        seats["lon"] = parse_numbers(seats, "lon", path, required=False, low=-180, high=180)
        seats["lat"] = parse_numbers(seats, "lat", path, required=False, low=-90, high=90)
        unknown = ~seats["code"].isin(township_codes)
        if unknown.any():
            row = first_row(unknown)
            raise InputError(f"unknown township code {seats.at[row, 'code']!s}", file=str(path),
                             row=row, field="code")
        frames.append(seats.loc[seats["lon"].notna() & seats["lat"].notna(), ["code", "lon", "lat"]])
    if not frames:
        return pd.DataFrame({"code": [], "lon": [], "lat": []})
    seats = pd.concat(frames).drop_duplicates("code", keep="last").reset_index(drop=True)
    seats["lon"], seats["lat"] = crs.convert(seats["lon"].to_numpy(), seats["lat"].to_numpy(),
                                             source=config.seats.crs, target="wgs84")
    return seats


COUNTY_UNIT_SUFFIX = "000"
COUNTY_UNIT_KIND = "county"


def county_unit_code(county_code: str) -> str:
    """The code of the township-level unit that stands for a whole county: the county code + ``000``.

    NBS township codes are the county code followed by three digits from ``001`` (街道 001–099,
    镇 100–199, 乡 200–399, farms and other units 400–599); ``000`` is never given to a township,
    so the code cannot collide with a real one, and it has nine digits, so it cannot be taken for
    a county's six. A later township list therefore replaces these units without a clash, and a
    station's ``township_code`` shows at a glance that only its county is known.
    """
    return f"{county_code}{COUNTY_UNIT_SUFFIX}"


def county_units(counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One township-level unit per county, when no township list is given (``townships: {units: county}``).

    Its polygon is the county's own (official, not derived) and its population the county's census
    figure and urban population (counted, not modelled); it has no seat (the grid model and the
    demo registry then use a point inside the polygon) and kind ``county``. Columns as
    :func:`read_reference`'s townships: code, county_code, name, kind, seat_rule, seat, population,
    urban_population, geometry (WGS-84).
    """
    return gpd.GeoDataFrame({
        "code": counties["code"].map(county_unit_code).to_numpy(),
        "county_code": counties["code"].to_numpy(),
        "name": counties["name"].to_numpy(),
        "kind": COUNTY_UNIT_KIND,
        "seat_rule": None,
        "seat": gpd.GeoSeries(np.full(len(counties), None, dtype=object), crs=4326),
        "population": counties["population"].to_numpy(),
        "urban_population": counties["urban_population"].to_numpy(),
    }, geometry=counties.geometry.to_numpy(), crs=4326)


def refuse_township_targets(config: RegionConfig, specs: Iterable[TargetSpec]) -> None:
    """InputError naming the first target scoped ``township`` of a region whose units are counties.

    A target per township (职工之家 in every township) cannot be judged without the townships:
    measured on counties it would count one "township" where there are dozens, and report it met.
    The user gives a township list, or drops the target; nothing is judged on a stand-in.
    """
    if config.county_units:
        require_townships_for(specs, file=str(config.path(config.targets or "targets.yaml")))


def require_townships_for(specs: Iterable[TargetSpec], *, file: str) -> None:
    """InputError naming the first target scoped ``township``: for a region with no township list."""
    for number, spec in enumerate(specs, start=1):
        if spec.scope == "township":
            raise InputError(
                f"目标 {spec.code} 按乡镇计，但本地区未提供乡镇名单（以区县为分析单元），无法评估："
                f"请提供乡镇名单或删去此目标 / target {spec.code} is scoped per township, but this region has no "
                "township list (its counties are the units): it cannot be judged; give a township list (region init "
                "--townships) or remove the target", file=file, row=number, field="scope")


def read_reference(config: RegionConfig) -> Reference:
    """Build counties and townships with population from a region folder: approximate townships with
    modelled population from a township list, or one unit per county when there is none."""
    counties = read_counties(config)
    metric = metric_crs_of(counties)
    if config.places is not None:
        check_places_inside(read_places(config), counties, config)
    if config.county_units:
        return Reference(counties=counties, townships=county_units(counties), metric_crs=metric)
    township_list = read_township_list(config, counties["code"])
    seats = read_seats(config, township_list["code"])
    townships = derive_townships(
        counties[["code", "name", "geometry"]], township_list, seats, metric_crs=metric,
        street_ring_radius_m=config.derivation.street_ring_radius_m,
        snap_distance_m=config.derivation.snap_distance_m,
    )
    townships = _with_population(townships, counties, metric, config)
    return Reference(counties=counties, townships=townships, metric_crs=metric)


def check_places_inside(places: pd.DataFrame, counties: gpd.GeoDataFrame, config: RegionConfig) -> None:
    """InputError when most populated places lie outside the region's counties: a settlements file
    copied from another city. Its few places that happen to fall inside this region would otherwise
    be taken for this city's villages, silently."""
    if config.places is None or places.empty:
        return
    area = shapely.union_all(counties.geometry.values)
    inside = int(shapely.contains_xy(area, places["lon"].to_numpy(), places["lat"].to_numpy()).sum())
    if inside * 2 < len(places):
        raise InputError(f"{len(places) - inside} of {len(places)} places lie outside this region's counties: "
                         "is it another city's settlements file? Use this city's, or remove places from region.yaml "
                         f"/ {len(places) - inside} 个居民点在本地区之外，疑为他市文件",
                         file=str(config.path(config.places.file)), field="places")


def _with_population(townships: gpd.GeoDataFrame, counties: pd.DataFrame, metric: CRS,
                     config: RegionConfig) -> gpd.GeoDataFrame:
    population = model_township_population(
        townships, counties[["code", "population", "urban_share"]], metric_crs=metric,
        urban_weights=config.population_model.urban_weights,
    )
    return townships.drop(columns=["population", "urban_population"], errors="ignore").merge(
        population[["code", "population", "urban_population"]], on="code")


def read_places(config: RegionConfig) -> pd.DataFrame:
    """Populated places (lon, lat in WGS-84) that anchor the demand grid's settlements.

    A ``name`` column, when the file has one, is kept (stripped; empty where blank): the maps
    label settlements with it. The file is parsed once per version of it: maps ask on every page.
    """
    if config.places is None:
        return pd.DataFrame({"name": pd.Series([], dtype=str), "lon": [], "lat": []})
    places = _places_file(config.path(config.places.file))
    lon, lat = crs.convert(places["lon"].to_numpy(), places["lat"].to_numpy(), source=config.places.crs,
                           target="wgs84")
    return places.assign(lon=lon, lat=lat)


@cached_by_version
def _places_file(path: Path) -> pd.DataFrame:
    """name, lon, lat as written in the file (its own datum), rows checked."""
    places = read_csv(path, ["lon", "lat"])
    lon = parse_numbers(places, "lon", path, required=True, low=-180, high=180).to_numpy()
    lat = parse_numbers(places, "lat", path, required=True, low=-90, high=90).to_numpy()
    names = places["name"].str.strip() if "name" in places.columns else pd.Series("", index=places.index)
    return pd.DataFrame({"name": names.to_numpy(), "lon": lon, "lat": lat})
