"""The printable station card in Chromium: the QR code decodes to the station's finder URL, a
hostile name shows as text, print media leaves only the card; axe-clean at desktop and phone sizes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from maps.links import finder_station_url
from tests.browser.conftest import Editor, PageFactory, axe_violations

pytestmark = [pytest.mark.db, pytest.mark.browser]

HOSTILE = '<img src=x onerror=alert(1)>"><script>alert(2)</script>驿站'
FEATURE = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [115.987654, 29.701234]},
           "properties": {"type_code": "love_station", "name": HOSTILE, "address": "<b>浔阳路</b>",
                          "opening_hours": "Mo-Sa 08:00-18:00; PH off", "amenities": ["water", "charging"],
                          "phone": "0792-8888888"}}


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_print_a_card_and_scan_its_qr_code(page: PageFactory, editor: Editor, registry_rows: Callable[[str], None],
                                           screenshot_dir: Path, phone: bool) -> None:
    import zxingcpp
    from PIL import Image

    tab = page(phone=phone)
    editor.sign_in(tab)
    created = tab.page.evaluate("f => window.unionmapEdit.request('POST', '/api/v1/stations', {body: f})", FEATURE)
    assert created["status"] == 201, created
    station = created["body"]["id"]
    tab.goto(f"/edit/stations/{station}/card")
    assert tab.page.inner_text("#card-name") == HOSTILE  # as text, never as markup
    assert tab.page.inner_text("#card-hours") == "周一至周六 08:00-18:00；法定节假日休息"
    assert tab.page.inner_text("#card-amenities") == "饮水、充电"
    expected = finder_station_url(tab.base_url, station, 115.987654, 29.701234)
    assert tab.page.inner_text("#card-url") == expected
    shot = screenshot_dir / f"card-qr-{'phone' if phone else 'desktop'}.png"
    tab.page.locator("#card-qr").screenshot(path=shot)
    found = zxingcpp.read_barcodes(Image.open(shot))
    assert [code.text for code in found] == [expected]
    assert axe_violations(tab.page) == []
    if phone:
        assert tab.page.evaluate("document.documentElement.scrollWidth") <= 360
    tab.page.screenshot(path=screenshot_dir / f"card-{'phone' if phone else 'desktop'}.png", full_page=True)
    tab.page.evaluate("window.print = () => { window.printed = true; }")  # no print dialog in a test
    tab.page.click("#card-print")
    assert tab.page.evaluate("window.printed") is True
    tab.page.emulate_media(media="print")
    for hidden in (".edit-bar", "nav", "button", "#edit-main > h1", ".card-tools"):
        assert tab.page.locator(hidden).evaluate_all("els => els.filter(e => e.offsetParent !== null).length") == 0
    assert tab.page.is_visible("#station-card") and tab.page.is_visible("#card-qr")
    assert tab.console_errors == [] and tab.dialogs == [] and tab.blocked == []


def test_a4_card_of_a_demo_station(page: PageFactory, editor: Editor, station_id: int) -> None:
    tab = page()
    editor.sign_in(tab)
    tab.goto(f"/edit/stations/{station_id}/card?size=a4")
    assert "演示数据" in tab.page.inner_text("#card-demo")
    assert tab.page.get_attribute(".card-sizes a[aria-current=page]", "href") == "?size=a4"
    width_mm = tab.page.evaluate("document.getElementById('card-qr').getBoundingClientRect().width") * 25.4 / 96
    assert width_mm == pytest.approx(75, abs=0.5)  # the A4 card's QR code, 75 mm wide on screen and paper
    assert axe_violations(tab.page) == []
    assert tab.console_errors == [] and tab.dialogs == [] and tab.blocked == []
