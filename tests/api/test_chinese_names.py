"""A planner may write a type or an amenity by its Chinese name (爱心驿站, 饮水): the API and a file
import store the codes. Refusals read Chinese first, on the field they are about."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.store.keys import create_key

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db


@pytest.fixture
def editor(session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(session, name='中文规划员', role='editor')}"}


def stored(session: Session, station_id: int) -> tuple[str, list[str]]:
    return session.execute(text("SELECT type_code, amenities FROM station WHERE id = :i"), {"i": station_id}).one()


def live(session: Session) -> int:
    return session.execute(text("SELECT count(*) FROM station WHERE deleted_at IS NULL")).scalar_one()


def test_api_stores_chinese_names_as_codes(client: TestClient, session: Session, editor: dict) -> None:
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [115.99, 29.71]},
            "properties": {"type_code": "职工之家", "name": "中文类型", "amenities": ["饮水", "充电", "water"]}}
    response = client.post("/api/v1/stations", json=body, headers=editor)
    assert response.status_code == 201, response.text
    assert tuple(stored(session, response.json()["id"])) == ("workers_home", ["water", "charging"])


def test_csv_import_stores_chinese_names_as_codes(client: TestClient, session: Session, editor: dict) -> None:
    body = "type_code,name,lon,lat,amenities\n爱心驿站,表格里的驿站,115.99,29.71,饮水、座椅休息\n"
    response = client.post("/api/v1/import", params={"format": "csv", "filename": "中文.csv"},
                           content=body.encode(), headers=editor)
    assert response.status_code in (200, 201), response.text
    [station_id] = response.json()["ids"]
    assert tuple(stored(session, station_id)) == ("love_station", ["water", "rest"])


@pytest.mark.parametrize(("properties", "field", "start"), [
    ({"type_code": "love_station", "name": ""}, "properties.name", "不能为空 / must not be empty"),
    ({"type_code": "夜市", "name": "夜市"}, "properties.type_code",
     "未知的服务类型 '夜市'，可选：爱心驿站 love_station、"),
    ({"type_code": "love_station", "name": "x", "amenities": ["桑拿"]}, "properties.amenities",
     "未知的设施 '桑拿'，可选：饮水 water、"),
])
def test_api_422_reads_chinese_first_on_the_field(client: TestClient, session: Session, editor: dict,
                                                  properties: dict, field: str, start: str) -> None:
    before = live(session)
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [115.99, 29.71]}, "properties": properties}
    response = client.post("/api/v1/stations", json=body, headers=editor)
    assert response.status_code == 422, response.text
    assert [item["loc"][-1] for item in response.json()["detail"]] == [field]
    assert response.json()["detail"][0]["msg"].startswith(start)
    assert live(session) == before


def test_api_swapped_coordinates_get_the_hint(client: TestClient, session: Session, editor: dict) -> None:
    before = live(session)
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [29.71, 115.99]},
            "properties": {"type_code": "love_station", "name": "写反了"}}
    response = client.post("/api/v1/stations", json=body, headers=editor)
    assert response.status_code == 422, response.text
    assert [(item["loc"][-1], item["msg"]) for item in response.json()["detail"]] == [
        ("geometry.coordinates.lat", "纬度超出 ±90：115.99，经纬度可能写反了 / 115.99 is not a lat in degrees (±90); "
                                     "longitude and latitude may be swapped")]
    assert live(session) == before


def test_api_point_outside_the_region_reads_chinese_first(client: TestClient, editor: dict) -> None:
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.47, 31.23]},
            "properties": {"type_code": "love_station", "name": "上海"}}
    response = client.post("/api/v1/stations", json=body, headers=editor)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "不在本地区范围内 / the point lies outside the region"


def test_csv_dry_run_names_the_swapped_row(client: TestClient, editor: dict) -> None:
    body = "type_code,name,lon,lat\n爱心驿站,写反了,29.71,115.99\n"
    report = client.post("/api/v1/import", params={"format": "csv", "filename": "x.csv", "dry_run": "true"},
                         content=body.encode(), headers=editor).json()
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(2, "lat")]
    assert "经纬度可能写反了" in report["errors"][0]["reason"]
