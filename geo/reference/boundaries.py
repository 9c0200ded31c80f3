"""Approximate township polygons from county polygons and township seats.

China publishes no open township boundaries, but it does publish county polygons and the
list of township-level units (codes, names). This module tiles each county with one
polygon per unit so coverage can be reported per township. Pure functions, no database;
all geometry happens in a projected metric CRS passed in by the caller, results are EPSG:4326.

Rule, applied to each county separately (parameters are keyword arguments of
:func:`derive_townships`; defaults in brackets):

1. A unit's seat from ``seats`` is used if it lies inside its county (``seat_rule`` "seat");
   if it lies outside but within ``snap_distance_m`` [3000 m] of the county it is moved to
   the nearest point 10 m inside the county ("snapped"); farther away it is ignored and the
   unit counts as seat-less. When two units of a county share a seat point, the one with
   the later code counts as seat-less.
2. The county's urban centre is the seat of the lowest-code 街道 (street) unit that has a
   seat, else that of the lowest-code 镇 (town) that has one (division codes list the
   county's seat town first), else there is none.
3. Seat-less 街道 units are carved out of the urban area: they are placed evenly on a ring
   of ``street_ring_radius_m`` [2000 m] around the urban centre, first point due north,
   and a point outside the county has its radius halved until it falls inside
   ("street_ring").
4. The remaining seat-less units (and 街道 of a county without an urban centre) are placed
   one by one, in code order, at the point of a regular ``sample_spacing_m`` [500 m] grid
   sample of the county farthest from every point placed so far ("farthest_point"). A county
   where no unit has a seat is instead split into parts of roughly equal area: k-means
   (seeded by ``seed``) on the same sample, centroids taken north to south and handed to
   the units in code order ("kmeans").
5. The points are the seeds of a Voronoi diagram extended to the county envelope; each
   cell is clipped to the county, so the townships of a county tile it with no gaps or
   overlaps. A county with a single unit gets the whole county (its seat still follows
   rules 1 and 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from geopandas.array import GeometryArray
from pyproj import CRS
from shapely import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

WGS84 = "EPSG:4326"
SEAT_RULES = ("seat", "snapped", "street_ring", "farthest_point", "kmeans")
# The rules that place a unit without a seat of its own (rules 3 and 4): where such a township lies
# is not known, only guessed, so it is flagged ``position_unknown`` everywhere it is shown. "seat"
# and "snapped" (a given seat moved at most ``snap_distance_m`` into its county) are known. A
# street_ring unit is near its county's urban centre but not at a point anyone gave, so it is unknown
# too. The store's SQL of the flag (``geo.store.regions.position_unknown``) is built from this tuple.
POSITION_UNKNOWN_RULES = ("street_ring", "farthest_point", "kmeans")
_INSET_M = 10.0  # snapped seats and grid samples keep this far from the county edge
_MIN_SAMPLES_PER_UNIT = 50  # grid is refined for small counties so every unit gets a spot
_MAX_RING_HALVINGS = 12  # 2000 m / 2**12 ~ 0.5 m: below that the ring gives up
_KMEANS_ITERATIONS = 50


def township_kind(name: str) -> str:
    """Classify a township-level unit by its standard administrative suffix.

    Returns "street" (街道), "town" (镇), "township" (乡, including 民族乡) or "other"
    (林场, 农场, 垦殖场, 管理处, 开发区 and other non-standard units).
    """
    name = name.strip()
    if name.endswith("街道"):
        return "street"
    if name.endswith("镇"):
        return "town"
    if name.endswith("乡"):
        return "township"
    return "other"


def township_kinds(names: pd.Series) -> pd.Series:
    """Vectorised :func:`township_kind`; missing names are "other"."""
    text = names.astype("string").str.strip()
    conditions = [
        text.str.endswith("街道").fillna(False).to_numpy(dtype=bool),
        text.str.endswith("镇").fillna(False).to_numpy(dtype=bool),
        text.str.endswith("乡").fillna(False).to_numpy(dtype=bool),
    ]
    kinds = np.select(conditions, ["street", "town", "township"], default="other")
    return pd.Series(kinds, index=names.index, name="kind", dtype=object)


@dataclass(frozen=True)
class _CountySeeds:
    """Seed points (metric CRS) and the rule that placed each, in the county's unit order."""

    points: np.ndarray
    rules: np.ndarray


def derive_townships(
    counties: gpd.GeoDataFrame,
    townships: pd.DataFrame,
    seats: pd.DataFrame,
    *,
    metric_crs: CRS | str | int,
    street_ring_radius_m: float = 2000.0,
    snap_distance_m: float = 3000.0,
    sample_spacing_m: float = 500.0,
    seed: int = 0,
) -> gpd.GeoDataFrame:
    """Tile every county with approximate township polygons (EPSG:4326).

    Args:
        counties: Columns code, name, geometry (Polygon/MultiPolygon, any defined CRS).
        townships: Columns code, county_code, name; one row per township-level unit.
        seats: Columns code, lon, lat (WGS-84, NaN where unknown); missing codes are
            seat-less.
        metric_crs: Projected CRS in metres (e.g. the city's UTM zone) for all geometry.
        street_ring_radius_m: Ring radius for seat-less 街道 around the urban centre.
        snap_distance_m: Seats at most this far outside their county are snapped inside.
        sample_spacing_m: Grid spacing of the county sample for farthest-point and k-means.
        seed: Seed of the k-means initialisation (counties without any seat).

    Returns:
        One row per township, sorted by code: code, county_code, name, kind, seat_rule,
        seat (a second GeoSeries of Points, EPSG:4326 - drop it before writing formats that
        allow one geometry column) and geometry (MultiPolygon, active, EPSG:4326).

    Raises:
        ValueError: if a township's county_code is not among the counties, codes repeat,
            or metric_crs is not projected.
    """
    metric = CRS.from_user_input(metric_crs)
    if not metric.is_projected:
        raise ValueError(f"metric_crs must be a projected CRS in metres, got {metric.name}")
    if counties.crs is None:
        raise ValueError("counties has no CRS; expected EPSG:4326")
    county_keys = counties["code"].astype(str)
    if county_keys.duplicated().any():
        raise ValueError(f"duplicate county code {county_keys[county_keys.duplicated()].iloc[0]}")
    units = townships[["code", "county_code", "name"]].copy()
    units["_key"] = units["code"].astype(str)
    units["_county"] = units["county_code"].astype(str)
    repeated = units["_key"][units["_key"].duplicated()]
    if len(repeated):
        raise ValueError(f"duplicate township code {repeated.iloc[0]}")
    unknown = ~units["_county"].isin(county_keys)
    if unknown.any():
        row = units[unknown].iloc[0]
        raise ValueError(f"township {row['code']} has county_code {row['county_code']}, "
                         "which is not among the counties")
    units["kind"] = township_kinds(units["name"])
    units = units.sort_values("_key", kind="stable").reset_index(drop=True)

    seat_table = seats.assign(_key=seats["code"].astype(str)).drop_duplicates("_key")
    lonlat = units[["_key"]].merge(seat_table[["_key", "lon", "lat"]], on="_key", how="left")
    lon = pd.to_numeric(lonlat["lon"], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(lonlat["lat"], errors="coerce").to_numpy(dtype=float)
    known = np.isfinite(lon) & np.isfinite(lat)
    raw_seats = np.full(len(units), None, dtype=object)
    known_seats = gpd.GeoSeries(gpd.points_from_xy(lon[known], lat[known]), crs=WGS84)
    raw_seats[known] = known_seats.to_crs(metric).to_numpy()

    county_shapes = dict(zip(county_keys, shapely.make_valid(
        counties.to_crs(metric).geometry.to_numpy()), strict=True))
    seed_points = np.full(len(units), None, dtype=object)
    rules = np.full(len(units), "", dtype=object)
    shapes = np.full(len(units), None, dtype=object)
    for county_key, rows in units.groupby("_county", sort=True).indices.items():
        county = _polygonal(county_shapes[str(county_key)])  # "_county" holds str keys
        placed = _place_seeds(
            county, units["kind"].to_numpy()[rows], raw_seats[rows],
            street_ring_radius_m=street_ring_radius_m, snap_distance_m=snap_distance_m,
            sample_spacing_m=sample_spacing_m, seed=seed,
        )
        seed_points[rows] = placed.points
        rules[rows] = placed.rules
        shapes[rows] = _voronoi_tiles(county, placed.points)

    return gpd.GeoDataFrame(
        {
            "code": units["code"],
            "county_code": units["county_code"],
            "name": units["name"],
            "kind": units["kind"],
            "seat_rule": rules,
            "seat": gpd.GeoSeries(seed_points, crs=metric).to_crs(WGS84),
        },
        geometry=gpd.GeoSeries(shapes, crs=metric).to_crs(WGS84),
    )


def _polygonal(geometry: BaseGeometry) -> MultiPolygon:
    """Keep only the polygon parts of a (made-valid) county as one MultiPolygon."""
    return cast(MultiPolygon, as_multipolygons(np.array([geometry], dtype=object))[0])


def as_multipolygons(geometries: np.ndarray | GeometryArray) -> np.ndarray:
    """Turn each geometry into a MultiPolygon of its polygon parts (lines/points dropped)."""
    # two levels: make_valid/overlay may nest a MultiPolygon inside a GeometryCollection
    parts, first = shapely.get_parts(geometries, return_index=True)
    parts, second = shapely.get_parts(parts, return_index=True)
    owner = first[second]
    keep = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    out = np.array([MultiPolygon()] * len(geometries), dtype=object)
    multipolygons: np.ndarray = shapely.multipolygons(parts[keep], indices=owner[keep], out=out)
    return multipolygons


def _place_seeds(
    county: MultiPolygon,
    kinds: np.ndarray,
    raw_seats: np.ndarray,
    *,
    street_ring_radius_m: float,
    snap_distance_m: float,
    sample_spacing_m: float,
    seed: int,
) -> _CountySeeds:
    """Apply rules 1-4 of the module docstring to one county (units in code order)."""
    n = len(kinds)
    points = np.full(n, None, dtype=object)
    rules = np.full(n, "", dtype=object)
    inner: Polygon | MultiPolygon = county.buffer(-_INSET_M)
    inner = county if inner.is_empty else inner
    has = ~shapely.is_missing(raw_seats)
    inside = has.copy()
    inside[has] = shapely.contains(county, raw_seats[has])
    near = has & ~inside
    near[near] = shapely.distance(county, raw_seats[near]) <= snap_distance_m
    points[inside], rules[inside] = raw_seats[inside], "seat"
    if near.any():
        lines = shapely.shortest_line(inner, raw_seats[near])
        points[near], rules[near] = shapely.get_point(lines, 0), "snapped"
    placed = inside | near
    if placed.any():
        xy = np.round(shapely.get_coordinates(points[placed]), 2)
        duplicate = pd.DataFrame(xy).duplicated().to_numpy()
        drop = np.flatnonzero(placed)[duplicate]
        points[drop], rules[drop], placed[drop] = None, "", False

    samples = _grid_sample(inner, county, n=n, spacing_m=sample_spacing_m)
    if not placed.any():
        centres = _kmeans(samples, n, seed=seed)
        points[:] = shapely.points(centres)
        rules[:] = "kmeans"
        return _CountySeeds(points, rules)

    streets = np.flatnonzero(kinds == "street")
    towns = np.flatnonzero(kinds == "town")
    centre_candidates = np.concatenate([streets[placed[streets]], towns[placed[towns]]])
    ring = streets[~placed[streets]]
    if len(centre_candidates) and len(ring):
        centre = shapely.get_coordinates(points[centre_candidates[0]])[0]
        ring_points, ok = _ring_points(county, centre, len(ring), street_ring_radius_m)
        points[ring[ok]], rules[ring[ok]], placed[ring[ok]] = ring_points[ok], "street_ring", True

    rest = np.flatnonzero(~placed)
    if len(rest):
        chosen = _farthest_points(samples, shapely.get_coordinates(points[placed]), len(rest))
        points[rest], rules[rest] = shapely.points(chosen), "farthest_point"
    return _CountySeeds(points, rules)


def _grid_sample(inner: BaseGeometry, county: BaseGeometry, *, n: int, spacing_m: float
                 ) -> np.ndarray:
    """Regular grid points inside the county (metric xy, N x 2), refined for small counties."""
    start = min(spacing_m, float(np.sqrt(county.area / (_MIN_SAMPLES_PER_UNIT * n))))
    xmin, ymin, xmax, ymax = county.bounds
    for area in (inner, county):
        shapely.prepare(area)
        for halvings in range(8):
            spacing = start / 2**halvings
            # grid centred in the county's bounding box, so symmetric shapes sample symmetrically
            xs, ys = _centred_steps(xmin, xmax, spacing), _centred_steps(ymin, ymax, spacing)
            gx, gy = (g.ravel() for g in np.meshgrid(xs, ys))
            keep = shapely.contains_xy(area, gx, gy)
            if keep.sum() > n:
                return np.column_stack([gx[keep], gy[keep]])
    raise ValueError("county too small to place its townships")


def _centred_steps(low: float, high: float, spacing: float) -> np.ndarray:
    """Evenly spaced coordinates spanning [low, high], centred in it."""
    count = max(1, round((high - low) / spacing))
    return low + (high - low - (count - 1) * spacing) / 2 + spacing * np.arange(count)


def _ring_points(county: BaseGeometry, centre: np.ndarray, count: int, radius_m: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Points evenly spread on a ring (first due north), radius halved until inside."""
    angles = np.pi / 2 - 2 * np.pi * np.arange(count) / count
    radii = radius_m / 2.0 ** np.arange(_MAX_RING_HALVINGS + 1)
    x = centre[0] + np.outer(np.cos(angles), radii)
    y = centre[1] + np.outer(np.sin(angles), radii)
    inside = shapely.contains_xy(county, x, y)
    ok = inside.any(axis=1)
    first = inside.argmax(axis=1)
    rows = np.arange(count)
    return shapely.points(x[rows, first], y[rows, first]), ok


def _farthest_points(samples: np.ndarray, existing: np.ndarray, count: int) -> np.ndarray:
    """Greedy maximin: pick count samples, each farthest from all points chosen before."""
    nearest = ((samples[:, None, :] - existing[None, :, :]) ** 2).sum(axis=2).min(axis=1)
    chosen = np.empty((count, 2))
    for i in range(count):
        chosen[i] = samples[int(np.argmax(nearest))]
        nearest = np.minimum(nearest, ((samples - chosen[i]) ** 2).sum(axis=1))
    return chosen


def _kmeans(samples: np.ndarray, count: int, *, seed: int) -> np.ndarray:
    """Lloyd's k-means (k-means++ start) on the samples; centres ordered north to south.

    A centroid of a non-convex cluster may fall outside the county; it is then replaced by
    the cluster's sample nearest to it so every seed lies in its own township.
    """
    rng = np.random.default_rng(seed)
    centres = [samples[rng.integers(len(samples))]]
    for _ in range(count - 1):
        d2 = ((samples[:, None, :] - np.array(centres)[None]) ** 2).sum(axis=2).min(axis=1)
        centres.append(samples[rng.choice(len(samples), p=d2 / d2.sum())])
    centre = np.array(centres)
    for _ in range(_KMEANS_ITERATIONS):
        label = ((samples[:, None, :] - centre[None]) ** 2).sum(axis=2).argmin(axis=1)
        sums = np.zeros_like(centre)
        np.add.at(sums, label, samples)
        sizes = np.bincount(label, minlength=count)
        updated = np.where(sizes[:, None] > 0, sums / np.maximum(sizes, 1)[:, None], centre)
        if np.allclose(updated, centre):
            break
        centre = updated
    label = ((samples[:, None, :] - centre[None]) ** 2).sum(axis=2).argmin(axis=1)
    d2 = ((samples - centre[label]) ** 2).sum(axis=1)
    for k in range(count):
        members = np.flatnonzero(label == k)
        if len(members):
            centre[k] = samples[members[np.argmin(d2[members])]]
    return centre[np.lexsort((centre[:, 0], -centre[:, 1]))]


def _voronoi_tiles(county: MultiPolygon, seeds: np.ndarray) -> np.ndarray:
    """Clip the Voronoi cells of the seeds to the county; one MultiPolygon per seed."""
    if len(seeds) == 1:
        return np.array([county], dtype=object)
    diagram = shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=shapely.envelope(county))
    cells = shapely.get_parts(diagram)
    seed_index, cell_index = shapely.STRtree(cells).query(seeds, predicate="within")
    if len(seed_index) != len(seeds) or len(np.unique(seed_index)) != len(seeds):
        raise RuntimeError("Voronoi cells do not match the seeds one to one")
    own = np.empty(len(seeds), dtype=object)
    own[seed_index] = cells[cell_index]
    return as_multipolygons(shapely.intersection(own, county))
