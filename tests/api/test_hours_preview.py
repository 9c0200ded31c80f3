"""POST /api/v1/hours/preview: the normalised document, open now in the region's zone, the rider's text."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy.orm import Session

from tests.editor import sign_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

URL = "/api/v1/hours/preview"
WEEKDAYS = {day: [{"start": "09:00", "end": "17:00"}] for day in ("fri", "thu", "wed", "tue", "mon")}


def test_open_on_a_tuesday_morning(client: TestClient) -> None:
    answer = client.post(URL, json={"opening_hours": {"weekly": WEEKDAYS}, "at": "2024-06-04T10:00:00+08:00"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "opening_hours": {"always_open": False, "weekly": {day: [{"start": "09:00", "end": "17:00"}]
                                                           for day in ("mon", "tue", "wed", "thu", "fri")}},
        "open_now": True, "text_zh": "周一至周五 09:00-17:00", "osm": "Mo-Fr 09:00-17:00",
        "at": "2024-06-04T10:00:00+08:00", "timezone": "Asia/Shanghai", "notices": []}
    assert list(answer.json()["opening_hours"]["weekly"]) == ["mon", "tue", "wed", "thu", "fri"]  # normalised order


@pytest.mark.parametrize(("at", "open_now"), [
    ("2024-06-09T10:00:00+08:00", False),  # Sunday
    ("2024-06-04T10:00:00", True),  # no offset: the region's wall clock
    ("2024-06-04T10:00:00Z", False),  # 18:00 in Jiujiang
    ("2024-06-04T17:00:00+08:00", False),  # closing time is closed
])
def test_open_now_in_the_region_zone(client: TestClient, at: str, open_now: bool) -> None:
    answer = client.post(URL, json={"opening_hours": {"weekly": WEEKDAYS}, "at": at})
    assert answer.status_code == 200, answer.text
    assert answer.json()["open_now"] is open_now


def test_text_in_and_holidays_shown_but_not_counted(client: TestClient) -> None:
    answer = client.post(URL, json={"opening_hours": "Mo-Fr 09:00-17:00; PH off", "at": "2024-10-01T10:00:00"})
    body = answer.json()
    assert answer.status_code == 200 and body["open_now"] is True  # National Day: no calendar, so not counted
    assert body["text_zh"] == "周一至周五 09:00-17:00；法定节假日休息" and body["osm"] == "Mo-Fr 09:00-17:00; PH off"
    assert body["opening_hours"]["closed_on_public_holidays"] is True
    assert body["notices"] and "节假日" in body["notices"][0]


def test_unknown_hours_are_not_closed(client: TestClient) -> None:
    answer = client.post(URL, json={"opening_hours": {}})
    assert answer.status_code == 200 and answer.json()["open_now"] is None and answer.json()["text_zh"] == "时间未知"
    assert client.post(URL, json={"opening_hours": "24/7"}).json()["open_now"] is True


@pytest.mark.parametrize(("hours", "field", "words"), [
    ({"weekly": {"mon": [{"start": "9:00", "end": "17:00"}]}}, "opening_hours.weekly.mon.0.start", "HH:MM"),
    ({"weekly": {"tue": [{"start": "09:00", "end": "17:00"}, {"start": "10:00", "end": "10:00"}]}},
     "opening_hours.weekly.tue.1.end", "end equals start"),
    ({"weekly": {"someday": []}}, "opening_hours.weekly.someday.[key]", "mon"),
    ({"always_open": True, "weekly": {"mon": [{"start": "09:00", "end": "17:00"}]}}, "opening_hours.weekly",
     "always_open"),
    ({"hours": "9-5"}, "opening_hours.hours", "Extra"),
    ("Mo-Xx 09:00-17:00", "opening_hours", "'Xx'"),
])
def test_bad_hours_name_the_field(client: TestClient, hours: object, field: str, words: str) -> None:
    answer = client.post(URL, json={"opening_hours": hours})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["field"] == field and body["detail"][0]["loc"] == [field]
    assert words in body["detail"][0]["msg"]


def test_bad_moment_and_missing_hours(client: TestClient) -> None:
    answer = client.post(URL, json={"opening_hours": {}, "at": "Tuesday"})
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "at"]
    far = client.post(URL, json={"opening_hours": {}, "at": "9999-12-31T23:59:00Z"})
    assert far.status_code == 422 and far.json()["field"] == "at"
    missing = client.post(URL, json={})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "opening_hours"]


def test_documented_and_public(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][URL]["post"]
    assert operation["summary"].startswith("开放时间预览") and "422" in operation["responses"]


def test_a_number_is_not_a_moment(client: TestClient) -> None:
    """pydantic alone would read 0 as 1970-01-01T00:00Z; the schema says ISO 8601 text."""
    answer = client.post(URL, json={"opening_hours": {}, "at": 0})
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "at"]
    assert "ISO 8601" in answer.json()["detail"][0]["msg"]


def test_a_station_save_names_the_same_field_and_keeps_the_flag(client: TestClient, session: Session) -> None:
    """The widget's error slots (err-opening_hours.weekly.<day>.<n>.<part>) serve the form's save too."""
    headers = sign_in(client, session)
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [115.99, 29.71]},
               "properties": {"type_code": "love_station", "name": "节假日驿站",
                              "opening_hours": {"weekly": {"mon": [{"start": "9:00", "end": "17:00"}]}}}}
    refused = client.post("/api/v1/stations", json=feature, headers=headers)
    # edit.js fieldOf drops "properties.": the slot is err-opening_hours.weekly.mon.0.start
    assert refused.status_code == 422 and refused.json()["field"] == "properties.opening_hours.weekly.mon.0.start"
    feature["properties"]["opening_hours"] = {"weekly": WEEKDAYS, "closed_on_public_holidays": True}
    created = client.post("/api/v1/stations", json=feature, headers=headers)
    assert created.status_code == 201, created.text
    station = client.get(f"/api/v1/stations/{created.json()['id']}").json()["features"][0]["properties"]
    assert station["opening_hours"]["closed_on_public_holidays"] is True
    assert station["opening_hours_text"] == "周一至周五 09:00-17:00；法定节假日休息"
