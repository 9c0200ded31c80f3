"""Tests for geo.siting: lazy greedy, online bound, instance reduction and the exact HiGHS MILP.

The independent check is brute force: every k-subset of a small instance, evaluated with dense
numpy, never with the code under test.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp

from geo.analysis.siting import InfeasibleProblem, SitingResult, covered_weight, greedy, online_bound, reduce_instance
from geo.analysis.siting_exact import solve_exact as exact
from geo.errors import UnionmapError


def dense_value(dense: np.ndarray, weights: np.ndarray, chosen: tuple[int, ...] | np.ndarray) -> float:
    """Covered weight computed the obvious way, independent of geo.siting."""
    if len(chosen) == 0:
        return 0.0
    return float(weights[dense[:, list(chosen)].any(axis=1)].sum())


def brute_force(
    dense: np.ndarray,
    weights: np.ndarray,
    k: int,
    groups: np.ndarray | None = None,
    minimums: dict[str, int] | None = None,
) -> float:
    """Best covered weight over all k-subsets that meet the minimums."""
    best = -math.inf
    for subset in itertools.combinations(range(dense.shape[1]), k):
        if minimums and any(np.sum(groups[list(subset)] == name) < low for name, low in minimums.items()):
            continue
        best = max(best, dense_value(dense, weights, subset))
    return best


def plain_greedy(dense: np.ndarray, weights: np.ndarray, k: int) -> list[int]:
    """Textbook greedy (no laziness), ties to the lowest index."""
    chosen: list[int] = []
    for _ in range(k):
        gains = [
            -1.0 if j in chosen else dense_value(dense, weights, (*chosen, j)) - dense_value(dense, weights, chosen)
            for j in range(dense.shape[1])
        ]
        chosen.append(int(np.argmax(gains)))
    return chosen


def random_instance(seed: int, n: int = 60, m: int = 12, density: float = 0.12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    dense = rng.random((n, m)) < density
    weights = rng.integers(0, 100, size=n).astype(float)
    weights[rng.random(n) < 0.1] = 0.0
    return dense, weights


# 5 cells, 3 candidates: c0 covers cells {0,1} (30), c1 {1,2,3} (90), c2 {3,4} (45).
SMALL = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool)
SMALL_WEIGHTS = np.array([10.0, 20.0, 30.0, 40.0, 5.0])
SMALL_GROUPS = np.array(["360402", "360402", "360403"])


@pytest.mark.parametrize("solve", [greedy, exact])
@pytest.mark.parametrize(
    ("k", "chosen", "gains"),
    [(0, [], []), (1, [1], [90.0]), (2, [1, 0], [90.0, 10.0]), (3, [1, 0, 2], [90.0, 10.0, 5.0])],
)
def test_hand_built_instance(solve, k: int, chosen: list[int], gains: list[float]) -> None:
    result = solve(sp.csr_matrix(SMALL), SMALL_WEIGHTS, k)
    assert result.chosen.tolist() == chosen
    assert result.gains.tolist() == gains
    assert result.objective == sum(gains)
    assert result.total_weight == 105.0
    assert result.covered_share == pytest.approx(sum(gains) / 105.0)
    assert result.upper_bound >= result.objective


def test_exact_reports_optimal_with_a_tight_bound() -> None:
    result = exact(sp.csc_matrix(SMALL), SMALL_WEIGHTS, 2)
    assert (result.method, result.status) == ("exact", "optimal")
    assert result.upper_bound == pytest.approx(100.0)
    assert result.gap == pytest.approx(0.0, abs=1e-9)


def greedy_trap() -> tuple[sp.csr_matrix, np.ndarray]:
    """Two 4-cell clusters; c0 covers 3 cells of each, c1 and c2 cover one cluster each (greedy: 7 of 8)."""
    dense = np.zeros((8, 3), dtype=bool)
    dense[[0, 1, 2, 4, 5, 6], 0] = True
    dense[0:4, 1] = True
    dense[4:8, 2] = True
    return sp.csr_matrix(dense), np.ones(8)


def test_greedy_is_suboptimal_where_exact_is_not() -> None:
    coverage, weights = greedy_trap()
    heuristic = greedy(coverage, weights, 2)
    optimum = exact(coverage, weights, 2)
    assert heuristic.chosen.tolist() == [0, 1]
    assert heuristic.objective == 7.0
    assert sorted(optimum.chosen.tolist()) == [1, 2]
    assert optimum.objective == 8.0 == brute_force(coverage.toarray(), weights, 2)
    # Online bound at {c0, c1}: 7 + the one remaining gain (c2 adds 1); at the empty set 6 + 4.
    assert heuristic.upper_bound == 8.0
    assert heuristic.gap == pytest.approx(1 / 8)
    assert heuristic.upper_bound >= optimum.objective


def test_online_bound_values() -> None:
    coverage, weights = greedy_trap()
    assert online_bound(coverage, weights, [], 2) == 10.0
    assert online_bound(coverage, weights, [0], 2) == 8.0  # 6 + 1 + 1
    assert online_bound(coverage, weights, [1], 1) == 8.0  # 4 + c2 adds 4 (c0 only 3 now)
    assert online_bound(coverage, weights, [1], 2) == 11.0  # 4 + 4 + 3
    assert online_bound(coverage, weights, [0, 1], 2) == 8.0  # 7 + 1 + 0
    assert online_bound(coverage, weights, np.array([1, 2]), 2) == 8.0
    assert online_bound(coverage, weights, [0, 1, 2], 3) == 8.0


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_random_instances_match_brute_force(seed: int, k: int) -> None:
    dense, weights = random_instance(seed)
    coverage = sp.csr_matrix(dense)
    optimum = brute_force(dense, weights, k)
    heuristic = greedy(coverage, weights, k)
    solved = exact(coverage, weights, k, warm_start=heuristic.chosen if seed % 2 else None)

    assert solved.status == "optimal"
    assert solved.objective == pytest.approx(optimum, rel=1e-9)
    assert dense_value(dense, weights, solved.chosen) == pytest.approx(solved.objective, rel=1e-12)
    assert solved.upper_bound == pytest.approx(optimum, rel=1e-6)
    assert solved.gains.sum() == pytest.approx(solved.objective)
    assert np.all(np.diff(solved.gains) <= 1e-9)  # greedy re-ordering of the chosen set

    assert heuristic.chosen.tolist() == plain_greedy(dense, weights, k)
    assert dense_value(dense, weights, heuristic.chosen) == heuristic.objective
    assert heuristic.objective <= solved.objective + 1e-9
    assert solved.objective <= heuristic.upper_bound + 1e-9
    assert heuristic.objective >= (1 - 1 / math.e) * solved.objective - 1e-9


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [2, 3, 4])
def test_random_instances_with_minimums(seed: int, k: int) -> None:
    dense, weights = random_instance(100 + seed)
    groups = np.random.default_rng(seed).choice(np.array(["A", "B", "C"]), size=dense.shape[1], p=[0.5, 0.3, 0.2])
    minimums = {"B": 1, "C": 1} if k >= 3 else {"C": 1}
    if any(np.sum(groups == name) < low for name, low in minimums.items()):
        pytest.skip("seed drew no candidate for a constrained group")  # never happens for these seeds
    coverage = sp.csc_matrix(dense)
    optimum = brute_force(dense, weights, k, groups, minimums)
    options = {"candidate_groups": groups, "min_per_group": minimums}
    heuristic = greedy(coverage, weights, k, **options)
    solved = exact(coverage, weights, k, **options)

    assert solved.objective == pytest.approx(optimum, rel=1e-9)
    assert heuristic.objective <= solved.objective + 1e-9 <= heuristic.upper_bound + 2e-9
    for result in (heuristic, solved):
        assert len(set(result.chosen.tolist())) == k
        for name, low in minimums.items():
            assert np.sum(groups[result.chosen] == name) >= low


@pytest.mark.parametrize("solve", [greedy, exact])
def test_minimum_forces_a_weaker_site(solve) -> None:
    options = {"candidate_groups": SMALL_GROUPS, "min_per_group": {"360403": 1}}
    two = solve(sp.csr_matrix(SMALL), SMALL_WEIGHTS, 2, **options)
    assert two.chosen.tolist() == [1, 2]
    assert two.objective == 95.0
    one = solve(sp.csr_matrix(SMALL), SMALL_WEIGHTS, 1, **options)
    assert one.chosen.tolist() == [2]
    assert one.objective == 45.0
    zero = solve(sp.csr_matrix(SMALL), SMALL_WEIGHTS, 2, candidate_groups=SMALL_GROUPS, min_per_group={"360403": 0})
    assert zero.chosen.tolist() == [1, 0]


@pytest.mark.parametrize("solve", [greedy, exact])
@pytest.mark.parametrize(
    ("k", "minimums", "named"),
    [
        (2, {"360403": 2}, "'360403'"),
        (3, {"360499": 1}, "'360499'"),
        (2, {"360402": 2, "360403": 1}, "'360402': 2"),
    ],
)
def test_infeasible_minimums_name_the_group(solve, k: int, minimums: dict[str, int], named: str) -> None:
    with pytest.raises(InfeasibleProblem, match=named) as raised:
        solve(sp.csr_matrix(SMALL), SMALL_WEIGHTS, k, candidate_groups=SMALL_GROUPS, min_per_group=minimums)
    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value, UnionmapError)


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: greedy(SMALL, SMALL_WEIGHTS, 1), "coverage"),
        (lambda: greedy(sp.csr_matrix(SMALL), SMALL_WEIGHTS[:4], 1), "weights"),
        (lambda: greedy(sp.csr_matrix(SMALL), -SMALL_WEIGHTS, 1), "weights"),
        (lambda: exact(sp.csr_matrix(SMALL), np.r_[SMALL_WEIGHTS[:4], np.nan], 1), "weights"),
        (lambda: greedy(sp.csr_matrix(SMALL), SMALL_WEIGHTS, 4), "k"),
        (lambda: exact(sp.csr_matrix(SMALL), SMALL_WEIGHTS, -1), "k"),
        (lambda: greedy(sp.csr_matrix(SMALL), SMALL_WEIGHTS, 1.5), "k"),
        (lambda: greedy(sp.csr_matrix(SMALL), SMALL_WEIGHTS, 1, candidate_groups=SMALL_GROUPS[:2]), "candidate_groups"),
        (lambda: greedy(sp.csr_matrix(SMALL), SMALL_WEIGHTS, 1, min_per_group={"a": 1}), "candidate_groups"),
        (lambda: exact(sp.csr_matrix(SMALL), SMALL_WEIGHTS, 2, warm_start=np.array([1])), "warm_start"),
        (lambda: exact(sp.csr_matrix(SMALL), SMALL_WEIGHTS, 2, warm_start=np.array([1, 3])), "warm_start"),
        (lambda: exact(sp.csr_matrix(SMALL), SMALL_WEIGHTS, 1, time_limit_s=0), "time_limit_s"),
        (lambda: online_bound(sp.csr_matrix(SMALL), SMALL_WEIGHTS, [0, 0], 2), "chosen"),
    ],
)
def test_invalid_inputs_name_the_argument(call, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        call()


def test_reduce_instance_by_hand() -> None:
    dense = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1], [0, 0, 0], [0, 1, 0], [1, 1, 0], [1, 0, 1]], dtype=bool)
    weights = np.array([1.0, 2.0, 3.0, 9.0, 0.0, 4.0, 5.0])
    coverage = sp.csr_matrix(dense)
    before = coverage.copy()
    group_coverage, group_weights, cell_to_group = reduce_instance(coverage, weights)
    # Cell 3 is uncovered and cell 4 weighs nothing; cells 0, 2 and 6 share candidates {0, 2}.
    assert cell_to_group.tolist() == [0, 1, 0, -1, -1, 2, 0]
    assert group_weights.tolist() == [9.0, 2.0, 4.0]
    assert group_coverage.toarray().astype(bool).tolist() == [
        [True, False, True],
        [False, True, False],
        [True, True, False],
    ]
    assert (coverage != before).nnz == 0


def test_reduce_instance_preserves_every_objective() -> None:
    rng = np.random.default_rng(7)
    base = rng.random((40, 15)) < 0.2
    dense = base[rng.integers(0, 40, size=400)]  # 400 cells, at most 40 distinct rows
    weights = rng.integers(0, 50, size=400).astype(float)
    coverage = sp.csr_matrix(dense)
    group_coverage, group_weights, cell_to_group = reduce_instance(coverage, weights)
    assert group_coverage.shape[0] < 40
    assert group_coverage.shape[0] == group_weights.size == cell_to_group.max() + 1
    assert np.all(cell_to_group[(weights == 0) | ~dense.any(axis=1)] == -1)
    for _ in range(30):
        chosen = rng.choice(15, size=int(rng.integers(0, 16)), replace=False)
        original = dense_value(dense, weights, chosen)
        assert covered_weight(group_coverage, group_weights, chosen) == pytest.approx(original, rel=1e-12)
        assert covered_weight(coverage, weights, chosen) == original


def test_explicit_zeros_do_not_cover() -> None:
    coverage = sp.csr_matrix((np.array([1.0, 0.0]), (np.array([0, 1]), np.array([0, 0]))), shape=(2, 1))
    assert coverage.nnz == 2
    assert greedy(coverage, np.array([1.0, 5.0]), 1).objective == 1.0
    _, group_weights, cell_to_group = reduce_instance(coverage, np.array([1.0, 5.0]))
    assert cell_to_group.tolist() == [0, -1]


def test_nothing_coverable_still_chooses_k_sites() -> None:
    coverage = sp.csr_matrix((3, 4))
    for solve in (greedy, exact):
        result = solve(coverage, np.ones(3), 2, candidate_groups=np.array(["a", "a", "b", "b"]), min_per_group={"b": 2})
        assert sorted(result.chosen.tolist()) == [2, 3]
        assert (result.objective, result.upper_bound, result.covered_share, result.gap) == (0.0, 0.0, 0.0, 0.0)


def test_result_is_immutable() -> None:
    result = greedy(sp.csr_matrix(SMALL), SMALL_WEIGHTS, 2)
    assert isinstance(result, SitingResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.objective = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        result.chosen[0] = 2


def test_time_limited_exact_keeps_the_warm_start() -> None:
    rng = np.random.default_rng(2024)
    n, m, k = 20_000, 2_000, 50
    coverage = sp.random(n, m, density=0.003, random_state=rng, format="csr")
    weights = rng.integers(0, 100, size=n).astype(float)
    start = greedy(coverage, weights, k)
    solved = exact(coverage, weights, k, time_limit_s=0.5, warm_start=start.chosen)

    assert solved.status in {"time_limit", "optimal"}
    assert solved.chosen.size == k
    assert solved.objective >= start.objective
    assert solved.upper_bound >= solved.objective
    # The dual bound is weak this early; the online bound at the answer must cap it.
    assert solved.upper_bound <= online_bound(coverage, weights, solved.chosen, k)
    covered = np.asarray(coverage[:, solved.chosen].sum(axis=1)).ravel() > 0
    assert solved.objective == float(weights[covered].sum())
    assert solved.seconds < 10.0


def test_a_solver_failure_is_a_user_error_that_names_the_status_and_survives_a_process(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    import highspy

    from geo.analysis.siting import SolverFailed

    monkeypatch.setattr(highspy.Highs, "run", lambda self: highspy.HighsStatus.kOk)  # HiGHS never solves
    coverage = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], dtype=bool))
    weights = np.array([5.0, 4.0, 3.0, 2.0])
    with pytest.raises(SolverFailed) as raised:
        exact(coverage, weights, 2)
    assert isinstance(raised.value, UnionmapError) and raised.value.field == "method"
    assert raised.value.status == "HiGHS stopped with status 'Not Set'"
    copy = pickle.loads(pickle.dumps(raised.value))  # as it comes back from the solver's process
    assert str(copy) == str(raised.value) and str(copy).count("精确求解失败") == 1
