"""Riders' reports in Chromium: two taps in the finder on a phone, then the planner's inbox on a desk."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from api.app import create_app
from geo.notices import REPORTED_CLOSED
from geo.services.reports import RECEIVED
from tests.browser.conftest import Editor, PageFactory, axe_violations, pages_on, serve_in_thread

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route

httpx = pytest.importorskip("httpx")
expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = [pytest.mark.db, pytest.mark.browser]

XUNYANG = (115.99, 29.71)
HOSTILE = ("<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>")


@pytest.fixture
def reports_db(registry_rows: Callable[[str], None], test_settings: Any) -> Iterator[Callable[[str], list[Any]]]:
    """``query(sql)`` on the live server's database; the reports the test made are deleted at its end
    (they would flag demo stations for other tests, and count against 127.0.0.1's hourly limit)."""
    from sqlalchemy import text

    from geo.store import db

    engine = db.make_engine(test_settings)

    def query(statement: str) -> list[Any]:
        with engine.begin() as connection:
            result = connection.execute(text(statement))
            return list(result.all()) if result.returns_rows else []

    before = query("SELECT coalesce(max(id), 0) FROM station_report")[0][0]
    try:
        yield query
    finally:
        query(f"DELETE FROM station_report WHERE id > {int(before)}")
        engine.dispose()


@pytest.fixture(scope="module")
def reports_server(test_settings: Any) -> Iterator[str]:
    """The app on the live server's database, re-reading the flagged stations on every search
    (``reported_closed_refresh_s`` 0): the test sets flags by SQL, not through a server process."""
    settings = test_settings.model_copy(update={"reported_closed_refresh_s": 0.0, "trusted_hosts": ["127.0.0.1"]})
    with serve_in_thread(create_app(settings), "reports-server") as base_url:
        yield base_url


@pytest.fixture
def report_page(browser: Browser, reports_server: str) -> Iterator[PageFactory]:
    yield from pages_on(browser, reports_server)


def nearest_ids(base_url: str, **params: Any) -> list[int]:
    answer = httpx.get(f"{base_url}/api/v1/stations/nearest", timeout=30,
                       params={"lon": XUNYANG[0], "lat": XUNYANG[1], "limit": 5} | params)
    return [station["id"] for station in answer.json()["stations"]]


def test_report_from_the_finder_then_resolve_in_the_inbox(report_page: PageFactory, editor: Editor,
                                                          reports_server: str,
                                                          reports_db: Callable[[str], list[Any]],
                                                          screenshot_dir: Path) -> None:
    page = report_page
    # A station of another type than the finder's default, flagged by two riders' hostile texts.
    station = nearest_ids(reports_server, type="workers_home")[0]
    for number, note in enumerate(HOSTILE):
        reports_db(f"INSERT INTO station_report (station_id, kind, note, client_hash) VALUES ({station}, 'closed', "
                   f"$${note}$$, '{str(number) * 64}')")

    finder = page(phone=True)  # opened from a printed card's QR: the station first, whatever the filters
    finder.goto(f"/finder?station={station}&lon={XUNYANG[0]}&lat={XUNYANG[1]}")
    card = finder.page.locator("#results li.station").first
    expect(card).to_have_attribute("data-id", str(station))
    expect(card).to_have_class("station pinned")
    expect(card.locator(".reported")).to_have_text(f"⚠ {REPORTED_CLOSED.label_zh}")
    card.get_by_role("button", name="报告问题").click()  # tap 1
    expect(card.locator(".report-panel")).to_be_visible()
    expect(card.locator(".report-panel input")).to_have_attribute("maxlength", "200")
    assert axe_violations(finder.page) == []
    assert finder.page.evaluate("document.documentElement.scrollWidth") <= 360
    finder.page.screenshot(path=screenshot_dir / "finder-report-panel.png")
    card.get_by_role("button", name="已关闭").click()  # tap 2
    expect(card.locator(".report-done")).to_have_text(RECEIVED)
    finder.page.screenshot(path=screenshot_dir / "finder-report-sent.png")
    rows = reports_db(f"SELECT kind, note, length(client_hash) FROM station_report WHERE station_id = {station} "
                      "AND note = ''")
    assert rows == [("closed", "", 64)]
    assert finder.console_errors == [] and finder.dialogs == [] and finder.blocked == []

    desk = page()
    editor.sign_in(desk)
    desk.goto("/")
    waiting = reports_db("SELECT count(*) FROM station_report r JOIN station s ON s.id = r.station_id "
                         "WHERE r.resolution IS NULL AND s.deleted_at IS NULL")[0][0]
    assert waiting >= 3
    inbox_link = desk.page.locator("#editor-reports a[href='/edit/reports']")
    expect(inbox_link).to_have_text(f"待处理的骑手报告 {waiting}")
    inbox_link.click()
    desk.page.wait_for_url("**/edit/reports")
    group = desk.page.locator(f".report-group[data-station='{station}']")
    expect(group.locator(".report-flag")).to_have_text("需核实")
    expect(group.locator(".report-count[data-kind=closed]")).to_have_text("已关闭 3")
    assert group.locator(".report-note").all_inner_texts() == [HOSTILE[1], HOSTILE[0]]  # newest first, as text
    expect(group.locator("a", has_text="编辑站点")).to_have_attribute("href", f"/edit/stations/{station}")
    assert axe_violations(desk.page) == []
    desk.page.screenshot(path=screenshot_dir / "edit-reports-desktop.png", full_page=True)
    phone = page(phone=True)  # the inbox on a phone: nothing wider than the screen
    editor.sign_in(phone)
    phone.goto("/edit/reports")
    expect(phone.page.locator(f".report-group[data-station='{station}'] .report-flag")).to_be_visible()
    assert phone.page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_violations(phone.page) == [] and phone.console_errors == []
    phone.page.screenshot(path=screenshot_dir / "edit-reports-phone.png", full_page=True)
    group.locator("input[name=note]").fill("已电话核实，照常开放")
    group.get_by_role("button", name="已处理").click()
    expect(group.locator(".report-outcome")).to_have_text(f"已处理 3 条（{editor.name}）")
    settled = reports_db(f"SELECT DISTINCT resolution, resolved_by, resolution_note, resolved_at IS NOT NULL "
                         f"FROM station_report WHERE station_id = {station}")
    assert settled == [("resolved", f"key:{editor.name}", "已电话核实，照常开放", True)]
    assert desk.console_errors == [] and desk.dialogs == [] and desk.blocked == []
    desk.page.reload()
    expect(desk.page.locator(f".report-group[data-station='{station}']")).to_have_count(0)  # settled: gone


def test_the_finder_says_plainly_when_a_report_fails(page: PageFactory, live_server: str,
                                                     reports_db: Callable[[str], list[Any]]) -> None:
    finder = page(phone=True)
    answers = iter([
        lambda route: route.fulfill(status=429, headers={"Retry-After": "1200"}, content_type="application/json",
                                    body='{"detail": "你这一小时的报告已达 5 条，请 20 分钟后再试"}'),
        lambda route: route.abort("internetdisconnected"),
    ])

    def refuse(route: Route) -> None:
        next(answers)(route)

    before = reports_db("SELECT count(*) FROM station_report")[0][0]
    finder.page.route("**/api/v1/stations/*/reports", refuse)
    finder.goto(f"/finder?lon={XUNYANG[0]}&lat={XUNYANG[1]}")
    finder.page.wait_for_selector("#status.ok, #status.empty")
    if finder.page.locator("#results li.station").count() == 0:  # nothing open at this hour
        finder.page.locator("#open-now").uncheck()
    card = finder.page.locator("#results li.station").first
    card.get_by_role("button", name="报告问题").click()
    card.get_by_role("button", name="没有饮水").click()
    expect(card.locator(".report-result")).to_have_text("报告没有发出：你这一小时的报告已达 5 条，请 20 分钟后再试")
    card.get_by_role("button", name="其他").click()
    expect(card.locator(".report-result")).to_have_text("网络不通，报告没有发出，请稍后再试")
    expect(card.get_by_role("button", name="其他")).to_be_enabled()  # the rider may try again
    assert reports_db("SELECT count(*) FROM station_report")[0][0] == before  # nothing reached the server
    errors = [error for error in finder.console_errors if "429" not in error and "ERR_INTERNET" not in error]
    assert errors == [] and finder.dialogs == []
