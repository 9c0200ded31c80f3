"""The editor's station pages as HTML: signed in only, the vocabulary and the station as JSON,
a hostile name escaped, a missing station a 404 page."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.orm import Session

from tests.editor import sign_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

HOSTILE = '<img src=x onerror=alert(1)>"\'&'


def page_config(html: str, element_id: str) -> dict:
    found = re.search(rf'<script[^>]* id="{element_id}"[^>]*>(.*?)</script>', html, re.S)
    assert found, element_id
    return json.loads(found.group(1))


def test_readers_are_sent_to_sign_in(client: TestClient) -> None:
    for path in ("/edit", "/edit/stations/new", "/edit/stations/1"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/edit/sign-in?next="), path


def test_the_finder_page_has_search_filters_and_the_vocabulary(client: TestClient, session: Session) -> None:
    sign_in(client, session)
    page = client.get("/edit", params={"q": "浔阳", "status": "closed"})
    assert page.status_code == 200
    html = page.text
    for needed in ('name="q"', 'value="浔阳"', 'name="type"', 'name="county"', 'name="township"', 'name="status"',
                   'href="/edit/stations/new"', "新建站点", 'id="stations-map"'):
        assert needed in html, needed
    assert '<option value="closed" selected>' in html
    config = page_config(html, "stations-config")
    assert config["api"] == "/api/v1/stations" and config["pageSize"] == 50
    assert {c["code"] for c in config["counties"]} >= {"360403"}
    assert [s["code"] for s in config["statuses"]] == ["open", "closed", "planned"]


def test_the_form_shows_every_writable_field_and_escapes_the_name(client: TestClient, session: Session) -> None:
    headers = sign_in(client, session)
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [115.99, 29.71]},
               "properties": {"type_code": "love_station", "name": HOSTILE, "address": HOSTILE,
                              "opening_hours": "Mo-Fr 09:00-17:00", "amenities": ["water"], "phone": "0792-1"}}
    created = client.post("/api/v1/stations", json=feature, headers=headers)
    assert created.status_code == 201, created.text
    station_id = created.json()["id"]
    html = client.get(f"/edit/stations/{station_id}").text
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    for field in ("type_code", "name", "address", "status", "phone", "managing_union", "amenities",
                  "opening_hours", "is_demo", "source"):
        assert f'name="{field}"' in html and f'id="err-{field}"' in html, field
    # the structured hours editor holds the stored document as JSON, its quotes escaped in the attribute
    assert '&#34;mon&#34;: [{&#34;end&#34;: &#34;17:00&#34;, &#34;start&#34;: &#34;09:00&#34;}]' in html
    assert 'id="err-geometry"' in html and 'value="gcj02"' in html and 'value="bd09"' in html
    assert f'href="/edit/stations/{station_id}/history"' in html and f'href="/edit/stations/{station_id}/card"' in html
    config = page_config(html, "station-config")
    assert config["station"]["name"] == HOSTILE and config["station"]["version"] == 1
    assert config["station"]["county_code"] == "360403"
    assert [a["code"] for a in config["amenities"]][:2] == ["water", "rest"]


def test_a_new_form_and_a_missing_station(client: TestClient, session: Session) -> None:
    sign_in(client, session)
    new = client.get("/edit/stations/new")
    assert new.status_code == 200 and page_config(new.text, "station-config")["station"]["type_code"] == "love_station"
    assert "删除" not in new.text  # nothing to delete yet
    missing = client.get("/edit/stations/999999999")
    assert missing.status_code == 404 and "不存在或已删除" in missing.text
