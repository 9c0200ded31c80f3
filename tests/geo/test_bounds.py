"""Tests for geo.analysis.bounds (Lagrangian bound, certificate) and geo.analysis.improve (1-swaps).

The independent checks are brute force with dense numpy, never the code under test: the optimum
over every allowed k-subset, the Lagrangian function L(lambda) with its subproblem solved over
every allowed k-subset too, and 1-swap optimality by trying every swap.
"""

from __future__ import annotations

import dataclasses
import itertools
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp

from geo.analysis import bounds
from geo.analysis.bounds import Certificate, LagrangianBound, certify, lagrangian_bound
from geo.analysis.improve import SwapResult, swap_search
from geo.analysis.siting import InfeasibleProblem, greedy, online_bound
from tests.geo.test_siting import greedy_trap  # one copy of the two-cluster case greedy gets wrong

Minimums = dict[str, int]


def dense_value(dense: np.ndarray, weights: np.ndarray, chosen: tuple[int, ...] | np.ndarray) -> float:
    """Covered weight computed the obvious way."""
    return float(weights[dense[:, list(chosen)].any(axis=1)].sum()) if len(chosen) else 0.0


def allowed_subsets(m: int, k: int, groups: np.ndarray | None, minimums: Minimums | None):
    """Every k-subset of range(m) that meets the minimums."""
    for subset in itertools.combinations(range(m), k):
        if minimums and any(np.sum(groups[list(subset)] == name) < low for name, low in minimums.items()):
            continue
        yield subset


def brute_force(dense, weights, k, groups=None, minimums=None) -> float:
    return max(dense_value(dense, weights, s) for s in allowed_subsets(dense.shape[1], k, groups, minimums))


def dense_lagrangian(dense, weights, multipliers, k, groups=None, minimums=None) -> float:
    """L(lambda) = sum (w - lambda)^+ + the best allowed k-subset of prices A^T lambda, by enumeration."""
    prices = dense.T.astype(float) @ multipliers
    best = max(prices[list(s)].sum() for s in allowed_subsets(dense.shape[1], k, groups, minimums))
    return float(np.maximum(weights - multipliers, 0).sum() + best)


def is_one_swap_optimal(dense, weights, chosen, groups=None, minimums=None) -> bool:
    """No allowed swap of one chosen site for one other candidate covers more."""
    value = dense_value(dense, weights, chosen)
    for place, site in itertools.product(range(len(chosen)), range(dense.shape[1])):
        if site in chosen:
            continue
        swapped = np.array(chosen)
        swapped[place] = site
        if minimums and any(np.sum(groups[swapped] == name) < low for name, low in minimums.items()):
            continue
        if dense_value(dense, weights, swapped) > value:
            return False
    return True


def random_instance(seed: int) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, Minimums | None]:
    """30-60 cells, 8-15 candidates, k 2-5; odd seeds get minimums in two of three groups."""
    rng = np.random.default_rng(seed)
    n, m, k = int(rng.integers(30, 61)), int(rng.integers(8, 16)), int(rng.integers(2, 6))
    dense = rng.random((n, m)) < rng.uniform(0.08, 0.3)
    weights = rng.integers(0, 100, size=n).astype(float)
    weights[rng.random(n) < 0.1] = 0.0
    groups = np.array(["A", "B", "C"])[np.arange(m) % 3]
    rng.shuffle(groups)
    minimums = {"B": 1, "C": int(rng.integers(1, min(k, 3)))} if seed % 2 else None  # <= k, <= 2 C
    return dense, weights, k, groups, minimums


# 5 cells, 3 candidates: c0 covers cells {0,1} (30), c1 {1,2,3} (90), c2 {3,4} (45).
SMALL = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool)
SMALL_WEIGHTS = np.array([10.0, 20.0, 30.0, 40.0, 5.0])
SMALL_GROUPS = np.array(["360402", "360402", "360403"])


@pytest.mark.parametrize("seed", range(40))
def test_random_instances_bound_the_optimum_and_beat_the_online_bound(seed: int) -> None:
    dense, weights, k, groups, minimums = random_instance(seed)
    coverage = sp.csc_matrix(dense)
    options = {"candidate_groups": groups, "min_per_group": minimums}
    optimum = brute_force(dense, weights, k, groups, minimums)
    start = greedy(coverage, weights, k, **options)
    bound = lagrangian_bound(coverage, weights, start.chosen, k, **options)
    online = min(online_bound(coverage, weights, [], k), online_bound(coverage, weights, start.chosen, k))

    assert bound.value >= optimum  # rounded up, so not even float noise may put it below
    assert bound.value <= online * (1 + 1e-9)
    assert bound.value <= start.upper_bound * (1 + 1e-9)
    # The value is L at the multipliers it returns, within its rounding-up slack.
    assert np.all((bound.multipliers >= 0) & (bound.multipliers <= weights))
    exact_l = dense_lagrangian(dense, weights, bound.multipliers, k, groups, minimums)
    assert bound.value == pytest.approx(max(exact_l, start.objective), rel=1e-9)
    assert bound.value >= exact_l
    # Even with no step taken, the starts include the two online bounds' multipliers.
    assert lagrangian_bound(coverage, weights, start.chosen, k, max_iterations=0, **options).value \
        <= online * (1 + 1e-9)

    certificate = certify(coverage, weights, start.chosen, k, **options)
    assert certificate.online_bound == pytest.approx(start.upper_bound, rel=1e-12)
    assert certificate.upper_bound == min(certificate.lagrangian.value, certificate.online_bound)
    assert certificate.upper_bound >= optimum >= certificate.objective == start.objective
    assert certificate.bound_method == ("lagrangian" if certificate.lagrangian.value <= certificate.online_bound
                                        else "online")
    assert online <= certificate.online_bound <= online * (1 + 1e-9)  # rounded up, never down
    assert 0 < certificate.bound_share <= 1


@pytest.mark.parametrize("seed", range(40))
def test_random_instances_swap_search_improves_greedy_to_a_one_swap_optimum(seed: int) -> None:
    dense, weights, k, groups, minimums = random_instance(seed)
    coverage = sp.csr_matrix(dense)
    options = {"candidate_groups": groups, "min_per_group": minimums}
    start = greedy(coverage, weights, k, **options)
    result = swap_search(coverage, weights, start.chosen, **options)

    assert result.objective_before == start.objective
    assert result.objective >= start.objective
    assert result.objective == dense_value(dense, weights, result.chosen)
    assert result.objective <= brute_force(dense, weights, k, groups, minimums)
    assert result.chosen.size == k == len(set(result.chosen.tolist()))
    for name, low in (minimums or {}).items():
        assert np.sum(groups[result.chosen] == name) >= low
    assert result.status == "local_optimum"
    assert is_one_swap_optimal(dense, weights, result.chosen.tolist(), groups, minimums)
    assert (result.swaps == 0) == (result.objective == start.objective)


@pytest.mark.parametrize("seed", range(12))
def test_swap_search_from_the_worst_sites(seed: int) -> None:
    dense, weights, k, groups, _ = random_instance(seed)
    worst = np.argsort(dense.T.astype(float) @ weights)[:k]
    result = swap_search(sp.csr_matrix(dense), weights, worst, max_swaps=100)
    assert result.objective_before == dense_value(dense, weights, worst)
    assert result.objective == dense_value(dense, weights, result.chosen) >= result.objective_before
    assert is_one_swap_optimal(dense, weights, result.chosen.tolist())


def test_greedy_trap_is_closed_by_one_swap_and_proved_optimal() -> None:
    coverage, weights = greedy_trap()
    start = greedy(coverage, weights, 2)
    assert start.chosen.tolist() == [0, 1] and start.objective == 7.0
    improved = swap_search(coverage, weights, start.chosen)
    assert improved.chosen.tolist() == [2, 1]  # the new site takes the place of the one it replaced
    assert (improved.objective_before, improved.objective, improved.swaps, improved.improvement) == (7.0, 8.0, 1, 1.0)
    proof = certify(coverage, weights, improved.chosen, 2)
    assert proof.upper_bound == pytest.approx(8.0, rel=1e-12)
    assert proof.bound_share == pytest.approx(1.0)
    # From the greedy answer the LP bound is 8 as well: the bound does not need the optimum.
    assert lagrangian_bound(coverage, weights, start.chosen, 2).value == pytest.approx(8.0, rel=1e-12)


@pytest.mark.parametrize("seed", range(0, 40, 5))
def test_incremental_prices_match_full_products(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The search updates A^T lambda from the moving rows; recomputing it every step must agree."""
    dense, weights, k, groups, minimums = random_instance(seed)
    coverage = sp.csc_matrix(dense)
    options = {"candidate_groups": groups, "min_per_group": minimums, "max_iterations": 30}
    start = greedy(coverage, weights, k, candidate_groups=groups, min_per_group=minimums)
    found = {}
    for share in (0, 10**12):  # never / always the full product
        monkeypatch.setattr(bounds, "FULL_PRODUCT_SHARE", share)
        found[share] = lagrangian_bound(coverage, weights, start.chosen, k, **options)
    assert found[0].iterations == found[10**12].iterations
    assert found[0].value == pytest.approx(found[10**12].value, rel=1e-9)
    np.testing.assert_allclose(found[0].multipliers, found[10**12].multipliers, rtol=1e-9, atol=1e-9)


def test_the_bound_is_rounded_up_past_float_error() -> None:
    # Ten cells of 0.1 people: in float64 they add up to 0.9999999999999999, below the true sum.
    coverage = sp.csr_matrix(np.ones((10, 1)))
    weights = np.full(10, 0.1)
    exact = sum(Fraction(w) for w in weights)
    assert Fraction(float(weights.sum())) < exact
    bound = lagrangian_bound(coverage, weights, [0], 1)
    assert Fraction(bound.value) >= exact
    assert bound.value == pytest.approx(1.0, rel=1e-12)


def test_minimums_make_the_lagrangian_beat_the_online_bound() -> None:
    options = {"candidate_groups": SMALL_GROUPS, "min_per_group": {"360403": 1}}
    coverage = sp.csr_matrix(SMALL)
    # With k = 1 only c2 (45) is allowed; the online bound ignores minimums and says 90.
    proof = certify(coverage, SMALL_WEIGHTS, [2], 1, **options)
    assert proof.online_bound == pytest.approx(90.0, rel=1e-12)  # rounded up by its summation error
    assert (proof.bound_method, proof.lagrangian.status) == ("lagrangian", "closed")
    assert proof.upper_bound == pytest.approx(45.0, rel=1e-12)
    plain = certify(coverage, SMALL_WEIGHTS, [1], 1)
    assert plain.upper_bound == pytest.approx(90.0, rel=1e-12) and plain.objective == 90.0


def test_swaps_keep_the_minimums() -> None:
    coverage = sp.csr_matrix(SMALL)
    options = {"candidate_groups": SMALL_GROUPS, "min_per_group": {"360403": 1}}
    # {c0, c2} = 75: swapping c2 for c1 would give 100 but leave 360403 empty; c0 for c1 gives 95.
    result = swap_search(coverage, SMALL_WEIGHTS, [0, 2], **options)
    assert (result.chosen.tolist(), result.objective) == ([1, 2], 95.0)
    free = swap_search(coverage, SMALL_WEIGHTS, [0, 2])
    assert free.objective == 100.0 and sorted(free.chosen.tolist()) == [0, 1]


def test_limits_are_kept_and_reported() -> None:
    dense, weights, k, _, _ = random_instance(3)
    coverage = sp.csr_matrix(dense)
    worst = np.argsort(dense.T.astype(float) @ weights)[:k]
    one = swap_search(coverage, weights, worst, max_swaps=1)
    assert one.swaps == 1 and one.status == "swap_limit"
    none = swap_search(coverage, weights, worst, max_swaps=0)
    assert (none.swaps, none.status, none.objective, none.chosen.tolist()) == (
        0, "swap_limit", none.objective_before, worst.tolist())
    start = lagrangian_bound(coverage, weights, worst, k, max_iterations=0)
    assert start.iterations == 0 and start.status == "iteration_limit"
    assert start.value >= brute_force(dense, weights, k)


def test_multipliers_continue_a_search() -> None:
    dense, weights, k, _, _ = random_instance(8)
    coverage = sp.csr_matrix(dense)
    start = greedy(coverage, weights, k)
    first = lagrangian_bound(coverage, weights, start.chosen, k, max_iterations=3)
    again = lagrangian_bound(coverage, weights, start.chosen, k, max_iterations=0,
                             multipliers=first.multipliers + 1e6)  # clipped back into [0, w]
    more = lagrangian_bound(coverage, weights, start.chosen, k, multipliers=first.multipliers)
    assert again.value <= dense_lagrangian(dense, weights, weights, k) * (1 + 1e-9)  # lambda = w at worst
    assert np.all(again.multipliers <= weights)
    assert more.value <= first.value


def test_nothing_to_cover_and_k_zero() -> None:
    empty = certify(sp.csr_matrix((3, 4)), np.ones(3), [0, 1], 2)
    assert (empty.objective, empty.upper_bound, empty.bound_share) == (0.0, 0.0, 1.0)
    zero = lagrangian_bound(sp.csr_matrix(SMALL), SMALL_WEIGHTS, [], 0)
    assert zero.value == 0.0
    assert swap_search(sp.csr_matrix(SMALL), SMALL_WEIGHTS, []).objective == 0.0


def test_results_are_immutable() -> None:
    coverage, weights = greedy_trap()
    proof = certify(coverage, weights, [0, 1], 2)
    improved = swap_search(coverage, weights, [0, 1])
    assert isinstance(proof, Certificate) and isinstance(proof.lagrangian, LagrangianBound)
    assert isinstance(improved, SwapResult)
    for result, field in ((proof, "upper_bound"), (proof.lagrangian, "value"), (improved, "objective")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(result, field, 0.0)
    with pytest.raises(ValueError, match="read-only"):
        proof.lagrangian.multipliers[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        improved.chosen[0] = 1


COVERAGE = sp.csr_matrix(SMALL)


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda: lagrangian_bound(SMALL, SMALL_WEIGHTS, [1], 1), "coverage"),
        (lambda: lagrangian_bound(COVERAGE, SMALL_WEIGHTS[:4], [1], 1), "weights"),
        (lambda: certify(COVERAGE, -SMALL_WEIGHTS, [1], 1), "weights"),
        (lambda: certify(COVERAGE, SMALL_WEIGHTS, [1], 4), "k"),
        (lambda: lagrangian_bound(COVERAGE, SMALL_WEIGHTS, [1], 2), "chosen"),
        (lambda: lagrangian_bound(COVERAGE, SMALL_WEIGHTS, [1, 1], 2), "chosen"),
        (lambda: certify(COVERAGE, SMALL_WEIGHTS, [0, 5], 2), "chosen"),
        (lambda: certify(COVERAGE, SMALL_WEIGHTS, [0.5], 1), "chosen"),
        (lambda: certify(COVERAGE, SMALL_WEIGHTS, [0, 1], 2, candidate_groups=SMALL_GROUPS,
                         min_per_group={"360403": 1}), "chosen"),
        (lambda: certify(COVERAGE, SMALL_WEIGHTS, [1], 1, min_per_group={"a": 1}), "candidate_groups"),
        (lambda: lagrangian_bound(COVERAGE, SMALL_WEIGHTS, [1], 1, time_limit_s=0), "time_limit_s"),
        (lambda: certify(COVERAGE, SMALL_WEIGHTS, [1], 1, time_limit_s=float("nan")), "time_limit_s"),
        (lambda: certify(COVERAGE, SMALL_WEIGHTS, [1], 1, max_iterations=-1), "max_iterations"),
        (lambda: lagrangian_bound(COVERAGE, SMALL_WEIGHTS, [1], 1, max_iterations=2.5), "max_iterations"),
        (lambda: lagrangian_bound(COVERAGE, SMALL_WEIGHTS, [1], 1, multipliers=np.ones(4)), "multipliers"),
        (lambda: lagrangian_bound(COVERAGE, SMALL_WEIGHTS, [1], 1, multipliers=np.full(5, np.inf)), "multipliers"),
        (lambda: swap_search(SMALL, SMALL_WEIGHTS, [1]), "coverage"),
        (lambda: swap_search(COVERAGE, SMALL_WEIGHTS, [[1]]), "chosen"),
        (lambda: swap_search(COVERAGE, SMALL_WEIGHTS, [0, 0]), "chosen"),
        (lambda: swap_search(COVERAGE, SMALL_WEIGHTS, [0], candidate_groups=SMALL_GROUPS,
                             min_per_group={"360403": 1}), "chosen"),
        (lambda: swap_search(COVERAGE, SMALL_WEIGHTS, [0], time_limit_s=-1), "time_limit_s"),
        (lambda: swap_search(COVERAGE, SMALL_WEIGHTS, [0], max_swaps=-1), "max_swaps"),
        (lambda: swap_search(COVERAGE, SMALL_WEIGHTS, [0], max_swaps=True), "max_swaps"),
    ],
)
def test_invalid_inputs_name_the_argument(call, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        call()


def test_infeasible_minimums_are_the_siting_error() -> None:
    with pytest.raises(InfeasibleProblem, match="'360403'"):
        certify(COVERAGE, SMALL_WEIGHTS, [0, 1], 2, candidate_groups=SMALL_GROUPS, min_per_group={"360403": 2})
