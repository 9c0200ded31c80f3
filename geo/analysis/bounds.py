"""Prove how good a siting answer is: a Lagrangian upper bound on the maximal covering optimum.

The problem (maximal covering, Church & ReVelle 1974) with per-group (county) minimums r_c::

    maximise    sum_i w_i y_i
    subject to  y_i <= sum_j a_ij x_j                  for every demand cell i   (coverage rows)
                sum_j x_j = k,   sum_{j in c} x_j >= r_c   for every group c
                x_j in {0, 1},   0 <= y_i <= 1

Relaxing the coverage rows with multipliers lambda_i >= 0 (Galvão & ReVelle 1996, "A Lagrangean
heuristic for the maximal covering location problem", EJOR 88; Senne, Pereira & Lorena 2010, "A
decomposition heuristic for the maximal covering location problem", Advances in Operations
Research 2010) gives, for any such lambda::

    L(lambda) = sum_i (w_i - lambda_i)^+  +  max { sum_j (A^T lambda)_j x_j : x meets the k and minimum rows }

Why it is a bound: for any feasible (x, y), lambda_i (sum_j a_ij x_j - y_i) >= 0, so
``w.y <= w.y + lambda.(A x - y) = (w - lambda).y + (A^T lambda).x <= L(lambda)``: the last step
maximises y over [0, 1]^n and x over the sets allowed, which is what the two terms are. The second
term is solved exactly by sorting: any allowed set holds at least r_c members of group c, and
swapping a member for a better-valued one of the same group keeps it allowed and never lowers
the sum, so some best set holds the r_c best of every group; the other k - sum r_c places go to
the best of the rest. Multipliers above w_i never help, so lambda stays in the box [0, w].

min over lambda of L equals the LP relaxation's value (Geoffrion 1974: the subproblem's rows, the
total and disjoint groups, are a laminar family, so its LP is integral); the bound cannot close a
gap the LP relaxation leaves. On Jiujiang's 爱心驿站 it reaches the LP value in a few hundred
milliseconds (scripts/bench/bench_bounds.py). Every reported value is L at one lambda of the box,
recomputed in float64 from scratch and rounded up by a bound on the summation error: proven.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from geo.analysis.siting import (
    GroupMinimums,
    bound_from_mask,
    prepare_instance,
    prepare_minimums,
    prepare_selection,
    top_k_sum,
)

__all__ = ["BoundMethod", "Certificate", "LagrangianBound", "certify", "certify_prepared", "lagrangian_bound"]

BoundMethod = Literal["lagrangian", "online"]
BoundStatus = Literal["closed", "dual_optimal", "time_limit", "iteration_limit", "stalled"]

# Polyak step length factor at the start; halved after PATIENCE steps without a better bound, and
# the search stops once it falls below MIN_STEP_FACTOR (the steps no longer move anything).
STEP_FACTOR = 1.0
PATIENCE = 5
MIN_STEP_FACTOR = 1e-4
# The Polyak step aims at objective - UNDERSHOOT * (best bound - objective), below the incumbent:
# aiming at the incumbent itself, when it is optimal, makes steps too short to ever close the gap
# (measured on Jiujiang, k = 8..64: 1.0 closes every case in 60-210 steps; 0 stalls at k = 64).
UNDERSHOOT = 1.0
# Above 1/FULL_PRODUCT_SHARE of the matrix's entries in the moving rows, A^T lambda is recomputed
# by one sparse product rather than updated from a slice of those rows (measured on Jiujiang: 2
# is faster for 爱心驿站, 0.27 against 0.32 s for 40 steps, but slower for 三师一室, 3.7 against 2.6 s).
FULL_PRODUCT_SHARE = 5
# The bound counts as meeting the incumbent (proving it optimal) within this relative distance.
CLOSED_RTOL = 1e-9


@dataclass(frozen=True, eq=False)
class LagrangianBound:
    """A proven upper bound on the best covered weight, and how the search for it went.

    ``value`` is L(lambda) at ``multipliers`` (read-only, one per demand cell), rounded up, and
    never below the incumbent's objective. ``status`` says why the search stopped: "closed" (the
    bound meets the incumbent, which is thereby optimal), "dual_optimal" (no multiplier can
    move: the LP bound is reached), "time_limit", "iteration_limit" or "stalled".
    """

    value: float
    iterations: int
    seconds: float
    status: BoundStatus
    multipliers: np.ndarray
    method: Literal["lagrangian"] = "lagrangian"

    def __post_init__(self) -> None:
        """Make the multipliers read-only, so no caller can edit a result others hold."""
        self.multipliers.setflags(write=False)


@dataclass(frozen=True)
class Certificate:
    """How far from the best possible an answer can be: its objective against the proven bound.

    ``upper_bound`` is the smaller of the Lagrangian and the online bound, ``bound_method`` says
    which; the optimum lies in ``[objective, upper_bound]``.
    """

    objective: float
    upper_bound: float
    bound_method: BoundMethod
    online_bound: float
    lagrangian: LagrangianBound
    seconds: float

    @property
    def bound_share(self) -> float:
        """Objective as a share of the proven bound (0..1): "at least this share of the optimum"."""
        return self.objective / self.upper_bound if self.upper_bound > 0 else 1.0


@dataclass(frozen=True)
class Subproblem:
    """The best k values respecting the group minimums (internal): precomputed group layout."""

    k: int
    members: np.ndarray  # candidates of groups with a minimum, sorted by group
    labels: np.ndarray   # their group, sorted
    starts: np.ndarray   # where each member's group starts in ``members``
    minimum: np.ndarray  # each member's group minimum

    @classmethod
    def build(cls, k: int, minimums: GroupMinimums | None) -> Subproblem:
        """Lay out the constrained candidates by group once, for :meth:`best` at every step."""
        if minimums is None:
            empty = np.zeros(0, dtype=np.int64)
            return cls(k, empty, empty, empty, empty)
        members = np.flatnonzero(minimums.labels >= 0)
        members = members[np.argsort(minimums.labels[members], kind="stable")]
        labels = minimums.labels[members]
        first = np.searchsorted(labels, np.arange(len(minimums.minimum)))
        return cls(k, members, labels, first[labels], minimums.minimum[labels])

    def best(self, values: np.ndarray) -> np.ndarray:
        """Indices of the k largest values with at least the minimum from every group (exact)."""
        required = self.members[:0]
        if self.members.size:
            order = np.lexsort((-values[self.members], self.labels))  # by group, best first
            rank = np.arange(order.size) - self.starts
            required = self.members[order[rank < self.minimum]]
        rest = self.k - required.size
        if rest <= 0:
            return required
        free = values.copy()
        free[required] = -np.inf
        return np.concatenate([required, np.argpartition(free, free.size - rest)[free.size - rest :]])


def lagrangian_value(
    columns: sp.csc_matrix, weights: np.ndarray, multipliers: np.ndarray, subproblem: Subproblem
) -> float:
    """L(lambda) computed from scratch in float64 and rounded up past any summation error.

    All terms are non-negative, so each sum of N terms is off by at most N * eps * its value
    (Higham, Accuracy and Stability of Numerical Algorithms, 2002, eq. 4.4); the slack below
    covers the subtraction, the products A^T lambda, the top-k sum and the final addition.
    """
    free = float(np.maximum(weights - multipliers, 0.0).sum())
    prices = np.asarray(columns.T @ multipliers).ravel()
    chosen = float(prices[subproblem.best(prices)].sum())
    longest = int(np.diff(columns.indptr).max(initial=0))
    terms = weights.size + longest + subproblem.k + 4
    return (free + chosen) * (1.0 + 2.0 * terms * float(np.finfo(np.float64).eps))


def _starts(weights: np.ndarray, counts: np.ndarray) -> list[np.ndarray]:
    """Starting multipliers from the incumbent's coverage counts (cells covered by 0, 1, 2+ sites).

    - w on cells covered at most once, 0 on those covered twice or more: the incumbent is then a
      maximiser of its own term with value exactly its objective (sum (w - lambda) is the weight
      covered twice or more, its columns price the weight covered once), so all the gap is the
      other candidates' prices. This is where the search starts.
    - w everywhere: L is the top k of A^T w, the online bound at the empty set (minimums kept).
    - w on uncovered cells, 0 on covered: L is the online bound at the incumbent (minimums kept).
    The last two make the Lagrangian bound never weaker than the online bound.
    """
    return [np.where(counts >= 2, 0.0, weights), weights.copy(), np.where(counts == 0, weights, 0.0)]


def _search(
    columns: sp.csc_matrix,
    rows: sp.csr_matrix,
    weights: np.ndarray,
    subproblem: Subproblem,
    objective: float,
    start: np.ndarray,
    deadline: float,
    max_iterations: int,
) -> tuple[np.ndarray, int, BoundStatus]:
    """Projected subgradient descent on L from ``start``; return the best multipliers found.

    Each step: the subproblem's sites S, the subgradient g_i = (sites of S covering i) - 1 with
    the components that point out of the box dropped, and a Polyak step towards a target a little
    below the incumbent's objective (``UNDERSHOOT``), scaled cell by cell by w_i (a step in
    lambda_i / w_i, where every cell has the same box [0, 1]; measured on Jiujiang to need a third
    of the steps of the unscaled one). The step factor halves after ``PATIENCE`` steps without a
    better bound. Only cells
    covered by no site of S (lambda rises) or by two or more (lambda falls) move, a few thousand
    of 200 000, so A^T lambda is updated by a product over those rows alone.
    """
    n, m = columns.shape
    multipliers = start.copy()
    prices = np.asarray(columns.T @ multipliers).ravel()
    free = float((weights - multipliers).sum())
    best, best_value = multipliers.copy(), np.inf
    factor, since, iterations = STEP_FACTOR, 0, 0
    status: BoundStatus = "iteration_limit"
    while iterations < max_iterations:
        chosen = subproblem.best(prices)
        value = free + float(prices[chosen].sum())
        if value < best_value:
            best, best_value, since = multipliers.copy(), value, 0
        else:
            since += 1
            if since >= PATIENCE:
                factor, since = factor / 2, 0
        if value - objective <= CLOSED_RTOL * max(1.0, objective):
            status = "closed"
            break
        if factor < MIN_STEP_FACTOR:
            status = "stalled"
            break
        if time.perf_counter() >= deadline:
            status = "time_limit"
            break
        iterations += 1
        counts = np.bincount(columns[:, chosen].indices, minlength=n)
        moving = np.flatnonzero(((counts == 0) & (multipliers < weights)) | ((counts >= 2) & (multipliers > 0)))
        if moving.size == 0:
            status = "dual_optimal"
            break
        gradient = counts[moving] - 1.0
        scale = weights[moving]
        target = objective - UNDERSHOOT * (best_value - objective)
        step = factor * (value - target) / float(scale @ gradient**2)
        current = multipliers[moving]
        change = np.clip(current - step * scale * gradient, 0.0, scale) - current
        multipliers[moving] = current + change
        free -= float(change.sum())
        if int((rows.indptr[moving + 1] - rows.indptr[moving]).sum()) * FULL_PRODUCT_SHARE > rows.nnz:
            prices = np.asarray(columns.T @ multipliers).ravel()  # most rows moved: one product is cheaper
        else:
            prices += np.asarray(rows[moving].T @ change).ravel()  # scipy's row slice: 3x a numpy gather
    return best, iterations, status


def row_layout(matrix: sp.csc_matrix) -> sp.csr_matrix:
    """The same 0/1 matrix by rows (cell -> candidates covering it); int8 data halves the copy."""
    pattern = sp.csc_matrix((np.ones(matrix.nnz, dtype=np.int8), matrix.indices, matrix.indptr), shape=matrix.shape)
    return pattern.tocsr()


def row_entries(rows: sp.csr_matrix, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidates covering each of ``cells``, flat, with the position in ``cells`` of each entry."""
    starts = rows.indptr[cells]
    lengths = rows.indptr[cells + 1] - starts
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return rows.indices[np.repeat(starts, lengths) + offsets], np.repeat(np.arange(cells.size), lengths)


def prepare_incumbent(chosen: Any, m: int, k: int, minimums: GroupMinimums | None) -> np.ndarray:
    """Check that ``chosen`` is a feasible answer: k distinct candidates meeting the minimums."""
    indices = prepare_selection(chosen, m, "chosen")
    if indices.size != k:
        raise ValueError(f"chosen must hold exactly k={k} candidates, got {indices.size}")
    if minimums is not None and not minimums.satisfied_by(indices):
        raise ValueError("chosen does not meet the group minimums")
    return indices


def prepare_limits(time_limit_s: float, count: int, name: str) -> None:
    """Check a search's time limit and its cap on steps (called ``name``), naming the argument."""
    if not time_limit_s > 0:  # also refuses NaN
        raise ValueError(f"time_limit_s must be positive, got {time_limit_s}")
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {count!r}")


def bound_prepared(
    matrix: sp.csc_matrix,
    weights: np.ndarray,
    chosen: np.ndarray,
    k: int,
    minimums: GroupMinimums | None,
    *,
    time_limit_s: float,
    max_iterations: int,
    multipliers: np.ndarray | None = None,
    rows: sp.csr_matrix | None = None,
    ceiling: float | None = None,
) -> LagrangianBound:
    """:func:`lagrangian_bound` on inputs already checked by ``prepare_*``, for callers that hold
    them; ``rows`` is :func:`row_layout` of the matrix if the caller keeps it (it costs ~0.1 s
    per 10 million entries to build). ``ceiling``: a proven bound the caller will take the
    smaller of with this one (the online bound, in :func:`certify_prepared`)."""
    started = time.perf_counter()
    counts = np.bincount(matrix[:, chosen].indices, minlength=matrix.shape[0])
    objective = float(weights[counts > 0].sum())
    subproblem = Subproblem.build(k, minimums)
    starts = _starts(weights, counts)
    if multipliers is not None:
        starts.insert(0, multipliers)
    best, iterations, status = _search(
        matrix, row_layout(matrix) if rows is None else rows, weights, subproblem, objective, starts[0],
        started + time_limit_s, max_iterations,
    )
    # The search's own start is covered by ``best`` (the start, or better); the other starts are
    # evaluated only when they might matter: not once the search closed the gap (nothing beats
    # it), nor when it is already under the caller's ``ceiling`` (they only keep the bound from
    # being weaker than the online bound). Each evaluation is one sparse product, ~13 ms on
    # Jiujiang's 爱心驿站, a tenth of a plan's certificate.
    candidates = [best]
    values = [lagrangian_value(matrix, weights, best, subproblem)]
    if status != "closed" and (ceiling is None or values[0] > ceiling):
        candidates += starts[1:]
        values += [lagrangian_value(matrix, weights, start, subproblem) for start in starts[1:]]
    pick = int(np.argmin(values))
    return LagrangianBound(
        value=max(values[pick], objective),  # only rounding can put L below a feasible answer
        iterations=iterations,
        seconds=time.perf_counter() - started,
        status=status,
        multipliers=candidates[pick],
    )


def lagrangian_bound(
    coverage: Any,
    weights: Any,
    chosen: Any,
    k: int,
    *,
    candidate_groups: np.ndarray | None = None,
    min_per_group: Mapping[str, int] | None = None,
    time_limit_s: float = 1.0,
    max_iterations: int = 1000,
    multipliers: Any = None,
) -> LagrangianBound:
    """Upper bound on the best covered weight of k sites, by subgradient search on L(lambda).

    ``chosen`` is a feasible answer (k candidates meeting the minimums, e.g. the greedy one): the
    search steps towards its objective and starts from its coverage (see ``_starts``). Give
    ``multipliers`` (one per cell, e.g. from an earlier result on the same matrix) to continue a
    search; they are clipped into [0, weights]. ``time_limit_s`` bounds the search; evaluating
    the answer adds a few sparse products after it.

    Raises:
        ValueError: on malformed inputs, naming the argument.
        InfeasibleProblem: if the group minimums cannot be met with k sites.
    """
    matrix, weights, k = prepare_instance(coverage, weights, k)
    minimums = prepare_minimums(candidate_groups, min_per_group, matrix.shape[1], k)
    chosen = prepare_incumbent(chosen, matrix.shape[1], k, minimums)
    prepare_limits(time_limit_s, max_iterations, "max_iterations")
    start = None
    if multipliers is not None:
        start = np.asarray(multipliers, dtype=np.float64)
        if start.shape != weights.shape or not np.all(np.isfinite(start)):
            raise ValueError(f"multipliers must be {weights.size} finite numbers, one per cell")
        start = np.clip(start, 0.0, weights)
    return bound_prepared(matrix, weights, chosen, k, minimums, time_limit_s=time_limit_s,
                          max_iterations=max_iterations, multipliers=start)


def certify(
    coverage: Any,
    weights: Any,
    chosen: Any,
    k: int,
    *,
    candidate_groups: np.ndarray | None = None,
    min_per_group: Mapping[str, int] | None = None,
    time_limit_s: float = 1.0,
    max_iterations: int = 1000,
) -> Certificate:
    """Certify a feasible answer with the smaller of the Lagrangian and the online bound.

    The online bound is the one :func:`geo.analysis.siting.greedy` reports (the smaller of the
    submodular bounds at the empty set and at the answer); both hold for every allowed set of k
    sites, so the smaller one does too, and ``bound_method`` says which it was.

    Raises:
        ValueError: on malformed inputs, naming the argument.
        InfeasibleProblem: if the group minimums cannot be met with k sites.
    """
    started = time.perf_counter()
    matrix, weights, k = prepare_instance(coverage, weights, k)
    minimums = prepare_minimums(candidate_groups, min_per_group, matrix.shape[1], k)
    chosen = prepare_incumbent(chosen, matrix.shape[1], k, minimums)
    prepare_limits(time_limit_s, max_iterations, "max_iterations")
    return certify_prepared(matrix, weights, chosen, k, minimums, time_limit_s=time_limit_s,
                            max_iterations=max_iterations, started=started)


def certify_prepared(
    matrix: sp.csc_matrix,
    weights: np.ndarray,
    chosen: np.ndarray,
    k: int,
    minimums: GroupMinimums | None,
    *,
    time_limit_s: float,
    max_iterations: int = 1000,
    rows: sp.csr_matrix | None = None,
    started: float | None = None,
    online: float | None = None,
    multipliers: np.ndarray | None = None,
) -> Certificate:
    """:func:`certify` on inputs already checked by ``prepare_*``, for callers that keep the
    matrix both ways (``rows`` as :func:`row_layout`; see ``geo.analysis.engine``).

    ``online``: an online bound the caller already holds (greedy's: it holds for every allowed set
    of k sites, whatever answer is certified), which saves two sparse products. ``multipliers``:
    where an earlier search on the same matrix and weights stopped, to go on from there."""
    started = time.perf_counter() if started is None else started
    covered = np.zeros(matrix.shape[0], dtype=bool)
    covered[matrix[:, chosen].indices] = True
    objective = float(weights[covered].sum())
    if online is None:
        online = min(top_k_sum(np.asarray(matrix.T @ weights).ravel(), k),
                     bound_from_mask(matrix, weights, covered, chosen, k))
    # rounded up past its summation error, as lagrangian_value is: a bound must never sit below
    longest = int(np.diff(matrix.indptr).max(initial=0))
    online = max(online * (1.0 + 2.0 * (weights.size + longest + k + 4) * float(np.finfo(np.float64).eps)), objective)
    lagrangian = bound_prepared(matrix, weights, chosen, k, minimums, time_limit_s=time_limit_s,
                                max_iterations=max_iterations, rows=rows, multipliers=multipliers, ceiling=online)
    method: BoundMethod = "lagrangian" if lagrangian.value <= online else "online"
    return Certificate(
        objective=objective,
        upper_bound=min(lagrangian.value, online),
        bound_method=method,
        online_bound=online,
        lagrangian=lagrangian,
        seconds=time.perf_counter() - started,
    )
