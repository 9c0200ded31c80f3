"""The offline PMTiles basemap in a real browser: protomaps-leaflet reads the app's file by Range
and paints its water, under the overlays, with no other host, no console error (the page's
Content-Security-Policy included) and axe-core still clean; the file's credit is shown as text.

A server of its own (in a thread of this process) on the session's database, with
``basemap_pmtiles`` pointing at a tiny file the test builds (``tests/tiny_pmtiles.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from api.app import create_app
from geo.reference.region import load_config
from geo.settings import Settings
from maps import vector_basemap
from tests import tiny_pmtiles
from tests.browser.conftest import Editor, axe_violations, pages_on, serve_in_thread

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Request

    from tests.browser.conftest import PageFactory

pytestmark = pytest.mark.db

# Pixels of the drawn basemap tiles (canvases in Leaflet's tile pane) that have the water colour.
WATER_PIXELS = """([r, g, b]) => {
  let found = 0, canvases = 0;
  for (const canvas of document.querySelectorAll('.leaflet-tile-pane canvas')) {
    if (!canvas.width || !canvas.height) continue;
    canvases++;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - r) < 3 && Math.abs(data[i + 1] - g) < 3 && Math.abs(data[i + 2] - b) < 3) found++;
    }
  }
  return {found, canvases};
}"""


@pytest.fixture(scope="module")
def basemap_server(test_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    centre = load_config(test_settings.region_dir).map_centre
    path = tiny_pmtiles.write(tmp_path_factory.mktemp("basemap") / "region.pmtiles", (centre[0], centre[1]))
    settings = test_settings.model_copy(update={"basemap": "pmtiles", "basemap_pmtiles": path,
                                                "trusted_hosts": ["127.0.0.1"]})
    with serve_in_thread(create_app(settings), "basemap-server") as base_url:
        yield base_url


@pytest.fixture
def basemap_page(browser: Browser, basemap_server: str) -> Iterator[PageFactory]:
    yield from pages_on(browser, basemap_server)


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_basemap_is_drawn_from_the_app(basemap_page: PageFactory, screenshot_dir: Path, phone: bool) -> None:
    view = basemap_page(phone=phone)
    ranges: list[tuple[str | None, int]] = []

    def finished(request: Request) -> None:
        if request.url.endswith("/tiles/basemap.pmtiles"):
            response = request.response()
            ranges.append((request.headers.get("range"), response.status if response else 0))

    view.page.on("requestfinished", finished)
    assert view.goto("/maps/stations").ok
    view.page.wait_for_function("() => document.querySelectorAll('.leaflet-tile-pane canvas').length > 0")
    view.page.wait_for_function(f"() => ({WATER_PIXELS})({list(tiny_pmtiles.WATER_RGB)}).found > 1000",
                                timeout=15_000)
    painted = view.page.evaluate(WATER_PIXELS, list(tiny_pmtiles.WATER_RGB))
    assert painted["canvases"] >= 1 and painted["found"] > 1000
    assert ranges and all(header and header.startswith("bytes=") for header, _ in ranges), ranges
    assert all(status == 206 for _, status in ranges), ranges
    # Under the overlays: the tile pane is below the overlay pane.
    z = view.page.evaluate("""() => ['tile', 'overlay'].map(name =>
        Number(getComputedStyle(document.querySelector('.leaflet-' + name + '-pane')).zIndex))""")
    assert z[0] < z[1]
    attribution = view.page.locator(".leaflet-control-attribution")
    view.page.wait_for_function("() => document.querySelector('.leaflet-control-attribution')"
                                ".textContent.includes('测试底图')")
    text = attribution.inner_text()
    assert vector_basemap.ATTRIBUTION in text and "© 测试底图 Test basemap" in text
    assert "<b>" in text and "onerror" not in text  # an entity read as text; tags dropped
    assert attribution.locator("b, img, a[href='https://example.org/']").count() == 0  # never markup
    assert view.dialogs == [] and view.blocked == []
    assert view.console_errors == [], "\n".join(view.console_errors)
    assert axe_violations(view.page) == []
    view.page.screenshot(path=str(screenshot_dir / f"pmtiles-basemap-{'phone' if phone else 'desktop'}.png"))


def test_the_editors_maps_draw_it_too(basemap_page: PageFactory, editor: Editor) -> None:
    """The editor's list and form place stations on the same offline basemap (pmtiles-basemap.js)."""
    view = basemap_page()
    editor.sign_in(view)
    for path in ("/edit", "/edit/stations/new"):
        view.goto(path)
        view.page.wait_for_function(f"() => ({WATER_PIXELS})({list(tiny_pmtiles.WATER_RGB)}).found > 1000",
                                    timeout=15_000)
        attribution = view.page.locator(".leaflet-control-attribution")
        view.page.wait_for_function("() => document.querySelector('.leaflet-control-attribution')"
                                    ".textContent.includes('测试底图')")
        assert attribution.locator("b, img").count() == 0
    assert view.dialogs == [] and view.blocked == []
    assert view.console_errors == [], "\n".join(view.console_errors)
