"""Every map and the start page in a real browser: loads clean, reaches no other host, draws the
expected shapes, shows the honesty notice, passes axe-core; screenshots at desktop and phone size."""

from pathlib import Path

import pytest

from geo.notices import DEMO
from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.db

# Count what Leaflet really holds: township polygons (by their properties), stations in clusters.
COUNT_LAYERS = """() => {
  const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])
                    .find(v => v && typeof v.eachLayer === 'function');
  const counts = {shaded: 0, townships: 0, counties: 0, units: 0, clustered: 0, proposals: 0};
  map.eachLayer(layer => {
    const p = layer.feature && layer.feature.properties;
    if (p && 'share_text' in p) counts.shaded++;
    else if (p && 'met' in p) counts.units++;  // a gap map's target units
    else if (p && 'population' in p && 'code' in p) counts.townships++;
    else if (p && 'code' in p && 'name' in p) counts.counties++;
    if (layer.getLayers && layer.options && 'maxClusterRadius' in layer.options) {
      counts.clustered += layer.getLayers().length;
    }
    if (layer.options && layer.options.icon && layer.options.icon.options.html
        && layer.options.icon.options.html.includes('unionmap-proposal')) counts.proposals++;
  });
  return counts;
}"""

PAGES = {
    "stations": "/maps/stations",
    "coverage": "/maps/coverage?type=love_station",
    "gaps": "/maps/gaps",
    "plan": "/maps/plan?type=love_station&add=5",
}


@pytest.mark.parametrize("name", list(PAGES))
def test_map_in_a_browser(page, screenshot_dir: Path, name: str) -> None:  # noqa: ANN001
    for phone in (False, True):
        view = page(phone=phone)
        response = view.goto(PAGES[name])
        assert response.ok, f"{response.status}: {response.text()[:500]}"  # e.g. a plan over its time limit
        view.page.wait_for_selector(".leaflet-container")
        view.page.wait_for_timeout(500)
        assert view.console_errors == []
        assert view.blocked == [], "a map must not need any other host"
        assert view.page.locator("#unionmap-notice").is_visible()
        # On a phone the notice is one line of labels until tapped (test_map_shell).
        assert (DEMO.label_zh if phone else DEMO.text) in view.page.locator("#unionmap-notice").inner_text()
        counts = view.page.evaluate(COUNT_LAYERS)
        if name == "coverage":
            assert counts["shaded"] == 204 and counts["clustered"] == 136
        elif name == "plan":
            assert counts["proposals"] == 5
        else:
            assert counts["townships"] == 204 and counts["counties"] == 13
            assert counts["units"] == (13 if name == "gaps" else 0)
        view.page.screenshot(path=str(screenshot_dir / f"map-{name}-{'phone' if phone else 'desktop'}.png"))


def test_start_page_in_a_browser(page, screenshot_dir: Path) -> None:  # noqa: ANN001
    for phone in (False, True):
        view = page(phone=phone)
        view.goto("/")
        assert view.console_errors == [] and view.blocked == []
        assert view.page.locator("#targets tr").count() == 7
        assert view.page.locator("#unionmap-notice").is_visible()
        if phone:
            assert view.page.evaluate("document.documentElement.scrollWidth") <= 360
        view.page.screenshot(path=str(screenshot_dir / f"start-{'phone' if phone else 'desktop'}.png"),
                             full_page=True)


def test_api_documentation_in_a_browser(page) -> None:  # noqa: ANN001
    """Swagger UI comes from the app itself (FastAPI's own /docs loads a CDN) under the strict policy."""
    view = page()
    response = view.goto("/docs")
    assert response.ok
    view.page.wait_for_selector(".swagger-ui .info .title")
    assert "unionmap" in view.page.locator(".swagger-ui .info .title").inner_text()
    view.page.wait_for_selector(".opblock-tag")  # the operations were read from /openapi.json
    assert view.page.locator(".opblock").count() > 20
    assert view.page.evaluate("document.documentElement.lang") == "zh-CN"
    # Without deep links an operation still opens (its button holds no link of its own now).
    first = view.page.locator(".opblock").first
    first.locator(".opblock-summary-control").click()
    assert first.locator(".opblock-body").is_visible()
    method = first.locator(".opblock-summary-method")  # darkened by maps/static/docs.css
    assert method.evaluate("element => getComputedStyle(element).backgroundColor") in (
        "rgb(26, 100, 168)", "rgb(17, 115, 74)", "rgb(154, 82, 0)", "rgb(183, 28, 28)")
    assert view.console_errors == [] and view.blocked == [], (view.console_errors, view.blocked)
    assert view.page.request.get(f"{view.base_url}/redoc").status == 404


# Every page a user opens; {station_id} is a demo station. Each at 1366×768 and 360×640.
ALL_PAGES = ["/maps/stations", "/maps/coverage?type=love_station", "/maps/gaps", "/maps/plan?type=love_station&add=5",
             "/maps/station/{station_id}", "/", "/finder", "/docs"]
# On the map pages (this slice's shell) also the rules behind the findings, whatever their impact.
MAP_RULES = ("html-has-lang", "meta-viewport", "region", "landmark-one-main")


@pytest.mark.parametrize("path", ALL_PAGES)
def test_page_passes_axe(page, station_id: int, path: str) -> None:  # noqa: ANN001
    """No serious or critical axe-core violation, no console error, no request to another host."""
    for phone in (False, True):
        view = page(phone=phone)
        response = view.goto(path.format(station_id=station_id))
        assert response.ok
        # /docs and /finder fill themselves in from the API; the plan page's what-if asks the engine, which
        # under a loaded CI machine took over Playwright's default 30 s once: the wait is for quiet, not speed
        view.page.wait_for_load_state("networkidle", timeout=90_000)
        found = axe_violations(view.page, rules=MAP_RULES if path.startswith("/maps/") else ())
        assert found == [], (phone, found)
        assert view.console_errors == [] and view.blocked == [], (view.console_errors, view.blocked)


@pytest.mark.parametrize("path", [*PAGES.values(), "/maps/station/{station_id}"])
def test_download_needs_no_server(page, station_id: int, path: str) -> None:  # noqa: ANN001
    """The downloaded page carries every script and stylesheet (no /static/ URL left) and its own
    shell works from it: opened with no server, the phone's notice still folds and opens."""
    view = page(phone=True)
    url = f"{view.base_url}{path.format(station_id=station_id)}{'&' if '?' in path else '?'}download=true"
    answer = view.page.request.get(url)
    assert answer.ok and answer.headers["content-disposition"].startswith("attachment")
    html = answer.text()
    assert "/static/" not in html and ".unionmap-notice-toggle" in html and "unionmap.notice.dismissed" in html
    view.page.set_content(html, wait_until="load")  # on about:blank: no server behind it
    toggle = view.page.locator("#unionmap-notice .unionmap-notice-toggle")
    assert toggle.is_visible() and not view.page.locator("#unionmap-notice-lines").is_visible()
    toggle.tap()
    assert DEMO.text in view.page.locator("#unionmap-notice-lines").inner_text()
    assert view.page.evaluate("document.documentElement.lang") == "zh-CN"
    assert view.console_errors == [] and view.blocked == []
