"""An exact plan that reports its progress and stops when asked, keeping the best answer found.

Shared by the job runner's solve process (``geo.services.plan_jobs``) and ``unionmap plan
--method exact``. HiGHS looks at a stop request only between branch-and-bound steps (its MIP
callbacks); in presolve and in an LP it hears nothing, and on Jiujiang's full instance presolve
alone took 53 s. So the solve runs in a thread of its own, and a stop (or the time limit) that
HiGHS has not obeyed within ``stop_grace_s`` ends the call with the plan known to be good: the
greedy answer, which is HiGHS's warm start and so the first incumbent of every exact solve. The
solver thread is then abandoned; the caller's process is expected to end soon after (``abandoned``).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from geo.analysis import planning
from geo.analysis.coverage import CoverageModel, StationPoints, TypeRadius
from geo.analysis.siting_exact import ExactProgress

# How often the waiting thread looks at the stop flag and the clock (seconds).
POLL_S = 0.1


class StopFlag(Protocol):
    """Anything with ``is_set()``: a ``threading.Event`` or a ``multiprocessing`` one."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class ExactRun:
    """The plan, and how its solve ended."""

    result: planning.PlanResult
    stopped: bool     # asked to stop (or at its time limit) before HiGHS finished on its own
    abandoned: bool   # HiGHS did not obey in time: its thread still runs, the result is the greedy one


def plan_exact(model: CoverageModel, stations: StationPoints, kind: TypeRadius, candidates: planning.Candidates,
               *, add: int, min_per_county: int = 0, time_limit_s: float,
               progress: Callable[[ExactProgress], Any] | None = None, stop: StopFlag | None = None,
               stop_grace_s: float = 3.0, matrix: planning.CoverageMatrix | None = None,
               bound_steps: int = planning.BOUND_STEPS) -> ExactRun:
    """An exact plan (``planning.plan_sites``) bounded by ``time_limit_s`` of wall clock and ``stop``.

    ``progress`` gets the solver's state (``ExactProgress``) at most twice a second. When ``stop``
    is set or the limit has passed, HiGHS is asked to stop and keep its incumbent (result status
    "stopped" or "time_limit"); past ``stop_grace_s`` more, the greedy answer is returned with
    that status. The greedy plan is computed once more here than ``plan_sites`` does (a fraction
    of a second), so that it is at hand without waiting for the solver. ``matrix``: the
    candidates' coverage matrix if the caller holds it (the warm engine's), else built here.
    """
    started = time.monotonic()
    deadline = started + time_limit_s
    too_large = planning.matrix_entries(model, kind, len(candidates.lon)) > planning.MAX_MATRIX_ENTRIES
    # Built once for both solves; too large a one is refused by plan_sites, naming the field, unbuilt.
    if matrix is None and not too_large:
        matrix = planning.coverage_matrix(model, candidates, kind)
    options: dict[str, Any] = {"add": add, "min_per_county": min_per_county, "matrix": matrix,
                               "bound_steps": bound_steps}
    greedy = planning.plan_sites(model, stations, kind, candidates, **options)

    def asked() -> bool:
        return stop is not None and stop.is_set()

    def must_stop() -> bool:
        return asked() or time.monotonic() > deadline

    def report(update: ExactProgress) -> bool:
        if progress is not None:
            progress(update)
        return must_stop()

    outcome: dict[str, Any] = {}
    done = threading.Event()

    def solve() -> None:
        try:
            outcome["result"] = planning.plan_sites(
                model, stations, kind, candidates, method="exact", progress=report,
                time_limit_s=max(0.5, deadline - time.monotonic()), **options)
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            outcome["error"] = error
        finally:
            done.set()

    threading.Thread(target=solve, name="exact-plan", daemon=True).start()
    while not done.wait(POLL_S):
        if must_stop() and not done.wait(stop_grace_s):
            fallback = _with_status(greedy, "stopped" if asked() else "time_limit", time.monotonic() - started)
            return ExactRun(fallback, stopped=True, abandoned=True)
    if "error" in outcome:
        raise outcome["error"]
    result: planning.PlanResult = outcome["result"]
    if result.solution.status == "stopped" and not asked():  # HiGHS stopped by us at the limit
        result = _with_status(result, "time_limit", result.solution.seconds)
    return ExactRun(result, stopped=result.solution.status in ("stopped", "time_limit"), abandoned=False)


def _with_status(plan: planning.PlanResult, status: str, seconds: float) -> planning.PlanResult:
    """The same plan, its solution's status and seconds replaced."""
    return dataclasses.replace(plan, solution=dataclasses.replace(plan.solution, status=status, seconds=seconds))
