"""Finding stations (``q``: name or address, wildcards literal) and where a point lands
(``/regions/at`` in WGS-84, GCJ-02 and BD-09, with its county and township)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy.orm import Session

from geo.core import crs
from geo.store.keys import create_key

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

XUNYANG = (115.99, 29.71)  # in 浔阳区, 滨兴街道 (an approximate township boundary)


@pytest.fixture
def made(client: TestClient, session: Session) -> dict[str, int]:
    """Four stations whose names and addresses tell the search's rules apart."""
    headers = {"Authorization": f"Bearer {create_key(session, name='查找测试', role='editor')}"}
    names = {"percent": ("满100%有水驿站", "浔阳路1号"), "plain": ("满100元驿站", "浔阳路2号"),
             "underscore": ("甲_乙驿站", "庐山路 3 号"), "latin": ("Rider Hub 驿站", "Binjiang Road 9")}
    ids = {}
    for key, (name, address) in names.items():
        feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(XUNYANG)},
                   "properties": {"type_code": "love_station", "name": name, "address": address,
                                  "status": "closed" if key == "latin" else "open"}}
        response = client.post("/api/v1/stations", json=feature, headers=headers)
        assert response.status_code == 201, response.text
        ids[key] = response.json()["id"]
    return ids


def found(client: TestClient, **params: str) -> list[int]:
    response = client.get("/api/v1/stations", params={"limit": "1000"} | params)
    assert response.status_code == 200, response.text
    return sorted(feature["id"] for feature in response.json()["features"])


def test_q_finds_name_or_address_with_wildcards_taken_literally(client: TestClient, made: dict[str, int]) -> None:
    assert found(client, q="100%") == [made["percent"]]  # "%" is a character, not "anything"
    assert found(client, q="100") == sorted([made["percent"], made["plain"]])
    assert found(client, q="甲_乙") == [made["underscore"]]
    assert found(client, q="_") == [made["underscore"]]  # "_" is not "any one character"
    assert found(client, q="rider HUB") == [made["latin"]]  # case-insensitive
    assert found(client, q="binjiang road") == [made["latin"]]  # the address too
    assert found(client, q="浔阳路2") == [made["plain"]]
    assert found(client, q="  浔阳路2  ") == [made["plain"]]  # surrounding spaces are not part of it
    assert found(client, q="没有这样的站") == []


def test_q_combines_with_the_other_filters(client: TestClient, made: dict[str, int]) -> None:
    assert found(client, q="Rider", status="closed") == [made["latin"]]
    assert found(client, q="Rider", status="open") == []
    assert found(client, q="100", county="360403", township="360403008") == sorted([made["percent"], made["plain"]])
    assert found(client, q="100", county="360481") == []
    assert found(client, q="100", type="love_station", demo="false") == sorted([made["percent"], made["plain"]])


def test_an_empty_q_is_no_filter_and_a_long_one_is_refused(client: TestClient, made: dict[str, int]) -> None:
    every = found(client)
    assert found(client, q="") == every and set(made.values()) <= set(every)
    response = client.get("/api/v1/stations", params={"q": "长" * 101})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["query", "q"]


def test_q_is_documented(client: TestClient) -> None:
    parameters = client.get("/openapi.json").json()["paths"]["/api/v1/stations"]["get"]["parameters"]
    q = next(parameter for parameter in parameters if parameter["name"] == "q")
    assert "% 与 _ 按字面" in q["description"]


@pytest.mark.parametrize("system", ["wgs84", "gcj02", "bd09"])
def test_a_point_lands_in_its_county_and_township(client: TestClient, system: str) -> None:
    lon, lat = (float(v) for v in crs.convert(*XUNYANG, source="wgs84", target=system))
    response = client.get("/api/v1/regions/at", params={"lon": lon, "lat": lat, "crs": system})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query"] == {"lon": lon, "lat": lat, "crs": system}
    expected_lon, expected_lat = (float(v) for v in crs.convert(lon, lat, source=system, target="wgs84"))
    assert body["lon"] == round(expected_lon, 6) and body["lat"] == round(expected_lat, 6)
    assert crs.distance_m(body["lon"], body["lat"], *XUNYANG) < 0.2  # the round trip, rounded to 1e-6 deg
    assert body["county"] == {"code": "360403", "name": "浔阳区"}
    unknown = body["township"].pop("position_unknown")  # the stored rule's answer: geo.store.regions
    assert body["township"] == {"code": "360403008", "name": "滨兴街道", "boundary_is_approximate": True}
    listed = {f["properties"]["code"]: f["properties"]["position_unknown"]
              for f in client.get("/api/v1/regions", params={"level": "township"}).json()["features"]}
    assert unknown is listed["360403008"]


def test_the_gcj02_point_is_not_the_wgs84_one(client: TestClient) -> None:
    """Taking an Amap position as WGS-84 would put it hundreds of metres off: the datum matters."""
    as_wgs = client.get("/api/v1/regions/at", params={"lon": XUNYANG[0], "lat": XUNYANG[1]}).json()
    as_gcj = client.get("/api/v1/regions/at", params={"lon": XUNYANG[0], "lat": XUNYANG[1], "crs": "gcj02"}).json()
    shift = float(crs.distance_m(as_wgs["lon"], as_wgs["lat"], as_gcj["lon"], as_gcj["lat"]))
    assert 300 < shift < 800


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"lon": "abc", "lat": "29.7"}, "lon", "valid number"),
    ({"lon": "115.9", "lat": ""}, "lat", "valid number"),
    ({"lon": "115.9"}, "lat", "Field required"),
    ({"lon": "nan", "lat": "29.7"}, "lon", "not a lon in degrees"),
    ({"lon": "115.9", "lat": "inf"}, "lat", "not a lat in degrees"),
    ({"lon": "200", "lat": "29.7"}, "lon", "not a lon in degrees"),
    ({"lon": "116.0", "lat": "40.0"}, "lon", "不在本地区的任何县内"),  # Beijing: outside the region
    ({"lon": "115.9", "lat": "29.7", "crs": "mercator"}, "crs", "wgs84"),
])
def test_bad_points_are_refused_naming_the_field(client: TestClient, params: dict, field: str, words: str) -> None:
    response = client.get("/api/v1/regions/at", params=params)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail[0]["loc"][-1] == field and words in detail[0]["msg"], detail


def test_regions_at_is_documented(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/regions/at"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"lon", "lat", "crs"}
    assert "422" in operation["responses"] and "GCJ-02" in operation["description"]

