"""The exact solver's progress callback: what it reports, and that asking to stop keeps the incumbent.

Points in a unit square covered within a radius: HiGHS needs a few branch-and-bound steps on it,
so its MIP callbacks fire (they never fire in presolve or an LP). The throttle is set to zero so
that every callback reaches ``progress``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from geo.analysis import siting_exact
from geo.analysis.siting import covered_weight, greedy
from geo.analysis.siting_exact import ExactProgress, solve_exact


def disc_instance(seed: int, cells: int = 400, candidates: int = 120, radius: float = 0.15) -> tuple[sp.csr_matrix,
                                                                                                   np.ndarray]:
    rng = np.random.default_rng(seed)
    demand, sites = rng.random((cells, 2)), rng.random((candidates, 2))
    reach = ((demand[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2) < radius**2
    return sp.csr_matrix(reach.astype(float)), rng.integers(1, 100, size=cells).astype(float)


@pytest.fixture(autouse=True)
def every_callback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(siting_exact, "PROGRESS_INTERVAL_S", 0.0)


def test_progress_starts_at_the_warm_start_and_ends_at_the_optimum() -> None:
    matrix, weights = disc_instance(0)
    start = greedy(matrix, weights, 8)
    seen: list[ExactProgress] = []
    result = solve_exact(matrix, weights, 8, warm_start=start.chosen, progress=lambda update: seen.append(update))
    assert result.status == "optimal" and result.objective > start.objective  # greedy is not optimal here
    assert seen[0].incumbent == start.objective and seen[0].seconds < 0.5
    assert all(update.incumbent is not None and update.incumbent <= update.bound + 1e-6 for update in seen)
    assert all(update.bound >= result.objective - 1e-6 for update in seen)  # every bound held
    assert [update.seconds for update in seen] == sorted(update.seconds for update in seen)
    assert seen[0].gap == pytest.approx((seen[0].bound - start.objective) / seen[0].bound)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_asking_to_stop_in_branch_and_bound_keeps_the_incumbent(seed: int) -> None:
    matrix, weights = disc_instance(seed)
    start = greedy(matrix, weights, 8)
    optimum = solve_exact(matrix, weights, 8, warm_start=start.chosen).objective
    calls: list[ExactProgress] = []
    # The first call comes before HiGHS starts; stopping at the second is HiGHS's MIP interrupt.
    result = solve_exact(matrix, weights, 8, warm_start=start.chosen,
                         progress=lambda update: calls.append(update) or len(calls) >= 2)
    assert len(calls) == 2 and result.status == "stopped" and result.method == "exact"
    assert start.objective <= result.objective <= optimum
    assert result.objective == covered_weight(matrix, weights, result.chosen)  # a real plan of k sites
    assert len(result.chosen) == 8 and result.upper_bound >= optimum - 1e-6


def test_asking_to_stop_before_highs_starts_returns_the_warm_start() -> None:
    matrix, weights = disc_instance(3)
    start = greedy(matrix, weights, 8)
    result = solve_exact(matrix, weights, 8, warm_start=start.chosen, progress=lambda update: True)
    assert result.status == "stopped"
    assert sorted(result.chosen) == sorted(start.chosen) and result.objective == start.objective
    assert result.upper_bound >= result.objective


def test_without_an_incumbent_the_gap_is_unknown() -> None:
    assert ExactProgress(1.0, None, 10.0).gap is None
    assert ExactProgress(1.0, 7.5, 10.0).gap == pytest.approx(0.25)
    assert ExactProgress(1.0, 0.0, 0.0).gap == 0.0
