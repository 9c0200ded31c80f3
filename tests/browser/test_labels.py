"""Place names in a real browser, on a desk (1366×768) and a phone (360×640): every county named,
no two visible labels overlapping (nor a label over the map's icons, controls and panels),
township names only from their zoom on, clicks and hovers passing through, hostile names shown
as text under the page's real Content-Security-Policy. Screenshots of the gaps map at both sizes, as
opened and zoomed in to where township names show (``labels-gaps-*.png``).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import folium
import geopandas as gpd
import pytest
import shapely
from shapely.geometry import box

from api.security_headers import add_nonce, policy
from geo.store import regions
from maps import labels
from maps.assets import render
from maps.basemap import get_basemap
from maps.layers import add_boundaries

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tests.browser.conftest import BrowserPage, PageFactory

pytestmark = pytest.mark.db

DESK = {"width": 1366, "height": 768}
# Every label with its kind, text, box, whether it is laid out (its zoom reached, near the view) and
# shown (laid out and not hidden by a clash);
# the boxes of what labels must not cover; the map's zoom; the collision passes run so far.
LABEL_STATE = """(obstacles) => {
  const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])
                    .find(v => v && typeof v.eachLayer === 'function');
  const group = Object.keys(window).filter(k => k.startsWith('place_labels_')).map(k => window[k])[0];
  const box = r => ({left: r.left, top: r.top, right: r.right, bottom: r.bottom});
  const labels = [...document.querySelectorAll('.unionmap-label')].map(element => ({
    kind: ['county', 'township', 'place'].find(k => element.classList.contains('unionmap-label-' + k)),
    text: element.textContent,
    html: element.firstChild.innerHTML,
    laid: getComputedStyle(element).display !== 'none',
    shown: getComputedStyle(element).display !== 'none' && getComputedStyle(element).visibility !== 'hidden',
    box: box(element.firstChild.getBoundingClientRect())}));
  const blocking = [...document.querySelectorAll(obstacles)].map(e => box(e.getBoundingClientRect()))
    .filter(r => r.right > r.left && r.bottom > r.top);
  return {zoom: map.getZoom(), labels, blocking, passes: group.unionmapTimes.length,
          frame: box(map.getContainer().getBoundingClientRect())};
}"""
# Leaflet ignores a new zoom while it animates one (Folium's fitBounds runs as the page loads): asked
# again at each poll until the map is there.
SET_ZOOM = """(zoom) => {
  const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])
                    .find(v => v && typeof v.eachLayer === 'function');
  if (map.getZoom() !== zoom) map.setZoom(zoom, {animate: false});
  return map.getZoom() === zoom;
}"""
# A pass after ``n``, on a map at rest (no zoom or cluster animation under way).
SETTLED = """(n) => {
  const k = Object.keys(window).find(k => k.startsWith('place_labels_'));
  return k && window[k].unionmapTimes.length > n
         && !document.querySelector('.leaflet-zoom-anim, .leaflet-cluster-anim');
}"""
# What is under the middle of each shown label: never the label (clicks and hovers pass through).
UNDER_LABELS = """() => [...document.querySelectorAll('.unionmap-label')]
  .filter(e => getComputedStyle(e).display !== 'none' && getComputedStyle(e).visibility !== 'hidden')
  .map(e => { const r = e.firstChild.getBoundingClientRect();
              const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
              return hit ? !!hit.closest('.unionmap-label') : false; })"""
PAGES = {"gaps": "/maps/gaps", "coverage": "/maps/coverage?type=love_station"}


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether two boxes share any area (touching edges do not count)."""
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def clashes(boxes: list[dict[str, Any]], against: list[dict[str, Any]] | None = None) -> list[tuple[str, str]]:
    """Pairs of labels whose boxes overlap (within ``boxes``, or each of them with ``against``)."""
    if against is None:
        return [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                if overlap(a["box"], b["box"])]
    return [(a["text"], str(b)) for a in boxes for b in against if overlap(a["box"], b)]


def open_map(view: BrowserPage, path: str) -> dict[str, Any]:
    """Open a map page and give Folium's opening fitBounds (a 0.25 s animation that starts a frame
    later) time to finish; the labels then."""
    assert view.goto(path).ok
    view.page.wait_for_timeout(500)
    return state(view)


def inside(labels: list[dict[str, Any]], frame: dict[str, float]) -> bool:
    """Whether every label's box lies within the map (none cut by its edge)."""
    return all(frame["left"] <= label["box"]["left"] and label["box"]["right"] <= frame["right"]
               and frame["top"] <= label["box"]["top"] and label["box"]["bottom"] <= frame["bottom"]
               for label in labels)


def state(view: BrowserPage, *, after: int = 0) -> dict[str, Any]:
    """The labels once the page has run more than ``after`` collision passes."""
    view.page.wait_for_function(SETTLED, arg=after)
    return view.page.evaluate(LABEL_STATE, labels.OBSTACLES)


@pytest.mark.parametrize("name", list(PAGES))
def test_labels_name_every_county_and_never_overlap(page: PageFactory, session: Session, screenshot_dir: Path,
                                                    name: str) -> None:
    counties = sorted(regions.regions_frame(session, "county")["name"])
    for phone in (False, True):
        view = page(phone=phone)
        if not phone:
            view.page.set_viewport_size(DESK)
        first = open_map(view, PAGES[name])
        where = f"{name} {'phone' if phone else 'desk'} zoom {first['zoom']}"
        assert sorted(label["text"] for label in first["labels"] if label["kind"] == "county") == counties, where
        shown = [label for label in first["labels"] if label["shown"]]
        assert any(label["kind"] == "county" for label in shown) or name == "gaps", where  # gaps: badges name them
        assert clashes(shown) == [] and clashes(shown, first["blocking"]) == [], where
        assert inside(shown, first["frame"]), where
        assert first["zoom"] < labels.TOWNSHIP_MIN_ZOOM, where
        assert not any(label["kind"] == "township" for label in shown), where
        assert view.page.evaluate(UNDER_LABELS) == [False] * len(shown), where
        if name == "gaps":
            view.page.screenshot(path=str(screenshot_dir / f"labels-gaps-{'phone' if phone else 'desktop'}.png"))
        view.page.wait_for_function(SET_ZOOM, arg=labels.TOWNSHIP_MIN_ZOOM + 1)
        zoomed = state(view, after=first["passes"])
        assert zoomed["zoom"] == labels.TOWNSHIP_MIN_ZOOM + 1
        shown = [label for label in zoomed["labels"] if label["shown"]]
        townships = [label for label in shown if label["kind"] == "township"]
        assert len(townships) >= 3, where  # some appear, and the rest of the page is still free of clashes
        assert clashes(shown) == [] and clashes(shown, zoomed["blocking"]) == [], where
        assert inside(shown, zoomed["frame"]), where
        lost = [label for label in zoomed["labels"] if label["laid"] and not label["shown"]]
        assert lost, where  # at this zoom not every name in view fits: some clash was resolved
        assert view.page.evaluate(UNDER_LABELS) == [False] * len(shown), where
        if name == "gaps":
            view.page.screenshot(path=str(screenshot_dir / f"labels-gaps-{'phone' if phone else 'desktop'}-zoom"
                                                             f"{labels.TOWNSHIP_MIN_ZOOM + 1}.png"))
        assert view.console_errors == [] and view.blocked == [] and view.dialogs == [], where


# Centre the map on the first place label at a zoom (the city has only a dozen such places).
TO_A_PLACE = """(zoom) => {
  const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])
                    .find(v => v && typeof v.eachLayer === 'function');
  const group = Object.keys(window).filter(k => k.startsWith('place_labels_')).map(k => window[k])[0];
  const place = group.getLayers().find(m => m.options.icon.options.className.includes('unionmap-label-place'));
  if (map.getZoom() !== zoom) map.setView(place.getLatLng(), zoom, {animate: false});
  return map.getZoom() === zoom;
}"""


def test_places_appear_from_their_zoom(page: PageFactory) -> None:
    view = page()
    view.page.set_viewport_size(DESK)
    first = open_map(view, "/maps/stations")
    assert not any(label["shown"] for label in first["labels"] if label["kind"] == "place")
    view.page.wait_for_function(TO_A_PLACE, arg=labels.PLACE_MIN_ZOOM - 1)
    before = state(view, after=first["passes"])
    assert not any(label["laid"] for label in before["labels"] if label["kind"] == "place")
    view.page.wait_for_function(TO_A_PLACE, arg=labels.PLACE_MIN_ZOOM)
    zoomed = state(view, after=before["passes"])
    places = [label for label in zoomed["labels"] if label["kind"] == "place" and label["shown"]]
    assert places and all(label["text"].isascii() for label in places)  # GeoNames' pinyin names
    assert view.console_errors == []


def test_switching_labels_off_and_on(page: PageFactory) -> None:
    view = page()
    view.page.set_viewport_size(DESK)
    first = open_map(view, "/maps/coverage?type=love_station")
    switch = view.page.locator(".leaflet-control-layers-overlays label", has_text=labels.LAYER_NAME)
    view.page.locator(".leaflet-control-layers").hover()
    switch.locator("input").uncheck()
    assert view.page.locator(".unionmap-label").count() == 0
    switch.locator("input").check()
    again = state(view, after=first["passes"])
    assert sum(label["shown"] for label in again["labels"]) == sum(label["shown"] for label in first["labels"])
    assert view.console_errors == []


HOSTILE = "<img src=x onerror=alert(1)>"


def hostile_page() -> str:
    """A map whose county, township and place are named with markup, as a standalone page."""
    map_ = folium.Map(location=[29.1, 116.1], zoom_start=12, tiles=None)
    counties = gpd.GeoDataFrame({"code": ["1"], "name": [f"县{HOSTILE}"], "population": [1]},
                                geometry=[box(116.0, 29.0, 116.2, 29.2)], crs=4326)
    townships = counties.assign(code="2", name=f"镇{HOSTILE}`${{alert(4)}}`\\u",
                                geometry=[box(116.0, 29.1, 116.2, 29.2)])
    places = gpd.GeoDataFrame({"name": ["</script><script>alert(2)</script>"]},
                              geometry=[shapely.Point(116.1, 29.02)], crs=4326)
    add_boundaries(map_, counties, townships, get_basemap("none"), places=places)
    return render(map_, standalone=True)


def test_hostile_names_are_shown_as_text(page: PageFactory) -> None:
    """Served with the app's real policy (a nonce on the page's own scripts, nothing else runs)."""
    view = page()
    nonce = secrets.token_urlsafe(16)
    body = add_nonce(hostile_page().encode("utf-8"), nonce)
    view.page.route(f"{view.base_url}/hostile-labels", lambda route: route.fulfill(
        body=body, content_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": policy((), nonce=nonce)}))
    shown = open_map(view, "/hostile-labels")["labels"]
    assert sorted(label["text"] for label in shown) == sorted(
        [f"县{HOSTILE}", f"镇{HOSTILE}`${{alert(4)}}`\\u", "</script><script>alert(2)</script>"])
    assert view.page.locator(".unionmap-label img, .unionmap-label script").count() == 0
    assert view.dialogs == [] and view.console_errors == [] and view.blocked == []
