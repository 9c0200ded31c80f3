"""The collection page's map drawn by protomaps-leaflet from the collection's own vector tiles, in
Chromium: the Leaflet plug-in side of "readable by QGIS and by MapLibre/Leaflet plug-ins" (issue 15).

The oracles are independent of the drawing: the tiles the page fetched are decoded here with
``mapbox_vector_tile`` (one layer named after the collection); a station's and a county's places
come from the GeoJSON items (a county's inside point from shapely), put on the screen by the
Leaflet map's own ``latLngToContainerPoint``; the pixels are read from a screenshot of the map.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import mapbox_vector_tile
import pytest
from PIL import Image
from shapely.geometry import shape

from tests.browser.test_ogc_pages import SIZES, check_reads

if TYPE_CHECKING:
    from playwright.sync_api import Response

    from tests.browser.conftest import BrowserPage, PageFactory

pytestmark = pytest.mark.db

MVT = "application/vnd.mapbox-vector-tile"
MAP = "#ogc-tile-map"
BACKGROUND = (0xEE, 0xF2, 0xF5)  # .ogc-map's background in ogc.css: what an empty spot shows
# Container points of places (lon, lat), and of the collection's bbox corners, by the page's map.
TO_SCREEN = """([places, bbox]) => {
  const map = document.querySelector('#ogc-tile-map').unionmapMap;
  const point = ([lon, lat]) => { const p = map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; };
  const size = map.getSize();
  return {places: places.map(point), corners: [point([bbox[0], bbox[3]]), point([bbox[2], bbox[1]])],
          size: [size.x, size.y], border: document.querySelector('#ogc-tile-map').clientLeft};
}"""


def open_map(view: BrowserPage, collection: str) -> list[Response]:
    """Open the collection page and wait until its map has drawn the visible tiles; the tile responses."""
    tiles: list[Response] = []
    view.page.on("response", lambda answer: tiles.append(answer) if "/tiles/WebMercatorQuad/" in answer.url else None)
    assert view.goto(f"/ogc/collections/{collection}?f=html").ok
    view.page.wait_for_selector(f"{MAP}[data-ready]", timeout=20_000)
    view.page.wait_for_load_state("networkidle")
    return tiles


def check_tiles(tiles: list[Response], collection: str) -> None:
    """Every tile asked for is a 200 MVT with one layer named after the collection, or empty."""
    assert tiles, "the map fetched no tile"
    assert [(t.status, t.headers["content-type"]) for t in tiles] == [(200, MVT)] * len(tiles), [t.url for t in tiles]
    layers = [set(mapbox_vector_tile.decode(t.body())) for t in tiles]
    assert all(names <= {collection} for names in layers) and {collection} in layers, layers


def pixels(view: BrowserPage) -> tuple[Image.Image, float]:
    """The map as the screen shows it, and the device pixels per CSS pixel."""
    shot = Image.open(io.BytesIO(view.page.locator(MAP).screenshot())).convert("RGB")
    return shot, view.page.evaluate("devicePixelRatio")


def colour(shot: Image.Image, scale: float, border: int, point: list[float]) -> tuple[int, int, int]:
    x, y = (round((value + border) * scale) for value in point)
    return shot.getpixel((x, y))


def empty_spot(corners: list[list[float]], size: list[int]) -> tuple[list[float], float]:
    """The point of the map farthest outside the collection's bbox (so from every feature), clear of
    the zoom buttons (top left) and the attribution (bottom); with its distance to the bbox in pixels."""
    (left, top), (right, bottom) = corners
    candidates = [[float(x), float(y)] for x in range(4, size[0] - 4, 4) for y in range(4, size[1] - 4, 4)
                  if not (x < 60 and y < 90) and y < size[1] - 30]

    def outside(point: list[float]) -> float:
        return math.hypot(max(left - point[0], 0, point[0] - right), max(top - point[1], 0, point[1] - bottom))

    best = max(candidates, key=outside)
    return best, outside(best)


def differs(found: tuple[int, int, int], expected: tuple[int, int, int], by: int = 12) -> bool:
    return max(abs(a - b) for a, b in zip(found, expected, strict=True)) > by


@SIZES
def test_station_map_draws_tiles_at_the_stations(page: PageFactory, phone: bool) -> None:
    view = page(phone=phone)
    tiles = open_map(view, "love_station")
    check_tiles(tiles, "love_station")
    stations = view.page.request.get(f"{view.base_url}/ogc/collections/love_station/items?limit=10000&f=json").json()
    places = [feature["geometry"]["coordinates"] for feature in stations["features"]]
    bbox = view.page.request.get(f"{view.base_url}/ogc/collections/love_station?f=json").json()
    screen = view.page.evaluate(TO_SCREEN, [places, bbox["extent"]["spatial"]["bbox"][0]])
    shot, scale = pixels(view)

    def alone(point: list[float]) -> float:  # the nearest other station, in screen pixels
        return min(math.dist(point, other) for other in screen["places"] if other is not point)

    visible = [p for p in screen["places"] if 10 < p[0] < screen["size"][0] - 10 and 10 < p[1] < screen["size"][1] - 10]
    station = max(visible, key=alone)  # no neighbour's white ring over its centre
    red = colour(shot, scale, screen["border"], station)
    assert red[0] > 150 and red[1] < 120 and red[2] < 120, (station, red)  # #c0392b, the stations' fill
    spot, distance = empty_spot(screen["corners"], screen["size"])
    assert distance > 24, screen
    assert not differs(colour(shot, scale, screen["border"], spot), BACKGROUND), spot
    check_reads(view, phone)


@SIZES
def test_county_map_draws_tinted_areas(page: PageFactory, phone: bool) -> None:
    view = page(phone=phone)
    check_tiles(open_map(view, "counties"), "counties")
    counties = view.page.request.get(f"{view.base_url}/ogc/collections/counties/items?limit=100&f=json").json()
    largest = max(counties["features"], key=lambda feature: shape(feature["geometry"]).area)
    inside = shape(largest["geometry"]).representative_point()
    bbox = view.page.request.get(f"{view.base_url}/ogc/collections/counties?f=json").json()
    screen = view.page.evaluate(TO_SCREEN, [[[inside.x, inside.y]], bbox["extent"]["spatial"]["bbox"][0]])
    shot, scale = pixels(view)
    tinted = colour(shot, scale, screen["border"], screen["places"][0])
    assert differs(tinted, BACKGROUND) and tinted[2] > tinted[0], tinted  # #0b5cad at 15 % over the background
    spot, distance = empty_spot(screen["corners"], screen["size"])
    assert distance > 24, screen
    assert not differs(colour(shot, scale, screen["border"], spot), BACKGROUND), spot
    check_reads(view, phone)


def test_panning_away_asks_for_no_tile_outside_the_extent(page: PageFactory) -> None:
    """Tiles outside the extent are 404s, which protomaps-leaflet would read as a broken MVT (a
    console error): the layer's bounds keep it from asking for them, however far the map is moved."""
    view = page()
    tiles = open_map(view, "love_station")
    before = len(tiles)
    view.page.evaluate(f"document.querySelector('{MAP}').unionmapMap.setView([29.3, 119.5], 9, {{animate: false}})")
    view.page.wait_for_timeout(800)
    view.page.wait_for_load_state("networkidle")
    assert len(tiles) == before, [t.url for t in tiles[before:]]
    view.page.evaluate(f"document.querySelector('{MAP}').unionmapMap.setView([29.3, 115.5], 12, {{animate: false}})")
    view.page.wait_for_selector(f"{MAP}[data-tiles-loaded]")
    view.page.wait_for_load_state("networkidle")
    check_tiles(tiles, "love_station")
    assert len(tiles) > before
    assert view.console_errors == [] and view.blocked == [], (view.console_errors, view.blocked)
