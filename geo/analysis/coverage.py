"""Who is covered: population within each type's service radius of its stations.

A station covers a demand cell when the cell's centre lies within the type's radius for the
*cell's* setting: the urban radius for people in urban cells, the rural radius for people in
rural cells (``geo.grid`` decides which cells are urban). The standard follows the people: a
town dweller should find a station within walking distance, a villager within a short ride,
wherever the station stands; a rural station next to a town does not cover the town with its
long rural radius. Distances are Euclidean in the region's UTM zone (metres):
across a region a few degrees wide its scale error stays below 0.1 %, i.e. under a metre at
1 km (``docs/benchmarks.md`` compares the result with PostGIS geography distances).

Everything is vectorised: one KD-tree of the cell centres, one ball query per station.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import h3
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

from geo.reference.grid import Grid

Level = Literal["city", "county", "township"]
CITY = "city"


@dataclass(frozen=True)
class TypeRadius:
    """Service radii of one type, metres."""

    code: str
    name_zh: str
    radius_urban_m: float
    radius_rural_m: float


@dataclass(frozen=True)
class StationPoints:
    """Stations that count, as parallel arrays (WGS-84 lon/lat)."""

    type_code: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    county_code: np.ndarray
    township_code: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> StationPoints:
        """From a frame with columns type_code, lon, lat, county_code, township_code."""
        return cls(*(frame[name].to_numpy() for name in cls.__dataclass_fields__))

    def subset(self, mask: np.ndarray) -> StationPoints:
        """The stations where ``mask`` is true."""
        return StationPoints(*(getattr(self, name)[mask] for name in self.__dataclass_fields__))


@dataclass(frozen=True)
class CoverageModel:
    """The demand grid in metres with a KD-tree of its cell centres, built once per grid."""

    grid: Grid
    metric_crs: CRS
    xy: np.ndarray
    cell_area_m2: float
    tree: cKDTree = field(repr=False)
    # Per level: the region codes and, for each cell, the index of its region in them.
    regions: dict[str, tuple[np.ndarray, np.ndarray]] = field(repr=False, default_factory=dict)

    @classmethod
    def build(cls, grid: Grid, metric_crs: CRS, *, cell_area_m2: float | None = None) -> CoverageModel:
        """Project the cell centres and index them (cell area: the H3 average at the grid's resolution)."""
        xy = project(grid.lon, grid.lat, metric_crs)
        if cell_area_m2 is None:
            resolution = h3.get_resolution(h3.int_to_str(int(grid.cell[0]))) if len(grid) else 9
            cell_area_m2 = h3.average_hexagon_area(resolution, unit="m^2")
        regions = {level: np.unique(_region_keys(grid, level).astype(str), return_inverse=True)
                   for level in ("city", "county", "township")}
        return cls(grid=grid, metric_crs=metric_crs, xy=xy, cell_area_m2=cell_area_m2, tree=cKDTree(xy),
                   regions=regions)

    def to_metric(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """WGS-84 lon/lat to the model's metres."""
        return project(lon, lat, self.metric_crs)

    def reach(self, xy: np.ndarray, kind: TypeRadius) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (point index, cell index) where a point at ``xy`` covers the cell.

        One ball query at the larger radius, then each hit is kept if it is within the radius
        of the cell's own setting.
        """
        if len(xy) == 0:
            return np.zeros(0, np.intp), np.zeros(0, np.intp)
        reach_m = max(kind.radius_urban_m, kind.radius_rural_m)
        hits = self.tree.query_ball_point(xy, reach_m, return_sorted=False)
        lengths = np.fromiter((len(h) for h in hits), dtype=np.intp, count=len(hits))
        cells = np.concatenate([np.asarray(h, dtype=np.intp) for h in hits])
        points = np.repeat(np.arange(len(hits)), lengths)
        distance_m = np.hypot(*(self.xy[cells] - xy[points]).T)
        limit_m = np.where(self.grid.is_urban[cells], kind.radius_urban_m, kind.radius_rural_m)
        keep = distance_m <= limit_m
        return points[keep], cells[keep]

    def covered(self, xy: np.ndarray, kind: TypeRadius) -> np.ndarray:
        """Boolean mask of the cells covered by any of the points ``xy``.

        Few points: one ball query per point (cost ∝ cells reached). Many points whose balls
        would reach more cells than the grid has: the distance from every cell to its nearest
        point instead (cost ∝ cells · log points). Both give the same mask.
        """
        if len(xy) == 0:
            return np.zeros(len(self.grid), dtype=bool)
        reach_m = max(kind.radius_urban_m, kind.radius_rural_m)
        expected_hits = len(xy) * np.pi * reach_m**2 / self.cell_area_m2
        if expected_hits < len(self.grid):
            mask = np.zeros(len(self.grid), dtype=bool)
            mask[self.reach(xy, kind)[1]] = True
            return mask
        distance_m, _ = cKDTree(xy).query(self.xy, k=1, distance_upper_bound=reach_m, workers=-1)
        return distance_m <= np.where(self.grid.is_urban, kind.radius_urban_m, kind.radius_rural_m)

    def covered_by_type(self, stations: StationPoints, kind: TypeRadius) -> np.ndarray:
        """Cells covered by the stations of one type."""
        own = stations.subset(stations.type_code == kind.code)
        return self.covered(self.to_metric(own.lon, own.lat), kind)


def project(lon: np.ndarray, lat: np.ndarray, metric_crs: CRS) -> np.ndarray:
    """WGS-84 lon/lat arrays to an (n, 2) array of metres."""
    transformer = Transformer.from_crs(4326, metric_crs, always_xy=True)
    x, y = transformer.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.column_stack([x, y])


def _region_keys(grid: Grid, level: Level) -> np.ndarray:
    if level == "city":
        return np.full(len(grid), CITY, dtype=object)
    return grid.county_code if level == "county" else grid.township_code


def coverage_tables(model: CoverageModel, stations: StationPoints, types: list[TypeRadius], *,
                    levels: tuple[Level, ...] = ("township", "county", "city")) -> dict[Level, pd.DataFrame]:
    """Per type and region of each level: stations, population, covered and uncovered people, share.

    Each type's covered cells are found once and summed at every level. A station counts in the
    region that holds it; it covers people wherever they live, across borders too. Regions with
    no people and no station still get a row (share 0).
    """
    masks = {kind.code: model.covered_by_type(stations, kind) for kind in types}
    return {level: _summarise(model, stations, types, masks, level) for level in levels}


def coverage_table(model: CoverageModel, stations: StationPoints, types: list[TypeRadius], *,
                   level: Level = "county") -> pd.DataFrame:
    """The coverage table of one level (see ``coverage_tables``)."""
    return coverage_tables(model, stations, types, levels=(level,))[level]


def _summarise(model: CoverageModel, stations: StationPoints, types: list[TypeRadius],
               masks: dict[str, np.ndarray], level: Level) -> pd.DataFrame:
    codes, inverse = model.regions[level]
    population = np.bincount(inverse, weights=model.grid.population, minlength=len(codes))
    station_keys = {"city": np.full(len(stations.type_code), CITY, dtype=object),
                    "county": stations.county_code, "township": stations.township_code}[level]
    frames = []
    for kind in types:
        covered = np.bincount(inverse, weights=model.grid.population * masks[kind.code], minlength=len(codes))
        own = pd.Series(station_keys[stations.type_code == kind.code]).dropna().astype(str)
        counts = own.value_counts().reindex(codes, fill_value=0).to_numpy()
        frames.append(pd.DataFrame({
            "type_code": kind.code, "type_name": kind.name_zh, "region_code": codes,
            "stations": counts, "population": population, "covered_population": covered,
        }))
    table = pd.concat(frames, ignore_index=True)
    table["uncovered_population"] = table["population"] - table["covered_population"]
    share = table["covered_population"] / table["population"].where(table["population"] > 0)
    table["covered_share"] = share.fillna(0.0)
    return table
