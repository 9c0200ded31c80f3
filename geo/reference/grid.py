"""The demand grid: H3 cells over the region, each with a township and a population.

Coverage is counted in people, so people must be placed below township level. Without a
real population raster (``unionmap load population``) the grid's population is *modelled*
by a dasymetric rule applied to each township's modelled urban and rural population
(parameters in ``region.yaml`` → ``demand_grid``; defaults here):

- urban population sits around the township seat: weights ``exp(-d²/2σ²)`` with
  σ = ``urban_sigma_m`` (1 200 m) from the seat;
- rural population: ``settlement_share`` (½) around the settlements — the seat and every
  GeoNames place inside the township, σ = ``settlement_sigma_m`` (600 m) each — and the rest
  spread evenly over the township's cells;
- integers per township by the largest remainder, so every township, county and the city
  keep their totals exactly.

A cell is urban when its township is a 街道 or its density reaches ``urban_density_per_km2``
(1 500 people/km², the "urban centre" density of the GHSL / Eurostat Degree of Urbanisation).
A cell belongs to the township that holds its centre; a township too small to hold a cell
centre gets the cell of its seat, so no township's people are lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import geopandas as gpd
import h3
import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from pyproj import CRS, Transformer
from scipy.spatial import cKDTree

from geo.reference.population import apportion


class GridParameters(BaseModel):
    """The dasymetric rule's parameters (``region.yaml`` → ``demand_grid``)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key in region.yaml is an error, not a default

    resolution: int = Field(default=9, ge=5, le=11)
    urban_sigma_m: float = Field(default=1200.0, gt=0)
    settlement_sigma_m: float = Field(default=600.0, gt=0)
    settlement_share: float = Field(default=0.5, ge=0, le=1)
    urban_density_per_km2: float = Field(default=1500.0, gt=0)


@dataclass(frozen=True)
class Grid:
    """Cells of the demand grid as parallel arrays (one entry per cell row)."""

    cell: np.ndarray            # H3 index, int64
    township_code: np.ndarray   # str
    county_code: np.ndarray     # str
    population: np.ndarray      # float64 people
    is_urban: np.ndarray        # bool
    lon: np.ndarray
    lat: np.ndarray

    def __len__(self) -> int:
        return len(self.cell)

    def frame(self) -> pd.DataFrame:
        """The grid as a DataFrame with the column names of the ``demand_cell`` table."""
        return pd.DataFrame({name: getattr(self, name) for name in self.__dataclass_fields__})


def cells_of_townships(townships: gpd.GeoDataFrame, resolution: int) -> pd.DataFrame:
    """H3 cells whose centre lies in each township (cell, code); every township gets ≥ 1 cell."""
    parts = []
    for code, geometry in zip(townships["code"], townships.geometry, strict=True):
        cells = h3n.geo_to_cells(geometry, resolution)
        parts.append(pd.DataFrame({"cell": np.asarray(cells, dtype=np.uint64).astype(np.int64), "code": code}))
    cells = pd.concat(parts, ignore_index=True).drop_duplicates("cell", keep="first")
    empty = townships.loc[~townships["code"].isin(cells["code"])]
    if len(empty):
        anchor = empty["seat"].where(empty["seat"].notna(), empty.geometry.representative_point())
        extra = [int(h3n.latlng_to_cell(p.y, p.x, resolution)) for p in anchor]
        cells = pd.concat([cells, pd.DataFrame({"cell": extra, "code": empty["code"].to_numpy()})],
                          ignore_index=True)
    return cells.reset_index(drop=True)


def build_grid(townships: gpd.GeoDataFrame, places: pd.DataFrame, *, metric_crs: CRS,
               parameters: GridParameters | None = None) -> Grid:
    """Build the modelled demand grid.

    Args:
        townships: code, county_code, kind, population, urban_population, seat (Points or
            None), geometry; EPSG:4326.
        places: lon, lat of populated places (WGS-84); those inside a township are its
            settlements besides the seat.
        metric_crs: projected CRS for distances (metres).
        parameters: the dasymetric rule's parameters.
    """
    parameters = parameters or GridParameters()
    cells = cells_of_townships(townships, parameters.resolution)
    latlng = np.array([h3n.cell_to_latlng(np.uint64(c)) for c in cells["cell"]])
    lat, lon = latlng[:, 0], latlng[:, 1]
    xy = _project(lon, lat, metric_crs)
    info = townships.set_index("code")
    seats = info["seat"].where(info["seat"].notna(), info.geometry.representative_point())
    seat_xy = dict(zip(info.index, _project(
        np.array([p.x for p in seats]), np.array([p.y for p in seats]), metric_crs), strict=True))
    place_xy, place_code = _places_in_townships(places, townships, metric_crs)

    population = np.zeros(len(cells))
    groups = cells.groupby("code", sort=False).indices
    for code, rows in groups.items():
        # population columns hold whole numbers of people, None where unknown
        urban = int(cast(float | None, info.at[code, "urban_population"]) or 0)
        rural = int(cast(float | None, info.at[code, "population"]) or 0) - urban
        d_seat = np.hypot(*(xy[rows] - seat_xy[code]).T)
        urban_weight = _gauss(d_seat, parameters.urban_sigma_m)
        settlements = np.vstack([seat_xy[code][None, :], place_xy[place_code == code]])
        tree = cKDTree(settlements)
        # an (n, 2) array of points: arrays of n distances and indices, not one pair
        d_nearest, _ = cast(tuple[np.ndarray, np.ndarray], tree.query(xy[rows]))
        settled = _gauss(d_nearest, parameters.settlement_sigma_m)
        rural_weight = (parameters.settlement_share * settled / max(settled.sum(), 1e-12)
                        + (1 - parameters.settlement_share) / len(rows))
        population[rows] = apportion(urban, urban_weight) + apportion(rural, rural_weight)

    area_km2 = h3.average_hexagon_area(parameters.resolution, unit="km^2")
    kind = info["kind"].reindex(cells["code"]).to_numpy()
    is_urban = (kind == "street") | (population / area_km2 >= parameters.urban_density_per_km2)
    return Grid(
        cell=cells["cell"].to_numpy(dtype=np.int64),
        township_code=cells["code"].to_numpy(dtype=object),
        county_code=info["county_code"].reindex(cells["code"]).to_numpy(dtype=object),
        population=population,
        is_urban=is_urban,
        lon=lon,
        lat=lat,
    )


def _gauss(distance_m: np.ndarray, sigma_m: float) -> np.ndarray:
    weight = np.exp(-0.5 * (distance_m / sigma_m) ** 2)
    # Far from every centre the kernel underflows; keep a floor so weights never all vanish.
    return np.maximum(weight, 1e-12)


def _project(lon: np.ndarray, lat: np.ndarray, metric_crs: CRS) -> np.ndarray:
    """WGS-84 lon/lat arrays to an (n, 2) array of metres in ``metric_crs``."""
    transformer = Transformer.from_crs(4326, metric_crs, always_xy=True)
    x, y = transformer.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.column_stack([x, y])


def _places_in_townships(places: pd.DataFrame, townships: gpd.GeoDataFrame,
                         metric_crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    """Metric coordinates of the places inside some township, with that township's code."""
    if places.empty:
        return np.zeros((0, 2)), np.array([], dtype=object)
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(places["lon"], places["lat"]), crs=4326)
    joined = gpd.sjoin(points, townships[["code", "geometry"]], predicate="within", how="inner")
    joined = joined[~joined.index.duplicated()]
    xy = _project(joined.geometry.x.to_numpy(), joined.geometry.y.to_numpy(), metric_crs)
    return xy, joined["code"].to_numpy(dtype=object)
