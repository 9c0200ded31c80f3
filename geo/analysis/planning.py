"""Where the next stations should go: candidates, the coverage matrix, and saved plans.

Maximal covering: choose ``k`` new sites that cover the most people not yet covered by the
open stations of the type. Candidates are, by default, the populated H3 cells one resolution
coarser than the demand grid (each placed at its most populous child cell, so it stands on
settled ground inside the region), or the user's own sites from a CSV. Each candidate's
cell is reached under the same rule as for stations (``geo.coverage``).

``--min-per-county N`` means each county-level unit ends with at least N stations of the
type, existing ones included: the solvers must add ``max(0, N - existing)`` there.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import h3.api.numpy_int as h3n
import numpy as np
import pandas as pd
import scipy.sparse as sp

from geo.analysis import bounds, improve, siting, siting_exact
from geo.analysis.coverage import CoverageModel, StationPoints, TypeRadius
from geo.core import crs
from geo.core.crs import CoordSystem
from geo.errors import InputError
from geo.notices import OPTIMAL_RTOL
from geo.reference.region import parse_numbers, read_csv

# A user's candidate farther than this from every demand cell lies outside the region.
OUTSIDE_REGION_M = 2000.0
# Cap on the coverage matrix (cells × candidates entries): about 0.5 GB with its indices. Types
# with long radii (a 20 km cultural palace reaches 12 000 cells) get coarser candidates instead.
MAX_MATRIX_ENTRIES = 40_000_000
# Of an exact plan's remaining budget, HiGHS gets this share less this reserve: the instance
# reduction before it and the bounds after it take the rest (measured: ~1 s at full size).
EXACT_SHARE, EXACT_RESERVE_S = 0.85, 1.0
# Budgets of what follows a greedy answer, in steps, not seconds, so the same question gets the
# same answer and certificate however busy the machine is (the seconds only cap a slow machine).
# Measured on Jiujiang's 爱心驿站, k = 64, min 5 per county: 2 swaps in 0.07 s; the Lagrangian
# bound reaches 99.4 % of the answer in 10 steps, 99.96 % in 40 and proves it optimal in ~65
# (2-4 ms a step). Both stop earlier at a local optimum, a closed gap.
SWAPS_PER_SITE = 1
SWAP_LIMIT_S = 2.0
BOUND_STEPS = 40
BOUND_LIMIT_S = 3.0
# A plan someone waits for (the API, the plan map: ``geo.analysis.engine``) gives the bound at
# most this: 40 steps take ~0.1 s on 爱心驿站 but 0.8 s on the densest types (三师一室, 工人文化宫),
# where the certificate is then the one reached in time, and asking again goes on from there.
INTERACTIVE_BOUND_LIMIT_S = 0.4

BoundMethod = Literal["lagrangian", "online", "highs"]


@dataclass(frozen=True)
class Candidates:
    """Candidate sites: WGS-84 position, name, and the county/township that holds each."""

    lon: np.ndarray
    lat: np.ndarray
    name: np.ndarray
    county_code: np.ndarray
    township_code: np.ndarray

    def subset(self, mask: np.ndarray) -> Candidates:
        """The candidates where ``mask`` is true."""
        return Candidates(*(getattr(self, name)[mask] for name in self.__dataclass_fields__))


@dataclass(frozen=True, eq=False)
class CoverageMatrix:
    """Which candidates reach which cells, held both ways, as the solvers read it.

    ``columns`` (cells × candidates, CSC, float 0/1, canonical) is what greedy, swaps and the
    bound multiply by; ``rows`` (CSR, int8) gives the candidates covering a cell. Kept by the
    warm engine so a plan neither rebuilds nor re-checks them (checking copies 8.8 million
    entries: 70 ms on Jiujiang's 爱心驿站, twice the greedy itself).
    """

    columns: sp.csc_matrix
    rows: sp.csr_matrix

    @classmethod
    def of(cls, matrix: sp.csc_matrix) -> CoverageMatrix:
        """Prepare ``matrix`` (cells × candidates, non-zero = covers) for the solvers."""
        columns, _, _ = siting.prepare_instance(matrix, np.zeros(matrix.shape[0]), 0)
        return cls(columns, bounds.row_layout(columns))

    @property
    def shape(self) -> tuple[int, int]:
        return self.columns.shape

    @property
    def nbytes(self) -> int:
        """Memory of both layouts, in bytes."""
        return int(sum(array.nbytes for matrix in (self.columns, self.rows)
                       for array in (matrix.data, matrix.indices, matrix.indptr)))


class BeforeAfter:
    """The shares of the population covered before and after, for a result that holds the people."""

    population: float
    covered_before: float
    covered_after: float

    @property
    def share_before(self) -> float:
        return self.covered_before / self.population if self.population else 0.0

    @property
    def share_after(self) -> float:
        return self.covered_after / self.population if self.population else 0.0


@dataclass(frozen=True)
class PlanResult(BeforeAfter):
    """A siting proposal with its figures (people)."""

    type_code: str
    proposals: pd.DataFrame      # order, name, lon, lat, county_code, township_code, added, cumulative, share
    solution: siting.SitingResult
    population: float            # everyone in the grid
    covered_before: float        # covered by the stations already counted
    covered_after: float
    candidates: int
    min_per_county: int
    deficits: dict[str, int]
    greedy_objective: float      # the greedy answer's covered people, before any swap
    bound_method: BoundMethod    # which proven bound ``solution.upper_bound`` is
    swaps: int = 0               # 1-swaps that improved the greedy answer

    @property
    def bound_share(self) -> float:
        """Covered people as a share of the proven bound: "at least this share of the optimum"."""
        bound = self.solution.upper_bound
        return self.solution.objective / bound if bound > 0 else 1.0


def grid_candidates(model: CoverageModel, resolution: int) -> Candidates:
    """One candidate per populated H3 cell at ``resolution``, at its most populous child cell."""
    grid = model.grid
    populated = np.flatnonzero(grid.population > 0)
    parents = np.array([h3n.cell_to_parent(np.uint64(c), resolution) for c in grid.cell[populated]])
    order = np.lexsort((-grid.population[populated], parents))  # by parent, most populous first
    first = np.r_[True, parents[order][1:] != parents[order][:-1]]
    chosen = populated[order[first]]
    names = np.array([f"候选格 {h3n.int_to_str(np.uint64(p))}" for p in parents[order][first]], dtype=object)
    return Candidates(grid.lon[chosen], grid.lat[chosen], names,
                      grid.county_code[chosen], grid.township_code[chosen])


def matrix_entries(model: CoverageModel, kind: TypeRadius, candidates: int) -> float:
    """Expected entries of the coverage matrix: candidates × cells within the larger radius."""
    reach_m = max(kind.radius_urban_m, kind.radius_rural_m)
    return candidates * min(np.pi * reach_m**2 / model.cell_area_m2, len(model.grid))


def default_candidates(model: CoverageModel, kind: TypeRadius, grid_resolution: int) -> tuple[Candidates, int]:
    """Grid candidates one resolution coarser than the grid, coarser still while the coverage
    matrix would exceed ``MAX_MATRIX_ENTRIES``; returns them and the resolution used."""
    resolution = grid_resolution - 1
    candidates = grid_candidates(model, resolution)
    while resolution > 4 and matrix_entries(model, kind, len(candidates.lon)) > MAX_MATRIX_ENTRIES:
        resolution -= 1
        candidates = grid_candidates(model, resolution)
    return candidates, resolution


def read_candidates(path: Path, model: CoverageModel, *, source_crs: CoordSystem = "wgs84",
                    text: str | None = None) -> Candidates:
    """Candidate sites from a CSV with columns lon, lat and optionally name.

    ``text``: the file's content, already decoded (an upload; ``path`` then only names it).
    Each site gets the county and township of the nearest demand cell; a site farther than
    ``OUTSIDE_REGION_M`` from every cell is an error naming its row.
    """
    frame = read_csv(path, ["lon", "lat"], text=text)
    lon = parse_numbers(frame, "lon", path, required=True, low=-180, high=180).to_numpy()
    lat = parse_numbers(frame, "lat", path, required=True, low=-90, high=90).to_numpy()
    lon, lat = crs.convert(lon, lat, source=source_crs, target="wgs84")
    county, township, distance = locate(model, lon, lat)
    outside = first_outside(distance)
    if outside is not None:
        raise InputError(f"site {outside_message(distance[outside])}", file=str(path), row=int(frame.index[outside]),
                         field="lon")
    names = frame["name"].to_numpy(dtype=object) if "name" in frame else \
        np.array([f"候选点 {row}" for row in frame.index], dtype=object)
    return Candidates(lon, lat, names, county, township)


def given_candidates(model: CoverageModel, lon: np.ndarray, lat: np.ndarray, names: np.ndarray | None = None, *,
                     field: str = "candidates") -> Candidates:
    """Candidate sites given as WGS-84 arrays (the API's list), placed in their county and township
    like :func:`read_candidates`; a site outside the region is an error naming ``field[index]``."""
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    county, township, distance = locate(model, lon, lat)
    outside = first_outside(distance)
    if outside is not None:
        raise InputError(f"第 {outside + 1} 个地点在区域外 / the site at index {outside} "
                         f"{outside_message(distance[outside])}", field=f"{field}[{outside}]")
    if names is None:
        names = np.array([f"候选点 {index + 1}" for index in range(len(lon))], dtype=object)
    return Candidates(lon, lat, np.asarray(names, dtype=object), county, township)


def locate(model: CoverageModel, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """County and township codes of the demand cell nearest each WGS-84 point, and its distance (m).

    A point the region's projection cannot hold (the other side of the globe: infinite metres) is
    infinitely far, with the codes of cell 0 (it is refused as outside anyway).
    """
    xy = model.to_metric(lon, lat)
    distance, nearest = np.full(len(xy), np.inf), np.zeros(len(xy), dtype=np.intp)
    finite = np.isfinite(xy).all(axis=1)
    if finite.any():
        # an (n, 2) array of points: arrays of n distances and indices, not one pair
        distance[finite], nearest[finite] = cast(tuple[np.ndarray, np.ndarray], model.tree.query(xy[finite]))
    return model.grid.county_code[nearest], model.grid.township_code[nearest], distance


def first_outside(distance_m: np.ndarray) -> int | None:
    """Index of the first point farther than ``OUTSIDE_REGION_M`` from every demand cell, or None."""
    outside = distance_m > OUTSIDE_REGION_M
    return int(np.argmax(outside)) if outside.any() else None


def outside_message(distance_m: float) -> str:
    """Why a point is refused: how far outside the region it lies."""
    return f"lies outside the region ({distance_m:.0f} m from it)"


def memo_get(memo: MutableMapping[tuple[object, ...], np.ndarray] | None,
             key: tuple[object, ...]) -> np.ndarray | None:
    """``memo[key]`` if there is one (and mark it recently used, if the memo keeps an order)."""
    if memo is None or key not in memo:
        return None
    value = memo.pop(key)
    memo[key] = value
    return value


def coverage_matrix(model: CoverageModel, candidates: Candidates, kind: TypeRadius) -> CoverageMatrix:
    """Cells × candidates, 1 where the candidate's radius reaches the cell centre."""
    columns, rows = model.reach(model.to_metric(candidates.lon, candidates.lat), kind)
    data = np.ones(len(rows), dtype=np.int8)
    return CoverageMatrix.of(sp.csc_matrix((data, (rows, columns)),
                                           shape=(len(model.grid), len(candidates.lon))))


def plan_sites(model: CoverageModel, stations: StationPoints, kind: TypeRadius, candidates: Candidates, *,
               add: int, min_per_county: int = 0, method: str = "greedy",
               time_limit_s: float = 60.0, bound_steps: int = BOUND_STEPS,
               bound_limit_s: float = BOUND_LIMIT_S, matrix: CoverageMatrix | None = None,
               bound_memo: MutableMapping[tuple[object, ...], np.ndarray] | None = None,
               progress: siting_exact.Progress | None = None) -> PlanResult:
    """Choose ``add`` candidates that newly cover the most people, and prove how good they are.

    Greedy first; then 1-swaps while they pay (at most one per site); then, for a greedy plan, the
    Lagrangian bound on the optimum (``bound_steps`` subgradient steps, ``bound_limit_s`` seconds at
    most; ``geo.analysis.bounds``;
    the result says which bound it carries), or, for an exact
    plan, HiGHS warm-started with the swapped answer. The sites are listed in greedy order with
    the people each adds.

    ``matrix``: the candidates' coverage matrix when the caller keeps it (``geo.analysis.engine``);
    built here otherwise. ``bound_memo``: where the caller keeps, for this matrix, the multipliers
    each question's bound search stopped at (keyed by the weights, ``add`` and the deficits); the
    same question asked again goes on from there, so its certificate only gets better.

    With ``method="exact"``, ``time_limit_s`` bounds the whole call, not only HiGHS: the solver
    gets what is left after the matrix and the greedy warm start, less a reserve for the bounds
    computed after it (HiGHS's own limit covers neither its presolve nor our work around it).
    ``progress``: the exact solver's progress callback (``siting_exact.Progress``), exact only.
    """
    started = time.monotonic()
    if add < 1 or add > len(candidates.lon):
        raise InputError(f"must be between 1 and the {len(candidates.lon)} candidates", field="add")
    if method not in ("greedy", "exact"):
        raise InputError(f"unknown method {method!r}: greedy or exact", field="method")
    if matrix_entries(model, kind, len(candidates.lon)) > MAX_MATRIX_ENTRIES:
        reach_m = max(kind.radius_urban_m, kind.radius_rural_m)
        raise InputError(f"{len(candidates.lon)} candidates with a {reach_m:.0f} m radius make too large a "
                         "problem: give fewer candidates", field="candidates")
    already = model.covered_by_type(stations, kind)
    weights = np.where(already, 0.0, model.grid.population).astype(np.float64)
    if matrix is None:
        matrix = coverage_matrix(model, candidates, kind)
    elif matrix.shape != (len(model.grid), len(candidates.lon)):
        raise ValueError(f"matrix of shape {matrix.shape} does not fit {len(model.grid)} cells × "
                         f"{len(candidates.lon)} candidates")
    existing = pd.Series(stations.county_code[stations.type_code == kind.code]).value_counts()
    counties = model.regions["county"][0]  # the grid's county codes, as strings, computed once per model
    deficits = {str(c): int(max(0, min_per_county - existing.get(c, 0))) for c in counties}
    deficits = {c: d for c, d in deficits.items() if d > 0}
    groups = candidates.county_code.astype(str)
    columns = matrix.columns
    question = (hashlib.blake2b(weights.tobytes(), digest_size=16).digest(), add, tuple(sorted(deficits.items())))
    try:
        minimums = siting.prepare_minimums(groups, deficits, columns.shape[1], add)
    except siting.InfeasibleProblem as error:
        raise InputError(f"cannot be met with {add} new sites: {error}", field="min_per_county") from error
    initial = np.asarray(columns.T @ weights).ravel()  # each candidate's people on its own
    greedy = siting.greedy_prepared(columns, weights, add, minimums, initial=initial)
    swapped = improve.swap_prepared(columns, weights, greedy.chosen.copy(), minimums,
                                    time_limit_s=SWAP_LIMIT_S, max_swaps=SWAPS_PER_SITE * add, rows=matrix.rows)
    # The proof of the swapped answer: the certificate of a greedy plan, and for an exact one a
    # bound HiGHS's own must beat (its dual bound starts near the total weight).
    proof = bounds.certify_prepared(columns, weights, np.asarray(swapped.chosen), add, minimums,
                                    time_limit_s=bound_limit_s, max_iterations=bound_steps, rows=matrix.rows,
                                    online=greedy.upper_bound, multipliers=memo_get(bound_memo, question))
    if bound_memo is not None:
        bound_memo[question] = proof.lagrangian.multipliers
    proven = proof.bound_share >= 1.0 - OPTIMAL_RTOL
    bound_method: BoundMethod = proof.bound_method
    if method == "exact" and not proven:
        remaining_s = time_limit_s - (time.monotonic() - started)
        solution = siting_exact.solve_exact(columns, weights, add, candidate_groups=groups, min_per_group=deficits,
                                            time_limit_s=max(0.5, EXACT_SHARE * remaining_s - EXACT_RESERVE_S),
                                            warm_start=swapped.chosen, progress=progress,
                                            known_bound=proof.upper_bound)
        if solution.upper_bound < proof.upper_bound:
            bound_method = "highs"
    else:  # greedy, or exact when the swapped answer is already proven optimal: no HiGHS needed
        ordered, gains = siting.in_greedy_order(columns, weights, swapped.chosen, initial=initial)
        solution = siting.SitingResult(chosen=ordered, gains=gains, objective=proof.objective,
                                       total_weight=greedy.total_weight, upper_bound=proof.upper_bound,
                                       method="exact" if method == "exact" else "greedy",
                                       status="optimal" if proven else "heuristic",
                                       seconds=time.monotonic() - started)
    population = float(model.grid.population.sum())
    before = float(model.grid.population[already].sum())
    cumulative = before + np.cumsum(solution.gains)
    chosen = solution.chosen
    proposals = pd.DataFrame({
        "order": np.arange(1, len(chosen) + 1), "name": candidates.name[chosen],
        "lon": candidates.lon[chosen], "lat": candidates.lat[chosen],
        "county_code": candidates.county_code[chosen], "township_code": candidates.township_code[chosen],
        "added": solution.gains, "cumulative": cumulative,
        "share": cumulative / population if population else 0.0,
    })
    return PlanResult(kind.code, proposals, solution, population, before, before + solution.objective,
                      len(candidates.lon), min_per_county, deficits, greedy.objective, bound_method,
                      swapped.swaps)
