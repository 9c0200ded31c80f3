"""Bulk import/export over HTTP, and the nearest-station query for the phone finder."""

from __future__ import annotations

import io
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.core import crs, hours
from geo.notices import export_notice
from geo.store.keys import create_key

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db


@pytest.fixture
def editor(session: Session) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(session, name='导入', role='editor')}"}


def live(session: Session) -> int:
    return session.execute(text("SELECT count(*) FROM station WHERE deleted_at IS NULL")).scalar_one()


def test_import_is_all_or_nothing_with_every_bad_row(client: TestClient, session: Session, editor: dict) -> None:
    body = ("type_code,name,lon,lat\nlove_station,甲,115.99,29.71\nlove_station,乙,999,29.71\n"
            "legal_service,丙,115.99,29.71\nlibrary,丁,115.99,29.71\n").encode()
    before = live(session)
    response = client.post("/api/v1/import?format=csv&filename=new.csv", content=body, headers=editor)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(3, "lon"), (5, "type_code")]
    assert "999" in errors[0]["reason"] and "library" in errors[1]["reason"]
    assert live(session) == before
    good = body.replace(b"999", b"116.0").replace(b"library,", b"worker_library,")
    response = client.post("/api/v1/import?format=csv", content=good, headers=editor)
    assert response.status_code == 201 and response.json()["imported"] == 4
    assert live(session) == before + 4
    assert client.post("/api/v1/import?format=csv", content=good).status_code == 401


def test_import_geojson_in_bd09(client: TestClient, session: Session, editor: dict) -> None:
    bd = [116.0120, 29.7260]
    body = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": bd},
         "properties": {"type_code": "worker_library", "name": "百度坐标书屋"}},
        {"type": "Feature", "geometry": None, "properties": {"type_code": "worker_library", "name": "没有坐标"}}]}
    bad = client.post("/api/v1/import?format=geojson&crs=bd09", json=body, headers=editor)
    assert bad.status_code == 422 and [(e["row"], e["field"]) for e in bad.json()["errors"]] == [
        (2, "geometry"), (2, "lat"), (2, "lon")]
    body["features"].pop()
    response = client.post("/api/v1/import?format=geojson&crs=bd09", json=body, headers=editor)
    assert response.status_code == 201
    stored = session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM station WHERE id = :i"),
                             {"i": response.json()["ids"][0]}).one()
    expected = crs.bd09_to_wgs84(*bd)
    assert stored == pytest.approx((float(expected[0]), float(expected[1])), abs=1e-9)


def test_export_xlsx_and_csv(client: TestClient) -> None:
    response = client.get("/api/v1/export", params={"format": "xlsx", "type": "cultural_palace"})
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    assert sheet.freeze_panes == "A2" and sheet.max_row == 1 + 5
    assert workbook["说明 notes"]["A1"].value == export_notice("wgs84")
    assert [c.value for c in sheet[1]][:3] == ["编号 id", "类型 type_code", "名称 name"]
    csv = client.get("/api/v1/export", params={"format": "csv", "crs": "gcj02"}).content.decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("id,type_code,name,address,lon,lat") and len(csv.splitlines()) == 476


def brute_force_nearest(session: Session, lon: float, lat: float, type_code: str, at: datetime | None,
                        timezone: str) -> list[int]:
    rows = session.execute(text("""SELECT id, ST_X(geom), ST_Y(geom), opening_hours FROM station
        WHERE status = 'open' AND deleted_at IS NULL AND type_code = :t"""), {"t": type_code}).all()
    distance = crs.distance_m(np.full(len(rows), lon), np.full(len(rows), lat),
                              np.array([r[1] for r in rows]), np.array([r[2] for r in rows]))
    keep = [i for i, r in enumerate(rows)
            if at is None or hours.is_open_in_zone(hours.from_json(r[3]), at, timezone) is True]
    return [rows[i][0] for i in sorted(keep, key=lambda i: distance[i])]


@pytest.mark.parametrize("point", [(115.99, 29.71), (114.55, 29.03), (116.6, 29.9)])
def test_nearest_matches_a_geodesic_brute_force(client: TestClient, session: Session, point: tuple) -> None:
    response = client.get("/api/v1/stations/nearest", params={"lon": point[0], "lat": point[1],
                                                               "type": "love_station", "limit": 5})
    assert response.status_code == 200
    stations = response.json()["stations"]
    assert [s["id"] for s in stations] == brute_force_nearest(session, *point, "love_station", None,
                                                              "Asia/Shanghai")[:5]
    distances = [s["distance_m"] for s in stations]
    assert distances == sorted(distances)
    first = stations[0]
    expected = crs.distance_m(point[0], point[1], first["lon"], first["lat"])
    assert first["distance_m"] == pytest.approx(float(expected), abs=0.5)


def test_nearest_open_now_amenity_and_navigation(client: TestClient, session: Session) -> None:
    response = client.get("/api/v1/stations/nearest", params={
        "lon": 115.99, "lat": 29.71, "type": "love_station", "open_now": True, "amenity": ["charging"], "limit": 3})
    assert response.status_code == 200
    body = response.json()
    at = datetime.fromisoformat(body["query"]["at"])
    stations = body["stations"]
    assert all(s["open_now"] is True and "charging" in s["amenities"] for s in stations)
    with_charging = [i for i in brute_force_nearest(session, 115.99, 29.71, "love_station", at, "Asia/Shanghai")
                     if "charging" in session.execute(text("SELECT amenities FROM station WHERE id = :i"),
                                                      {"i": i}).scalar_one()]
    assert [s["id"] for s in stations] == with_charging[:3]
    if stations:
        first = stations[0]
        amap = parse_qs(urlparse(first["navigation"]["amap"]).query)["to"][0].split(",")
        gcj = crs.wgs84_to_gcj02(first["lon"], first["lat"])
        assert float(amap[0]) == pytest.approx(float(gcj[0]), abs=1e-6)
        assert float(amap[1]) == pytest.approx(float(gcj[1]), abs=1e-6)
        baidu = parse_qs(urlparse(first["navigation"]["baidu"]).query)["location"][0].split(",")
        bd = crs.wgs84_to_bd09(first["lon"], first["lat"])
        assert (float(baidu[1]), float(baidu[0])) == pytest.approx((float(bd[0]), float(bd[1])), abs=1e-6)
        assert first["navigation"]["geo"].startswith(f"geo:{first['lat']:.6f},{first['lon']:.6f}")


def test_nearest_in_gcj02_and_bad_input(client: TestClient) -> None:
    gcj = crs.wgs84_to_gcj02(115.99, 29.71)
    plain = client.get("/api/v1/stations/nearest", params={"lon": 115.99, "lat": 29.71}).json()["stations"]
    shifted = client.get("/api/v1/stations/nearest", params={"lon": float(gcj[0]), "lat": float(gcj[1]),
                                                              "crs": "gcj02"}).json()["stations"]
    assert [s["id"] for s in plain] == [s["id"] for s in shifted]
    assert [s["distance_m"] for s in plain] == pytest.approx([s["distance_m"] for s in shifted], abs=0.05)
    for params, field in (({"lon": 200, "lat": 29}, "lon"), ({"lat": 29}, "lon"), ({"lon": 116, "lat": 29,
                                                                                   "limit": 0}, "limit")):
        response = client.get("/api/v1/stations/nearest", params=params)
        assert response.status_code == 422 and field in response.text


@pytest.mark.parametrize(("good_rows", "bom"), [(1, False), (1, True), (6000, False)])
def test_a_gbk_csv_is_refused_naming_its_row_and_byte(client: TestClient, session: Session, editor: dict,
                                                      good_rows: int, bom: bool) -> None:
    """Excel on Chinese Windows saves "CSV" in GBK. 6 000 rows put the bad byte past pandas' read
    buffer (256 KiB), where it used to report an offset within the buffer; a BOM shifted it by 3."""
    head = ("\ufeff" if bom else "") + "type_code,name,lon,lat\n"
    good = "".join(f"love_station,station number {i:06d} of the file,115.99,29.71\n" for i in range(good_rows))
    bad = "love_station,九江驿站,115.99,29.71\n".encode("gbk")
    body = (head + good).encode("utf-8") + bad
    offset = body.index("九江".encode("gbk"))
    before = live(session)
    response = client.post("/api/v1/import?format=csv&filename=gbk.csv", content=body, headers=editor)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["row"] == good_rows + 2 and error["field"] is None
    reason = error["reason"]
    assert reason.startswith(f"不是 UTF-8 编码：第 {good_rows + 2} 行，偏移 {offset} 字节处的 0xbe 无法解码")
    assert f"byte 0xbe at offset {offset} (line {good_rows + 2})" in reason and "GBK" in reason
    assert live(session) == before
