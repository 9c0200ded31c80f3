"""Exact maximal covering location problem: a sparse MILP solved by HiGHS.

The model is built on the instance reduced by :func:`geo.siting.reduce_instance` (g demand
groups, m candidates), straight from scipy.sparse into HiGHS's column-wise matrix, because a
dense demand x site matrix (spopt/PuLP) does not fit at city scale::

    maximise    sum_g W_g y_g
    subject to  y_g - sum_{j covers g} x_j <= 0        for every demand group g
                sum_j x_j = k
                sum_{j in group c} x_j >= min_c          for every group with a minimum
                0 <= y_g <= 1 continuous,  x_j binary

y_g needs no integrality: at any optimum it is 1 exactly when some chosen site covers g.

A long solve reports where it stands through ``progress`` (HiGHS's MIP callbacks: the best
objective found and the proven bound) and stops, keeping its incumbent, when ``progress`` asks.
HiGHS calls back only from its branch and bound: presolve and the root LP (on the full Jiujiang
instance, presolve alone can take a minute) cannot be interrupted, so a caller that must stop at
once keeps the warm start as its fallback (``geo.services.exact_plans``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import highspy
import numpy as np
import scipy.sparse as sp

from geo.analysis.siting import (
    GroupMinimums,
    SitingResult,
    SolverFailed,
    bound_from_mask,
    covered_mask,
    in_greedy_order,
    lazy_greedy,
    prepare_instance,
    prepare_minimums,
    prepare_selection,
    reduce_instance,
    top_k_sum,
)

# Fixed so that repeated runs on the same instance return the same answer.
RANDOM_SEED = 0
# Relative tolerance between HiGHS's objective and the one recomputed on the original instance.
OBJECTIVE_RTOL = 1e-6
# Progress is reported at most this often (seconds): often enough for a live line and a prompt
# stop, rarely enough that the Python callback costs the solver nothing measurable.
PROGRESS_INTERVAL_S = 0.5


@dataclass(frozen=True)
class ExactProgress:
    """Where a running exact solve stands, in the objective's units (people)."""

    seconds: float            # since the solve began (HiGHS's model built)
    incumbent: float | None   # covered weight of the best solution found; None before the first
    bound: float              # proven upper bound on the optimum

    @property
    def gap(self) -> float | None:
        """``(bound - incumbent) / bound`` (0..1); None without an incumbent."""
        if self.incumbent is None:
            return None
        return max(0.0, self.bound - self.incumbent) / self.bound if self.bound > 0 else 0.0


# Called with the solve's state at most every PROGRESS_INTERVAL_S; returning True asks the
# solver to stop and keep its incumbent (result status "stopped").
Progress = Callable[[ExactProgress], bool]


class _Reporter:
    """HiGHS's MIP callbacks turned into throttled :class:`ExactProgress` calls and a stop request.

    ``cap``: an online bound valid for every k sites; HiGHS's own dual bound is infinite until
    its root LP is solved, and often weaker than this one for a while after.
    """

    def __init__(self, progress: Progress, cap: float, incumbent: float | None) -> None:
        self.progress = progress
        self.cap = cap
        self.incumbent = incumbent
        self.stopped = False
        self.started = time.monotonic()
        self._last = -np.inf

    def report(self, bound: float = np.inf, *, now: bool = False) -> bool:
        """Hand ``progress`` the state if the interval has passed (or ``now``); True once it asked to stop."""
        clock = time.monotonic()
        if not self.stopped and (now or clock - self._last >= PROGRESS_INTERVAL_S):
            self._last = clock
            self.stopped = bool(self.progress(ExactProgress(clock - self.started, self.incumbent,
                                                            min(bound, self.cap))))
        return self.stopped

    def __call__(self, event: Any) -> None:
        out = event.data_out
        if np.isfinite(out.mip_primal_bound):
            self.incumbent = max(self.incumbent or 0.0, float(out.mip_primal_bound))
        # Only the interrupt callback may stop HiGHS; an improving solution is reported by it too.
        stop = self.report(float(out.mip_dual_bound))
        if stop and event.callback_type == highspy.cb.HighsCallbackType.kCallbackMipInterrupt:
            event.interrupt()


def _build_model(
    group_coverage: sp.csr_matrix, group_weights: np.ndarray, k: int, minimums: GroupMinimums | None
) -> highspy.HighsLp:
    """Assemble the MILP above as a HiGHS LP with integrality; columns are x (m) then y (g)."""
    g, m = group_coverage.shape
    blocks: list[list[sp.spmatrix | None]] = [
        [-group_coverage, sp.identity(g, format="csr")], [sp.csr_matrix(np.ones((1, m))), None]]
    row_lower = [np.full(g, -highspy.kHighsInf), np.array([k], dtype=float)]
    row_upper = [np.zeros(g), np.array([k], dtype=float)]
    if minimums is not None:
        members = np.flatnonzero(minimums.labels >= 0)
        group_rows = sp.csr_matrix(
            (np.ones(members.size), (minimums.labels[members], members)), shape=(len(minimums.minimum), m)
        )
        blocks.append([group_rows, None])
        row_lower.append(minimums.minimum.astype(float))
        row_upper.append(np.full(len(minimums.minimum), highspy.kHighsInf))
    # sparse matrices (not arrays) in, format="csc": a csc_matrix out
    matrix = cast(sp.csc_matrix, sp.bmat(blocks, format="csc", dtype=np.float64))

    lp = highspy.HighsLp()
    lp.num_col_ = m + g
    lp.num_row_ = matrix.shape[0]
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = np.concatenate([np.zeros(m), group_weights])
    lp.col_lower_ = np.zeros(m + g)
    lp.col_upper_ = np.ones(m + g)
    lp.row_lower_ = np.concatenate(row_lower)
    lp.row_upper_ = np.concatenate(row_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = m + g
    lp.a_matrix_.num_row_ = matrix.shape[0]
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * m + [highspy.HighsVarType.kContinuous] * g
    return lp


def _check(status: highspy.HighsStatus, what: str) -> None:
    if status == highspy.HighsStatus.kError:
        raise SolverFailed(f"HiGHS rejected the {what}")


def solve_exact(
    coverage: Any,
    weights: Any,
    k: int,
    *,
    candidate_groups: np.ndarray | None = None,
    min_per_group: Mapping[str, int] | None = None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 0.0,
    warm_start: np.ndarray | None = None,
    progress: Progress | None = None,
    known_bound: float | None = None,
) -> SitingResult:
    """Choose k candidates maximising covered weight, exactly (or to a time limit) with HiGHS.

    ``known_bound``: a proven upper bound the caller already holds (the Lagrangian bound of a
    plan, ``geo.analysis.bounds``); it caps the bound reported, in progress and in the result.

    ``warm_start`` (k candidate indices, e.g. the greedy answer) is handed to HiGHS as its first
    incumbent, so a time-limited run never reports less than it. The chosen sites are listed in
    greedy order within the chosen set, so ``gains`` reads as "population each site adds".
    The objective is recomputed from the chosen sites on the original instance rather than
    trusted from the solver.

    ``progress`` (see :data:`Progress`) is called before HiGHS starts and then from its MIP
    callbacks, at most every ``PROGRESS_INTERVAL_S``; when it returns True the solve stops at
    HiGHS's next check and keeps its incumbent.

    Returns:
        A result with status "optimal" (proved within ``mip_rel_gap``), "time_limit" (the
        best incumbent found) or "stopped" (``progress`` asked to stop: the best incumbent).
        ``upper_bound`` is HiGHS's dual bound, or an online bound (at the empty set, the warm
        start or the answer) when that is tighter, as it often is early on.

    Raises:
        ValueError: on malformed inputs, naming the argument.
        InfeasibleProblem: if the group minimums cannot be met with k sites.
        SolverFailed: if HiGHS ends in any other state, or its answer does not check out.
    """
    start = time.perf_counter()
    matrix, weights, k = prepare_instance(coverage, weights, k)
    m = matrix.shape[1]
    minimums = prepare_minimums(candidate_groups, min_per_group, m, k)
    if not time_limit_s > 0:
        raise ValueError(f"time_limit_s must be positive, got {time_limit_s}")
    if not 0 <= mip_rel_gap < 1:
        raise ValueError(f"mip_rel_gap must be in [0, 1), got {mip_rel_gap}")
    if warm_start is not None:
        warm_start = prepare_selection(warm_start, m, "warm_start")
        if warm_start.size != k:
            raise ValueError(f"warm_start must hold exactly k={k} candidates, got {warm_start.size}")
        if minimums is not None and not minimums.satisfied_by(warm_start):
            raise ValueError("warm_start does not meet the group minimums")

    group_coverage, group_weights, _ = reduce_instance(matrix, weights)
    # Online bounds (at the empty set, at the warm start and at the answer) hold for any k sites,
    # so they can only tighten a weak dual bound, which early in a time-limited run is often near
    # the total weight.
    online_bound = top_k_sum(np.asarray(matrix.T @ weights).ravel(), k)
    if known_bound is not None:
        online_bound = min(online_bound, float(known_bound))
    reporter = None
    if progress is not None:
        start_value = None
        if warm_start is not None:
            start_covered = covered_mask(matrix, warm_start)
            start_value = float(weights[start_covered].sum())
            online_bound = min(online_bound, bound_from_mask(matrix, weights, start_covered, warm_start, k))
        reporter = _Reporter(progress, online_bound, start_value)
    if k == 0 or not group_weights.any():
        # Nothing can be covered: every feasible choice is optimal, and HiGHS treats an empty
        # model as an error, so take the (minimum-respecting) greedy choice.
        chosen, _, _, _ = lazy_greedy(matrix, weights, k, minimums=minimums)
        status, solver_value, bound = "optimal", 0.0, 0.0
    elif reporter is not None and warm_start is not None and reporter.report(now=True):
        chosen, status, solver_value, bound = warm_start, "stopped", 0.0, online_bound  # asked before HiGHS began
    else:
        chosen, status, solver_value, bound = _run_highs(
            group_coverage, group_weights, k, minimums, time_limit_s, mip_rel_gap, warm_start, reporter
        )

    covered = covered_mask(matrix, chosen)
    objective = float(weights[covered].sum())
    # y_g is continuous, so an incumbent may leave a covered group's y_g below 1 and understate
    # its own value; reporting less than the solver claims would be a genuine inconsistency.
    if objective < solver_value - OBJECTIVE_RTOL * max(1.0, abs(solver_value)):
        raise SolverFailed(f"HiGHS reported {solver_value} but its sites cover {objective}")
    bound = min(bound, online_bound, bound_from_mask(matrix, weights, covered, chosen, k))
    ordered, gains = in_greedy_order(matrix, weights, chosen)
    return SitingResult(
        chosen=ordered,
        gains=gains,
        objective=objective,
        total_weight=float(weights.sum()),
        upper_bound=max(bound, objective),
        method="exact",
        status=status,
        seconds=time.perf_counter() - start,
    )


def _run_highs(
    group_coverage: sp.csr_matrix,
    group_weights: np.ndarray,
    k: int,
    minimums: GroupMinimums | None,
    time_limit_s: float,
    mip_rel_gap: float,
    warm_start: np.ndarray | None,
    reporter: _Reporter | None = None,
) -> tuple[np.ndarray, str, float, float]:
    """Solve the reduced MILP; return chosen indices, status, solver objective and dual bound."""
    m = group_coverage.shape[1]
    highs = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no annotations for it
    for option, value in {
        "output_flag": False,
        "time_limit": float(time_limit_s),
        "mip_rel_gap": float(mip_rel_gap),
        "random_seed": RANDOM_SEED,
    }.items():
        _check(highs.setOptionValue(option, value), f"option {option}")
    _check(highs.passModel(_build_model(group_coverage, group_weights, k, minimums)), "model")
    if warm_start is not None:
        x = np.zeros(m)
        x[warm_start] = 1.0
        incumbent = highspy.HighsSolution()
        incumbent.col_value = np.concatenate([x, np.minimum(group_coverage @ x, 1.0)]).tolist()
        incumbent.value_valid = True
        _check(highs.setSolution(incumbent), "warm start")
    if reporter is not None:
        highs.cbMipInterrupt.subscribe(reporter)
        highs.cbMipImprovingSolution.subscribe(reporter)
    highs.run()

    model_status = highs.getModelStatus()
    info = highs.getInfo()
    has_incumbent = info.primal_solution_status == highspy.kSolutionStatusFeasible
    if model_status == highspy.HighsModelStatus.kOptimal:
        status = "optimal"
    elif model_status == highspy.HighsModelStatus.kTimeLimit and has_incumbent:
        status = "time_limit"
    elif model_status == highspy.HighsModelStatus.kInterrupt and has_incumbent:
        status = "stopped"
    else:
        raise SolverFailed(f"HiGHS stopped with status {highs.modelStatusToString(model_status)!r}")

    x_value = np.asarray(highs.getSolution().col_value[:m])
    chosen = np.flatnonzero(x_value > 0.5)
    if chosen.size != k or (minimums is not None and not minimums.satisfied_by(chosen)):
        raise SolverFailed(f"HiGHS returned {chosen.size} sites that do not meet the constraints")
    return chosen, status, float(info.objective_function_value), float(info.mip_dual_bound)
