"""Issue 14's whole path in Chromium, at a desk and on a phone: a county planner keeps the registry
correct from a browser, a rider flags a problem in two taps, and every change and report is
recorded with who made it.

Sign in; create a station by pasting GCJ-02 coordinates (the stored WGS-84 point within 1 m of
geo.core.crs's conversion); edit its hours; a second browser saves first and the conflict is
merged field by field; undo the merge; upload a file with one bad row (the row is named, nothing
changes); print the station's card (its QR code decodes to the station's finder URL); a rider
opens that URL on a phone and reports the station closed; the planner resolves it from the inbox.
Each slice has its own, finer tests; this one checks that they join up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from geo.core import crs
from tests.browser.conftest import Editor, PageFactory, axe_violations
from tests.editor import stored_station as stored

if TYPE_CHECKING:
    from tests.browser.conftest import BrowserPage

pytestmark = [pytest.mark.db, pytest.mark.browser]

GCJ02_FROM_AMAP = (116.0, 29.708)  # a point copied from Amap, in 浔阳区
EXPECTED_ERRORS = ("status of 412",)  # the conflict's own answer, which Chromium logs as a failed resource


def history(base_url: str, station_id: int) -> list[dict[str, Any]]:
    answer = httpx.get(f"{base_url}/api/v1/stations/{station_id}/history", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def clean(tab: BrowserPage, phone: bool) -> None:
    """axe-clean, nothing wider than a phone, no dialog, no other host, no unexpected console error."""
    assert axe_violations(tab.page) == []
    if phone:
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= 360
    assert tab.dialogs == [] and tab.blocked == []
    assert [e for e in tab.console_errors if not any(expected in e for expected in EXPECTED_ERRORS)] == []


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_a_planner_keeps_the_registry_and_a_rider_flags_a_problem(
        page: PageFactory, editor: Editor, registry_rows: Callable[[str], None], screenshot_dir: Path,
        phone: bool) -> None:
    import zxingcpp
    from PIL import Image
    from playwright.sync_api import expect

    size = "phone" if phone else "desktop"
    marker = f"{time.monotonic_ns() % 10**9}"
    name = f"全程驿站{marker}"
    tab = page(phone=phone)
    editor.sign_in(tab)
    base = tab.base_url

    # 1. Create, pasting Amap's GCJ-02 coordinates.
    tab.page.click("#new-station")
    tab.page.wait_for_url("**/edit/stations/new")
    tab.page.fill("#f-name", name)
    tab.page.select_option("#coord-datum", "gcj02")
    tab.page.fill("#coord-text", f"{GCJ02_FROM_AMAP[0]}, {GCJ02_FROM_AMAP[1]}")
    tab.page.click("#coord-go")
    expect(tab.page.locator("#point-place")).to_contain_text("浔阳区")
    tab.page.click("#save")
    tab.page.wait_for_url("**/edit/stations/*?saved=1")
    station_id = int(tab.page.url.rsplit("/", 1)[1].split("?")[0])
    created = stored(base, station_id)
    expected = crs.convert(*GCJ02_FROM_AMAP, source="gcj02", target="wgs84")
    assert float(crs.distance_m(created["lon"], created["lat"], *expected)) < 1.0
    assert created["version"] == 1 and created["name"] == name
    clean(tab, phone)

    # 2. Its hours: open around the clock (so the finder lists it whatever the hour of the test).
    tab.page.check("#hours-always")
    expect(tab.page.locator("#hours-text")).to_contain_text("24小时开放")
    tab.page.click("#save")
    expect(tab.page.locator("#save-status")).to_contain_text("版本 2")
    assert stored(base, station_id)["opening_hours"]["always_open"] is True

    # 3. A second planner saves a new name first; this one's phone number meets a 412 and is merged.
    other = page(phone=phone)
    editor.sign_in(other)
    other.goto(f"/edit/stations/{station_id}")
    other.page.fill("#f-name", f"{name}（改）")
    other.page.click("#save")
    expect(other.page.locator("#save-status")).to_contain_text("版本 3")
    tab.page.fill("#f-phone", "0792-8888888")
    tab.page.click("#save")
    expect(tab.page.locator("#conflict")).to_be_visible()
    assert stored(base, station_id)["phone"] in (None, "")  # nothing overwritten while the planner decides
    tab.page.click("#conflict-merge")  # theirs for the name, mine for the phone: each changed on one side only
    expect(tab.page.locator("#save-status")).to_contain_text("版本 4")
    merged = stored(base, station_id)
    assert (merged["name"], merged["phone"], merged["version"]) == (f"{name}（改）", "0792-8888888", 4)
    clean(tab, phone)
    clean(other, phone)

    # 4. Undo the merge from the history: the phone goes, as a new change by this planner.
    tab.page.click("#history-link")
    tab.page.wait_for_url(f"**/edit/stations/{station_id}/history")
    newest = tab.page.locator(".history-change").first
    expect(newest.locator("tr[data-field=phone] .history-after")).to_contain_text("0792-8888888")
    newest.locator(".history-undo").click()
    newest.locator(".history-confirm-yes").click()
    expect(tab.page.locator(".history-change").first).to_have_attribute("data-action", "undo")
    undone = stored(base, station_id)
    assert undone["phone"] in (None, "") and undone["name"] == f"{name}（改）" and undone["version"] == 5
    actions = [(entry["action"], entry["changed_by"]) for entry in history(base, station_id)]
    assert actions[-1] == ("undo", f"key:{editor.name}") and len(actions) == 5
    clean(tab, phone)

    # 5. A file with one bad row: the row and field are named, nothing is imported.
    tab.goto("/edit/bulk")
    rows = (f"type_code,name,lon,lat\nlove_station,批量好行{marker},115.99,29.71\n"
            f"love_station,批量坏行{marker},999,29.71\n").encode()
    tab.page.set_input_files("#bulk-file", files=[{"name": "stations.csv", "mimeType": "text/csv", "buffer": rows}])
    tab.page.click("#bulk-check")
    tab.page.wait_for_selector("#bulk-errors tbody tr")
    errors = tab.page.locator("#bulk-errors tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))")
    assert [row[:2] for row in errors] == [["3", "经度 lon"]]
    assert tab.page.is_disabled("#bulk-apply")
    found = httpx.get(f"{base}/api/v1/stations", params={"q": f"批量好行{marker}"}, timeout=30).json()
    assert found["features"] == []
    clean(tab, phone)

    # 6. The printed card's QR code is the station's finder address.
    tab.goto(f"/edit/stations/{station_id}/card")
    shot = screenshot_dir / f"whole-path-qr-{size}.png"
    tab.page.locator("#card-qr").screenshot(path=shot)
    decoded = [code.text for code in zxingcpp.read_barcodes(Image.open(shot))]
    finder_url = f"{base}/finder?station={station_id}&lon={undone['lon']:.6f}&lat={undone['lat']:.6f}"
    assert decoded == [finder_url]
    clean(tab, phone)

    # 7. A rider scans it and reports the station closed: two taps.
    rider = page(phone=True)
    rider.page.goto(decoded[0])
    card = rider.page.locator("#results li.station").first
    expect(card).to_contain_text(f"{name}（改）")
    card.get_by_role("button", name="报告问题").click()
    card.get_by_role("button", name="已关闭").click()
    expect(card.locator(".report-done")).to_have_text("已收到，工会工作人员会核实")
    clean(rider, True)

    # 8. The planner resolves it from the inbox; who did is recorded.
    tab.goto("/edit/reports")
    group = tab.page.locator(f".report-group[data-station='{station_id}']")
    expect(group.locator(".report-count[data-kind=closed]")).to_have_text("已关闭 1")
    group.locator("input[name=note]").fill("已电话核实")
    group.get_by_role("button", name="已处理").click()
    expect(group.locator(".report-outcome")).to_contain_text(editor.name)
    clean(tab, phone)
    tab.page.screenshot(path=screenshot_dir / f"whole-path-inbox-{size}.png", full_page=True)
