"""Riders' reports: nothing personal kept, limits counted in the database, planners settle them."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.body_limit import limit_for
from geo.notices import REPORTED_CLOSED
from geo.services.reports import RECEIVED
from geo.store.keys import create_key
from tests.editor import sign_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

XUNYANG = (115.99, 29.71)
HOSTILE = ("<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>")


def rider(client: TestClient, address: str) -> TestClient:
    """The same app as seen from another client address (the app is already started)."""
    from fastapi.testclient import TestClient

    return TestClient(client.app, client=(address, 40000))


def near_stations(client: TestClient, count: int = 5) -> list[int]:
    answer = client.get("/api/v1/stations/nearest", params={"lon": XUNYANG[0], "lat": XUNYANG[1], "limit": count})
    assert answer.status_code == 200, answer.text
    return [station["id"] for station in answer.json()["stations"]]


def report(client: TestClient, station_id: int, kind: str = "closed", note: str | None = None,
           address: str = "198.51.100.1") -> tuple[int, dict]:
    body: dict = {"kind": kind} | ({"note": note} if note is not None else {})
    answer = rider(client, address).post(f"/api/v1/stations/{station_id}/reports", json=body)
    return answer.status_code, answer.json()


def sql(session: Session, statement: str, **values: object) -> None:
    """A committed change of the test's data (a refused request rolls back what is not committed)."""
    session.execute(text(statement), values)
    session.commit()


def stored(session: Session) -> int:
    return session.execute(text("SELECT count(*) FROM station_report")).scalar_one()


def test_a_report_keeps_a_keyed_hash_not_the_address(client: TestClient, session: Session) -> None:
    station = near_stations(client)[0]
    status, body = report(client, station, "no_water", note="  水龙头坏了  ", address="203.0.113.77")
    assert status == 201 and body["message"] == RECEIVED == "已收到，工会工作人员会核实"
    row = session.execute(text("SELECT * FROM station_report WHERE id = :id"), {"id": body["id"]}).mappings().one()
    assert (row["station_id"], row["kind"], row["note"], row["resolution"]) == (station, "no_water", "水龙头坏了", None)
    key = session.execute(text("SELECT value FROM app_secret WHERE name = 'report_client'")).scalar_one()
    assert row["client_hash"] == hmac.new(key.encode(), b"203.0.113.77", hashlib.sha256).hexdigest()
    assert row["client_hash"] != hashlib.sha256(b"203.0.113.77").hexdigest()  # keyed, not a plain hash
    everything = session.execute(text("SELECT station_report::text FROM station_report WHERE id = :id"),
                                 {"id": body["id"]}).scalar_one()
    assert "203.0.113.77" not in everything and "203.0.113" not in everything
    _, again = report(client, station, "other", address="203.0.113.77")
    _, other = report(client, station, "other", address="203.0.113.78")
    hashes = dict(session.execute(text("SELECT id, client_hash FROM station_report")).all())
    assert hashes[again["id"]] == row["client_hash"] != hashes[other["id"]]


def test_the_limit_per_client_is_counted_in_the_database(client: TestClient, session: Session) -> None:
    stations = near_stations(client)
    allowed = client.app.state.settings.reports_per_client_hour  # type: ignore[attr-defined]
    for number in range(allowed):
        assert report(client, stations[number % len(stations)], address="192.0.2.5")[0] == 201
    answer = rider(client, "192.0.2.5").post(f"/api/v1/stations/{stations[0]}/reports", json={"kind": "closed"})
    assert answer.status_code == 429 and "分钟后再试" in answer.json()["detail"]
    assert answer.headers["retry-after"] == "3600"  # all made now: the oldest leaves the hour in 3600 s
    assert stored(session) == allowed
    assert report(client, stations[0], address="192.0.2.6")[0] == 201  # another client is not held back
    sql(session, "UPDATE station_report SET created_at = created_at - interval '3000 seconds'")
    again = rider(client, "192.0.2.5").post(f"/api/v1/stations/{stations[0]}/reports", json={"kind": "closed"})
    assert again.status_code == 429 and again.headers["retry-after"] == "600"
    sql(session, "UPDATE station_report SET created_at = created_at - interval '601 seconds'")
    assert report(client, stations[0], address="192.0.2.5")[0] == 201  # out of the hour: allowed again


def test_the_limit_per_station(client: TestClient, session: Session) -> None:
    station, other = near_stations(client, 2)
    allowed = client.app.state.settings.reports_per_station_hour  # type: ignore[attr-defined]
    for number in range(allowed):
        assert report(client, station, "other", address=f"10.1.0.{number}")[0] == 201
    status, body = report(client, station, "other", address="10.2.0.1")
    assert status == 429 and "这个站点" in body["detail"]
    assert session.execute(text("SELECT count(*) FROM station_report WHERE station_id = :id"),
                           {"id": station}).scalar_one() == allowed
    assert report(client, other, "other", address="10.2.0.1")[0] == 201


def test_a_report_body_over_its_limit_is_refused_with_413(client: TestClient, session: Session) -> None:
    station = near_stations(client)[0]
    settings = client.app.state.settings  # type: ignore[attr-defined]
    assert limit_for(f"/api/v1/stations/{station}/reports", settings) == settings.report_body_kb * 1024
    assert limit_for(f"/api/v1/stations/{station}", settings) == settings.max_body_kb * 1024
    assert limit_for("/api/v1/import", settings) == settings.max_upload_mb * 1024 * 1024
    big = client.post(f"/api/v1/stations/{station}/reports", json={"kind": "other", "note": "长" * 2000})
    assert big.status_code == 413 and big.json()["limit_bytes"] == settings.report_body_kb * 1024
    assert stored(session) == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "burnt"}, "kind"), ({}, "kind"), ({"kind": "other", "note": "字" * 201}, "note"),
    ({"kind": "other", "phone": "13800000000"}, "phone"), ({"kind": "other", "note": 5}, "note")])
def test_a_bad_report_names_the_field(client: TestClient, session: Session, body: dict, field: str) -> None:
    station = near_stations(client)[0]
    answer = client.post(f"/api/v1/stations/{station}/reports", json=body)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", field]
    assert stored(session) == 0


def test_control_characters_are_refused_naming_the_note(client: TestClient, session: Session) -> None:
    station = near_stations(client)[0]
    answer = client.post(f"/api/v1/stations/{station}/reports", json={"kind": "other", "note": "a\x00b"})
    assert answer.status_code == 422 and answer.json()["field"] == "note"
    assert stored(session) == 0


def test_unknown_and_deleted_stations_get_404(client: TestClient, session: Session) -> None:
    station = near_stations(client)[0]
    assert client.post("/api/v1/stations/999999999/reports", json={"kind": "closed"}).status_code == 404
    sql(session, "UPDATE station SET deleted_at = now() WHERE id = :id", id=station)
    answer = client.post(f"/api/v1/stations/{station}/reports", json={"kind": "closed"})
    assert answer.status_code == 404 and "不存在" in answer.json()["detail"]
    assert stored(session) == 0


def test_readers_get_nothing_of_the_inbox(client: TestClient, session: Session) -> None:
    station = near_stations(client)[0]
    _, filed = report(client, station)
    assert client.get("/api/v1/reports").status_code == 401
    assert client.post(f"/api/v1/reports/{filed['id']}/resolve").status_code == 401
    reader = {"Authorization": f"Bearer {create_key(session, name='只读', role='reader')}"}
    assert client.get("/api/v1/reports", headers=reader).status_code == 403
    assert client.post(f"/api/v1/reports/{filed['id']}/dismiss", headers=reader).status_code == 403
    sign_in(client, session)
    no_token = client.post(f"/api/v1/reports/{filed['id']}/resolve", json={})
    assert no_token.status_code == 403 and "CSRF" in no_token.json()["detail"]
    assert session.execute(text("SELECT resolution FROM station_report")).scalar_one() is None
    assert client.get("/edit/reports", follow_redirects=False).status_code == 200  # signed in now


def test_the_inbox_groups_and_settles_with_the_actor(client: TestClient, session: Session) -> None:
    first, second = near_stations(client, 2)
    report(client, first, "closed", note=HOSTILE[0], address="10.0.0.1")
    report(client, first, "closed", address="10.0.0.2")
    _, newest = report(client, first, "no_water", note=HOSTILE[1], address="10.0.0.3")
    _, lone = report(client, second, "wrong_place", note="在路对面", address="10.0.0.1")
    headers = sign_in(client, session, name="濂溪区规划员")
    inbox = client.get("/api/v1/reports", params={"status": "open"}).json()
    assert inbox["status"] == "open" and inbox["total"] == 4
    groups = {group["station_id"]: group for group in inbox["stations"]}
    assert groups[first]["counts"] == {"closed": 2, "no_water": 1, "wrong_place": 0, "other": 0}
    assert groups[first]["needs_check"] is True and groups[first]["closed_clients"] == 2
    assert groups[first]["newest_id"] == newest["id"]
    assert [note["note"] for note in groups[first]["latest_notes"]] == [HOSTILE[1], HOSTILE[0]]
    assert groups[second]["needs_check"] is False and groups[second]["total"] == 1

    done = client.post(f"/api/v1/reports/{newest['id']}/resolve", json={"scope": "station", "note": "已电话核实"},
                       headers=headers)
    assert done.status_code == 200, done.text
    assert done.json()["resolved_by"] == "key:濂溪区规划员" and len(done.json()["ids"]) == 3
    assert done.json()["open_left"] == 0
    rows = session.execute(text("SELECT resolution, resolved_by, resolution_note, resolved_at IS NOT NULL "
                                "FROM station_report WHERE station_id = :id"), {"id": first}).all()
    assert set(rows) == {("resolved", "key:濂溪区规划员", "已电话核实", True)}
    again = client.post(f"/api/v1/reports/{newest['id']}/dismiss", json={}, headers=headers)
    assert again.status_code == 409 and "key:濂溪区规划员" in again.json()["detail"]

    dismissed = client.post(f"/api/v1/reports/{lone['id']}/dismiss", headers=headers)
    assert dismissed.status_code == 200 and dismissed.json()["ids"] == [lone["id"]]
    assert client.get("/api/v1/reports").json() == {"status": "open", "total": 0, "stations": []}
    settled = client.get("/api/v1/reports", params={"status": "resolved"}).json()
    assert [group["station_id"] for group in settled["stations"]] == [first] and settled["total"] == 3
    assert client.get("/api/v1/reports", params={"status": "done"}).status_code == 422
    assert client.post("/api/v1/reports/999999999/resolve", headers=headers).status_code == 404


def test_settling_a_station_leaves_newer_reports_open(client: TestClient, session: Session) -> None:
    station = near_stations(client)[0]
    _, older = report(client, station, "closed", address="10.0.0.1")
    _, newer = report(client, station, "other", address="10.0.0.2")
    headers = sign_in(client, session)
    done = client.post(f"/api/v1/reports/{older['id']}/resolve", json={"scope": "station"}, headers=headers)
    assert done.json()["ids"] == [older["id"]] and done.json()["open_left"] == 1
    assert session.execute(text("SELECT resolution FROM station_report WHERE id = :id"),
                           {"id": newer["id"]}).scalar_one() is None


def reported_closed(client: TestClient, station: int) -> bool:
    answer = client.get("/api/v1/stations/nearest", params={"lon": XUNYANG[0], "lat": XUNYANG[1], "limit": 5})
    return next(s["reported_closed"] for s in answer.json()["stations"] if s["id"] == station)


def test_nearest_marks_a_station_several_clients_reported_closed(client: TestClient, session: Session) -> None:
    station = near_stations(client)[0]
    assert client.app.state.settings.closed_reports_to_flag == 2  # type: ignore[attr-defined]
    assert reported_closed(client, station) is False
    report(client, station, "closed", address="10.9.0.1")
    report(client, station, "closed", address="10.9.0.1")  # the same client twice counts once
    report(client, station, "no_water", address="10.9.0.2")  # not a "closed" report
    assert reported_closed(client, station) is False
    _, last = report(client, station, "closed", address="10.9.0.3")
    assert reported_closed(client, station) is True
    spec = client.get("/openapi.json").json()["components"]["schemas"]["NearestStation"]
    assert "reported_closed" in spec["required"] and REPORTED_CLOSED.label_zh in spec["properties"]["reported_closed"][
        "description"]
    headers = sign_in(client, session)
    client.post(f"/api/v1/reports/{last['id']}/dismiss", json={"scope": "station"}, headers=headers)
    assert reported_closed(client, station) is False


def test_the_flags_are_read_from_memory_and_refreshed(client: TestClient, session: Session) -> None:
    """Reports that reach the database through another process show after the refresh, not per search."""
    station = near_stations(client)[0]
    assert reported_closed(client, station) is False  # the set is read now, and kept
    for number in range(2):
        sql(session, f"INSERT INTO station_report (station_id, kind, client_hash) VALUES "
                     f"({station}, 'closed', '{str(number) * 64}')")
    assert reported_closed(client, station) is False  # not re-read for every search
    flags = client.app.state.reported_closed  # type: ignore[attr-defined]
    assert flags.refresh_s == client.app.state.settings.reported_closed_refresh_s == 30  # type: ignore[attr-defined]
    flags.refresh_s = 0
    try:
        assert reported_closed(client, station) is True  # older than refresh_s: read again
    finally:
        flags.refresh_s = 30


def test_nearest_lists_a_linked_station_first(client: TestClient, session: Session) -> None:
    stations = near_stations(client, 5)
    far = session.execute(text("SELECT id FROM station WHERE status = 'open' AND deleted_at IS NULL "
                               "AND type_code <> 'love_station' AND id <> ALL(:ids) LIMIT 1"),
                          {"ids": stations}).scalar_one()
    params = {"lon": XUNYANG[0], "lat": XUNYANG[1], "limit": 5, "type": "love_station"}
    listed = client.get("/api/v1/stations/nearest", params=params | {"station": far}).json()["stations"]
    assert [s["id"] for s in listed][0] == far and len(listed) == 5 and listed[0]["distance_m"] > 0
    again = client.get("/api/v1/stations/nearest", params=params | {"station": stations[2]}).json()["stations"]
    assert [s["id"] for s in again][0] == stations[2] and len({s["id"] for s in again}) == 5
    sql(session, "UPDATE station SET deleted_at = now() WHERE id = :id", id=far)
    gone = client.get("/api/v1/stations/nearest", params=params | {"station": far}).json()["stations"]
    assert far not in [s["id"] for s in gone]


def test_the_start_page_counts_open_reports_for_editors_only(client: TestClient, session: Session) -> None:
    station = near_stations(client)[0]
    report(client, station, address="10.0.0.1")
    report(client, station, "other", address="10.0.0.2")
    page = client.get("/")
    assert page.status_code == 200 and "待处理的骑手报告" not in page.text and "/edit/reports" not in page.text
    sign_in(client, session)
    page = client.get("/")
    assert '<a href="/edit/reports">待处理的骑手报告 2</a>' in page.text
    assert page.headers["cache-control"] == "private, no-store"


def test_the_inbox_page_shows_riders_text_as_text(client: TestClient, session: Session) -> None:
    station = near_stations(client)[0]
    for number, note in enumerate(HOSTILE):
        report(client, station, "closed", note=note, address=f"10.3.0.{number}")
    assert client.get("/edit/reports", follow_redirects=False).status_code == 303  # readers: to sign-in
    sign_in(client, session)
    page = client.get("/edit/reports")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "<img src=x" not in page.text and "<script>alert(1)" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "需核实" in page.text and f'href="/edit/stations/{station}"' in page.text
    assert 'href="/edit/reports" aria-current="page"' in page.text


def test_the_client_key_is_read_once_per_app(client: TestClient, session: Session) -> None:
    hasher = client.app.state.report_hasher  # type: ignore[attr-defined]
    before = hasher.digest(session, "192.0.2.1")
    sql(session, "UPDATE app_secret SET value = 'changed' WHERE name = 'report_client'")
    assert hasher.digest(session, "192.0.2.1") == before
