"""Coverage, gaps and plans over HTTP; coverage follows every committed write."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy.orm import Session

from geo.store.keys import create_key

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db


def city_covered(client: TestClient, type_code: str, **params: object) -> float:
    body = client.get("/api/v1/coverage", params={"level": "city", "type": type_code, **params}).json()
    return body["rows"][0]["covered_population"]


def test_coverage_levels_and_flags(client: TestClient) -> None:
    county = client.get("/api/v1/coverage", params={"level": "county", "type": "love_station"}).json()
    assert county["population_is_modelled"] is True and len(county["rows"]) == 13
    assert sum(r["population"] for r in county["rows"]) == 4_600_276
    city = client.get("/api/v1/coverage", params={"level": "city"}).json()["rows"]
    assert {r["type_code"] for r in city} == {"love_station", "legal_service", "worker_library",
                                             "cultural_palace", "workers_home"}
    by_type = {r["type_code"]: r for r in city}
    assert by_type["love_station"]["covered_population"] == pytest.approx(
        sum(r["covered_population"] for r in county["rows"]))
    assert client.get("/api/v1/coverage", params={"level": "village"}).status_code == 422
    assert client.get("/api/v1/coverage", params={"type": "night_market"}).status_code == 422


def test_coverage_is_refreshed_after_a_write(client: TestClient, session: Session) -> None:
    key = {"Authorization": f"Bearer {create_key(session, name='t', role='editor')}"}
    before = city_covered(client, "cultural_palace")
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.25, 29.73]},
               "properties": {"type_code": "cultural_palace", "name": "湖口县工人文化宫"}}
    station_id = client.post("/api/v1/stations", json=feature, headers=key).json()["id"]
    after = city_covered(client, "cultural_palace")
    assert after > before
    assert client.delete(f"/api/v1/stations/{station_id}", headers=key | {"If-Match": '"1"'}).status_code == 204
    assert city_covered(client, "cultural_palace") == before


def test_gaps_summary_detail_and_baselines(client: TestClient) -> None:
    body = client.get("/api/v1/gaps", params={"detail": True}).json()
    targets = {t["target_code"]: t for t in body["targets"]}
    assert targets["love_station_county_2019"]["units"] == 13
    assert targets["workers_home_township"]["units"] == 204
    assert "全市建成200家以上" in targets["love_station_city_2019"]["source_quote"]
    assert len(body["rows"]) == 1 + 13 + 204 + 1 + 13 + 204
    assert any(b["type"] == "worker_library" and b["count"] == 234 for b in body["baselines"])
    assert client.get("/api/v1/gaps").json()["rows"] is None


def test_plan_runs_and_saves_only_with_a_key(client: TestClient, session: Session) -> None:
    body = client.post("/api/v1/plans", json={"type": "love_station", "add": 3}).json()
    assert len(body["proposals"]) == 3 and body["plan_id"] is None
    assert body["objective"] <= body["upper_bound"] and 0 < body["bound_share"] <= 1
    assert body["bound_share"] == pytest.approx(body["objective"] / body["upper_bound"])
    assert body["bound_method"] == "lagrangian" and body["greedy_objective"] <= body["objective"]
    assert body["certificate"] == "方案已证明为理论最优（拉格朗日上界）/ proven optimal (Lagrangian bound)"
    assert body["covered_after"] == pytest.approx(body["covered_before"] + body["objective"])
    assert client.post("/api/v1/plans", json={"type": "love_station", "add": 3, "save": True}).status_code == 401
    key = {"Authorization": f"Bearer {create_key(session, name='规划', role='editor')}"}
    saved = client.post("/api/v1/plans", json={"type": "love_station", "add": 3, "save": True}, headers=key).json()
    stored = client.get(f"/api/v1/plans/{saved['plan_id']}").json()
    assert len(stored["station_ids"]) == 3 and stored["created_by"] == "key:规划"
    scenario = city_covered(client, "love_station", plan=saved["plan_id"])
    assert scenario == pytest.approx(saved["covered_after"])
    assert client.get("/api/v1/plans/999999").status_code == 404
    assert client.post("/api/v1/plans", json={"type": "love_station", "add": 0}).status_code == 422


def test_an_impossible_county_minimum_is_a_422_naming_it(client: TestClient) -> None:
    response = client.post("/api/v1/plans", json={"type": "love_station", "add": 3, "min_per_county": 20})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["min_per_county"]
    assert client.get("/maps/plan", params={"min_per_county": 43}).status_code == 422


def test_an_exact_plan_never_solves_in_the_web_worker_it_is_queued_as_a_job(
        client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    from geo.analysis.siting import SolverFailed

    def fail(*args: object, **kwargs: object) -> None:
        raise SolverFailed("HiGHS stopped with status 'Not Set'")

    monkeypatch.setattr(client.app.state.solver_pool, "run", fail)  # a worker's solver: never asked
    key = {"Authorization": f"Bearer {create_key(session, name='规划', role='editor')}"}  # exact needs a key
    response = client.post("/api/v1/plans", json={"type": "love_station", "add": 3, "method": "exact"}, headers=key)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued" and response.headers["Location"] == response.json()["url"]
