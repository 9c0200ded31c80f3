"""The warm siting engine: built once per grid and radii, reused across registry edits, same plans."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy.orm import Session

from geo.analysis import engine, planning
from geo.analysis.coverage import StationPoints
from geo.services.coverage_query import ModelCache, counted_stations, type_radii

pytestmark = pytest.mark.db


@pytest.fixture
def fresh_engine(monkeypatch: pytest.MonkeyPatch) -> engine.SitingEngine:
    """An empty engine in place of this process's own."""
    fresh = engine.SitingEngine()
    monkeypatch.setattr(engine, "ENGINE", fresh)
    return fresh


def _without_first(stations: StationPoints, type_code: str) -> StationPoints:
    """The registry after one station of the type was closed (an edit: only the weights change)."""
    first = int(np.flatnonzero(stations.type_code == type_code)[0])
    keep = np.arange(len(stations.type_code)) != first
    return StationPoints(*(getattr(stations, name)[keep] for name in StationPoints.__dataclass_fields__))


def test_a_warm_plan_reuses_the_instance_and_equals_a_fresh_one(session: Session,
                                                                fresh_engine: engine.SitingEngine) -> None:
    model, info = ModelCache().get(session)
    kind = type_radii(session, "love_station")[0]
    stations = counted_stations(session)
    with pytest.raises(engine.EngineCold):
        engine.propose_warm(info.version, stations, kind, info.resolution, add=8)

    warm = engine.propose_cold(info.version, model, stations, kind, info.resolution, add=8, min_per_county=2)
    instance = fresh_engine.instance(model, kind, info.resolution)
    fresh_candidates, _ = planning.default_candidates(model, kind, info.resolution)
    fresh = planning.plan_sites(model, stations, kind, fresh_candidates, add=8, min_per_county=2)
    assert warm.solution.objective == fresh.solution.objective > 0
    assert warm.proposals["name"].tolist() == fresh.proposals["name"].tolist()
    assert warm.deficits == fresh.deficits

    # A registry edit: the same instance (no rebuild), new weights, the plan a fresh build gives.
    edited = _without_first(stations, "love_station")
    after_edit = engine.propose_warm(info.version, edited, kind, info.resolution, add=8, min_per_county=2)
    assert fresh_engine.instance(model, kind, info.resolution) is instance
    again = planning.plan_sites(model, edited, kind, fresh_candidates, add=8, min_per_county=2)
    assert after_edit.covered_before < warm.covered_before
    assert after_edit.solution.objective == again.solution.objective
    assert after_edit.proposals["name"].tolist() == again.proposals["name"].tolist()
    assert fresh_engine.held_bytes() == instance.nbytes > instance.matrix.nnz  # int8 data + int32 indices

    # Another grid version drops what was built for the old one.
    fresh_engine.hold(info.version + "/rebuilt", model)
    with pytest.raises(engine.EngineCold):
        engine.propose_warm(info.version, stations, kind, info.resolution, add=8)
    assert fresh_engine.held_bytes() == 0


def test_a_matrix_that_does_not_fit_the_candidates_is_refused(session: Session) -> None:
    model, info = ModelCache().get(session)
    kind = type_radii(session, "love_station")[0]
    candidates, _ = planning.default_candidates(model, kind, info.resolution)
    few = candidates.subset(np.arange(len(candidates.lon)) < 10)
    wrong = planning.coverage_matrix(model, candidates.subset(np.arange(len(candidates.lon)) < 11), kind)
    with pytest.raises(ValueError, match="does not fit"):
        planning.plan_sites(model, counted_stations(session), kind, few, add=2, matrix=wrong)
