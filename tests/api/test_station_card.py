"""The printable station card: editors only, every registry text escaped, the QR's finder URL."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from maps.links import finder_station_url
from tests.editor import sign_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

HOSTILE = '<script>alert("名")</script><img src=x onerror=alert(1)>'
FEATURE = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [115.99, 29.71]},
           "properties": {"type_code": "love_station", "name": HOSTILE, "address": "浔阳路 <b>1</b> 号",
                          "opening_hours": "Mo-Fr 09:00-17:00; PH off", "amenities": ["water", "microwave"],
                          "phone": "0792-1234567", "managing_union": "浔阳区总工会 & <i>职工</i>"}}


def created_station(client: TestClient, session: Session) -> int:
    headers = sign_in(client, session)
    answer = client.post("/api/v1/stations", json=FEATURE, headers=headers)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def text_of(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.S)
    assert found, element_id
    return found.group(1)


def test_finder_url_is_built_once() -> None:
    assert finder_station_url("https://map.example.org/u/", 7, 115.9912345, 29.7) == (
        "https://map.example.org/u/finder?station=7&lon=115.991235&lat=29.700000")


def test_readers_are_sent_to_sign_in(client: TestClient) -> None:
    answer = client.get("/edit/stations/1/card", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/edit/sign-in?next=")


def test_card_escapes_the_registry_and_links_the_finder(client: TestClient, session: Session) -> None:
    station = created_station(client, session)
    page = client.get(f"/edit/stations/{station}/card")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    body = page.text
    assert HOSTILE not in body and "<script>alert" not in body and "<img src=x" not in body
    assert html.unescape(text_of(body, "card-name")) == HOSTILE
    assert text_of(body, "card-address") == "浔阳路 &lt;b&gt;1&lt;/b&gt; 号"
    assert text_of(body, "card-union") == "浔阳区总工会 &amp; &lt;i&gt;职工&lt;/i&gt;"
    assert text_of(body, "card-hours") == "周一至周五 09:00-17:00；法定节假日休息"
    assert text_of(body, "card-amenities") == "饮水、微波炉热饭"
    assert text_of(body, "card-phone") == "0792-1234567" and text_of(body, "card-type") == "爱心驿站"
    assert 'id="card-demo"' not in body  # a real station is not called demo
    url = f"http://testserver/finder?station={station}&amp;lon=115.990000&amp;lat=29.710000"
    assert text_of(body, "card-url") == url
    assert "@page { size: A5" in body and re.search(r'<div class="card-qr"[^>]*><svg viewBox="0 0 \d+ \d+"', body)


def test_a4_public_url_demo_and_missing(client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in(client, session)
    demo = session.execute(text(
        "SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM station WHERE is_demo AND deleted_at IS NULL "
        "ORDER BY id LIMIT 1")).one()
    settings = client.app.state.settings  # type: ignore[attr-defined]
    monkeypatch.setattr(client.app.state, "settings",  # type: ignore[attr-defined]
                        settings.model_copy(update={"public_url": "https://map.example.org/jj"}))
    page = client.get(f"/edit/stations/{demo.id}/card", params={"size": "a4"})
    assert page.status_code == 200 and "@page { size: A4" in page.text and "card-a4" in page.text
    assert "演示数据" in text_of(page.text, "card-demo")
    assert html.unescape(text_of(page.text, "card-url")) == finder_station_url(
        "https://map.example.org/jj", demo.id, demo.lon, demo.lat)
    assert client.get("/edit/stations/999999999/card").status_code == 404
    assert client.get(f"/edit/stations/{demo.id}/card", params={"size": "letter"}).status_code == 422
