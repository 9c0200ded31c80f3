"""Model township population from county census totals.

The 2020 census publishes population and urban share per county, not per township. This
module spreads each county's figure over its townships (see :mod:`geo.boundaries`) so that
coverage can be weighted by people. Pure functions, no database; areas in ``metric_crs``.

Rule, per county with census population P and urban share s (defaults overridable):

- the urban pool U = round(P * s) (halves up) is split among all the county's units in proportion to
  an urban weight by kind - street (街道) 4.0, town (镇) 1.0, township (乡) 0.15, other
  (林场, 垦殖场 ...) 0.05 - because urban residents live mostly in 街道 and town centres;
- the rural pool R = P - U is split in proportion to land area (km²) among the county's
  non-street units (among all units if the county has only streets);
- both pools are rounded to integers by the largest-remainder (Hamilton) method, so U and
  R - and hence P - are reproduced exactly by each county's townships.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

DEFAULT_URBAN_WEIGHTS: Mapping[str, float] = {
    "street": 4.0,
    "town": 1.0,
    "township": 0.15,
    "other": 0.05,
}


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Split a non-negative integer total in proportion to weights, summing exactly.

    Largest-remainder (Hamilton) method: everyone gets the floor of their quota and the
    leftover units go to the largest fractional parts, ties to the lower index. All-zero
    weights split equally (ties again to the lower index).

    Raises:
        ValueError: if total is negative or weights are negative, non-finite or not 1-D.
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 1:
        raise ValueError("weights must be one-dimensional")
    if int(total) != total or total < 0:
        raise ValueError(f"total must be a non-negative integer, got {total}")
    total = int(total)
    if len(weights) == 0:
        if total:
            raise ValueError("cannot apportion a positive total over no weights")
        return np.zeros(0, dtype=np.int64)
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("weights must be finite and non-negative")
    if weights.sum() == 0:
        weights = np.ones_like(weights)
    quota = total * (weights / weights.sum())
    shares: np.ndarray = np.floor(quota).astype(np.int64)
    fraction = quota - shares
    order = np.argsort(-fraction, kind="stable")
    leftover = total - int(shares.sum())
    if leftover >= 0:
        # float rounding can at worst leave more than n units; hand them out round-robin
        shares += leftover // len(shares)
        shares[order[: leftover % len(shares)]] += 1
    else:
        takers = order[::-1][shares[order[::-1]] > 0][:-leftover]
        shares[takers] -= 1
    return shares


def model_township_population(
    townships: gpd.GeoDataFrame,
    counties: pd.DataFrame,
    *,
    metric_crs: CRS | str | int,
    urban_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Estimate population per township from county census totals.

    Args:
        townships: Columns code, county_code, kind, geometry (any defined CRS, normally
            EPSG:4326), e.g. the output of :func:`geo.boundaries.derive_townships`.
        counties: Columns code, population (int), urban_share (0..1).
        metric_crs: Projected CRS in metres used to measure land area.
        urban_weights: Urban weight per kind; given entries override
            :data:`DEFAULT_URBAN_WEIGHTS`, missing kinds keep their default.

    Returns:
        One row per township in the input order: code, population, urban_population,
        rural_population (int64); population = urban + rural, summing to the census.

    Raises:
        ValueError: naming the county code if a county with townships has no population
            row, a negative population, or an urban_share outside 0..1; naming the kind if
            a township kind has no urban weight.
    """
    metric = CRS.from_user_input(metric_crs)
    if not metric.is_projected:
        raise ValueError(f"metric_crs must be a projected CRS in metres, got {metric.name}")
    weights_by_kind = {**DEFAULT_URBAN_WEIGHTS, **(urban_weights or {})}
    if any(w < 0 or not np.isfinite(w) for w in weights_by_kind.values()):
        raise ValueError("urban weights must be finite and non-negative")
    missing_kind = sorted(set(townships["kind"]) - set(weights_by_kind))
    if missing_kind:
        raise ValueError(f"no urban weight for township kind {missing_kind[0]!r}")

    census = counties.assign(_county=counties["code"].astype(str)).set_index("_county")
    if census.index.duplicated().any():
        raise ValueError(f"duplicate county code {census.index[census.index.duplicated()][0]}")
    county_key = townships["county_code"].astype(str).to_numpy()
    checked: dict[str, tuple[int, float]] = {}  # county key -> (population, urban share), validated
    for key in pd.unique(county_key):
        if key not in census.index:
            raise ValueError(f"county {key} has townships but no population row")
        # cells of the caller's frame: of any type until these checks have passed
        population: Any = census.at[key, "population"]
        share: Any = census.at[key, "urban_share"]
        if pd.isna(population) or population < 0 or int(population) != population:
            raise ValueError(f"county {key} has invalid population {population!r}")
        if pd.isna(share) or not 0 <= share <= 1:
            raise ValueError(f"county {key} has urban_share {share!r} outside 0..1")
        checked[key] = (int(population), float(share))

    kind = townships["kind"].to_numpy()
    urban_weight = np.array([weights_by_kind[k] for k in kind], dtype=float)
    area_km2 = townships.geometry.to_crs(metric).area.to_numpy() / 1e6
    is_street = kind == "street"
    urban = np.zeros(len(townships), dtype=np.int64)
    rural = np.zeros(len(townships), dtype=np.int64)
    for key, rows in pd.Series(county_key).groupby(county_key).indices.items():
        total, urban_share = checked[str(key)]
        urban_pool = int(np.floor(total * urban_share + 0.5))
        urban[rows] = apportion(urban_pool, urban_weight[rows])
        # streets hold no rural pool unless the county is all streets (an urban district)
        eligible = ~is_street[rows] if not is_street[rows].all() else np.ones(len(rows), bool)
        rural_area = np.where(eligible, area_km2[rows], 0.0)
        if rural_area.sum() == 0:
            rural_area = eligible.astype(float)
        rural[rows] = apportion(total - urban_pool, rural_area)

    return pd.DataFrame({
        "code": townships["code"].to_numpy(),
        "population": urban + rural,
        "urban_population": urban,
        "rural_population": rural,
    })
