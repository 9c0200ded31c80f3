"""The shell every map page shares, in Chromium at 1366×768 and 360×640: a language, zoom allowed,
notices that fold to one line and can be dismissed for a session (never for good), panels and
legends that become buttons on a phone instead of vanishing, boxes that do not cover each other on
a desk, the station's details under its map, and downloads that need no server."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from geo.core import hours
from geo.notices import APPROXIMATE, DEMO, MODELLED, POSITION_UNKNOWN
from tests.browser.conftest import axe_violations

if TYPE_CHECKING:
    from playwright.sync_api import Locator

    from tests.browser.conftest import BrowserPage, PageFactory

httpx = pytest.importorskip("httpx")  # a test extra

pytestmark = pytest.mark.db

MAPS = {
    "stations": "/maps/stations",
    "coverage": "/maps/coverage?type=love_station",
    "gaps": "/maps/gaps",
    "plan": "/maps/plan?type=love_station&add=5",
    "station": "/maps/station/{station_id}",
}
PHONE_WIDTH, PHONE_HEIGHT = 360, 640
# Every box drawn over a map, Leaflet's controls among them, as viewport rectangles (visible ones only).
BOXES = """(selectors) => selectors.flatMap(selector => [...document.querySelectorAll(selector)]
  .map(element => ({selector, rect: element.getBoundingClientRect().toJSON()}))
  .filter(box => box.rect.width > 0 && box.rect.height > 0))"""
DESK_BOXES = ["#unionmap-notice", ".unionmap-panel", "#unionmap-legend", "#unionmap-station", ".leaflet-control-zoom",
              ".leaflet-control-layers", ".leaflet-control-attribution", ".leaflet-control-scale"]


def open_map(view: BrowserPage, path: str) -> None:
    response = view.goto(path)
    assert response.ok, f"{response.status}: {response.text()[:300]}"
    view.page.wait_for_selector(".leaflet-container")


def inside_viewport(box: dict, width: float, height: float) -> bool:
    return box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height


def overlap(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def line_height(locator: Locator) -> float:
    return float(locator.evaluate("element => parseFloat(getComputedStyle(element).lineHeight)"))


@pytest.mark.parametrize("name", list(MAPS))
def test_phone_page(page: PageFactory, station_id: int, name: str) -> None:
    """Language, zoom, attribution, a one-line notice, and every box reachable by a tap on a phone."""
    view = page(phone=True)
    open_map(view, MAPS[name].format(station_id=station_id))
    tab = view.page
    assert tab.evaluate("document.documentElement.lang") == "zh-CN"
    viewports = tab.evaluate("[...document.querySelectorAll('meta[name=viewport]')].map(meta => meta.content)")
    assert len(viewports) == 1 and "user-scalable=no" not in viewports[0] and "maximum-scale" not in viewports[0]
    assert "width=device-width" in viewports[0]
    attribution = tab.locator(".leaflet-control-attribution")
    assert attribution.inner_text().startswith("Leaflet") and attribution.locator("svg").count() == 0

    notice = tab.locator("#unionmap-notice")
    toggle = notice.locator(".unionmap-notice-toggle")
    assert notice.is_visible() and toggle.is_visible() and not notice.locator(".unionmap-notice-lines").is_visible()
    folded = notice.bounding_box()
    assert folded["height"] <= 2 * line_height(notice) + 10, folded  # one line (and its padding)
    assert inside_viewport(folded, PHONE_WIDTH, PHONE_HEIGHT)
    assert float(notice.evaluate("element => parseFloat(getComputedStyle(element).fontSize)")) >= 12
    # the demo region has townships placed without a seat (geo.store.regions.position_unknown): said too
    assert toggle.inner_text() == (f"⚠ {DEMO.label_zh} · {APPROXIMATE.label_zh} · {POSITION_UNKNOWN.label_zh} · "
                                   f"{MODELLED.label_zh}")
    toggle.tap()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert DEMO.text in notice.locator(".unionmap-notice-lines").inner_text()
    assert notice.bounding_box()["height"] > folded["height"] + line_height(notice)
    toggle.tap()
    assert not notice.locator(".unionmap-notice-lines").is_visible()

    boxes = tab.locator(".unionmap-box")
    # A legend, and a panel on the maps with figures; the station page's details are in the page.
    assert boxes.count() == {"stations": 1, "station": 0}.get(name, 2)
    for index in range(boxes.count()):
        box = boxes.nth(index)
        body = box.locator(".unionmap-box-body")
        assert box.locator(":scope > details > summary").is_visible() and not body.is_visible()  # folded into a button
        box.locator(":scope > details > summary").tap()
        assert body.is_visible() and inside_viewport(body.bounding_box(), PHONE_WIDTH, PHONE_HEIGHT)
        for entry in body.locator("> div").all():  # the legend's entries (a panel's text)
            entry.scroll_into_view_if_needed()  # a long panel (the plan's table) scrolls inside its box
            assert inside_viewport(entry.bounding_box(), PHONE_WIDTH, PHONE_HEIGHT)
    if name != "station":
        assert tab.locator("#unionmap-legend .unionmap-swatch").count() >= 2
    assert axe_violations(tab) == []  # with everything open
    assert view.console_errors == [] and view.blocked == []


def test_notice_dismissed_for_the_session_only(page: PageFactory) -> None:
    """Dismissed, the notice leaves "⚠ 说明"; a reload keeps it dismissed, a new session shows it again."""
    view = page(phone=True)
    open_map(view, MAPS["stations"])
    notice = view.page.locator("#unionmap-notice")
    reopen = notice.locator(".unionmap-notice-reopen")
    assert not reopen.is_visible()
    notice.locator(".unionmap-notice-close").tap()
    assert reopen.is_visible() and reopen.inner_text() == "⚠ 说明"
    assert not notice.locator(".unionmap-notice-toggle").is_visible()
    assert reopen.bounding_box()["width"] < PHONE_WIDTH / 2  # small: the map gets the room

    view.page.reload(wait_until="load")
    assert reopen.is_visible() and not notice.locator(".unionmap-notice-toggle").is_visible()
    reopen.tap()  # back, open, and remembered as not dismissed
    assert DEMO.text in notice.locator(".unionmap-notice-lines").inner_text()
    assert view.page.evaluate("sessionStorage.getItem('unionmap.notice.dismissed')") is None
    notice.locator(".unionmap-notice-close").tap()

    fresh = page(phone=True)
    open_map(fresh, MAPS["stations"])
    assert fresh.page.locator("#unionmap-notice .unionmap-notice-toggle").is_visible()
    assert not fresh.page.locator("#unionmap-notice .unionmap-notice-reopen").is_visible()
    assert view.console_errors == fresh.console_errors == []


@pytest.mark.parametrize("name", list(MAPS))
def test_desk_boxes_do_not_cover_each_other(page: PageFactory, station_id: int, name: str) -> None:
    """At 1366×768 the notices, panels and legend are open, inside the window, and cover neither each
    other nor Leaflet's controls."""
    view = page()
    open_map(view, MAPS[name].format(station_id=station_id))
    tab = view.page
    assert tab.locator("#unionmap-notice .unionmap-notice-lines").is_visible()
    assert MODELLED.text in tab.locator("#unionmap-notice").inner_text()
    assert not tab.locator("#unionmap-notice .unionmap-notice-toggle").is_visible()
    for body in tab.locator(".unionmap-box-body").all():
        assert body.is_visible()
    boxes = tab.evaluate(BOXES, DESK_BOXES)
    found = {box["selector"] for box in boxes}
    expected = {"#unionmap-notice", ".leaflet-control-zoom", ".leaflet-control-layers", ".leaflet-control-attribution",
                ".leaflet-control-scale"} | ({"#unionmap-station"} if name == "station" else {"#unionmap-legend"})
    assert found >= expected | ({".unionmap-panel"} if name in ("coverage", "gaps", "plan") else set()), found
    for box in boxes:
        rect = box["rect"]
        assert rect["left"] >= 0 and rect["top"] >= 0 and rect["right"] <= 1366 and rect["bottom"] <= 768, box
    clashes = [(a["selector"], b["selector"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
               if overlap(a["rect"], b["rect"])]
    assert clashes == []
    assert view.console_errors == [] and view.blocked == []


def test_station_details_under_the_map_on_a_phone(page: PageFactory, live_server: str, station_id: int,
                                                  screenshot_dir: Path) -> None:
    """Name, address and hours in the page under the map (beside it on a desk), inside the window's
    width, as the API has them; the navigation links."""
    station = httpx.get(f"{live_server}/api/v1/stations/{station_id}", timeout=30).json()["features"][0]["properties"]
    opening = hours.describe_zh(hours.from_json(station["opening_hours"]))
    for phone in (True, False):
        view = page(phone=phone)
        open_map(view, MAPS["station"].format(station_id=station_id))
        details = view.page.locator("#unionmap-station")
        width = PHONE_WIDTH if phone else 1366
        map_box = view.page.locator(".leaflet-container").bounding_box()
        name = details.locator("h2")
        address = details.locator("dt:text-is('地址') + dd")
        shown_hours = details.locator("dt:text-is('开放时间') + dd")
        for shown in (name, address, shown_hours):
            assert shown.is_visible() and shown.inner_text().strip()
            box = shown.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
            if phone:
                assert box["y"] >= map_box["y"] + map_box["height"] - 1  # under the map
            else:
                assert box["x"] >= map_box["x"] + map_box["width"] - 1  # beside it
        assert (name.inner_text(), address.inner_text()) == (station["name"], station["address"])
        assert shown_hours.inner_text() == opening
        links = details.locator(".unionmap-navigate a")
        assert links.count() == 3 and all(link.get_attribute("href").startswith("https://") for link in links.all())
        assert view.console_errors == [] and view.blocked == []
        view.page.screenshot(path=str(screenshot_dir / f"map-station-{'phone' if phone else 'desktop'}.png"))
