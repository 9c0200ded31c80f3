"""A station's riders' reports in Chromium: listed on its history page (hostile text as text),
counted and flagged on its edit form; axe-clean, no horizontal scroll on a phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.browser.conftest import Editor, PageFactory, axe_violations
from tests.browser.test_editor_history import HOSTILE, START, api

pytestmark = [pytest.mark.db, pytest.mark.browser]

LONG = "水龙头坏了" * 30  # 150 characters without a space: must wrap at 360 px


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_reports_on_the_history_page_and_the_form(page: PageFactory, editor: Editor,
                                                  registry_rows: Callable[[str], None], screenshot_dir: Path,
                                                  phone: bool) -> None:
    tab = page(phone=phone)
    created = api(tab.base_url, editor, "POST", "/stations", json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": START},
        "properties": {"type_code": "love_station", "name": "甘棠驿站", "opening_hours": "Mo-Fr 09:00-17:00"}})
    station = created["id"]  # type: ignore[call-overload]
    # Deleted with the station at the test's end (registry_rows).
    registry_rows(f"INSERT INTO station_report (station_id, kind, note, client_hash, created_at, resolution, "
                  f"resolved_by, resolved_at, resolution_note) VALUES ({station}, 'no_water', '{LONG}', "
                  f"'{'a' * 64}', now() - interval '2 hours', 'dismissed', 'key:{editor.name}', "
                  f"now() - interval '1 hour', '重复报告')")
    for number, note in enumerate((HOSTILE, "")):
        registry_rows(f"INSERT INTO station_report (station_id, kind, note, client_hash) VALUES ({station}, "
                      f"'closed', $${note}$$, '{str(number) * 64}')")

    editor.sign_in(tab)
    tab.goto(f"/edit/stations/{station}/history")
    items = tab.page.locator(".history-report")
    assert items.count() == 3
    assert [items.nth(n).get_attribute("data-outcome") for n in range(3)] == ["open", "open", "dismissed"]
    assert items.nth(1).locator(".history-report-note").inner_text() == HOSTILE
    assert tab.page.locator("img").count() == 0 and tab.dialogs == []
    settled = items.nth(2)
    assert settled.locator(".history-report-outcome").inner_text() == "已忽略"
    assert settled.locator(".history-report-who").inner_text() == editor.name
    assert settled.locator(".history-report-resolution-note").inner_text() == "重复报告"
    assert axe_violations(tab.page) == []
    if phone:
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= 360
    tab.page.screenshot(path=screenshot_dir / f"editor-history-reports-{'phone' if phone else 'desktop'}.png",
                        full_page=True)

    tab.goto(f"/edit/stations/{station}")
    line = tab.page.locator("#station-reports")
    assert line.locator("a").inner_text() == "有 2 条待处理的骑手报告"
    assert line.locator("a").get_attribute("href") == "/edit/reports"
    assert line.locator("#station-needs-check").inner_text() == "需核实"  # two clients said closed (the default 2)
    assert axe_violations(tab.page) == []
    if phone:
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= 360
    assert tab.console_errors == []
