"""What the siting benchmarks share: the header lines, the plan's inputs, one certified pass.

``bench_bounds.py`` and ``bench_siting.py`` must measure the same thing a plan computes, so the
inputs are built once here exactly as ``geo.analysis.planning.plan_sites`` builds them (weights =
people not yet covered by the open stations of the type; per-county deficits at a minimum of
``MIN_PER_COUNTY`` stations, existing ones counted) and the pass a plan makes (greedy, 1-swaps from
its answer, the certificate of the improved answer) is one function, not two copies that could
drift apart.
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version

import numpy as np
import pandas as pd
import scipy.sparse as sp

from geo.analysis import bounds, improve, siting
from geo.analysis.coverage import CoverageModel, TypeRadius
from geo.services.coverage_query import ModelCache, counted_stations, type_radii
from geo.services.transaction import session_scope
from geo.settings import get_settings

TYPE_CODE = "love_station"
MIN_PER_COUNTY = 5


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` prints them (the machine is shared)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine() -> list[str]:
    """Lines naming the machine, solver, date (UTC) and command, for pasting next to the figures."""
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    return [
        f"date: {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}",
        f"machine: {platform.platform()}; nproc {len(os.sched_getaffinity(0))}; CPU {cpu}; "
        f"load average {load_average()}",
        f"python {platform.python_version()}; highspy {version('highspy')}; numpy {np.__version__}; "
        f"scipy {version('scipy')}",
        f"command: {shlex.join([sys.executable, *sys.argv])}",
    ]


@dataclass(frozen=True)
class PlanInputs:
    """The stored grid, the type, and what a plan derives from the registry (weights, deficits)."""

    model: CoverageModel
    grid_resolution: int
    kind: TypeRadius
    weights: np.ndarray           # per cell: people not yet covered by the type's open stations
    deficits: dict[str, int]      # per county: stations still missing to reach MIN_PER_COUNTY
    open_stations: int
    loaded_s: float

    def describe(self) -> str:
        """One line on the type, its radii, the demand and the deficits."""
        kind = self.kind
        return (f"{kind.name_zh} ({kind.code}), radius {kind.radius_urban_m:.0f} m urban / "
                f"{kind.radius_rural_m:.0f} m rural; {self.open_stations} open stations; population "
                f"{self.model.grid.population.sum():,.0f}, not yet covered {self.weights.sum():,.0f}; "
                f"deficits at minimum {MIN_PER_COUNTY} per county: {self.deficits}; grid H3 res "
                f"{self.grid_resolution}, {len(self.model.grid):,} cells, model loaded in {self.loaded_s:.1f} s")


def plan_inputs(actor: str) -> PlanInputs:
    """Read the grid and the registry and derive weights and deficits as ``plan_sites`` does."""
    started = time.perf_counter()
    with session_scope(get_settings(), actor=actor) as session:
        model, info = ModelCache().get(session)
        stations = counted_stations(session)
        kind = type_radii(session, TYPE_CODE)[0]
    already = model.covered_by_type(stations, kind)
    weights = np.where(already, 0.0, model.grid.population).astype(np.float64)
    existing = pd.Series(stations.county_code[stations.type_code == TYPE_CODE]).value_counts()
    counties = np.unique(model.grid.county_code.astype(str))
    deficits = {str(c): int(max(0, MIN_PER_COUNTY - existing.get(c, 0))) for c in counties}
    deficits = {c: d for c, d in deficits.items() if d > 0}
    return PlanInputs(model, info.resolution, kind, weights, deficits, int(existing.sum()),
                      time.perf_counter() - started)


@dataclass(frozen=True)
class Run:
    """One pass of greedy, swaps and certificate at one k."""

    greedy: siting.SitingResult
    swaps: improve.SwapResult
    proof: bounds.Certificate
    total_s: float


def run_once(matrix: sp.csc_matrix, weights: np.ndarray, k: int, groups: np.ndarray, minimums: dict[str, int],
             swap_s: float, bound_s: float) -> Run:
    """Greedy, then swaps from its answer, then the certificate of the improved answer."""
    options = {"candidate_groups": groups, "min_per_group": minimums}
    started = time.perf_counter()
    greedy = siting.greedy(matrix, weights, k, **options)
    swaps = improve.swap_search(matrix, weights, greedy.chosen, time_limit_s=swap_s, **options)
    proof = bounds.certify(matrix, weights, swaps.chosen, k, time_limit_s=bound_s, **options)
    return Run(greedy, swaps, proof, time.perf_counter() - started)


def median_run(runs: list[Run]) -> Run:
    """The run of median total time (the figures are the same in every run; only times differ)."""
    return sorted(runs, key=lambda r: r.total_s)[len(runs) // 2]
