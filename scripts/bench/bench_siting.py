"""Benchmark: every siting method side by side: greedy, 1-swaps, both bounds, HiGHS and spopt's MCLP.

Issue 12 §4, on Jiujiang's 爱心驿站 as a plan builds it (``siting_instance.plan_inputs``: weights =
people not yet covered by the open stations; county deficits at a minimum of 5, existing stations
counted), for each k of ``--ks`` without and with the county minimums, on three instances:

- **res 8**: the default candidates (``planning.default_candidates``: populated H3 res-8 cells, one
  coarser than the res-9 demand grid, 30 447 × 210 102 cells). HiGHS only for k <= ``--exact-max-k``
  (16): past that it did not finish in 300 s (docs/benchmarks.md), and the run must stay short.
- **res 7**: candidates one resolution coarser (4 556); HiGHS for every k.
- **res 7, three counties, cells merged** (``--spopt-counties``): the reduced instance spopt's MCLP
  can hold. spopt (``MCLP.from_cost_matrix``) builds its PuLP model from a dense demand × candidate
  array with a Python loop over every entry (~9 µs each), so even res 7 over the whole city (51 935
  merged demand groups × 4 556 candidates = 237 M entries) would take ~35 min per k to build, by
  that rate, and 3.8 GB for its dense float arrays (our cost matrix and its copy ``aij``).
  So: the res-7 candidates and the demand cells of 德安县, 湖口县 (the two counties with a deficit,
  1 and 3 stations, so the instance has minimum rows) and 庐山市 only (coverage across the three
  counties' outer border ignored), the cells merged exactly by ``siting.reduce_instance`` (cells
  that the same candidates cover become one group weighing their sum; cells no candidate reaches or
  with nobody left uncovered are dropped), so any choice of sites covers the same people as on the
  cells, which the script checks.
  spopt gets the 0/1 coverage as its "cost" (0 where the candidate covers the group, 1 elsewhere)
  with a service radius of 0.5, since our rule (urban and rural radii) is no single distance.
  Every other column runs on this same matrix. (Res-6 candidates over the whole city were tried
  first: 1 773 groups × 711 candidates, but at ~6 km spacing their 1-3 km discs barely overlap, the
  problem falls apart county by county and greedy is already optimal: no test of anything.)

Per row: greedy (objective, s) and the online bound; 1-swaps from greedy's answer (objective,
swaps, s); the Lagrangian bound of the swapped answer (value, s); the certificate = swapped
objective / the smaller bound; "pass s" = those three calls (what a plan spends); HiGHS,
warm-started with the swapped answer as a plan does, under ``--exact-s`` ("optimal", or "not
finished" with the gap to the bound it reports: HiGHS's dual bound, or the online bound when
tighter); on the merged instance, spopt's MCLP solved by CBC (PuLP's bundled solver) under the same
limit, with its model's build and solve seconds. spopt's MCLP has no per-group minimum: with
minimums, the county rows are added to its PuLP problem (``mclp.problem``) before ``solve``. Its
answer is re-scored with ``siting.covered_weight``, on the merged groups and on the cells.

Times of greedy, swaps and the bound are the median run of ``--repeat`` (their answers do not
change); HiGHS and spopt run once each, after the timed runs of their row.

Run from the project root, with the database loaded (`unionmap load reference && unionmap load demo`)
and, for the spopt columns, the bench extra (`.venv/bin/pip install -e '.[bench]'`):

    DATABASE_URL=... .venv/bin/python scripts/bench/bench_siting.py [--ks 8,16,32,64] [--repeat 3]
        [--exact-s 180] [--exact-max-k 16] [--spopt-counties 360426,360429,360483] [--quick]

``--quick``: ks 8 and 64, one run, 30 s limits, HiGHS at res 8 for k = 8 only (a smoke check).
"""

from __future__ import annotations

import argparse
import datetime
import time
import warnings
from dataclasses import dataclass, field
from importlib.metadata import version

import highspy
import numpy as np
import scipy.sparse as sp
from siting_instance import (
    MIN_PER_COUNTY,
    PlanInputs,
    Run,
    load_average,
    machine,
    median_run,
    plan_inputs,
    run_once,
)

from geo.analysis import planning, siting, siting_exact

try:  # a bench-only extra: without it the other columns still run
    import pulp
    from spopt.locate import MCLP
except ImportError as missing:
    pulp = MCLP = None
    SPOPT_MISSING = (f"spopt columns skipped: {missing}. Install the bench extra "
                     "(.venv/bin/pip install -e '.[bench]', or pip install spopt)")
else:
    SPOPT_MISSING = ""

__all__ = ["machine"]  # bench_bounds and older notes import it from here

# The reduced instance: the two counties with a deficit at 5 per county (德安县, 湖口县: so the
# minimum rows are there) and 庐山市 for size: 2.3 M dense entries, which spopt builds in ~30 s.
SPOPT_COUNTIES = ("360426", "360429", "360483")
# Above this many dense demand × candidate entries spopt's model is not even tried: it builds its
# rows with a Python loop over every entry (8-10 µs each, measured: 1.3 M entries in 10-13 s).
SPOPT_MAX_ENTRIES = 10_000_000
# A re-scored objective must agree with the solver's own to this relative tolerance.
AGREE_RTOL = 1e-9
COLUMNS = ("k", "min/county", "greedy", "greedy s", "online bound", "after swaps (swaps)", "swaps s",
           "Lagrangian bound", "Lagrangian s", "certificate", "pass s", "HiGHS", "HiGHS s")
SPOPT_COLUMNS = ("spopt MCLP (CBC)", "spopt build s", "spopt solve s")


@dataclass(frozen=True)
class Instance:
    """One siting instance: the matrix every method gets, and what it stands for."""

    name: str
    resolution: int                # H3 resolution of the candidates
    matrix: sp.csc_matrix          # demand (cells or merged groups) × candidates, 0/1
    weights: np.ndarray            # per demand row
    groups: np.ndarray             # county of each candidate
    exact_max_k: int               # HiGHS for k up to this
    note: str
    cells: sp.csc_matrix | None = None       # for a merged instance: the cells × candidates it merges,
    cell_weights: np.ndarray | None = None   # and the cells' weights
    with_spopt: bool = False


@dataclass(frozen=True)
class SpoptRun:
    """spopt's MCLP answer, its own objective, and the same sites re-scored by us."""

    chosen: np.ndarray
    objective: float               # PuLP's value of spopt's objective
    rescored: float                # siting.covered_weight of the sites on the same matrix
    status: str                    # "optimal" or "not finished (time limit)"
    build_s: float
    solve_s: float


@dataclass(frozen=True)
class Row:
    """Everything measured at one k, without or with the minimums."""

    k: int
    minimums: dict[str, int]
    run: Run
    exact: siting.SitingResult | str                     # a result, or why there is none
    spopt: SpoptRun | str | None = None                  # None: not an spopt instance
    checks: list[str] = field(default_factory=list)      # failed checks, empty when all hold


def grid_instance(inputs: PlanInputs, name: str, resolution: int | None, exact_max_k: int) -> Instance:
    """Candidates at an H3 resolution (None: the plan's default) and their cells × candidates matrix."""
    started = time.perf_counter()
    if resolution is None:
        candidates, resolution = planning.default_candidates(inputs.model, inputs.kind, inputs.grid_resolution)
    else:
        candidates = planning.grid_candidates(inputs.model, resolution)
    matrix = planning.coverage_matrix(inputs.model, candidates, inputs.kind).columns
    note = (f"candidates at H3 res {resolution}: {matrix.shape[1]:,}; cells {matrix.shape[0]:,}; "
            f"non-zeros {matrix.nnz:,}; built in {time.perf_counter() - started:.1f} s")
    return Instance(f"res {resolution}: {name}", resolution, matrix, inputs.weights,
                    candidates.county_code.astype(str), exact_max_k, note)


def merged_instance(inputs: PlanInputs, resolution: int, counties: list[str], exact_max_k: int) -> Instance:
    """The counties' candidates at ``resolution`` and their cells, merged exactly where the same
    candidates cover them (``siting.reduce_instance``): small enough for spopt's dense model."""
    started = time.perf_counter()
    candidates = planning.grid_candidates(inputs.model, resolution)
    candidates = candidates.subset(np.isin(candidates.county_code.astype(str), counties))
    inside = np.isin(inputs.model.grid.county_code.astype(str), counties)
    cells = planning.coverage_matrix(inputs.model, candidates, inputs.kind).columns[inside]
    cell_weights = inputs.weights[inside]
    group_coverage, group_weights, _ = siting.reduce_instance(cells, cell_weights)
    matrix = group_coverage.tocsc()
    note = (f"counties {', '.join(counties)}; candidates there at H3 res {resolution}: {matrix.shape[1]:,}; "
            f"demand groups {matrix.shape[0]:,} (from the counties' {cells.shape[0]:,} cells, "
            f"{int((cell_weights > 0).sum()):,} with people not yet covered), weight {group_weights.sum():,.0f} "
            f"of their {cell_weights.sum():,.0f} (the rest no candidate reaches); non-zeros {matrix.nnz:,}; "
            f"dense for spopt: {matrix.shape[0] * matrix.shape[1]:,} entries; built in "
            f"{time.perf_counter() - started:.1f} s")
    return Instance(f"res {resolution}, {len(counties)} counties, cells merged: the instance spopt can hold",
                    resolution, matrix, group_weights, candidates.county_code.astype(str), exact_max_k, note,
                    cells=cells, cell_weights=cell_weights, with_spopt=True)


def solve_highs(instance: Instance, k: int, minimums: dict[str, int], run: Run,
                time_limit_s: float) -> siting.SitingResult | str:
    """HiGHS warm-started with the swapped answer, or the reason it was not run or failed."""
    if k > instance.exact_max_k:
        return f"not run (k > {instance.exact_max_k})"
    try:
        return siting_exact.solve_exact(instance.matrix, instance.weights, k, candidate_groups=instance.groups,
                                        min_per_group=minimums, time_limit_s=time_limit_s,
                                        warm_start=np.asarray(run.swaps.chosen))
    except siting.SolverFailed as error:
        return f"failed: {error.status}"


def solve_spopt(instance: Instance, k: int, minimums: dict[str, int], time_limit_s: float) -> SpoptRun | str:
    """spopt's MCLP on the instance's dense 0/1 matrix (plus our county rows), solved by CBC."""
    if SPOPT_MISSING:
        return "skipped (spopt not installed)"
    entries = instance.matrix.shape[0] * instance.matrix.shape[1]
    if entries > SPOPT_MAX_ENTRIES:
        return f"not run ({entries:,} dense entries)"
    started = time.perf_counter()
    cost = 1.0 - instance.matrix.toarray()  # 0 where the candidate covers the group: within radius 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # spopt warns about demand no site covers; ours are all covered
        mclp = MCLP.from_cost_matrix(cost, instance.weights, service_radius=0.5, p_facilities=k, name=f"mclp_{k}")
    for county, minimum in minimums.items():
        members = np.flatnonzero(instance.groups == county)
        mclp.problem += pulp.lpSum(mclp.fac_vars[j] for j in members) >= minimum, f"min_per_county_{county}"
    built = time.perf_counter()
    try:
        mclp.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s))
    except RuntimeError as error:  # spopt's check_status: no solution
        return f"failed: {error}"
    solved = time.perf_counter()
    chosen = np.flatnonzero([(variable.value() or 0.0) > 0.5 for variable in mclp.fac_vars])
    status = "optimal" if mclp.problem.sol_status == pulp.LpSolutionOptimal else "not finished (time limit)"
    return SpoptRun(chosen, float(pulp.value(mclp.problem.objective)),
                    siting.covered_weight(instance.matrix, instance.weights, chosen), status,
                    built - started, solved - built)


def check(instance: Instance, row: Row) -> list[str]:
    """The orderings every answer must respect; returns what failed (nothing, normally)."""
    failed: list[str] = []
    run, bound = row.run, row.run.proof.upper_bound
    slack = AGREE_RTOL * max(1.0, bound)
    if not run.greedy.objective <= run.swaps.objective <= bound + slack:
        failed.append("greedy <= swaps <= certified bound")
    if isinstance(row.exact, siting.SitingResult):
        if not run.swaps.objective - slack <= row.exact.objective <= bound + slack:
            failed.append("swaps <= HiGHS <= certified bound")
    if isinstance(row.spopt, SpoptRun):
        spopt = row.spopt
        if abs(spopt.objective - spopt.rescored) > slack:
            failed.append(f"spopt's objective {spopt.objective:,.3f} != re-scored {spopt.rescored:,.3f}")
        if instance.cells is not None:
            on_cells = siting.covered_weight(instance.cells, instance.cell_weights, spopt.chosen)
            if abs(on_cells - spopt.rescored) > slack:
                failed.append(f"spopt's sites cover {on_cells:,.3f} on the cells, {spopt.rescored:,.3f} merged")
        if spopt.rescored > bound + slack:
            failed.append("spopt <= certified bound")
        exact = row.exact
        if (spopt.status == "optimal" and isinstance(exact, siting.SitingResult) and exact.status == "optimal"
                and abs(spopt.rescored - exact.objective) > slack):
            failed.append("spopt optimum == HiGHS optimum")
    return failed


def cells_text(instance: Instance, row: Row) -> list[str]:
    """The markdown cells of one row."""
    run, proof = row.run, row.run.proof
    cells = [str(row.k), str(MIN_PER_COUNTY if row.minimums else 0), f"{run.greedy.objective:,.0f}",
             f"{run.greedy.seconds:.3f}", f"{proof.online_bound:,.0f}",
             f"{run.swaps.objective:,.0f} ({run.swaps.swaps})", f"{run.swaps.seconds:.3f}",
             f"{proof.lagrangian.value:,.0f}", f"{proof.lagrangian.seconds:.3f}",
             f"**{proof.bound_share:.3%}**", f"{run.total_s:.2f}"]
    exact = row.exact
    if isinstance(exact, str):
        cells += [exact, ""]
    else:
        status = "optimal" if exact.status == "optimal" else f"not finished (gap {exact.gap:.2%})"
        cells += [f"{exact.objective:,.0f} {status}", f"{exact.seconds:.1f}"]
    if instance.with_spopt:
        spopt = row.spopt
        if isinstance(spopt, SpoptRun):
            cells += [f"{spopt.objective:,.0f} {spopt.status}", f"{spopt.build_s:.2f}", f"{spopt.solve_s:.2f}"]
        else:
            cells += [str(spopt), "", ""]
    return cells


def bench(instance: Instance, ks: list[int], deficits: dict[str, int], args: argparse.Namespace) -> list[Row]:
    """Every method at every k, without and with the minimums; prints the table as it goes."""
    columns = COLUMNS + (SPOPT_COLUMNS if instance.with_spopt else ())
    print(f"\n### {instance.name}\n\n{instance.note}; load average {load_average()}\n\n"
          f"| {' | '.join(columns)} |\n{'|---' * len(columns)}|", flush=True)
    rows: list[Row] = []
    for k in ks:
        for minimums in ({}, deficits):
            run = median_run([run_once(instance.matrix, instance.weights, k, instance.groups, minimums,
                                       args.swap_s, args.bound_s) for _ in range(args.repeat)])
            exact = solve_highs(instance, k, minimums, run, args.exact_s)
            spopt = solve_spopt(instance, k, minimums, args.exact_s) if instance.with_spopt else None
            row = Row(k, minimums, run, exact, spopt)
            row.checks.extend(check(instance, row))
            rows.append(row)
            print("| " + " | ".join(cells_text(instance, row)) + " |", flush=True)
    failed = [f"k={row.k} min={MIN_PER_COUNTY if row.minimums else 0}: {text}" for row in rows for text in row.checks]
    spopt = "; spopt's objective == its sites re-scored on the groups and on the cells" if instance.with_spopt else ""
    print(f"\nchecks (greedy <= swaps <= HiGHS <= certified bound{spopt}): "
          f"{'; '.join(failed) if failed else 'all hold'}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", default="8,16,32,64", help="comma-separated k to sweep")
    parser.add_argument("--repeat", type=int, default=3, help="runs of greedy, swaps and bound (median time shown)")
    parser.add_argument("--swap-s", type=float, default=0.5, help="time budget of the 1-swap search, s")
    parser.add_argument("--bound-s", type=float, default=1.0, help="time budget of the Lagrangian search, s")
    parser.add_argument("--exact-s", type=float, default=180.0, help="HiGHS and CBC time limit per solve, s")
    parser.add_argument("--exact-max-k", type=int, default=16, help="HiGHS on the default instance up to this k")
    parser.add_argument("--spopt-counties", default=",".join(SPOPT_COUNTIES),
                        help="comma-separated county codes of the reduced instance (spopt's)")
    parser.add_argument("--quick", action="store_true", help="ks 8,64, 1 run, 30 s limits, HiGHS at res 8 for k 8")
    args = parser.parse_args()
    if args.quick:
        args.ks, args.repeat, args.exact_s, args.exact_max_k = "8,64", 1, 30.0, 8
    ks = [int(k) for k in args.ks.split(",")]
    started = time.perf_counter()
    print("\n".join(machine()), flush=True)
    if SPOPT_MISSING:
        print(f"NOTE: {SPOPT_MISSING}", flush=True)
    else:
        print(f"spopt {version('spopt')}; pulp {version('pulp')} (CBC {pulp.PULP_CBC_CMD().path})", flush=True)

    highspy.Highs()  # type: ignore[no-untyped-call]  # its banner prints at the first Highs(): here, not in a table
    inputs = plan_inputs("bench_siting")
    print(f"\n{inputs.describe()}", flush=True)
    # Built one at a time, so only one instance's matrix is held while its rows run.
    full = grid_instance(inputs, "default candidates", None, args.exact_max_k)
    coarser = full.resolution - 1
    bench(full, ks, inputs.deficits, args)
    del full
    bench(grid_instance(inputs, "one resolution coarser", coarser, max(ks)), ks, inputs.deficits, args)
    counties = args.spopt_counties.split(",")
    deficits = {county: need for county, need in inputs.deficits.items() if county in counties}
    bench(merged_instance(inputs, coarser, counties, max(ks)), ks, deficits, args)
    print(f"\nfinished {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')} after "
          f"{time.perf_counter() - started:.0f} s; load average {load_average()}")


if __name__ == "__main__":
    main()
