"""Health, stations and regions over HTTP, on the Jiujiang reference and demo data."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db


def test_health_reports_postgis_and_counts(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "reachable"
    assert body["postgis_version"].startswith("3.")
    assert body["counts"]["region"] == 217
    assert body["counts"]["station"] == 475
    assert body["counts"]["service_type"] == 5
    assert body["counts"]["target"] == 6


def test_stations_are_geojson_with_demo_and_approximate_flags(client: TestClient) -> None:
    response = client.get("/api/v1/stations", params={"limit": 1000})
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberReturned"] == len(body["features"]) == body["numberMatched"] == 475
    assert body["links"] == []  # one page holds them all
    feature = body["features"][0]
    lon, lat = feature["geometry"]["coordinates"]
    assert 113.5 < lon < 117 and 28.5 < lat < 30.5  # lon first, Jiujiang
    assert feature["properties"]["is_demo"] is True
    assert feature["properties"]["region_is_approximate"] is True
    assert feature["properties"]["opening_hours_text"]


@pytest.mark.parametrize(("params", "expected"), [
    ({"type": "love_station"}, 136),
    ({"type": "cultural_palace"}, 5),
    ({"type": "worker_library", "status": "open"}, None),
])
def test_type_and_status_filters(client: TestClient, session: Session, params: dict, expected: int | None) -> None:
    if expected is None:
        expected = session.execute(text(
            "SELECT count(*) FROM station WHERE type_code = 'worker_library' AND status = 'open'")).scalar_one()
    features = client.get("/api/v1/stations", params=params | {"limit": 1000}).json()["features"]
    assert len(features) == expected
    assert all(f["properties"]["type_code"] == params["type"] for f in features)


def test_county_township_and_bbox_filters(client: TestClient, session: Session) -> None:
    county = client.get("/api/v1/stations", params={"county": "360403"}).json()["features"]
    assert county and {f["properties"]["county_code"] for f in county} == {"360403"}
    township = county[0]["properties"]["township_code"]
    in_township = client.get("/api/v1/stations", params={"township": township}).json()["features"]
    expected = session.execute(text("SELECT count(*) FROM station WHERE township_code = :t"),
                               {"t": township}).scalar_one()
    assert len(in_township) == expected >= 1

    bbox = (115.9, 29.6, 116.1, 29.8)
    inside = client.get("/api/v1/stations", params={"bbox": ",".join(map(str, bbox))}).json()["features"]
    expected = session.execute(text(
        "SELECT count(*) FROM station WHERE geom && ST_MakeEnvelope(115.9, 29.6, 116.1, 29.8, 4326)")).scalar_one()
    assert len(inside) == expected > 0
    for feature in inside:
        lon, lat = feature["geometry"]["coordinates"]
        assert bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]


@pytest.mark.parametrize(("params", "field"), [
    ({"type": "night_market"}, "type"),
    ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": "116,30,115,29"}, "bbox"),
    ({"status": "gone"}, "status"),
])
def test_bad_filters_get_a_422_naming_the_parameter(client: TestClient, params: dict, field: str) -> None:
    response = client.get("/api/v1/stations", params=params)
    assert response.status_code == 422
    assert [entry["loc"][-1] for entry in response.json()["detail"]] == [field]


def test_regions_by_level_carry_population_and_flags(client: TestClient) -> None:
    counties = client.get("/api/v1/regions", params={"level": "county"}).json()["features"]
    townships = client.get("/api/v1/regions", params={"level": "township"}).json()["features"]
    assert len(counties) == 13 and len(townships) == 204
    assert sum(f["properties"]["population"] for f in counties) == 4_600_276
    assert sum(f["properties"]["population"] for f in townships) == 4_600_276
    assert all(f["properties"]["boundary_is_approximate"] for f in townships)
    assert not any(f["properties"]["boundary_is_approximate"] for f in counties)
    assert {f["geometry"]["type"] for f in townships} == {"MultiPolygon"}
    assert client.get("/api/v1/regions", params={"level": "village"}).status_code == 422


def test_openapi_is_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/health", "/api/v1/stations", "/api/v1/regions", "/maps/stations"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200


def test_regions_in_gcj02_are_shifted_like_the_source_file(client: TestClient) -> None:
    """Counties come from a GCJ-02 file: asked for in GCJ-02 they give its coordinates back."""
    import json
    from pathlib import Path

    source = json.loads((Path(__file__).parents[2] / "data/jiujiang/counties_gcj02.geojson").read_text("utf-8"))
    first = next(f for f in source["features"] if f["properties"]["adcode"] == "360402")
    vertex = first["geometry"]["coordinates"][0][0][0]
    served = client.get("/api/v1/regions", params={"level": "county", "crs": "gcj02"}).json()["features"]
    ring = next(f for f in served if f["id"] == "360402")["geometry"]["coordinates"][0][0]
    assert min(abs(x - vertex[0]) + abs(y - vertex[1]) for x, y in ring) < 1e-7
