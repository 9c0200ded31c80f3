"""A plan's time limit bounds the whole call: building a type's instance in the engine counts."""

from __future__ import annotations

import time
from typing import Any

import pytest

from geo.analysis import engine, planning


class SlowEngine(engine.SitingEngine):
    """Holds any grid; building an instance takes ``build_s``."""

    def __init__(self, build_s: float) -> None:
        super().__init__()
        self.build_s = build_s

    def model(self, grid_key: str) -> Any:
        return object()

    def instance(self, model: Any, kind: Any, grid_resolution: int) -> Any:
        time.sleep(self.build_s)
        return engine.SitingInstance(candidates=None, matrix=None, candidate_resolution=8)  # type: ignore[arg-type]


@pytest.mark.parametrize(("limit_s", "expected_at_most", "expected_at_least"), [(10.0, 9.5, 8.0), (1.2, 1.0, 1.0)])
def test_the_build_is_taken_from_the_plan_s_time_limit(monkeypatch: pytest.MonkeyPatch, limit_s: float,
                                                       expected_at_most: float, expected_at_least: float) -> None:
    given: dict[str, float] = {}

    def plan_sites(*args: Any, time_limit_s: float, **kwargs: Any) -> str:
        given["time_limit_s"] = time_limit_s
        return "plan"

    monkeypatch.setattr(engine, "ENGINE", SlowEngine(build_s=0.8))
    monkeypatch.setattr(planning, "plan_sites", plan_sites)
    assert engine.propose_warm("grid", None, None, 9, add=3, time_limit_s=limit_s) == "plan"  # type: ignore[arg-type]
    assert expected_at_least <= given["time_limit_s"] <= expected_at_most  # at least 1 s is always left
