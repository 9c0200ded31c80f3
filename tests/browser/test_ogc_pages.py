"""The /ogc HTML pages in Chromium: the map draws the page's features, a click names one, and the
pages read at 1366×768 and 360×640 without sideways scroll, axe-clean, with no console error,
loading nothing from another host.

The number of shapes on the map is checked against ``numberReturned`` of the same page as JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import axe_violations

if TYPE_CHECKING:
    from tests.browser.conftest import BrowserPage, PageFactory

pytestmark = pytest.mark.db

HOSTILE = ('名称"><img src=x onerror=alert(3)> <script>alert(1)</script> \'" `${alert(4)}` '
           "</script><!-- C:\\users\\ javascript:alert(5)")
SHAPES = "#ogc-map path.leaflet-interactive"
# also these rules whatever their impact: every part of the page in a landmark, one <main>
RULES = ("html-has-lang", "meta-viewport", "region", "landmark-one-main")
SIZES = pytest.mark.parametrize("phone", [False, True], ids=["1366x768", "360x640"])


def check_reads(view: BrowserPage, phone: bool) -> None:
    """No sideways scroll, axe clean, no console error, nothing fetched elsewhere, Chinese page."""
    width = view.page.evaluate("innerWidth")
    assert width == (360 if phone else 1366)
    assert view.page.evaluate("document.scrollingElement.scrollWidth") <= width, "the page scrolls sideways"
    assert view.page.evaluate("document.documentElement.lang") == "zh-CN"
    assert axe_violations(view.page, rules=RULES) == []
    assert view.console_errors == [] and view.blocked == [] and view.dialogs == [], (
        view.console_errors, view.blocked, view.dialogs)


def json_page(view: BrowserPage, path: str) -> dict:
    separator = "&" if "?" in path else "?"
    return view.page.request.get(f"{view.base_url}{path}{separator}f=json").json()


@SIZES
@pytest.mark.parametrize("path", ["/ogc/collections/love_station/items?limit=12",
                                  "/ogc/collections/townships/items?limit=6",
                                  "/ogc/collections/coverage/items?limit=3&offset=2"])
def test_items_map_draws_every_feature_of_the_page(page: PageFactory, path: str, phone: bool) -> None:
    view = page(phone=phone)
    assert view.goto(f"{path}&f=html").ok
    expected = json_page(view, path)
    assert expected["numberReturned"] > 0
    shapes = view.page.locator(SHAPES)
    assert shapes.count() == expected["numberReturned"]
    assert view.page.locator("#ogc-map").get_attribute("data-drawn") == str(expected["numberReturned"])
    check_reads(view, phone)


@SIZES
def test_clicking_a_marker_shows_its_name(page: PageFactory, phone: bool) -> None:
    view = page(phone=phone)
    path = "/ogc/collections/love_station/items?limit=5"
    assert view.goto(f"{path}&f=html").ok
    features = json_page(view, path)["features"]
    last = view.page.locator(SHAPES).nth(len(features) - 1)  # drawn last, so on top of any neighbour
    last.click()
    name = view.page.locator(".leaflet-popup-content .ogc-map-name")
    name.wait_for()
    assert name.evaluate("node => node.textContent") == features[-1]["properties"]["name"]
    details = view.page.locator(".leaflet-popup-content a")
    assert details.get_attribute("href").endswith(f"/ogc/collections/love_station/items/{features[-1]['id']}?f=html")
    # Leaflet fades a popup in (opacity 0 → 1): axe reads contrast through a half-faded popup as too
    # low (CI caught it once), so the check waits until the popup is fully shown
    view.page.wait_for_function(
        "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'")
    check_reads(view, phone)


@SIZES
@pytest.mark.parametrize("path", ["/ogc?f=html", "/ogc/collections?f=html", "/ogc/conformance?f=html",
                                  "/ogc/collections/townships?f=html", "/ogc/collections/counties/items/360403?f=html"])
def test_other_pages_read_at_both_sizes(page: PageFactory, path: str, phone: bool) -> None:
    view = page(phone=phone)
    assert view.goto(path).ok
    check_reads(view, phone)


@SIZES
def test_api_definition_page_lists_the_ogc_operations(page: PageFactory, phone: bool) -> None:
    view = page(phone=phone)
    assert view.goto("/ogc/api?f=html").ok
    operations = view.page.locator(".opblock-summary-path")
    operations.first.wait_for()
    paths = {text.replace("\u200b", "") for text in operations.all_inner_texts()}
    assert {"/collections", "/collections/{collectionId}/items"} <= paths, paths
    view.page.wait_for_load_state("networkidle")
    assert axe_violations(view.page) == []
    assert view.console_errors == [] and view.blocked == [], (view.console_errors, view.blocked)


def test_hostile_name_is_shown_as_text_on_the_map(page: PageFactory, registry_rows: Callable[[str], None]) -> None:
    quoted = HOSTILE.replace("'", "''")
    registry_rows("INSERT INTO station (type_code, name, address, is_demo, geom) VALUES ('love_station', "
                  f"E'{quoted.replace(chr(92), chr(92) * 2)}', 'x', true, "
                  "ST_SetSRID(ST_MakePoint(116.0, 29.7), 4326))")
    view = page()
    found = view.page.request.get(f"{view.base_url}/ogc/collections/love_station/items?limit=10000&f=json").json()
    station = next(f for f in found["features"] if f["properties"]["name"] == HOSTILE)
    assert view.goto(f"/ogc/collections/love_station/items/{station['id']}?f=html").ok
    view.page.locator(SHAPES).first.click()
    name = view.page.locator(".leaflet-popup-content .ogc-map-name")
    name.wait_for()
    assert name.evaluate("node => node.textContent") == HOSTILE
    view.page.wait_for_timeout(300)  # an injected handler would have run by now
    assert view.page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert view.page.locator("h1").inner_text().startswith(HOSTILE)
    assert view.dialogs == [] and view.console_errors == [], (view.dialogs, view.console_errors)
