"""``GET /api/v1/stations``: pages in id order with a total and next/prev links (issue 15), and
``open_now`` true only for an open station within its hours (a closed one never is)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.store.keys import create_key

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db


def live_count(session: Session, where: str = "") -> int:
    return session.execute(text(f"SELECT count(*) FROM station WHERE deleted_at IS NULL {where}")).scalar_one()


def link(body: dict, rel: str) -> str | None:
    return next((entry["href"] for entry in body["links"] if entry["rel"] == rel), None)


def test_limit_pages_in_id_order_with_total_and_links(client: TestClient, session: Session) -> None:
    first = client.get("/api/v1/stations", params={"limit": 3, "type": "love_station"}).json()
    matched = live_count(session, "AND type_code = 'love_station'")
    assert first["numberReturned"] == len(first["features"]) == 3
    assert first["numberMatched"] == matched > 6
    assert link(first, "prev") is None
    next_url = link(first, "next")
    assert next_url is not None and next_url.startswith("http://testserver/api/v1/stations?")
    assert parse_qs(urlsplit(next_url).query) == {"type": ["love_station"], "offset": ["3"], "limit": ["3"]}

    second = client.get(next_url).json()
    ids = [f["id"] for f in first["features"]] + [f["id"] for f in second["features"]]
    assert len(second["features"]) == 3 and ids == sorted(ids) and len(set(ids)) == 6  # no overlap, id order
    assert parse_qs(urlsplit(link(second, "prev") or "").query)["offset"] == ["0"]

    every = client.get("/api/v1/stations", params={"limit": 1000, "type": "love_station"}).json()
    assert [f["id"] for f in every["features"]][:6] == ids and every["numberReturned"] == matched
    last = client.get("/api/v1/stations", params={"limit": 3, "offset": matched - 2, "type": "love_station"}).json()
    assert [f["id"] for f in last["features"]] == [f["id"] for f in every["features"]][-2:]
    assert link(last, "next") is None and link(last, "prev") is not None
    beyond = client.get("/api/v1/stations", params={"offset": matched + 5, "type": "love_station"}).json()
    assert beyond["features"] == [] and beyond["numberMatched"] == matched


def test_without_limit_a_page_of_100_and_the_total(client: TestClient, session: Session) -> None:
    body = client.get("/api/v1/stations").json()
    assert body["numberReturned"] == len(body["features"]) == 100
    assert body["numberMatched"] == live_count(session) > 100
    assert parse_qs(urlsplit(link(body, "next") or "").query) == {"offset": ["100"], "limit": ["100"]}


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"limit": "many"}, "limit"),
    ({"offset": -1}, "offset"), ({"offset": "x"}, "offset"),
])
def test_bad_limit_or_offset_is_a_422_naming_it(client: TestClient, params: dict, field: str) -> None:
    response = client.get("/api/v1/stations", params=params)
    assert response.status_code == 422
    assert [entry["loc"] for entry in response.json()["detail"]] == [["query", field]]


def test_a_closed_station_is_never_open_now(client: TestClient, session: Session) -> None:
    editor = {"Authorization": f"Bearer {create_key(session, name='规划员甲', role='editor')}"}
    made = {}
    for status in ("open", "closed", "planned"):
        feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [115.99, 29.71]},
                   "properties": {"type_code": "love_station", "name": f"全天驿站{status}", "address": "浔阳路",
                                  "status": status, "opening_hours": "24/7"}}
        response = client.post("/api/v1/stations", json=feature, headers=editor)
        assert response.status_code == 201, response.text
        made[status] = response.json()["id"]

    listed = {f["id"]: f["properties"] for f in
              client.get("/api/v1/stations", params={"q": "全天驿站", "limit": 1000}).json()["features"]}
    assert {status: listed[made[status]]["open_now"] for status in made} == {
        "open": True, "closed": False, "planned": False}  # all three say 24/7
    now_open = client.get("/api/v1/stations", params={"q": "全天驿站", "open_now": "true"}).json()
    assert [f["id"] for f in now_open["features"]] == [made["open"]] and now_open["numberMatched"] == 1
    shut = client.get("/api/v1/stations", params={"q": "全天驿站", "open_now": "false"}).json()
    assert [f["id"] for f in shut["features"]] == [made["closed"], made["planned"]]
    # Not one closed or planned station of the whole registry is listed as open now.
    statuses = {f["properties"]["status"] for f in client.get(
        "/api/v1/stations", params={"open_now": "true", "limit": 1000}).json()["features"]}
    assert statuses == {"open"}


def test_the_list_revalidates_and_a_write_changes_its_tag(client: TestClient, session: Session) -> None:
    """A polling app asks again with If-None-Match and gets 304 until the registry changes; a
    single station keeps its strong version tag (what If-Match on an edit needs)."""
    path = "/api/v1/stations?limit=5"
    first = client.get(path)
    tag = first.headers["etag"]
    assert tag.startswith('W/"') and first.headers["cache-control"] == "public, no-cache"
    again = client.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    station = first.json()["features"][0]["id"]
    assert client.get(f"/api/v1/stations/{station}").headers["etag"].startswith('"')  # strong, the version
    editor = {"Authorization": f"Bearer {create_key(session, name='规划员乙', role='editor')}",
              "If-Match": client.get(f"/api/v1/stations/{station}").headers["etag"]}
    edited = client.patch(f"/api/v1/stations/{station}", json={"phone": "0792-8888888"}, headers=editor)
    assert edited.status_code == 200
    changed = client.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag
