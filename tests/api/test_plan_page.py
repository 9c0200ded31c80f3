"""The plan page's API: what-if, candidates from a CSV, table downloads, saving an edited plan."""

from __future__ import annotations

import codecs
import io
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import numpy as np
import pytest
from openpyxl import load_workbook
from pyproj import Geod
from sqlalchemy.orm import Session

from api.admission import lane_of
from geo.core import crs
from geo.notices import DEMO, MODELLED
from geo.store.keys import create_key

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db
PLAN = {"type": "love_station", "add": 6, "min_per_county": 5}
# 修水县, 武宁县, 都昌县: rural seats far apart; the test takes the first far from every proposal
FAR_SITES = [(114.55, 29.03), (115.10, 29.26), (116.20, 29.27)]
GEOD = Geod(ellps="WGS84")


def plan(client: TestClient, **changes: Any) -> dict[str, Any]:
    response = client.post("/api/v1/plans", json=PLAN | changes)
    assert response.status_code == 200, response.text
    return response.json()


def evaluate(client: TestClient, sites: list[tuple[float, float]], **extra: Any) -> dict[str, Any]:
    body = {"type": "love_station", "sites": [{"lon": lon, "lat": lat} for lon, lat in sites]} | extra
    response = client.post("/api/v1/plans/evaluate", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def points(document: dict[str, Any], key: str = "proposals") -> list[tuple[float, float]]:
    return [(row["lon"], row["lat"]) for row in document[key]]


@pytest.fixture
def proposed(client: TestClient) -> dict[str, Any]:
    return plan(client)


def test_evaluating_a_plans_proposals_gives_back_its_figures_exactly(client: TestClient,
                                                                     proposed: dict[str, Any]) -> None:
    result = evaluate(client, points(proposed))
    assert [site["added"] for site in result["sites"]] == [p["added"] for p in proposed["proposals"]]
    assert [site["cumulative"] for site in result["sites"]] == [p["cumulative"] for p in proposed["proposals"]]
    assert [site["cumulative_share"] for site in result["sites"]] == [p["share"] for p in proposed["proposals"]]
    assert result["after"] == proposed["covered_after"] and result["before"] == proposed["covered_before"]
    assert result["added"] == proposed["objective"] and result["population"] == proposed["population"] == 4_600_276
    assert [site["county_code"] for site in result["sites"]] == [p["county_code"] for p in proposed["proposals"]]
    # the counties short of 5 get sites, and the what-if names the places as the plan does
    assert proposed["deficits"] and set(proposed["deficits"]) <= {site["county_code"] for site in result["sites"]}
    assert all(site["county_name"] and site["county_name"].endswith(("县", "区", "市")) for site in result["sites"])
    assert [p["county_name"] for p in proposed["proposals"]] == [s["county_name"] for s in result["sites"]]
    assert all(site["township_name"] for site in result["sites"])
    assert result["demo"] is True and result["demo_stations"] > 0 and result["population_is_modelled"] is True
    assert result["notices"] == [DEMO.text, MODELLED.text] == proposed["notices"]


def test_a_far_site_changes_the_totals_by_exactly_its_own_coverage(client: TestClient,
                                                                   proposed: dict[str, Any]) -> None:
    sites = points(proposed)
    far = next(site for site in FAR_SITES
               if all(GEOD.inv(*site, *other)[2] > 6_100 for other in sites))  # two rural radii apart
    alone = evaluate(client, [far])["sites"][0]
    assert alone["added"] > 0 and alone["county_name"] is not None
    both = evaluate(client, [*sites, far])
    assert both["after"] - proposed["covered_after"] == alone["added"] == both["sites"][-1]["added"]


def test_removing_a_proposal_lowers_the_total_by_what_it_adds_last(client: TestClient,
                                                                   proposed: dict[str, Any]) -> None:
    sites = points(proposed)
    removed = evaluate(client, sites[:1] + sites[2:])
    moved_last = evaluate(client, sites[:1] + sites[2:] + sites[1:2])
    assert moved_last["after"] == proposed["covered_after"]
    assert proposed["covered_after"] - removed["after"] == moved_last["sites"][-1]["added"] > 0
    assert [s["order"] for s in removed["sites"]] == list(range(1, len(sites)))


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_offset_coordinates_give_the_answer_of_their_wgs84_conversion(client: TestClient, proposed: dict[str, Any],
                                                                      system: str) -> None:
    lon, lat = np.array(points(proposed)).T
    shifted = np.column_stack(crs.convert(lon, lat, source="wgs84", target=system))
    as_sent = evaluate(client, [tuple(p) for p in shifted.tolist()], crs=system)
    back = np.column_stack(crs.convert(shifted[:, 0], shifted[:, 1], source=system, target="wgs84"))
    converted = evaluate(client, [tuple(p) for p in back.tolist()])
    assert as_sent == converted
    assert np.allclose(points(as_sent, "sites"), np.column_stack([lon, lat]), atol=1e-6)  # the shift undone


def test_what_if_input_errors_name_the_field(client: TestClient) -> None:
    def refused(body: dict[str, Any]) -> dict[str, Any]:
        response = client.post("/api/v1/plans/evaluate", json=body)
        assert response.status_code == 422, response.text
        return response.json()

    inside, outside = (116.0, 29.7), (121.47, 31.23)  # 上海 lies outside Jiujiang
    body = refused({"type": "love_station", "sites": [{"lon": x, "lat": y} for x, y in (inside, outside)]})
    assert body["field"] == "sites[1]" and body["detail"][0]["loc"] == ["sites[1]"]
    assert "outside the region" in body["message"]
    # where the region's projection gives infinite metres (found by schemathesis: once a 500)
    assert refused({"sites": [{"lon": 34.2, "lat": 1e-300}], "crs": "gcj02"})["field"] == "sites[0]"
    many = refused({"type": "love_station", "sites": [{"lon": 116.0, "lat": 29.7}] * 501})
    assert many["detail"][0]["loc"] == ["body", "sites"]
    assert refused({"type": "love_station", "sites": [{"lon": 200, "lat": 29.7}]})["detail"][0]["loc"] == [
        "body", "sites", 0, "lon"]
    assert refused({"type": "night_market", "sites": []})["field"] == "type"
    assert refused({"sites": [], "crs": "utm"})["detail"][0]["loc"] == ["body", "crs"]


def test_a_what_if_is_light_and_free_of_the_anonymous_plan_quota(client: TestClient) -> None:
    assert lane_of("/api/v1/plans/evaluate") == "hot" and lane_of("/api/v1/plans") == "heavy"
    allowed = client.app.state.anonymous_plans.allowed  # type: ignore[attr-defined]
    for _ in range(allowed + 2):
        evaluate(client, [(116.0, 29.7)])
    assert client.app.state.anonymous_plans.retry_after_s("testclient") == 0  # type: ignore[attr-defined]
    empty = evaluate(client, [])
    assert empty["sites"] == [] and empty["after"] == empty["before"] > 0


# ---- candidates from a CSV ----------------------------------------------------------------

def upload(client: TestClient, text: str, **params: str) -> Any:
    return client.post("/api/v1/plans/candidates", params=params, headers={"Content-Type": "text/csv"},
                       content=codecs.BOM_UTF8 + text.encode())


def test_a_csv_of_candidates_is_read_into_wgs84_sites_with_their_places(client: TestClient) -> None:
    lon, lat = crs.convert(np.array([115.99, 116.22]), np.array([29.71, 29.74]), source="wgs84", target="gcj02")
    text = "name,lon,lat\n" + "".join(f"{name},{x!r},{y!r}\n" for name, x, y in zip(
        ("甲", "乙"), lon.tolist(), lat.tolist(), strict=True))
    response = upload(client, text, crs="gcj02")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 2 and body["crs"] == "gcj02"
    assert [(s["row"], s["name"], s["county_code"]) for s in body["sites"]] == [
        (2, "甲", "360403"), (3, "乙", "360429")]
    assert body["sites"][1]["county_name"] == "湖口县"
    assert np.allclose(points(body, "sites"), [(115.99, 29.71), (116.22, 29.74)], atol=1e-6)


@pytest.mark.parametrize(("text", "row", "field"), [
    ("name,lon,lat\n甲,115.99,29.71\n乙,east,29.7\n", 3, "lon"),
    ("name,lon,lat\n甲,115.99,29.71\n乙,116.0,\n", 3, "lat"),
    ("name,lon,lat\n甲,115.99,29.71\n上海,121.47,31.23\n", 3, "lon"),
])
def test_a_bad_csv_row_is_named_with_its_field(client: TestClient, text: str, row: int, field: str) -> None:
    response = upload(client, text)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["errors"] == [{"row": row, "field": field, "reason": body["errors"][0]["reason"]}]
    assert body["detail"][0]["loc"] == ["row", row, field]


def test_a_csv_without_columns_or_in_gbk_is_refused_saying_why(client: TestClient) -> None:
    missing = upload(client, "name,x,y\n甲,1,2\n")
    assert missing.status_code == 422 and missing.json()["field"] == "lon"
    gbk = client.post("/api/v1/plans/candidates", content="name,lon,lat\n甲,115.99,29.71\n".encode("gbk"),
                      headers={"Content-Type": "text/csv"})
    assert gbk.status_code == 422 and "UTF-8" in gbk.json()["message"]


def test_a_plan_on_the_users_candidates_chooses_among_them(client: TestClient) -> None:
    sites = [{"lon": 115.99, "lat": 29.71, "name": "甲"}, {"lon": 116.22, "lat": 29.74, "name": "乙"},
             {"lon": 115.95, "lat": 29.68, "name": "丙"}]
    result = plan(client, add=2, min_per_county=0, candidates=sites)
    assert len(result["proposals"]) == 2
    assert {p["name"] for p in result["proposals"]} <= {"甲", "乙", "丙"}
    chosen = evaluate(client, points(result))
    assert [s["added"] for s in chosen["sites"]] == [p["added"] for p in result["proposals"]]
    too_many = client.post("/api/v1/plans", json=PLAN | {"add": 4, "min_per_county": 0, "candidates": sites})
    assert too_many.status_code == 422 and too_many.json()["field"] == "add"
    outside = client.post("/api/v1/plans", json=PLAN | {"add": 1, "min_per_county": 0,
                                                        "candidates": [*sites, {"lon": 121.47, "lat": 31.23}]})
    assert outside.status_code == 422 and outside.json()["field"] == "candidates[3]"
    exact = client.post("/api/v1/plans", json=PLAN | {"method": "exact", "candidates": sites})
    assert exact.status_code == 422 and exact.json()["field"] == "candidates"


# ---- downloads ------------------------------------------------------------------------------

def test_the_table_on_screen_downloads_as_xlsx_and_csv_with_the_demo_notice(client: TestClient,
                                                                            proposed: dict[str, Any]) -> None:
    sites = points(proposed)[:3]
    body = {"type": "love_station", "sites": [{"lon": x, "lat": y} for x, y in sites]}
    shown = evaluate(client, sites)
    workbook = client.post("/api/v1/plans/export", params={"format": "xlsx"}, json=body)
    assert workbook.status_code == 200
    assert workbook.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = workbook.headers["content-disposition"]
    assert 'filename="unionmap-plan-love_station.xlsx"' in disposition
    assert f"filename*=UTF-8''{quote('选址方案-爱心驿站.xlsx')}" in disposition
    book = load_workbook(io.BytesIO(workbook.content))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0] == ("顺序 order", "县（市、区）county", "乡镇（街道）township", "经度 lon (WGS-84)",
                       "纬度 lat (WGS-84)", "新增覆盖人口 people added", "累计覆盖人口 covered",
                       "累计覆盖率 cumulative share")
    assert [row[0] for row in rows[1:]] == [1, 2, 3]
    assert [row[1] for row in rows[1:]] == [s["county_name"] for s in shown["sites"]]
    assert [row[5] for row in rows[1:]] == [s["added"] for s in shown["sites"]]
    assert [row[7] for row in rows[1:]] == pytest.approx([s["cumulative_share"] for s in shown["sites"]], rel=1e-12)
    notes = book["说明 notes"]["A1"].value
    assert DEMO.text in notes and MODELLED.text in notes and f"{shown['after']:,.0f}" in notes

    text = client.post("/api/v1/plans/export", params={"format": "csv"}, json=body)
    assert text.headers["content-type"] == "text/csv; charset=utf-8"
    assert text.content.startswith(codecs.BOM_UTF8)
    lines = text.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("顺序 order,县（市、区）county,") and len([x for x in lines if x[:1].isdigit()]) == 3
    assert f"# {DEMO.text}" in lines


def test_a_plain_question_downloads_its_greedy_plan(client: TestClient) -> None:
    response = client.get("/api/v1/plans/export", params={"type": "love_station", "add": 3, "format": "csv"})
    assert response.status_code == 200, response.text
    lines = response.content.decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines[1:4]] == ["1", "2", "3"] and lines[4].startswith("#")
    assert client.get("/api/v1/plans/export", params={"add": 0}).status_code == 422
    assert client.get("/api/v1/plans/export", params={"add": 3, "format": "pdf"}).status_code == 422


# ---- saving an edited plan --------------------------------------------------------------------

def test_an_edited_plan_is_saved_with_an_editor_key_and_read_back(client: TestClient, session: Session,
                                                                  proposed: dict[str, Any]) -> None:
    sites = points(proposed)[1:] + [FAR_SITES[0]]
    body = {"type": "love_station", "sites": [{"lon": x, "lat": y} for x, y in sites]}
    assert client.post("/api/v1/plans/edited", json=body).status_code == 401
    reader = {"X-API-Key": create_key(session, name="r", role="reader")}
    assert client.post("/api/v1/plans/edited", json=body, headers=reader).status_code == 403
    editor = {"X-API-Key": create_key(session, name="e", role="editor")}
    assert client.post("/api/v1/plans/edited", json=body | {"sites": []}, headers=editor).json()["field"] == "sites"
    response = client.post("/api/v1/plans/edited", json=body, headers=editor)
    assert response.status_code == 201, response.text
    saved = response.json()
    assert response.headers["Location"] == saved["url"] == f"/api/v1/plans/{saved['plan_id']}"
    assert saved["after"] == evaluate(client, sites)["after"]
    stored = client.get(saved["url"]).json()
    assert stored["method"] == "edited" and stored["upper_bound"] is None and stored["added"] == len(sites)
    assert [(s["lon"], s["lat"]) for s in stored["sites"]] == sites
    assert (stored["covered_before"], stored["covered_after"], stored["objective"]) == (
        saved["before"], saved["after"], saved["added"])
    city = client.get("/api/v1/coverage", params={"level": "city", "type": "love_station",
                                                  "plan": saved["plan_id"]}).json()["rows"][0]
    assert city["covered_population"] == saved["after"]  # the saved sites count as the what-if said
