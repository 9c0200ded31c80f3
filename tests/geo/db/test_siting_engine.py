"""The warm siting engine: built once per grid and radii, reused across registry edits, same plans."""

from __future__ import annotations

import mmap
from pathlib import Path

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


def _mapped(array: object) -> bool:
    """Whether ``array`` is (a view of) a file mapped into memory, not a copy of one."""
    while array is not None:
        if isinstance(array, mmap.mmap | np.memmap):
            return True
        array = getattr(array, "base", None)
    return False


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
    # both layouts: float64 + int32 by candidate, int8 + int32 by cell
    assert fresh_engine.held_bytes() == instance.nbytes > 17 * instance.matrix.columns.nnz

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


def test_the_default_question_is_certified_and_asking_again_only_tightens(
        session: Session, fresh_engine: engine.SitingEngine) -> None:
    """Issue 12's question (k = 64, min 5 per county): swaps never lose people, the listed gains
    add up, the certificate is a proven Lagrangian bound of at least 99 %, and asking again goes
    on from where the search stopped (the same sites, a bound no higher)."""
    model, info = ModelCache().get(session)
    kind = type_radii(session, "love_station")[0]
    stations = counted_stations(session)
    first = engine.propose_cold(info.version, model, stations, kind, info.resolution, add=64, min_per_county=5)
    solution = first.solution
    assert solution.objective >= first.greedy_objective
    assert first.proposals["added"].sum() == pytest.approx(solution.objective)
    assert first.bound_method == "lagrangian"
    assert solution.objective <= solution.upper_bound < first.greedy_objective / 0.99
    assert first.bound_share == pytest.approx(solution.objective / solution.upper_bound) and first.bound_share >= 0.99
    instance = fresh_engine.instance(model, kind, info.resolution)
    assert len(instance.bound_memo) == 1
    again = engine.propose_warm(info.version, stations, kind, info.resolution, add=64, min_per_county=5)
    assert again.proposals["name"].tolist() == first.proposals["name"].tolist()
    assert again.solution.upper_bound <= solution.upper_bound
    assert len(instance.bound_memo) == 1  # the same question, one entry
    other = engine.propose_warm(info.version, stations, kind, info.resolution, add=8, min_per_county=5)
    assert len(instance.bound_memo) == 2 and other.solution.upper_bound < solution.upper_bound


def test_a_plan_with_no_bound_steps_carries_the_online_bound(session: Session) -> None:
    """With the search given no steps, the Lagrangian value is its best start, never above the
    online bound; the plan says which bound it carries."""
    model, info = ModelCache().get(session)
    kind = type_radii(session, "love_station")[0]
    candidates, _ = planning.default_candidates(model, kind, info.resolution)
    matrix = planning.coverage_matrix(model, candidates, kind)
    stations = counted_stations(session)
    quick = planning.plan_sites(model, stations, kind, candidates, add=64, bound_steps=0, matrix=matrix)
    full = planning.plan_sites(model, stations, kind, candidates, add=64, matrix=matrix)
    assert quick.solution.objective == full.solution.objective
    assert quick.solution.upper_bound > full.solution.upper_bound
    assert quick.bound_share < 0.99 <= full.bound_share
    assert quick.bound_method in ("lagrangian", "online") and full.bound_method == "lagrangian"


def test_an_instance_built_once_is_mapped_from_disk_by_the_next_process(
        session: Session, fresh_engine: engine.SitingEngine, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """What one process builds, the next maps from this machine's files: the same arrays, the
    same plan, and no build (the builder is made to fail for the second engine)."""
    monkeypatch.setattr(engine, "files_directory", lambda: tmp_path)
    model, info = ModelCache().get(session)
    kind = type_radii(session, "love_station")[0]
    stations = counted_stations(session)
    built = engine.propose_cold(info.version, model, stations, kind, info.resolution, add=16, min_per_county=5)
    assert len(list(tmp_path.iterdir())) == 1

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("the instance should have been read from disk")

    monkeypatch.setattr(planning, "default_candidates", no_build)
    second = engine.SitingEngine()
    monkeypatch.setattr(engine, "ENGINE", second)
    mapped = engine.propose_cold(info.version, model, stations, kind, info.resolution, add=16, min_per_county=5)
    instance = second.instance(model, kind, info.resolution)
    assert all(_mapped(array) for array in (instance.matrix.columns.indices, instance.matrix.rows.indices,
                                             instance.matrix.columns.data, instance.candidates.lon))
    assert mapped.proposals["name"].tolist() == built.proposals["name"].tolist()
    assert mapped.solution.objective == built.solution.objective
    assert mapped.solution.upper_bound == built.solution.upper_bound


def test_the_model_is_kept_on_disk_per_grid_version(session: Session, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    model, info = ModelCache(tmp_path).get(session)
    monkeypatch.setattr("geo.services.coverage_query.read_grid", lambda session: 1 / 0)
    again, _ = ModelCache(tmp_path).get(session)  # a new process: from the file, not the database
    assert again is not model and np.array_equal(again.grid.population, model.grid.population)


def test_an_exact_plan_already_proven_by_the_bound_skips_highs(session: Session,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The default question's swapped answer is proven optimal by the Lagrangian bound (200
    steps), so an exact plan returns it at once, labelled with the bound that proved it; HiGHS
    (made to fail here) is not started."""
    from geo.analysis import siting_exact

    model, info = ModelCache().get(session)
    kind = type_radii(session, "love_station")[0]
    candidates, _ = planning.default_candidates(model, kind, info.resolution)
    matrix = planning.coverage_matrix(model, candidates, kind)
    stations = counted_stations(session)
    greedy = planning.plan_sites(model, stations, kind, candidates, add=64, min_per_county=5, matrix=matrix,
                                 bound_steps=200)
    assert greedy.solution.status == "optimal" and greedy.bound_share >= 1 - 1e-9

    def no_highs(*args: object, **kwargs: object) -> None:
        raise AssertionError("HiGHS should not run for an answer already proven optimal")

    monkeypatch.setattr(siting_exact, "solve_exact", no_highs)
    exact = planning.plan_sites(model, stations, kind, candidates, add=64, min_per_county=5, matrix=matrix,
                                method="exact", bound_steps=200)
    assert (exact.solution.method, exact.solution.status, exact.bound_method) == ("exact", "optimal", "lagrangian")
    assert exact.solution.objective == greedy.solution.objective
    assert exact.proposals["name"].tolist() == greedy.proposals["name"].tolist()
