"""The history page in Chromium: a readable diff, undo as a new change by the signed-in editor,
delete and restore; hostile text shown literally, no dialog, axe-clean, at desktop and phone sizes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyproj
import pytest

from tests.browser.conftest import Editor, PageFactory, axe_violations

pytestmark = [pytest.mark.db, pytest.mark.browser]

HOSTILE = "<img src=x onerror=alert(1)>"
START, MOVED = [115.99, 29.71], [115.9915, 29.7108]


def api(base_url: str, editor: Editor, method: str, path: str, *, version: int | None = None,
        json: dict | None = None) -> dict | list:
    """A call to the live server's API with the editor's key; its JSON answer."""
    import httpx  # a test extra

    headers = {"Authorization": f"Bearer {editor.key}"} | ({"If-Match": f'"{version}"'} if version else {})
    answer = httpx.request(method, f"{base_url}/api/v1{path}", headers=headers, json=json, timeout=30)
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else {}


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_history_undo_and_restore_in_the_browser(page: PageFactory, editor: Editor,
                                                 registry_rows: Callable[[str], None], screenshot_dir: Path,
                                                 phone: bool) -> None:
    tab = page(phone=phone)
    base = tab.base_url
    created = api(base, editor, "POST", "/stations", json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": START},
        "properties": {"type_code": "love_station", "name": HOSTILE, "opening_hours": "Mo-Fr 09:00-17:00"}})
    station = created["id"]  # type: ignore[call-overload]
    api(base, editor, "PATCH", f"/stations/{station}", version=1, json={
        "geometry": {"type": "Point", "coordinates": MOVED}, "properties": {"name": "甘棠湖爱心驿站"}})

    editor.sign_in(tab)
    tab.goto(f"/edit/stations/{station}/history")
    cards = tab.page.locator(".history-change")
    assert cards.count() == 2 and cards.nth(0).get_attribute("data-action") == "update"
    newest = cards.nth(0)
    assert newest.locator(".history-action").inner_text() == "修改"
    assert newest.locator(".history-who").inner_text() == editor.name
    changed_at = api(base, editor, "GET", f"/stations/{station}/history")[-1]["changed_at"]  # type: ignore[index]
    local = datetime.fromisoformat(changed_at).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert newest.locator("time").inner_text() == local
    name_row = newest.locator('tr[data-field="name"]')
    assert name_row.locator("th").inner_text() == "名称"
    assert name_row.locator(".history-before").inner_text() == HOSTILE  # literally, as text
    assert name_row.locator(".history-after").inner_text() == "甘棠湖爱心驿站"
    _, _, metres = pyproj.Geod(ellps="WGS84").inv(*START, *MOVED)
    moved = float(newest.locator('tr[data-field="geom"] .history-moved-m').inner_text())
    assert moved == pytest.approx(metres, abs=0.05) and 150 < moved < 200
    hours = cards.nth(1).locator('tr[data-field="opening_hours"] .history-after')
    assert hours.inner_text() == "周一至周五 09:00-17:00"
    assert tab.page.locator("img").count() == 0
    assert axe_violations(tab.page) == []
    if phone:
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= 360
    tab.page.screenshot(path=screenshot_dir / f"editor-history-{'phone' if phone else 'desktop'}.png", full_page=True)

    # The confirmation is in the page, by keyboard too: Escape closes it and gives focus back.
    undo = newest.locator(".history-undo")
    undo.focus()
    tab.page.keyboard.press("Enter")
    assert newest.locator(".history-confirm").is_visible()
    assert tab.page.evaluate("document.activeElement.className") == "history-confirm-yes"
    assert axe_violations(tab.page) == []
    tab.page.keyboard.press("Escape")
    assert not newest.locator(".history-confirm").is_visible()
    assert undo.get_attribute("aria-expanded") == "false"
    undo.click()
    with tab.page.expect_navigation():
        newest.locator(".history-confirm-yes").click()
    top = tab.page.locator(".history-change").nth(0)
    assert top.get_attribute("data-action") == "undo" and top.locator(".history-action").inner_text() == "撤销"
    assert top.locator(".history-who").inner_text() == editor.name
    assert top.locator('tr[data-field="name"] .history-after').inner_text() == HOSTILE
    stored = api(base, editor, "GET", f"/stations/{station}")["features"][0]  # type: ignore[call-overload]
    assert stored["properties"]["name"] == HOSTILE
    assert stored["geometry"]["coordinates"] == pytest.approx(START, abs=1e-8)
    last = api(base, editor, "GET", f"/stations/{station}/history")[-1]  # type: ignore[index]
    assert (last["action"], last["changed_by"]) == ("undo", f"key:{editor.name}")

    # Deleted elsewhere; the page offers to restore it.
    api(base, editor, "DELETE", f"/stations/{station}", version=3)
    tab.goto(f"/edit/stations/{station}/history")
    assert tab.page.locator(".history-change").nth(0).locator(".history-action").inner_text() == "删除"
    assert axe_violations(tab.page) == []
    with tab.page.expect_navigation():
        tab.page.click("#history-restore")
    top = tab.page.locator(".history-change").nth(0)
    assert top.locator(".history-action").inner_text() == "恢复"
    assert top.locator(".history-who").inner_text() == editor.name and tab.page.locator("#history-restore").count() == 0
    back = api(base, editor, "GET", f"/stations/{station}")["features"][0]  # type: ignore[call-overload]
    assert back["properties"]["version"] == 5
    assert tab.page.get_attribute("#history-edit-link", "href") == f"/edit/stations/{station}"
    assert tab.console_errors == [] and tab.dialogs == [] and tab.blocked == []
