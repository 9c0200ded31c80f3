"""Reference geography: counties, derived townships and modelled population into ``region``.

``read_reference`` builds the layers from a region folder (pure, no database);
``replace_regions`` writes them in the caller's transaction. Official boundaries
(``replace_boundaries``) go through the same write path and clear the approximate flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from geoalchemy2.shape import from_shape
from pyproj import CRS
from sqlalchemy import bindparam, delete, insert, select, text
from sqlalchemy.orm import Session

from geo.core import crs
from geo.core.crs import CoordSystem
from geo.errors import InputError
from geo.reference.boundaries import derive_townships, township_kinds
from geo.reference.grid import Grid, build_grid
from geo.reference.population import model_township_population
from geo.reference.region import RegionConfig, parse_numbers, read_csv, read_polygons, require_filled, require_unique
from geo.store.grid_db import replace_grid
from geo.store.models import Region


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
        row = int(unknown.idxmax())
        raise InputError(f"unknown county code {census.at[row, 'code']}", file=str(pop_path),
                         row=row, field=pop_config.code_field)
    merged = counties.merge(census[["code", "population", "urban_share"]], on="code", how="left")
    if merged["population"].isna().any():
        code = merged.loc[merged["population"].isna(), "code"].iloc[0]
        raise InputError(f"no population for county {code}", file=str(pop_path),
                         field=pop_config.code_field)
    merged["population"] = merged["population"].astype(np.int64)
    merged["urban_population"] = np.rint(merged["population"] * merged["urban_share"]).astype(np.int64)
    return merged


def read_township_list(config: RegionConfig, county_codes: pd.Series) -> pd.DataFrame:
    """The township-level units (code, county_code, name, kind), checked against the counties."""
    path = config.path(config.townships.file)
    townships = read_csv(path, ["code", "county_code", "name"])
    for field in ("code", "county_code", "name"):
        townships[field] = townships[field].str.strip()
    require_filled(townships, ["code", "county_code", "name"], path)
    require_unique(townships, "code", path)
    unknown = ~townships["county_code"].isin(county_codes)
    if unknown.any():
        row = int(unknown.idxmax())
        raise InputError(f"unknown county code {townships.at[row, 'county_code']}", file=str(path),
                         row=row, field="county_code")
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
            row = int(unknown.idxmax())
            raise InputError(f"unknown township code {seats.at[row, 'code']}", file=str(path),
                             row=row, field="code")
        frames.append(seats.loc[seats["lon"].notna() & seats["lat"].notna(), ["code", "lon", "lat"]])
    if not frames:
        return pd.DataFrame({"code": [], "lon": [], "lat": []})
    seats = pd.concat(frames).drop_duplicates("code", keep="last").reset_index(drop=True)
    seats["lon"], seats["lat"] = crs.convert(seats["lon"].to_numpy(), seats["lat"].to_numpy(),
                                             source=config.seats.crs, target="wgs84")
    return seats


def read_reference(config: RegionConfig) -> Reference:
    """Build counties and approximate townships with modelled population from a region folder."""
    counties = read_counties(config)
    metric = metric_crs_of(counties)
    township_list = read_township_list(config, counties["code"])
    seats = read_seats(config, township_list["code"])
    townships = derive_townships(
        counties[["code", "name", "geometry"]], township_list, seats, metric_crs=metric,
        street_ring_radius_m=config.derivation.street_ring_radius_m,
        snap_distance_m=config.derivation.snap_distance_m,
    )
    townships = _with_population(townships, counties, metric, config)
    return Reference(counties=counties, townships=townships, metric_crs=metric)


def _with_population(townships: gpd.GeoDataFrame, counties: pd.DataFrame, metric: CRS,
                     config: RegionConfig) -> gpd.GeoDataFrame:
    population = model_township_population(
        townships, counties[["code", "population", "urban_share"]], metric_crs=metric,
        urban_weights=config.population_model.urban_weights,
    )
    return townships.drop(columns=["population", "urban_population"], errors="ignore").merge(
        population[["code", "population", "urban_population"]], on="code")


def _region_rows(frame: gpd.GeoDataFrame, **fixed: object) -> list[dict[str, object]]:
    rows = []
    seats = frame["seat"] if "seat" in frame else pd.Series([None] * len(frame), index=frame.index)
    for record, geometry, seat in zip(frame.to_dict("records"), frame.geometry, seats, strict=True):
        row = {key: record.get(key) for key in
               ("code", "name", "kind", "population", "urban_population", "seat_rule")}
        row["population"] = int(row["population"]) if row["population"] is not None else None
        row["urban_population"] = int(row["urban_population"]) if row["urban_population"] is not None else None
        row["geom"] = from_shape(geometry, srid=4326)
        row["seat"] = from_shape(seat, srid=4326) if seat is not None else None
        rows.append(row | fixed)
    return rows


def replace_regions(session: Session, reference: Reference, config: RegionConfig) -> None:
    """Replace every region with the reference layers and re-place every station in them."""
    session.execute(delete(Region))
    session.execute(insert(Region), _region_rows(
        reference.counties.assign(kind="county", seat_rule=None), level="county", parent_code=None,
        population_is_modelled=False, boundary_is_approximate=False, source=config.counties.source,
    ))
    townships = reference.townships.rename(columns={"county_code": "parent_code"})
    session.execute(insert(Region), [
        row | {"parent_code": parent} for row, parent in zip(
            _region_rows(townships, level="township", population_is_modelled=True,
                         boundary_is_approximate=True, source=config.townships.source),
            townships["parent_code"], strict=True)
    ])
    reassign_stations(session)
    rebuild_grid(session, config)


def reassign_stations(session: Session) -> int:
    """Re-run point-in-polygon for stations whose county or township changed; return how many.

    The update fires the station trigger, which assigns the codes and records history.
    """
    result = session.execute(text("""
        UPDATE station s SET geom = s.geom
        WHERE s.county_code IS DISTINCT FROM (
                SELECT code FROM region r WHERE r.level = 'county' AND ST_Covers(r.geom, s.geom)
                ORDER BY code LIMIT 1)
           OR s.township_code IS DISTINCT FROM (
                SELECT code FROM region r WHERE r.level = 'township' AND ST_Covers(r.geom, s.geom)
                ORDER BY code LIMIT 1)
    """))
    return result.rowcount


def replace_boundaries(session: Session, path: Path, *, level: str, config: RegionConfig,
                       code_field: str = "code", name_field: str = "name",
                       source_crs: CoordSystem = "wgs84") -> int:
    """Replace the polygons of known regions with official ones; clear the approximate flag.

    Every feature's code must be a region of that level already loaded; modelled township
    population is recomputed, since it depends on the polygons' areas.
    """
    polygons = read_polygons(path, code_field=code_field, name_field=name_field, source_crs=source_crs)
    known = dict(session.execute(select(Region.code, Region.parent_code).where(Region.level == level)).all())
    unknown = ~polygons["code"].isin(list(known))
    if unknown.any():
        row = int(unknown.idxmax())
        raise InputError(f"unknown {level} code {polygons.at[row, 'code']}", file=str(path),
                         row=row, field=code_field)
    for code, geometry in zip(polygons["code"], polygons.geometry, strict=True):
        session.execute(
            Region.__table__.update().where(Region.code == code).values(
                geom=from_shape(geometry, srid=4326), boundary_is_approximate=False,
                source=f"official boundary imported from {Path(path).name}"),
        )
    if level == "township":
        _remodel_population(session, config)
    reassign_stations(session)
    rebuild_grid(session, config)
    return len(polygons)


def _remodel_population(session: Session, config: RegionConfig) -> None:
    """Recompute modelled township population from the stored county totals and polygons."""
    regions = gpd.read_postgis(
        "SELECT code, parent_code AS county_code, kind, level, population, urban_population, geom "
        "FROM region", session.connection(), geom_col="geom")
    counties = regions[regions["level"] == "county"].copy()
    counties["urban_share"] = counties["urban_population"] / counties["population"].where(counties["population"] > 0, 1)
    townships = regions[regions["level"] == "township"]
    metric = metric_crs_of(regions)
    population = model_township_population(
        townships.rename_geometry("geometry"), counties[["code", "population", "urban_share"]],
        metric_crs=metric, urban_weights=config.population_model.urban_weights)
    session.execute(
        Region.__table__.update().where(Region.code == bindparam("b_code")).values(
            population=bindparam("b_population"), urban_population=bindparam("b_urban")),
        [{"b_code": c, "b_population": int(p), "b_urban": int(u)} for c, p, u in
         population[["code", "population", "urban_population"]].itertuples(index=False)],
    )


def regions_frame(session: Session, level: str) -> gpd.GeoDataFrame:
    """Regions of one level as a WGS-84 GeoDataFrame (geometry column ``geometry``, ``seat``)."""
    frame = gpd.read_postgis(
        text("SELECT code, name, level, parent_code AS county_code, kind, population, "
             "urban_population, population_is_modelled, boundary_is_approximate, source, seat_rule, "
             "ST_AsBinary(seat) AS seat_wkb, geom FROM region WHERE level = :level ORDER BY code"),
        session.connection(), geom_col="geom", params={"level": level},
    ).rename_geometry("geometry")
    frame["seat"] = shapely.from_wkb(frame.pop("seat_wkb").to_numpy())
    return frame


def read_places(config: RegionConfig) -> pd.DataFrame:
    """Populated places (lon, lat in WGS-84) that anchor the demand grid's settlements."""
    if config.places is None:
        return pd.DataFrame({"lon": [], "lat": []})
    path = config.path(config.places.file)
    places = read_csv(path, ["lon", "lat"])
    lon = parse_numbers(places, "lon", path, required=True, low=-180, high=180).to_numpy()
    lat = parse_numbers(places, "lat", path, required=True, low=-90, high=90).to_numpy()
    lon, lat = crs.convert(lon, lat, source=config.places.crs, target="wgs84")
    return pd.DataFrame({"lon": lon, "lat": lat})


def rebuild_grid(session: Session, config: RegionConfig) -> Grid:
    """Model the demand grid from the stored townships and write it (modelled population)."""
    townships = regions_frame(session, "township")
    grid = build_grid(townships, read_places(config), metric_crs=metric_crs_of(townships),
                      parameters=config.demand_grid)
    replace_grid(session, grid, resolution=config.demand_grid.resolution, modelled=True,
                 source="modelled: township population spread by geo.grid's dasymetric rule")
    return grid
