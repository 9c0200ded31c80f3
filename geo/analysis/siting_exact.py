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
"""

from __future__ import annotations

import time
from collections.abc import Mapping
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
) -> SitingResult:
    """Choose k candidates maximising covered weight, exactly (or to a time limit) with HiGHS.

    ``warm_start`` (k candidate indices, e.g. the greedy answer) is handed to HiGHS as its first
    incumbent, so a time-limited run never reports less than it. The chosen sites are listed in
    greedy order within the chosen set, so ``gains`` reads as "population each site adds".
    The objective is recomputed from the chosen sites on the original instance rather than
    trusted from the solver.

    Returns:
        A result with status "optimal" (proved within ``mip_rel_gap``) or "time_limit" (the
        best incumbent found). ``upper_bound`` is HiGHS's dual bound, or an online bound (at
        the empty set or at the answer) when that is tighter, as it often is early on.

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
    if k == 0 or not group_weights.any():
        # Nothing can be covered: every feasible choice is optimal, and HiGHS treats an empty
        # model as an error, so take the (minimum-respecting) greedy choice.
        chosen, _, _, _ = lazy_greedy(matrix, weights, k, minimums=minimums)
        status, solver_value, bound = "optimal", 0.0, 0.0
    else:
        chosen, status, solver_value, bound = _run_highs(
            group_coverage, group_weights, k, minimums, time_limit_s, mip_rel_gap, warm_start
        )

    covered = covered_mask(matrix, chosen)
    objective = float(weights[covered].sum())
    # y_g is continuous, so an incumbent may leave a covered group's y_g below 1 and understate
    # its own value; reporting less than the solver claims would be a genuine inconsistency.
    if objective < solver_value - OBJECTIVE_RTOL * max(1.0, abs(solver_value)):
        raise SolverFailed(f"HiGHS reported {solver_value} but its sites cover {objective}")
    # Online bounds (at the empty set and at the answer) hold for any k sites, so they can only
    # tighten a weak dual bound, which early in a time-limited run is often near the total weight.
    empty_set_bound = top_k_sum(np.asarray(matrix.T @ weights).ravel(), k)
    bound = min(bound, empty_set_bound, bound_from_mask(matrix, weights, covered, chosen, k))
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
    highs.run()

    model_status = highs.getModelStatus()
    info = highs.getInfo()
    has_incumbent = info.primal_solution_status == highspy.kSolutionStatusFeasible
    if model_status == highspy.HighsModelStatus.kOptimal:
        status = "optimal"
    elif model_status == highspy.HighsModelStatus.kTimeLimit and has_incumbent:
        status = "time_limit"
    else:
        raise SolverFailed(f"HiGHS stopped with status {highs.modelStatusToString(model_status)!r}")

    x_value = np.asarray(highs.getSolution().col_value[:m])
    chosen = np.flatnonzero(x_value > 0.5)
    if chosen.size != k or (minimums is not None and not minimums.satisfied_by(chosen)):
        raise SolverFailed(f"HiGHS returned {chosen.size} sites that do not meet the constraints")
    return chosen, status, float(info.objective_function_value), float(info.mip_dual_bound)
