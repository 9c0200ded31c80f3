"""Writes: keys, optimistic locking, history, validation, coordinate systems, soft delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.core import crs
from geo.store.keys import create_key

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

XUNYANG = [115.99, 29.71]


def feature(**properties: object) -> dict:
    base = {"type_code": "love_station", "name": "测试驿站", "opening_hours": "Mo-Fr 09:00-17:00",
            "amenities": ["water", "charging"], "phone": "0792-1234567"}
    coordinates = properties.pop("coordinates", XUNYANG)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": coordinates},
            "properties": base | properties}


@pytest.fixture
def editor(session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(session, name='规划员甲', role='editor')}"}


@pytest.fixture
def editor_b(session: Session) -> dict[str, str]:
    return {"X-API-Key": create_key(session, name='规划员乙', role='editor')}


def count(session: Session) -> int:
    return session.execute(text("SELECT count(*) FROM station WHERE deleted_at IS NULL")).scalar_one()


def test_writes_need_a_key_that_may_write(client: TestClient, session: Session) -> None:
    reader = {"Authorization": f"Bearer {create_key(session, name='只读应用', role='reader')}"}
    before = count(session)
    assert client.post("/api/v1/stations", json=feature()).status_code == 401
    assert client.post("/api/v1/stations", json=feature(), headers={"Authorization": "Bearer nope"}).status_code == 401
    response = client.post("/api/v1/stations", json=feature(), headers=reader)
    assert response.status_code == 403 and "reader" in response.text
    assert count(session) == before


def test_create_read_and_history(client: TestClient, session: Session, editor: dict) -> None:
    response = client.post("/api/v1/stations", json=feature(), headers=editor)
    assert response.status_code == 201, response.text
    station_id = response.json()["id"]
    assert response.headers["ETag"] == '"1"' and response.headers["Location"] == f"/api/v1/stations/{station_id}"
    read = client.get(f"/api/v1/stations/{station_id}")
    assert read.status_code == 200 and read.headers["ETag"] == '"1"'
    properties = read.json()["features"][0]["properties"]
    assert properties["county_code"] == "360403" and properties["is_demo"] is False
    assert properties["opening_hours_text"] == "周一至周五 09:00-17:00"
    history = client.get(f"/api/v1/stations/{station_id}/history").json()
    assert [(h["action"], h["changed_by"]) for h in history] == [("insert", "key:规划员甲")]


def test_two_planners_cannot_overwrite_each_other(client: TestClient, editor: dict, editor_b: dict) -> None:
    station_id = client.post("/api/v1/stations", json=feature(), headers=editor).json()["id"]
    url = f"/api/v1/stations/{station_id}"
    tag_a = client.get(url).headers["ETag"]
    tag_b = client.get(url).headers["ETag"]
    first = client.put(url, json=feature(name="甲改的名字"), headers=editor | {"If-Match": tag_a})
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    second = client.patch(url, json={"properties": {"name": "乙改的名字"}}, headers=editor_b | {"If-Match": tag_b})
    assert second.status_code == 412
    assert second.headers["ETag"] == '"2"' and "version 2" in second.json()["detail"]
    assert client.get(url).json()["features"][0]["properties"]["name"] == "甲改的名字"
    retry = client.patch(url, json={"properties": {"name": "乙改的名字"}}, headers=editor_b | {"If-Match": '"2"'})
    assert retry.status_code == 200 and retry.headers["ETag"] == '"3"'
    history = client.get(f"{url}/history").json()
    assert [(h["action"], h["changed_by"]) for h in history] == [
        ("insert", "key:规划员甲"), ("update", "key:规划员甲"), ("update", "key:规划员乙")]
    assert history[2]["changed_fields"] == ["name"]
    assert client.patch(url, json={"properties": {"name": "x"}}, headers=editor).status_code == 428


def test_patch_keeps_what_it_does_not_name(client: TestClient, editor: dict) -> None:
    station_id = client.post("/api/v1/stations", json=feature(), headers=editor).json()["id"]
    url = f"/api/v1/stations/{station_id}"
    assert client.patch(url, json={"properties": {"status": "closed"}},
                        headers=editor | {"If-Match": '"1"'}).status_code == 200
    properties = client.get(url).json()["features"][0]["properties"]
    assert properties["status"] == "closed" and properties["amenities"] == ["water", "charging"]
    assert properties["phone"] == "0792-1234567"


@pytest.mark.parametrize(("change", "field"), [
    ({"type_code": "night_market"}, "properties.type_code"),
    ({"amenities": ["water", "jacuzzi"]}, "properties.amenities"),
    ({"opening_hours": "Mon-Fri 9-5"}, "properties.opening_hours"),
    ({"status": "gone"}, "properties.status"),
    ({"name": ""}, "properties.name"),
    ({"coordinates": [121.47, 31.23]}, "geometry.coordinates"),
    ({"colour": "red"}, "properties.colour"),
])
def test_bad_station_gets_422_naming_the_field(client: TestClient, session: Session, editor: dict,
                                               change: dict, field: str) -> None:
    before = count(session)
    response = client.post("/api/v1/stations", json=feature(**change), headers=editor)
    assert response.status_code == 422, response.text
    assert field in response.text
    assert count(session) == before


def test_gcj02_in_and_out(client: TestClient, session: Session, editor: dict) -> None:
    gcj = [116.0, 29.72]
    station_id = client.post("/api/v1/stations?crs=gcj02", json=feature(coordinates=gcj), headers=editor).json()["id"]
    stored = session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM station WHERE id = :i"), {"i": station_id}).one()
    expected = crs.gcj02_to_wgs84(gcj[0], gcj[1])
    assert stored[0] == pytest.approx(float(expected[0]), abs=1e-9)
    assert stored[1] == pytest.approx(float(expected[1]), abs=1e-9)
    back = client.get(f"/api/v1/stations/{station_id}?crs=gcj02").json()["features"][0]["geometry"]["coordinates"]
    distance = crs.distance_m(back[0], back[1], gcj[0], gcj[1])
    assert float(distance) < 0.01
    listed = client.get("/api/v1/stations", params={"crs": "bd09", "township": "360403001"}).json()["features"]
    wgs = client.get("/api/v1/stations", params={"township": "360403001"}).json()["features"]
    for bd, plain in zip(listed, wgs, strict=True):
        converted = crs.wgs84_to_bd09(*plain["geometry"]["coordinates"])
        assert np.allclose(bd["geometry"]["coordinates"], [float(v) for v in converted], atol=1e-9)


def test_delete_is_soft_and_kept_in_history(client: TestClient, session: Session, editor: dict) -> None:
    station_id = client.post("/api/v1/stations", json=feature(), headers=editor).json()["id"]
    url = f"/api/v1/stations/{station_id}"
    assert client.delete(url, headers=editor).status_code == 428
    assert client.delete(url, headers=editor | {"If-Match": '"9"'}).status_code == 412
    assert client.delete(url, headers=editor | {"If-Match": '"1"'}).status_code == 204
    assert client.get(url).status_code == 404
    listed = client.get("/api/v1/stations", params={"limit": 1000}).json()["features"]
    assert station_id not in [f["id"] for f in listed]
    assert [h["action"] for h in client.get(f"{url}/history").json()] == ["insert", "delete"]
    assert session.execute(text("SELECT deleted_at IS NOT NULL FROM station WHERE id = :i"),
                           {"i": station_id}).scalar_one() is True


INJECTIONS = ["' OR '1'='1", "1; DROP TABLE station; --", "love_station' --", "%' OR 1=1 --", "nul\x00byte", "😀" * 20]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_strings_are_only_data(client: TestClient, session: Session, payload: str) -> None:
    before = count(session)
    for name in ("type", "county", "township", "status", "bbox", "amenity"):
        response = client.get("/api/v1/stations", params={name: payload[:16] if name in ("county", "township")
                                                           else payload})
        assert response.status_code in (200, 422), (name, response.status_code)
        if response.status_code == 200:
            assert response.json()["features"] == []
    assert client.get("/api/v1/regions", params={"level": payload}).status_code == 422
    assert client.get("/api/v1/stations/nearest", params={"lon": 116, "lat": 29.7, "type": payload}).status_code == 422
    assert count(session) == before
    assert session.execute(text("SELECT count(*) FROM region")).scalar_one() == 217
