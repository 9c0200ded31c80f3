"""Improve a siting answer by 1-swaps: drop one chosen site, add one candidate, while it pays.

Best-improvement local search for the maximal covering problem (the "interchange" of Teitz &
Bart 1968, as used after greedy by Galvão & ReVelle 1996). With c_i the number of chosen sites
covering cell i, the exact change of covered weight when site s leaves and candidate j enters is::

    delta(s, j) = gain_j - loss_s + regain_{j,s}
    gain_j      = sum of w_i over cells j covers with c_i = 0         (A^T (w * [c = 0]))
    loss_s      = sum of w_i over cells s covers with c_i = 1         (only s covers them)
    regain_{j,s}= sum of w_i over cells j covers with c_i = 1 and covered by s

so one dense candidates x k table holds every swap's value. The three terms change only on the
cells of the two swapped columns, so after a swap they are updated from those cells' rows alone
(a few hundred cells), not recomputed. A swap that would take a group below its minimum is
allowed only between sites of the same group. Every accepted swap is checked on the changed
cells before it is kept, and the answer is never worse than the one given.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from geo.analysis.bounds import prepare_incumbent, prepare_limits, row_entries, row_layout
from geo.analysis.siting import GroupMinimums, prepare_instance, prepare_minimums, prepare_selection

__all__ = ["SwapResult", "swap_search"]

SwapStatus = Literal["local_optimum", "time_limit", "swap_limit"]

# A swap must gain more than this share of the objective: float noise in the incremental tables
# must never pass for an improvement (each swap is checked exactly anyway).
MIN_GAIN_RTOL = 1e-12


@dataclass(frozen=True, eq=False)
class SwapResult:
    """An answer improved by 1-swaps; ``chosen`` keeps the given order, each new site in the place
    of the one it replaced. ``objective >= objective_before`` always."""

    chosen: np.ndarray
    objective_before: float
    objective: float
    swaps: int
    seconds: float
    status: SwapStatus

    def __post_init__(self) -> None:
        """Make the sites read-only, so no caller can edit a result others hold."""
        self.chosen.setflags(write=False)

    @property
    def improvement(self) -> float:
        """Covered weight gained by the swaps."""
        return self.objective - self.objective_before


@dataclass
class _State:
    """The search's mutable tables (private to :func:`swap_search`)."""

    columns: sp.csc_matrix
    rows: sp.csr_matrix
    weights: np.ndarray
    slots: np.ndarray        # chosen site in each of the k places
    slot_of: np.ndarray      # per candidate: its place, or -1
    counts: np.ndarray       # per cell: chosen sites covering it
    owner: np.ndarray        # per cell covered once: the place covering it, else -1
    gain: np.ndarray         # per candidate
    loss: np.ndarray         # per place
    regain: np.ndarray       # candidates x places

    def cells(self, site: int) -> np.ndarray:
        return self.columns.indices[self.columns.indptr[site] : self.columns.indptr[site + 1]]

    def owners(self, cells: np.ndarray) -> np.ndarray:
        """For each cell, the place covering it if exactly one does, else -1 (from the rows)."""
        candidates, position = row_entries(self.rows, cells)
        place = self.slot_of[candidates]
        owner = np.full(cells.size, -1, dtype=np.int64)
        owner[position[place >= 0]] = place[place >= 0]
        return np.where(self.counts[cells] == 1, owner, -1)

    def account(self, cells: np.ndarray, sign: float) -> None:
        """Add (sign 1) or remove (sign -1) these cells' share of gain, loss and regain."""
        candidates, position = row_entries(self.rows, cells)
        weight = sign * self.weights[cells]
        open_ = self.counts[cells] == 0
        self.gain += np.bincount(candidates, weights=(weight * open_)[position], minlength=self.gain.size)
        owner = self.owner[cells]
        single = owner >= 0
        self.loss += np.bincount(owner[single], weights=weight[single], minlength=self.loss.size)
        hit = single[position]
        flat = candidates[hit] * self.loss.size + owner[position[hit]]
        np.add.at(self.regain.reshape(-1), flat, weight[position[hit]])

    def swap(self, place: int, site: int) -> float:
        """Put ``site`` in ``place``; return the exact change of covered weight on the cells touched."""
        leaving, entering = self.cells(int(self.slots[place])), self.cells(site)
        touched = np.union1d(leaving, entering)
        before = float(self.weights[touched][self.counts[touched] > 0].sum())
        self.account(touched, -1.0)
        self.counts[leaving] -= 1
        self.counts[entering] += 1
        self.slot_of[self.slots[place]] = -1
        self.slot_of[site] = place
        self.slots[place] = site
        self.owner[touched] = self.owners(touched)
        self.account(touched, 1.0)
        return float(self.weights[touched][self.counts[touched] > 0].sum()) - before


def _start(matrix: sp.csc_matrix, weights: np.ndarray, chosen: np.ndarray, rows: sp.csr_matrix | None) -> _State:
    """The tables for ``chosen``: gain by one product, owner and loss from the chosen columns,
    regain from the rows of the cells covered once (the only ones it sums)."""
    n, m = matrix.shape
    slot_of = np.full(m, -1, dtype=np.int64)
    slot_of[chosen] = np.arange(chosen.size)
    entries = matrix[:, chosen]
    counts = np.bincount(entries.indices, minlength=n)
    owner = np.full(n, -1, dtype=np.int64)
    place = np.repeat(np.arange(chosen.size), np.diff(entries.indptr))
    single = counts[entries.indices] == 1
    owner[entries.indices[single]] = place[single]
    gain = np.asarray(matrix.T @ np.where(counts == 0, weights, 0.0)).ravel()
    loss = np.bincount(owner[owner >= 0], weights=weights[owner >= 0], minlength=chosen.size)
    rows = row_layout(matrix) if rows is None else rows
    state = _State(matrix, rows, weights, chosen.copy(), slot_of, counts, owner, gain, loss, np.zeros((m, chosen.size)))
    cells = np.flatnonzero((owner >= 0) & (weights > 0))
    candidates, position = row_entries(state.rows, cells)
    flat = candidates * chosen.size + owner[cells][position]
    state.regain.reshape(-1)[:] = np.bincount(flat, weights=weights[cells][position], minlength=m * chosen.size)
    return state


def _best_swap(state: _State, minimums: GroupMinimums | None) -> tuple[int, int, float]:
    """The best (place, candidate, predicted change) among the swaps the minimums allow."""
    delta = state.gain[:, None] - state.loss[None, :] + state.regain
    delta[state.slots, :] = -np.inf  # a chosen site cannot enter again
    if minimums is not None:
        labels = minimums.labels[state.slots]
        spare = np.bincount(labels[labels >= 0], minlength=len(minimums.minimum)) - minimums.minimum
        tight = np.flatnonzero((labels >= 0) & (spare[np.maximum(labels, 0)] <= 0))
        if tight.size:  # a place at its group's minimum may only go to the same group
            delta[:, tight] = np.where(minimums.labels[:, None] == labels[tight][None, :], delta[:, tight], -np.inf)
    site, place = np.unravel_index(int(np.argmax(delta)), delta.shape)
    return int(place), int(site), float(delta[site, place])


def swap_search(
    coverage: Any,
    weights: Any,
    chosen: Any,
    *,
    candidate_groups: np.ndarray | None = None,
    min_per_group: Mapping[str, int] | None = None,
    time_limit_s: float = 0.5,
    max_swaps: int = 1000,
) -> SwapResult:
    """Improve ``chosen`` (a feasible answer of k sites) by best-improvement 1-swaps.

    Stops at a local optimum (no allowed swap gains), after ``max_swaps`` swaps, or when
    ``time_limit_s`` has passed (checked between swaps). The minimums stay met throughout.

    Raises:
        ValueError: on malformed inputs, naming the argument (``chosen`` must hold distinct
            candidates that meet the minimums).
        InfeasibleProblem: if the group minimums cannot be met with that many sites.
    """
    started = time.perf_counter()
    matrix, weights, _ = prepare_instance(coverage, weights, 0)
    chosen = prepare_selection(chosen, matrix.shape[1], "chosen")
    k = chosen.size
    minimums = prepare_minimums(candidate_groups, min_per_group, matrix.shape[1], k)
    chosen = prepare_incumbent(chosen, matrix.shape[1], k, minimums)
    prepare_limits(time_limit_s, max_swaps, "max_swaps")
    return swap_prepared(matrix, weights, chosen, minimums, time_limit_s=time_limit_s, max_swaps=max_swaps,
                         started=started)


def swap_prepared(
    matrix: sp.csc_matrix,
    weights: np.ndarray,
    chosen: np.ndarray,
    minimums: GroupMinimums | None,
    *,
    time_limit_s: float,
    max_swaps: int,
    rows: sp.csr_matrix | None = None,
    started: float | None = None,
) -> SwapResult:
    """:func:`swap_search` on inputs already checked, for callers that hold them; ``rows`` is
    :func:`geo.analysis.bounds.row_layout` of the matrix if the caller keeps it. The time limit
    runs from ``started`` (a ``time.perf_counter()`` reading; default now)."""
    started = time.perf_counter() if started is None else started
    k = chosen.size
    state = _start(matrix, weights, chosen, rows)
    before = float(weights[state.counts > 0].sum())
    objective, swaps = before, 0
    status: SwapStatus = "local_optimum"
    while k > 0:
        if swaps >= max_swaps:
            status = "swap_limit"
            break
        if time.perf_counter() - started >= time_limit_s:
            status = "time_limit"
            break
        place, site, predicted = _best_swap(state, minimums)
        if not predicted > MIN_GAIN_RTOL * max(1.0, objective):
            break
        leaving = int(state.slots[place])
        change = state.swap(place, site)
        if not change > 0:  # the tables drifted: undo, and stop at what is proven
            state.swap(place, leaving)
            break
        objective += change
        swaps += 1
    result = state.slots.copy()
    objective = float(weights[np.bincount(matrix[:, result].indices, minlength=matrix.shape[0]) > 0].sum())
    if objective < before:  # cannot happen with the checks above; never return worse than given
        result, objective = chosen, before
    return SwapResult(result, before, objective, swaps, time.perf_counter() - started, status)
