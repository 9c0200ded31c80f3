"""geo.services.exact_plans: an exact plan bounded by its time limit and a stop, whatever HiGHS does.

HiGHS hears a stop only between branch-and-bound steps; a solver that hears nothing (as in its
presolve) is played by a ``solve_exact`` that waits before solving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session

from geo.analysis import planning, siting_exact
from geo.services.coverage_query import ModelCache, counted_stations, type_radii
from geo.services.exact_plans import plan_exact

pytestmark = pytest.mark.db


@pytest.fixture
def instance(session: Session) -> dict[str, Any]:
    """Jiujiang's 爱心驿站 on resolution-7 candidates in two counties: HiGHS proves it in a second."""
    model, info = ModelCache().get(session)
    candidates = planning.grid_candidates(model, info.resolution - 2)
    candidates = candidates.subset(np.isin(candidates.county_code, ["360426", "360429"]))
    return {"model": model, "stations": counted_stations(session), "kind": type_radii(session, "love_station")[0],
            "candidates": candidates}


@pytest.fixture
def deaf_solver(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """HiGHS as in presolve: it hears no stop until the test releases it."""
    release = threading.Event()
    solve = siting_exact.solve_exact

    def deaf(*args: Any, **kwargs: Any) -> Any:
        release.wait(60)
        return solve(*args, **kwargs)

    monkeypatch.setattr(siting_exact, "solve_exact", deaf)
    yield release
    release.set()


def test_a_plan_left_alone_is_the_exact_optimum(instance: dict[str, Any]) -> None:
    run = plan_exact(**instance, add=6, time_limit_s=60)
    direct = planning.plan_sites(**instance, add=6, method="exact", time_limit_s=60)
    assert (run.stopped, run.abandoned, run.result.solution.status) == (False, False, "optimal")
    assert run.result.solution.objective == direct.solution.objective
    assert run.result.proposals[["lon", "lat"]].equals(direct.proposals[["lon", "lat"]])


def test_a_stop_highs_does_not_hear_ends_with_the_greedy_plan_in_its_grace(
        instance: dict[str, Any], deaf_solver: threading.Event) -> None:
    greedy = planning.plan_sites(**instance, add=6, bound_steps=0)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    begun = time.monotonic()
    # no bound steps: the Lagrangian bound does not prove the swapped answer, so HiGHS must run
    run = plan_exact(**instance, add=6, time_limit_s=60, stop=stop, stop_grace_s=0.5, bound_steps=0)
    elapsed = time.monotonic() - begun
    assert run.stopped and run.abandoned and elapsed < 5, elapsed
    solution = run.result.solution
    assert (solution.method, solution.status) == ("greedy", "stopped")
    assert solution.objective == greedy.solution.objective and len(run.result.proposals) == 6


def test_the_time_limit_holds_when_highs_overruns_it(instance: dict[str, Any], deaf_solver: threading.Event) -> None:
    begun = time.monotonic()
    run = plan_exact(**instance, add=6, time_limit_s=1.0, stop_grace_s=0.5, bound_steps=0)
    assert time.monotonic() - begun < 5
    assert run.abandoned and run.result.solution.status == "time_limit" and run.result.solution.objective > 0
