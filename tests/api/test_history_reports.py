"""A station's riders' reports on its history page, and its open count on its edit form."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.editor import sign_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

XUNYANG = (115.99, 29.71)
HOSTILE = "<img src=x onerror=alert(1)></li><script>alert(1)</script>"
PLANNER = "濂溪区规划员"


def rider(client: TestClient, address: str) -> TestClient:
    """The same app as seen from another client address."""
    from fastapi.testclient import TestClient

    return TestClient(client.app, client=(address, 40000))


def a_station(client: TestClient) -> int:
    answer = client.get("/api/v1/stations/nearest", params={"lon": XUNYANG[0], "lat": XUNYANG[1], "limit": 1})
    assert answer.status_code == 200, answer.text
    return int(answer.json()["stations"][0]["id"])


def report(client: TestClient, station_id: int, kind: str, note: str | None, address: str) -> int:
    body: dict = {"kind": kind} | ({"note": note} if note is not None else {})
    answer = rider(client, address).post(f"/api/v1/stations/{station_id}/reports", json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def entries(html: str) -> dict[int, str]:
    """The history page's report items by report id, in page order (each item's HTML)."""
    section = html.split('id="history-reports"', 1)[1]
    return {int(found.group(1)): found.group(2) for found in
            re.finditer(r'<li class="history-report" id="report-(\d+)"(.*?)</li>', section, re.S)}


def local(session: Session, report_id: int, column: str) -> str:
    moment = session.execute(text(f"SELECT {column} FROM station_report WHERE id = :id"),
                             {"id": report_id}).scalar_one()
    return str(moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M"))


def test_the_history_page_lists_the_stations_reports_with_their_outcome(client: TestClient,
                                                                        session: Session) -> None:
    station = a_station(client)
    older = report(client, station, "no_water", "水龙头坏了", "198.51.100.1")
    hostile = report(client, station, "other", HOSTILE, "198.51.100.2")
    headers = sign_in(client, session, name=PLANNER)
    done = client.post(f"/api/v1/reports/{older}/resolve", json={"note": "已电话核实，已修好"}, headers=headers)
    assert done.status_code == 200, done.text
    newest = report(client, station, "closed", None, "198.51.100.3")

    page = client.get(f"/edit/stations/{station}/history")
    assert page.status_code == 200, page.text
    assert "骑手报告 / <span lang=\"en\">riders' reports</span>" in page.text
    items = entries(page.text)
    assert list(items) == [newest, hostile, older]  # newest first

    resolved = items[older]
    assert 'data-outcome="resolved"' in resolved and "没有饮水" in resolved and "水龙头坏了" in resolved
    assert f'<span class="history-report-outcome">已处理</span>（<span class="history-report-who">{PLANNER}</span>' \
        in resolved
    assert "key:" not in page.text
    assert local(session, older, "created_at") in resolved and local(session, older, "resolved_at") in resolved
    assert '<span class="history-report-resolution-note">已电话核实，已修好</span>' in resolved

    assert 'data-outcome="open"' in items[newest] and "已关闭" in items[newest] and "待处理" in items[newest]
    assert "history-report-who" not in items[newest] and "骑手未填写说明" in items[newest]
    assert "待处理" in items[hostile] and "其他" in items[hostile]


def test_a_hostile_report_text_is_shown_literally_not_as_markup(client: TestClient, session: Session) -> None:
    station = a_station(client)
    hostile = report(client, station, "other", HOSTILE, "198.51.100.9")
    sign_in(client, session)
    page = client.get(f"/edit/stations/{station}/history").text
    assert "<img src=x" not in page and "<script>alert" not in page
    assert ('<p class="history-report-note">&lt;img src=x onerror=alert(1)&gt;&lt;/li&gt;&lt;script&gt;alert(1)'
            '&lt;/script&gt;</p>') in entries(page)[hostile]


def test_a_station_without_reports_says_so(client: TestClient, session: Session) -> None:
    station = a_station(client)
    sign_in(client, session)
    page = client.get(f"/edit/stations/{station}/history").text
    assert 'id="history-no-reports"' in page and entries(page) == {}


def test_the_form_shows_the_open_reports_and_the_flag(client: TestClient, session: Session) -> None:
    station = a_station(client)
    headers = sign_in(client, session, name=PLANNER)
    form = client.get(f"/edit/stations/{station}")
    assert form.status_code == 200 and 'id="station-reports"' not in form.text

    flag = client.app.state.settings.closed_reports_to_flag  # type: ignore[attr-defined]
    first = report(client, station, "no_water", None, "203.0.113.1")
    for number in range(flag - 1):  # one "closed" client short of the flag
        report(client, station, "closed", None, f"203.0.113.{10 + number}")
    form = client.get(f"/edit/stations/{station}").text
    assert f'<a href="/edit/reports" id="station-reports-link">有 {flag} 条待处理的骑手报告</a>' in form
    assert "station-needs-check" not in form

    report(client, station, "closed", None, "203.0.113.99")
    done = client.post(f"/api/v1/reports/{first}/dismiss", headers=headers)
    assert done.status_code == 200, done.text
    form = client.get(f"/edit/stations/{station}").text
    assert f"有 {flag} 条待处理的骑手报告" in form  # one more, one dismissed
    assert '<strong id="station-needs-check">需核实</strong>' in form
