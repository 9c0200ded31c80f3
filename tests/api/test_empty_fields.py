"""A station with every optional field empty is listed, shown, exported and re-imported everywhere.

pandas 3 reads a NULL text as NaN; before ``catalogue.missing_as_none`` one such station made
``GET /api/v1/stations`` a 500 for everybody. Each read path is asked here, and each answer must
be a 200 whose empty values are null (JSON) or empty (files), never the text "nan".
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.store.keys import create_key

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

POINT = [115.99, 29.71]  # in 浔阳区
NAME = "空字段驿站"
PARTIAL = "无电话驿站"
# "nan"/"NaN" as a value, not inside a word (isNaN, Nanchang); "None" as Python would print it.
NOT_EMPTY = re.compile(r"(?<![A-Za-z])(nan|NaN|None)(?![A-Za-z])")
EMPTY_PROPERTIES = {
    "name": NAME, "type_code": "love_station", "type_name": "爱心驿站", "address": "", "status": "open",
    "opening_hours": {}, "opening_hours_text": "时间未知", "amenities": [], "phone": None, "managing_union": None,
    "county_code": None, "township_code": None, "is_demo": False, "region_is_approximate": False, "source": "",
    "plan_id": None, "open_now": None,
}


def post(client: TestClient, headers: dict[str, str], properties: dict[str, Any]) -> int:
    response = client.post("/api/v1/stations", headers=headers, json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": POINT}, "properties": properties})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture
def stations(client: TestClient, session: Session) -> dict[str, int]:
    """``empty``: only type and name, and no county or township (as outside every township
    polygon); ``partial``: no phone or union, but open 24/7 with water, so filters find it."""
    editor = {"Authorization": f"Bearer {create_key(session, name='空字段', role='editor')}"}
    empty = post(client, editor, {"type_code": "love_station", "name": NAME})
    partial = post(client, editor, {"type_code": "love_station", "name": PARTIAL, "opening_hours": "24/7",
                                    "amenities": ["water"]})
    # The trigger assigns a county on every write; switched off in this (rolled back) transaction only.
    session.execute(text("ALTER TABLE station DISABLE TRIGGER station_assign_region"))
    session.execute(text("UPDATE station SET county_code = NULL, township_code = NULL WHERE id = :id"), {"id": empty})
    session.execute(text("ALTER TABLE station ENABLE TRIGGER station_assign_region"))
    return {"empty": empty, "partial": partial}


def ok(response: Any) -> str:
    assert response.status_code == 200, response.text[:2000]
    body = response.text
    match = NOT_EMPTY.search(body)
    assert match is None, body[max(0, match.start() - 200):match.end() + 50]
    return body


def by_id(features: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {int(feature["id"]): feature["properties"] for feature in features}


def assert_empty(properties: dict[str, Any]) -> None:
    assert {key: properties[key] for key in EMPTY_PROPERTIES} == EMPTY_PROPERTIES


@pytest.mark.parametrize(("params", "lists_empty", "lists_partial"), [
    ({}, True, True),
    ({"type": "love_station"}, True, True),
    ({"status": "open"}, True, True),
    ({"demo": "false"}, True, True),
    ({"bbox": "115.98,29.70,116.0,29.72"}, True, True),
    ({"crs": "gcj02"}, True, True),
    ({"crs": "bd09", "type": "love_station"}, True, True),
    ({"county": "360403"}, False, True),  # the empty station has no county
    ({"amenity": "water"}, False, True),
    ({"open_now": "true"}, False, True),  # unknown hours: neither open nor closed
    ({"open_now": "false"}, False, False),
])
def test_station_list_with_every_filter(client: TestClient, stations: dict[str, int], params: dict[str, str],
                                        lists_empty: bool, lists_partial: bool) -> None:
    listed = by_id(json.loads(ok(client.get("/api/v1/stations", params=params | {"limit": "1000"})))["features"])
    assert (stations["empty"] in listed, stations["partial"] in listed) == (lists_empty, lists_partial)
    if lists_empty:
        assert_empty(listed[stations["empty"]])
    if lists_partial:
        partial = listed[stations["partial"]]
        assert (partial["phone"], partial["managing_union"], partial["amenities"]) == (None, None, ["water"])
        assert partial["county_code"] == "360403" and partial["open_now"] is True


def test_one_station_and_its_history(client: TestClient, stations: dict[str, int]) -> None:
    for crs in ("wgs84", "gcj02"):
        body = json.loads(ok(client.get(f"/api/v1/stations/{stations['empty']}", params={"crs": crs})))
        assert [feature["id"] for feature in body["features"]] == [stations["empty"]]
        assert_empty(body["features"][0]["properties"])
    history = json.loads(ok(client.get(f"/api/v1/stations/{stations['empty']}/history")))
    assert [entry["action"] for entry in history] == ["insert", "update"]
    assert history[-1]["changed_fields"] == ["county_code", "township_code"]
    assert {key: history[-1]["new"][key] for key in ("phone", "managing_union", "county_code", "township_code")} \
        == dict.fromkeys(("phone", "managing_union", "county_code", "township_code"))


@pytest.mark.parametrize("params", [{}, {"type": "love_station", "limit": 50}, {"open_now": "true", "limit": 50},
                                    {"amenity": "water", "limit": 50}, {"crs": "gcj02", "limit": 50}])
def test_nearest_as_the_finder_asks(client: TestClient, stations: dict[str, int], params: dict[str, Any]) -> None:
    """The finder's only API call: lon, lat, crs, limit, and type, amenity, open_now as chosen."""
    point = {"lon": POINT[0], "lat": POINT[1]}
    if params.get("crs") == "gcj02":
        from geo.core import crs

        lon, lat = crs.wgs84_to_gcj02(*POINT)
        point = {"lon": float(lon), "lat": float(lat)}
    found = {row["id"]: row for row in json.loads(ok(client.get("/api/v1/stations/nearest",
                                                                 params=point | params)))["stations"]}
    hides_empty = "open_now" in params or "amenity" in params
    assert (stations["empty"] in found) is not hides_empty and stations["partial"] in found
    if not hides_empty:
        row = found[stations["empty"]]
        assert (row["address"], row["phone"], row["amenities"], row["open_now"], row["opening_hours_text"]) == (
            "", None, [], None, "时间未知")
        assert row["distance_m"] == pytest.approx(0, abs=0.5)
    assert found[stations["partial"]]["phone"] is None


def real_rows_csv(client: TestClient) -> list[dict[str, str]]:
    content = client.get("/api/v1/export", params={"format": "csv", "demo": "false"}).content
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def reimport(client: TestClient, session: Session, content: bytes, file_format: str) -> None:
    """Delete the exported (non-demo) rows for good, so their ids are free, and import the file."""
    editor = {"Authorization": f"Bearer {create_key(session, name='再导入', role='editor')}"}
    session.execute(text("DELETE FROM station WHERE NOT is_demo"))
    response = client.post(f"/api/v1/import?format={file_format}", content=content, headers=editor)
    assert response.status_code == 201, response.text
    assert response.json()["imported"] == 2


@pytest.mark.parametrize("file_format", ["csv", "geojson", "xlsx"])
def test_export_and_import_again(client: TestClient, session: Session, stations: dict[str, int],
                                 file_format: str) -> None:
    response = client.get("/api/v1/export", params={"format": file_format, "demo": "false"})
    assert response.status_code == 200
    if file_format == "xlsx":
        sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
        header = [cell.value for cell in sheet[1]]
        rows = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)]
        empty = next(row for row in rows if row["编号 id"] == stations["empty"])
        assert [empty[name] for name in ("地址 address", "开放时间 opening_hours", "设施 amenities", "电话 phone",
                                         "管理工会 managing_union", "来源 source", "县级代码 county_code")] \
            == [None] * 7  # empty cells, not the text "nan"
    else:
        body = ok(response)
        if file_format == "geojson":
            features = by_id(json.loads(body)["features"])
            empty = features[stations["empty"]]
            assert [empty[name] for name in ("address", "opening_hours", "amenities", "phone", "managing_union",
                                             "county_code", "township_code")] == [""] * 7
    before = real_rows_csv(client)
    empty_row = next(row for row in before if row["id"] == str(stations["empty"]))
    assert {key: empty_row[key] for key in ("address", "opening_hours", "amenities", "phone", "managing_union",
                                            "source", "county_code", "township_code")} == dict.fromkeys(
        ("address", "opening_hours", "amenities", "phone", "managing_union", "source", "county_code",
         "township_code"), "")
    reimport(client, session, response.content, file_format)
    after = real_rows_csv(client)
    # Import assigns county and township again, and counts a new version: everything else is equal.
    derived = ("county_code", "township_code", "version")
    assert [{k: v for k, v in row.items() if k not in derived} for row in after] == \
        [{k: v for k, v in row.items() if k not in derived} for row in before]
    again = by_id(json.loads(ok(client.get("/api/v1/stations", params={"limit": 1000})))["features"])[stations["empty"]]
    derived += ("region_is_approximate",)  # of the township it now lies in
    assert {key: again[key] for key in EMPTY_PROPERTIES if key not in derived} == {
        key: value for key, value in EMPTY_PROPERTIES.items() if key not in derived}


def test_ogc_items_json_and_html(client: TestClient, stations: dict[str, int]) -> None:
    items = json.loads(ok(client.get("/ogc/collections/love_station/items",
                                     params={"bbox": "115.98,29.70,116.0,29.72", "limit": 1000})))
    properties = by_id(items["features"])[stations["empty"]]
    assert {key: properties[key] for key in ("phone", "managing_union", "county_code", "township_code",
                                             "address", "amenities", "opening_hours", "opening_hours_osm")} == {
        "phone": None, "managing_union": None, "county_code": None, "township_code": None, "address": "",
        "amenities": "", "opening_hours": "时间未知", "opening_hours_osm": ""}  # text for GIS clients
    one = json.loads(ok(client.get(f"/ogc/collections/love_station/items/{stations['empty']}")))
    assert one["id"] == stations["empty"] and one["properties"]["phone"] is None
    for url, params in (("/ogc/collections/love_station/items", {"limit": 1000}),
                        (f"/ogc/collections/love_station/items/{stations['empty']}", {})):
        assert NAME in ok(client.get(url, params={"f": "html"} | params))


def test_maps_and_analysis(client: TestClient, stations: dict[str, int]) -> None:
    assert "stations" in ok(client.get("/maps/stations"))
    assert NAME in ok(client.get(f"/maps/station/{stations['empty']}"))
    assert PARTIAL in ok(client.get(f"/maps/station/{stations['partial']}"))
    ok(client.get("/maps/coverage", params={"type": "love_station"}))
    ok(client.get("/finder"))
    coverage = json.loads(ok(client.get("/api/v1/coverage", params={"level": "county", "type": "love_station"})))
    assert coverage["rows"] and all(row["region_code"] for row in coverage["rows"])
    gaps = json.loads(ok(client.get("/api/v1/gaps", params={"detail": "true"})))
    assert gaps["targets"] and gaps["rows"]
    workbook = client.get("/maps/gaps.xlsx")
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content)).worksheets[0]
    assert sheet.max_row > 1 and not any(value == "nan" for row in sheet.iter_rows(values_only=True)
                                         for value in row)
