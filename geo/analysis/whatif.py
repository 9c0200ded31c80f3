"""What-if: the people an ordered list of sites adds, site by site, without solving anything.

The plan page lets a planner drop a proposal or add a site of their own (a click on the map, a
row of a CSV) and see the totals change at once. That is an evaluation, not a plan: each site, in
the order given, adds the people within its reach that neither the open stations of the type nor
the sites before it already cover. Reach is the coverage rule of every plan and report
(``CoverageModel.reach``: the radius of the *cell's* setting, urban or rural), so a site evaluated
here covers exactly the cells its column of a plan's coverage matrix holds.

The figures are summed as the plan's solvers sum them (``siting.lazy_greedy`` and
``bounds.certify_prepared``), so evaluating a plan's own proposals in its order gives back its
per-site ``added`` and its ``covered_after`` to the last bit, not merely to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from geo.analysis import planning, siting
from geo.analysis.coverage import CoverageModel, StationPoints, TypeRadius
from geo.errors import InputError

# Sites one evaluation may hold (the API's limit too): a plan page shows a few dozen.
MAX_SITES = 500
# Cap on cells reached by all sites together (one entry per site and cell): 500 sites of the
# longest radius (工人文化宫, 20 km: ~12 000 cells each) stay under it; a what-if stays cheap.
MAX_REACH_ENTRIES = 8_000_000


@dataclass(frozen=True)
class WhatIf(planning.BeforeAfter):
    """The sites in the order given with what each adds, and the totals before and after (people)."""

    type_code: str
    sites: pd.DataFrame   # order, lon, lat (WGS-84), county_code, township_code, added, cumulative_added,
    #                       cumulative (covered people with this site), share (of the population)
    population: float     # everyone in the grid
    covered_before: float  # by the open stations of the type
    covered_after: float   # with every site added

    @property
    def added(self) -> float:
        return self.covered_after - self.covered_before


# Where a grid candidate stands, WGS-84 (lon, lat) → its column in the instance's matrix.
Positions = dict[tuple[float, float], int]


def positions_of(lon: np.ndarray, lat: np.ndarray) -> Positions:
    """Each candidate's column by its exact position (a plan's proposals are sent back as given)."""
    return {point: index for index, point in enumerate(zip(lon.tolist(), lat.tolist(), strict=True))}


def site_columns(model: CoverageModel, kind: TypeRadius, lon: np.ndarray, lat: np.ndarray, *,
                 known: tuple[Positions, sp.csc_matrix] | None = None) -> sp.csc_matrix:
    """Cells × sites, 1 where the site reaches the cell: a plan's coverage matrix for these sites
    (canonical, rows sorted in each column, as the solvers read it).

    ``known``: a warm instance's candidates (``positions_of``) and matrix. A site standing exactly
    on one of them takes its column as it is (the long radii reach 12 000 cells a site: the ball
    queries are most of a what-if's time); the others are reached here, by the same rule.
    """
    index = np.array([known[0].get(point, -1) for point in zip(lon.tolist(), lat.tolist(), strict=True)]
                     if known is not None else [-1] * len(lon), dtype=np.intp)
    new = np.flatnonzero(index < 0)
    sites, cells = model.reach(model.to_metric(lon[new], lat[new]), kind)
    matrix = sp.csc_matrix((np.ones(len(cells)), (cells, new[sites])), shape=(len(model.grid), len(lon)))
    if known is not None and len(new) < len(lon):
        held = np.flatnonzero(index >= 0)
        placed = sp.csc_matrix((np.ones(len(held)), (np.arange(len(held)), held)), shape=(len(held), len(lon)))
        matrix = matrix + known[1][:, index[held]] @ placed  # the held columns, moved to the sites' places
    columns, _, _ = siting.prepare_instance(matrix, np.zeros(matrix.shape[0]), 0)
    return columns


def sequential_gains(columns: sp.csc_matrix, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What each column adds on top of those before it, and the mask of every cell covered.

    Summed as ``siting.lazy_greedy`` sums: the first site's gain is its column's product with the
    weights, each later one the sum of its not yet covered weights in row order.
    """
    indptr, indices = columns.indptr, columns.indices
    covered = np.zeros(columns.shape[0], dtype=bool)
    gains = np.zeros(columns.shape[1])
    if columns.shape[1]:
        gains[0] = np.asarray(columns[:, [0]].T @ weights).ravel()[0]
    for site in range(columns.shape[1]):
        rows = indices[indptr[site]:indptr[site + 1]]
        if site:
            gains[site] = float(weights[rows[~covered[rows]]].sum())
        covered[rows] = True
    return gains, covered


def evaluate_sites(model: CoverageModel, stations: StationPoints, kind: TypeRadius, lon: np.ndarray,
                   lat: np.ndarray, *, field: str = "sites",
                   known: tuple[Positions, sp.csc_matrix] | None = None) -> WhatIf:
    """The people each WGS-84 site adds, in the order given, to the open stations of ``kind``.

    A site outside the region (``planning.OUTSIDE_REGION_M`` from every cell) is an InputError
    naming ``field[index]``; so is a list longer than ``MAX_SITES`` or reaching more than
    ``MAX_REACH_ENTRIES`` cells in all. A site where another already stands adds 0. ``known``: as
    for :func:`site_columns`.
    """
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    if len(lon) > MAX_SITES:
        raise InputError(f"at most {MAX_SITES} sites, got {len(lon)}", field=field)
    if planning.matrix_entries(model, kind, len(lon)) > MAX_REACH_ENTRIES:
        raise InputError(f"{len(lon)} sites of {kind.code} reach too many cells to evaluate at once: "
                         f"give fewer sites", field=field)
    located = planning.given_candidates(model, lon, lat, field=field)
    already = model.covered_by_type(stations, kind)
    weights = np.where(already, 0.0, model.grid.population).astype(np.float64)
    gains, covered = sequential_gains(site_columns(model, kind, lon, lat, known=known), weights)
    population = float(model.grid.population.sum())
    before = float(model.grid.population[already].sum())
    cumulative_added = np.cumsum(gains)
    cumulative = before + cumulative_added
    sites = pd.DataFrame({
        "order": np.arange(1, len(lon) + 1), "lon": lon, "lat": lat,
        "county_code": located.county_code, "township_code": located.township_code,
        "added": gains, "cumulative_added": cumulative_added, "cumulative": cumulative,
        "share": cumulative / population if population else 0.0,
    })
    # as a plan's covered_after: the covered weight of the mask, summed once (bounds.certify_prepared)
    return WhatIf(kind.code, sites, population, before, before + float(weights[covered].sum()))
