"""Find, create and edit a station in Chromium, at a desk and on a phone, with a conflict.

The planner signs in, searches, creates a station by pasting GCJ-02 coordinates from Amap (the
stored WGS-84 point within 1 m of geo.core.crs's conversion), edits a field; a second planner in
another browser saves first, and the first resolves the 412 field by field. A name that is an
HTML payload shows as text in the list, the map's tooltip and popup, and the form. Every state is
axe-clean, nothing is wider than the phone, no console error, no dialog, no other host.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from geo.core import crs
from tests.browser.conftest import Editor, PageFactory, axe_violations
from tests.editor import stored_station as stored

if TYPE_CHECKING:
    from tests.browser.conftest import BrowserPage

pytestmark = [pytest.mark.db, pytest.mark.browser]

HOSTILE = "<img src=x onerror=alert(1)>"
WGS84_POINT = (115.99, 29.71)  # in 浔阳区 · 滨兴街道


def fits(tab: BrowserPage, phone: bool) -> None:
    """axe-clean, and on a phone nothing wider than its 360 px."""
    assert axe_violations(tab.page) == []
    if phone:
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= 360


def only_expected_errors(tab: BrowserPage) -> list[str]:
    """Console errors but the conflict's own 412, which Chromium logs as a failed resource."""
    return [error for error in tab.console_errors if "status of 412" not in error]


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_find_create_edit_and_merge_a_conflict(page: PageFactory, editor: Editor, registry_rows: Callable[[str], None],
                                               screenshot_dir: Path, phone: bool) -> None:
    from playwright.sync_api import expect

    tab = page(phone=phone)
    editor.sign_in(tab)
    expect(tab.page.locator("#station-count")).to_contain_text("找到")
    total = tab.page.locator("#station-count").inner_text()
    fits(tab, phone)

    # Choosing a county offers only its townships.
    county = tab.page.locator("#search-county option").nth(2).get_attribute("value")
    tab.page.select_option("#search-county", county)
    offered = tab.page.locator("#search-township optgroup").evaluate_all("gs => gs.map(g => g.dataset.county)")
    assert offered == [county]
    tab.page.select_option("#search-county", "")
    assert tab.page.locator("#search-township optgroup").count() > 10

    # Search: a township's stations only.
    tab.page.fill("#search-q", "滨兴街道")
    tab.page.click("#station-search button[type=submit]")
    tab.page.wait_for_function("total => { const text = document.getElementById('station-count').textContent;"
                               " return text.startsWith('找到') && text !== total; }", arg=total)
    names = tab.page.locator("#station-list .station-item-name a").all_inner_texts()
    assert names and all("滨兴街道" in name for name in names)
    assert "q=%E6%BB%A8" in tab.page.url  # the search is in the address, for back and reload

    # Create, pasting Amap (GCJ-02) coordinates.
    tab.page.click("#new-station")
    tab.page.wait_for_url("**/edit/stations/new")
    marker = f"{time.monotonic_ns() % 10**9}"
    name = f"{HOSTILE}驿站{marker}"
    gcj = [round(float(value), 6) for value in crs.convert(*WGS84_POINT, source="wgs84", target="gcj02")]
    tab.page.fill("#f-name", name)
    tab.page.fill("#f-address", "浔阳区滨兴路 1 号")
    tab.page.check("input[name=amenities][value=water]")
    for day in ("mon", "tue", "wed", "thu", "fri"):  # the hours editor's default span is 09:00-17:00
        tab.page.check(f"#hours-{day}-open")
    tab.page.select_option("#coord-datum", "gcj02")
    tab.page.fill("#coord-text", f"{gcj[0]}, {gcj[1]}")
    tab.page.click("#coord-go")
    expect(tab.page.locator("#point-place")).to_contain_text("滨兴街道")
    expect(tab.page.locator("#point-place")).to_contain_text("浔阳区")
    fits(tab, phone)
    tab.page.click("#save")
    tab.page.wait_for_url("**/edit/stations/*?saved=1")
    station_id = int(tab.page.url.rsplit("/", 1)[1].split("?")[0])
    saved = stored(tab.base_url, station_id)
    expected = crs.convert(gcj[0], gcj[1], source="gcj02", target="wgs84")
    assert float(crs.distance_m(saved["lon"], saved["lat"], *expected)) < 1.0
    assert saved["name"] == name and saved["amenities"] == ["water"] and saved["township_code"] == "360403008"
    assert saved["opening_hours_text"].startswith("周一至周五 09:00-17:00")
    assert tab.page.input_value("#f-name") == name  # the payload is a value, not markup

    # The hostile name is text in the list, the tooltip and the popup.
    tab.goto(f"/edit?q={marker}")
    expect(tab.page.locator("#station-count")).to_contain_text("找到 1 个")
    assert tab.page.locator("#station-list .station-item-name a").inner_text() == name
    tab.page.locator("#stations-map path.leaflet-interactive").first.hover()
    expect(tab.page.locator(".leaflet-tooltip")).to_have_text(name)
    tab.page.locator("#stations-map path.leaflet-interactive").first.click()
    expect(tab.page.locator(".leaflet-popup-content a")).to_have_text(name)
    assert tab.page.locator("img[src=x]").count() == 0

    # Edit one field.
    tab.goto(f"/edit/stations/{station_id}")
    tab.page.fill("#f-address", "浔阳区滨兴路 2 号")
    tab.page.click("#save")
    expect(tab.page.locator("#save-status")).to_contain_text("版本 2")
    assert stored(tab.base_url, station_id)["address"] == "浔阳区滨兴路 2 号"

    # Another planner saves first: a new name (theirs only) and a phone (both change it).
    other = page(phone=phone)
    editor.sign_in(other)
    other.goto(f"/edit/stations/{station_id}")
    other.page.fill("#f-name", f"对方改名{marker}")
    other.page.fill("#f-phone", "0792-1111111")
    other.page.click("#save")
    expect(other.page.locator("#save-status")).to_contain_text("版本 3")

    # Mine, from version 2: the phone (both) and the managing union (mine only).
    tab.page.fill("#f-phone", "0792-2222222")
    tab.page.fill("#f-managing_union", "浔阳区总工会")
    tab.page.click("#save")
    conflict = tab.page.locator("#conflict")
    expect(conflict).to_be_visible()
    rows = conflict.locator("tbody tr")
    assert sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.field)")) == [
        "managing_union", "name", "phone"]
    assert conflict.locator('input[name="pick-name"][value="theirs"]').is_checked()
    assert conflict.locator('input[name="pick-managing_union"][value="mine"]').is_checked()
    assert not conflict.locator('input[name="pick-phone"]:checked').count()
    assert "conflict-both" in (conflict.locator('tr[data-field="phone"]').get_attribute("class") or "")
    assert stored(tab.base_url, station_id)["phone"] == "0792-1111111"  # nothing overwritten yet
    fits(tab, phone)
    tab.page.screenshot(path=screenshot_dir / f"editor-conflict-{'phone' if phone else 'desktop'}.png", full_page=True)
    tab.page.click("#conflict-merge")
    expect(tab.page.locator("#conflict-error")).to_contain_text("电话")
    tab.page.check('input[name="pick-phone"][value="mine"]')
    tab.page.click("#conflict-merge")
    expect(tab.page.locator("#save-status")).to_contain_text("版本 4")
    expect(conflict).to_be_hidden()
    merged = stored(tab.base_url, station_id)
    assert (merged["name"], merged["phone"], merged["managing_union"], merged["address"]) == (
        f"对方改名{marker}", "0792-2222222", "浔阳区总工会", "浔阳区滨兴路 2 号")
    assert merged["version"] == 4
    assert tab.page.input_value("#f-name") == f"对方改名{marker}"  # the form shows what was saved

    # Soft delete after an in-page confirmation (no window.confirm).
    tab.page.click("#delete")
    expect(tab.page.locator("#delete-confirm")).to_be_visible()
    fits(tab, phone)
    tab.page.click("#delete-no")
    expect(tab.page.locator("#delete-confirm")).to_be_hidden()
    tab.page.click("#delete")
    tab.page.click("#delete-yes")
    tab.page.wait_for_url(f"**/edit?deleted={station_id}")
    assert httpx.get(f"{tab.base_url}/api/v1/stations/{station_id}", timeout=30).status_code == 404

    for each in (tab, other):
        assert only_expected_errors(each) == [] and each.dialogs == [] and each.blocked == []
