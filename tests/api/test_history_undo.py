"""A station's history as a readable diff, undo as a new change, restore of a soft delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyproj
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.store.keys import create_key
from tests.editor import sign_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

XUNYANG = [115.99, 29.71]
MOVED = [115.991, 29.7105]
HOSTILE = "<img src=x onerror=alert(1)>"


def feature(**properties: object) -> dict:
    base = {"type_code": "love_station", "name": "甘棠驿站", "opening_hours": "Mo-Fr 09:00-17:00",
            "amenities": ["water", "charging"], "phone": "0792-1234567"}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": XUNYANG}, "properties": base | properties}


@pytest.fixture
def editor(session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(session, name='规划员甲', role='editor')}"}


@pytest.fixture
def editor_b(session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(session, name='规划员乙', role='editor')}"}


def create(client: TestClient, headers: dict, **properties: object) -> int:
    response = client.post("/api/v1/stations", json=feature(**properties), headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def patch(client: TestClient, headers: dict, station_id: int, version: int, geometry: list | None = None,
          **properties: object) -> int:
    body: dict = {"properties": properties}
    if geometry:
        body["geometry"] = {"type": "Point", "coordinates": geometry}
    response = client.patch(f"/api/v1/stations/{station_id}", json=body, headers=headers | {"If-Match": f'"{version}"'})
    assert response.status_code == 200, response.text
    return int(response.json()["version"])


def history(client: TestClient, station_id: int) -> list[dict]:
    response = client.get(f"/api/v1/stations/{station_id}/history")
    assert response.status_code == 200, response.text
    return response.json()


def stored(session: Session, station_id: int) -> dict:
    return dict(session.execute(text(
        "SELECT name, phone, amenities, version, deleted_at IS NOT NULL AS deleted, ST_X(geom) AS lon, "
        "ST_Y(geom) AS lat FROM station WHERE id = :id"), {"id": station_id}).mappings().one())


def history_count(session: Session, station_id: int) -> int:
    return session.execute(text("SELECT count(*) FROM station_history WHERE station_id = :id"),
                           {"id": station_id}).scalar_one()


def undo(client: TestClient, headers: dict, station_id: int, change_id: int, version: int | None):
    extra = {} if version is None else {"If-Match": f'"{version}"'}
    return client.post(f"/api/v1/stations/{station_id}/undo", json={"change_id": change_id}, headers=headers | extra)


def test_history_is_a_readable_diff(client: TestClient, editor: dict) -> None:
    station_id = create(client, editor)
    patch(client, editor, station_id, 1, geometry=MOVED, name="甘棠驿站（新）", opening_hours="24/7",
          amenities=["water"], phone=None)
    created, changed = history(client, station_id)
    assert created["action"] == "insert" and created["changed_by"] == "key:规划员甲"
    assert {c["field"]: c["after"] for c in created["changes"]}["opening_hours"] == "周一至周五 09:00-17:00"
    assert all(c["before"] == "" for c in created["changes"])
    rows = {c["field"]: c for c in changed["changes"]}
    assert changed["action"] == "update"
    assert list(rows) == ["name", "geom", "opening_hours", "amenities", "phone"]  # the page's order
    assert (rows["name"]["label"], rows["name"]["before"], rows["name"]["after"]) == (
        "名称", "甘棠驿站", "甘棠驿站（新）")
    assert (rows["opening_hours"]["before"], rows["opening_hours"]["after"]) == ("周一至周五 09:00-17:00", "24小时开放")
    assert (rows["amenities"]["label"], rows["amenities"]["before"], rows["amenities"]["after"]) == (
        "设施", "饮水、充电", "饮水")
    assert (rows["phone"]["before"], rows["phone"]["after"]) == ("0792-1234567", "")
    assert (rows["geom"]["before"], rows["geom"]["after"]) == ("115.99000, 29.71000", "115.99100, 29.71050")
    _, _, expected_m = pyproj.Geod(ellps="WGS84").inv(*XUNYANG, *MOVED)
    assert rows["geom"]["moved_m"] == pytest.approx(expected_m, abs=0.05) and 100 < expected_m < 120
    assert "county_code" not in rows and changed["changed_fields"] == [
        "amenities", "geom", "name", "opening_hours", "phone"]


def test_a_deleted_stations_history_stays_readable(client: TestClient, editor: dict) -> None:
    station_id = create(client, editor)
    assert client.delete(f"/api/v1/stations/{station_id}", headers=editor | {"If-Match": '"1"'}).status_code == 204
    assert client.get(f"/api/v1/stations/{station_id}").status_code == 404
    last = history(client, station_id)[-1]  # anonymously, as before: the registry's history is public
    assert last["action"] == "delete" and last["changes"] == [
        {"field": "deleted_at", "label": "已删除", "before": "否", "after": "是", "moved_m": None}]
    assert client.get("/api/v1/stations/987654321/history").status_code == 404


def test_restore_brings_a_deleted_station_back_as_a_new_change(client: TestClient, session: Session,
                                                               editor: dict, editor_b: dict) -> None:
    station_id = create(client, editor, name="待恢复驿站")
    url = f"/api/v1/stations/{station_id}"
    client.delete(url, headers=editor | {"If-Match": '"1"'})
    assert client.post(f"{url}/restore", headers=editor_b).status_code == 428
    stale = client.post(f"{url}/restore", headers=editor_b | {"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.headers["ETag"] == '"2"'
    assert client.post("/api/v1/stations/987654321/restore", headers=editor_b | {"If-Match": '"2"'}).status_code == 404
    assert stored(session, station_id)["deleted"] is True and history_count(session, station_id) == 2
    restored = client.post(f"{url}/restore", headers=editor_b | {"If-Match": '"2"'})
    assert restored.status_code == 200, restored.text
    assert restored.json() == {"id": station_id, "version": 3} and restored.headers["ETag"] == '"3"'
    read = client.get(url)
    assert read.status_code == 200 and read.headers["ETag"] == '"3"'
    assert read.json()["features"][0]["properties"]["name"] == "待恢复驿站"
    last = history(client, station_id)[-1]
    assert (last["action"], last["changed_by"]) == ("restore", "key:规划员乙")
    assert last["changes"][0] | {"moved_m": None} == {"field": "deleted_at", "label": "已删除", "before": "是",
                                                      "after": "否", "moved_m": None}
    again = client.post(f"{url}/restore", headers=editor_b | {"If-Match": '"3"'})
    assert again.status_code == 409 and "not deleted" in again.json()["detail"]
    assert history_count(session, station_id) == 3


def test_undo_puts_back_what_a_change_replaced(client: TestClient, session: Session, editor: dict,
                                               editor_b: dict) -> None:
    station_id = create(client, editor)
    version = patch(client, editor, station_id, 1, geometry=MOVED, name="改错的名字", phone="0792-7654321")
    change_id = history(client, station_id)[-1]["id"]
    assert undo(client, editor_b, station_id, change_id, None).status_code == 428
    assert undo(client, editor_b, station_id, change_id, 1).status_code == 412
    answer = undo(client, editor_b, station_id, change_id, version)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": station_id, "version": 3} and answer.headers["ETag"] == '"3"'
    row = stored(session, station_id)
    assert (row["name"], row["phone"], row["amenities"]) == ("甘棠驿站", "0792-1234567", ["water", "charging"])
    assert (row["lon"], row["lat"]) == pytest.approx(XUNYANG, abs=1e-9)
    last = history(client, station_id)[-1]
    assert (last["action"], last["changed_by"]) == ("undo", "key:规划员乙")
    assert {c["field"]: (c["before"], c["after"]) for c in last["changes"]} == {
        "name": ("改错的名字", "甘棠驿站"), "geom": ("115.99100, 29.71050", "115.99000, 29.71000"),
        "phone": ("0792-7654321", "0792-1234567")}


def test_undo_never_overwrites_a_later_change(client: TestClient, session: Session, editor: dict) -> None:
    station_id = create(client, editor)
    version = patch(client, editor, station_id, 1, name="第一次改名", phone="0792-1111111")
    first = history(client, station_id)[-1]["id"]
    version = patch(client, editor, station_id, version, name="第二次改名")
    before = history_count(session, station_id)
    refused = undo(client, editor, station_id, first, version)
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert "名称（name）" in detail and "phone" not in detail and "edit them by hand" in detail
    assert stored(session, station_id)["name"] == "第二次改名" and history_count(session, station_id) == before
    second = history(client, station_id)[-1]["id"]  # the later change itself can be undone
    assert undo(client, editor, station_id, second, version).status_code == 200
    assert stored(session, station_id)["name"] == "第一次改名"


def test_undo_of_a_create_deletes_and_undo_of_a_delete_restores(client: TestClient, session: Session,
                                                                editor: dict) -> None:
    station_id = create(client, editor)
    created = history(client, station_id)[0]["id"]
    answer = undo(client, editor, station_id, created, 1)
    assert answer.status_code == 200 and answer.json()["version"] == 2
    assert stored(session, station_id)["deleted"] is True
    assert client.get(f"/api/v1/stations/{station_id}").status_code == 404
    undone = history(client, station_id)[-1]
    assert undone["action"] == "undo" and undone["changes"][0]["after"] == "是"
    # Undo that undo: the station is back.
    assert undo(client, editor, station_id, undone["id"], 2).status_code == 200
    assert stored(session, station_id)["deleted"] is False
    # A plain delete, undone, is a restore.
    client.delete(f"/api/v1/stations/{station_id}", headers=editor | {"If-Match": '"3"'})
    deleted = history(client, station_id)[-1]
    assert deleted["action"] == "delete"
    assert undo(client, editor, station_id, deleted["id"], 4).status_code == 200
    assert stored(session, station_id) | {"lon": 0, "lat": 0} == {
        "name": "甘棠驿站", "phone": "0792-1234567", "amenities": ["water", "charging"], "version": 5,
        "deleted": False, "lon": 0, "lat": 0}
    # The create cannot be undone any more: the station was deleted and restored since.
    refused = undo(client, editor, station_id, created, 5)
    assert refused.status_code == 409 and "deleted_at" in refused.json()["detail"]


def test_undo_refuses_what_it_cannot_do(client: TestClient, session: Session, editor: dict) -> None:
    station_id = create(client, editor)
    other = create(client, editor, name="另一个驿站")
    foreign = history(client, other)[0]["id"]
    wrong = undo(client, editor, station_id, foreign, 1)
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"][-1] == "change_id"
    version = patch(client, editor, station_id, 1, name="改名")
    renamed = history(client, station_id)[-1]["id"]
    client.delete(f"/api/v1/stations/{station_id}", headers=editor | {"If-Match": f'"{version}"'})
    deleted = undo(client, editor, station_id, renamed, version + 1)
    assert deleted.status_code == 409 and "restore it first" in deleted.json()["detail"]
    for not_an_id in ("x", True, "12", 1.5):  # a change id is a JSON integer, nothing read as one
        bad = client.post(f"/api/v1/stations/{station_id}/undo", json={"change_id": not_an_id},
                          headers=editor | {"If-Match": f'"{version + 1}"'})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "change_id", not_an_id
    assert undo(client, editor, 987654321, renamed, 1).status_code == 404
    assert stored(session, station_id)["version"] == version + 1


def test_readers_may_not_undo_or_restore(client: TestClient, session: Session, editor: dict) -> None:
    station_id = create(client, editor)
    reader = {"Authorization": f"Bearer {create_key(session, name='只读应用', role='reader')}"}
    change = history(client, station_id)[0]["id"]
    assert undo(client, reader, station_id, change, 1).status_code == 403
    restore = client.post(f"/api/v1/stations/{station_id}/restore", headers=reader | {"If-Match": '"1"'})
    assert restore.status_code == 403
    assert undo(client, {}, station_id, change, 1).status_code == 401
    assert stored(session, station_id)["deleted"] is False


def test_a_browser_undo_needs_the_csrf_token(client: TestClient, session: Session, editor: dict) -> None:
    station_id = create(client, editor)
    patch(client, editor, station_id, 1, name="浏览器里改错了")
    change = history(client, station_id)[-1]["id"]
    headers = sign_in(client, session, name="县总工会规划员")
    missing = undo(client, {}, station_id, change, 2)
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    assert stored(session, station_id)["name"] == "浏览器里改错了"
    assert undo(client, headers, station_id, change, 2).status_code == 200
    last = history(client, station_id)[-1]
    assert (last["action"], last["changed_by"]) == ("undo", "key:县总工会规划员")
    assert stored(session, station_id)["name"] == "甘棠驿站"


def test_the_history_page_is_for_editors_and_escapes_everything(client: TestClient, session: Session,
                                                                editor: dict) -> None:
    station_id = create(client, editor, name=HOSTILE)
    patch(client, editor, station_id, 1, name="正常的名字")
    page_url = f"/edit/stations/{station_id}/history"
    assert client.get(page_url, follow_redirects=False).status_code == 303  # readers see nothing of /edit
    sign_in(client, session)
    page = client.get(page_url)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert HOSTILE not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert page.text.index('data-action="update"') < page.text.index('data-action="insert"')  # newest first
    assert "规划员甲" in page.text and "key:" not in page.text.split("<main")[1]
    assert f'href="/edit/stations/{station_id}"' in page.text and 'id="history-restore"' not in page.text
    missing = client.get("/edit/stations/987654321/history")
    assert missing.status_code == 404 and "没有编号为 987654321 的站点" in missing.text
