"""The gaps map in Chromium as a planner uses it: the failing units are the API's, another target is
one choice away, and 为此规划 opens the plan that closes the gap."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

if TYPE_CHECKING:
    from tests.browser.conftest import BrowserPage, PageFactory

pytestmark = pytest.mark.db

# Leaflet's own layers: each target unit's name and met flag, and the fill it was drawn with.
UNITS = """() => {
  const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])
                    .find(v => v && typeof v.eachLayer === 'function');
  const units = [];
  map.eachLayer(layer => {
    const p = layer.feature && layer.feature.properties;
    if (p && 'met' in p && layer.options) units.push({name: p.name, met: p.met, fill: layer.options.fillColor});
  });
  return units;
}"""


def failing(view: BrowserPage, target: str) -> set[str]:
    rows = view.page.request.get(f"{view.base_url}/api/v1/gaps?detail=true").json()["rows"]
    return {row["region_name"] for row in rows if row["target_code"] == target and not row["met"]}


@pytest.mark.parametrize("phone", [False, True], ids=["1366x768", "360x640"])
def test_gaps_map_marks_the_failing_units_and_opens_their_plan(page: PageFactory, phone: bool) -> None:
    view = page(phone=phone)
    view.goto("/maps/gaps")
    view.page.wait_for_selector(".leaflet-container")
    units = view.page.evaluate(UNITS)
    target = "love_station_county_2019"
    assert len(units) == 13 and {u["name"] for u in units if not u["met"]} == failing(view, target)
    assert {u["fill"] for u in units if not u["met"]} == {"#e66101"}
    assert {u["fill"] for u in units if u["met"]} == {"#2166ac"}
    # Another target: one choice in the list reloads the map with the townships lacking a workers' home.
    if phone:  # the panel folds into a button on a phone
        opener = view.page.locator("#unionmap-gap-panel > details > summary")
        if opener.is_visible() and not view.page.locator("#unionmap-target").is_visible():
            opener.click()
    with view.page.expect_navigation(wait_until="load"):
        view.page.select_option("#unionmap-target", "workers_home_township")
    assert parse_qs(urlsplit(view.page.url).query) == {"target": ["workers_home_township"]}
    units = view.page.evaluate(UNITS)
    assert len(units) == 204 and {u["name"] for u in units if not u["met"]} == failing(view, "workers_home_township")
    # Back to the per-county target, and on to its plan.
    view.goto(f"/maps/gaps?target={target}")
    if phone:
        opener = view.page.locator("#unionmap-gap-panel > details > summary")
        if opener.is_visible() and not view.page.locator("#unionmap-plan-link").is_visible():
            opener.click()
    question = parse_qs(urlsplit(view.page.locator("#unionmap-plan-link").get_attribute("href")).query)
    with view.page.expect_navigation(wait_until="load", timeout=120_000):
        view.page.locator("#unionmap-plan-link").click()
    assert urlsplit(view.page.url).path == "/maps/plan"
    assert question["min_per_county"] == ["5"]
    assert view.page.locator(".unionmap-proposal").count() == int(question["add"][0]) > 0
    assert view.console_errors == [] and view.blocked == [], (view.console_errors, view.blocked)
