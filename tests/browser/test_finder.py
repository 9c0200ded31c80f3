"""The phone finder page in a real browser: same answer as the API, honest, light, offline-safe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

from geo.core.crs import wgs84_to_gcj02
from geo.notices import DEMO

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from playwright.sync_api import Response, Route

    from tests.browser.conftest import BrowserPage, PageFactory

# test extras
httpx = pytest.importorskip("httpx")
BeautifulSoup = pytest.importorskip("bs4").BeautifulSoup
expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.db

XUNYANG = (115.99, 29.71)  # lon, lat (WGS-84) in 浔阳区, the centre of Jiujiang
MAX_PAGE_BYTES = 300_000  # the page and everything it loads, as stored
MAX_TRANSFER_BYTES = 100_000  # the same, as sent (gzip)


def is_nearest(response: Response) -> bool:
    return "/api/v1/stations/nearest" in response.url


def settle(finder: BrowserPage) -> None:
    """Wait until the page has shown the answer of its last search."""
    finder.page.wait_for_selector("#status.ok, #status.empty, #status.error")


def listed_ids(finder: BrowserPage) -> list[int]:
    return finder.page.locator("#results li.station").evaluate_all("items => items.map(i => Number(i.dataset.id))")


def same_answer(finder: BrowserPage, response: Response) -> list[dict]:
    """The stations the API gives for the page's own request, fetched anew; the page lists them in order."""
    settle(finder)
    stations = httpx.get(response.url, timeout=30).json()["stations"]
    assert listed_ids(finder) == [station["id"] for station in stations]
    return stations


def query_of(response: Response) -> dict[str, list[str]]:
    return parse_qs(urlsplit(response.url).query)


def assert_clean(finder: BrowserPage) -> None:
    """Nothing was fetched from another host, and the console shows no error."""
    assert finder.blocked == []
    assert finder.console_errors == []


def test_first_station_is_the_api_nearest(page: PageFactory, screenshot_dir: Path) -> None:
    finder = page(geolocation=XUNYANG)
    with finder.page.expect_response(is_nearest) as answer:
        finder.goto("/finder")
    query = query_of(answer.value)
    assert query["type"] == ["love_station"] and query["open_now"] == ["true"] and query["crs"] == ["wgs84"]
    assert (float(query["lon"][0]), float(query["lat"][0])) == pytest.approx(XUNYANG, abs=1e-6)
    stations = same_answer(finder, answer.value)
    if not stations:  # nothing open at this hour: the page says so, and shows all stations when asked
        expect(finder.page.locator("#status")).to_contain_text("没有符合条件")
        with finder.page.expect_response(is_nearest) as answer:
            finder.page.locator("#open-now").uncheck()
        assert "open_now" not in query_of(answer.value)
        stations = same_answer(finder, answer.value)
    assert stations, "no love_station near 浔阳区 in the demo registry"

    first, item = stations[0], finder.page.locator("#results li.station").first
    expect(item.locator("h2")).to_have_text(first["name"])
    expected_state = {True: "开放中", False: "休息中", None: "时间未知"}[first["open_now"]]
    expect(item.locator(".state")).to_have_text(expected_state)
    amap = item.locator("a.nav-amap").get_attribute("href")
    lon, lat, _name = parse_qs(urlsplit(amap).query)["to"][0].split(",", 2)
    gcj_lon, gcj_lat = wgs84_to_gcj02(first["lon"], first["lat"])
    assert float(lon) == pytest.approx(float(gcj_lon), abs=1e-5)
    assert float(lat) == pytest.approx(float(gcj_lat), abs=1e-5)
    assert abs(float(lon) - first["lon"]) > 1e-4  # really shifted to GCJ-02, not the WGS-84 point
    expect(item.locator("a.nav-baidu")).to_have_attribute("href", first["navigation"]["baidu"])
    expect(item.locator("a.nav-apple")).to_have_attribute("href", first["navigation"]["apple"])

    assert all(station["is_demo"] for station in stations)
    expect(finder.page.locator("#demo-notice")).to_be_visible()
    expect(finder.page.locator("#demo-notice")).to_contain_text(DEMO.text)
    with_phone = [station for station in stations if station["phone"]]
    assert with_phone, "the demo stations should carry phone numbers"
    calls = finder.page.locator("#results a.call")
    expect(calls).to_have_count(len(with_phone))
    for link in calls.all():
        assert link.get_attribute("href").startswith("tel:")
    finder.page.screenshot(path=screenshot_dir / "finder-desktop.png", full_page=True)
    assert_clean(finder)


def test_phone_layout_and_page_weight(page: PageFactory, screenshot_dir: Path) -> None:
    finder = page(phone=True, geolocation=XUNYANG)
    with finder.page.expect_response(is_nearest):
        finder.goto("/finder")
    settle(finder)
    if finder.page.locator("#results li.station").count() == 0:
        with finder.page.expect_response(is_nearest):
            finder.page.locator("#open-now").uncheck()
        settle(finder)
    expect(finder.page.locator("#results li.station").first).to_be_visible()
    assert finder.page.evaluate("document.documentElement.scrollWidth") <= 360
    assert finder.page.evaluate("document.documentElement.lang") == "zh-CN"
    heights = finder.page.locator("#results .actions .button").evaluate_all(
        "links => links.map(a => a.getBoundingClientRect().height)")
    assert heights and min(heights) >= 40  # big enough to tap with a glove
    clipped = finder.page.locator("button, .button, .chip").evaluate_all(
        "nodes => nodes.filter(n => n.scrollWidth > n.clientWidth + 1).map(n => n.textContent)")
    assert clipped == []

    entries = finder.page.evaluate("""() => [...performance.getEntriesByType('navigation'),
        ...performance.getEntriesByType('resource')].map(e => ({name: e.name, bytes: e.transferSize,
                                                                decoded: e.decodedBodySize}))""")
    assert all(entry["name"].startswith(finder.base_url) for entry in entries)
    total = sum(entry["bytes"] for entry in entries)
    decoded = sum(entry["decoded"] for entry in entries)
    (screenshot_dir / "finder-weight.json").write_text(json.dumps(
        {"total_bytes": total, "decoded_bytes": decoded, "entries": entries}, indent=1), encoding="utf-8")
    assert 150_000 < decoded < MAX_PAGE_BYTES, entries  # Leaflet alone is 148 KB: the sum is real
    assert total < min(MAX_TRANSFER_BYTES, decoded / 2), entries  # sent compressed
    finder.page.screenshot(path=screenshot_dir / "finder-phone.png", full_page=True)
    assert_clean(finder)


def distance_m(text: str) -> float:
    """The metres a list item states ("850 米", "1.2 公里")."""
    number, unit = text.split()
    return float(number) * (1000 if unit == "公里" else 1)


def test_list_shows_before_the_map_library_arrives(page: PageFactory, screenshot_dir: Path) -> None:
    """leaflet.js (148 KB) held back: the nearest stations are listed all the same; the map
    follows when it is let through, with the same stations and Leaflet's credit without a flag."""
    finder = page(phone=True, geolocation=XUNYANG)
    held: list[Route] = []
    finder.page.route("**/leaflet/dist/leaflet.js", lambda route: held.append(route))  # answered when released
    with finder.page.expect_response(is_nearest) as answer:
        finder.page.goto(f"{finder.base_url}/finder", wait_until="domcontentloaded")
    settle(finder)
    if finder.page.locator("#results li.station").count() == 0:  # nothing open at this hour
        with finder.page.expect_response(is_nearest) as answer:
            finder.page.locator("#open-now").uncheck()
        settle(finder)
    stations = same_answer(finder, answer.value)
    assert stations
    items = finder.page.locator("#results li.station")
    assert items.locator("h2").all_text_contents() == [station["name"] for station in stations]
    shown = [distance_m(text) for text in items.locator(".distance").all_text_contents()]
    assert shown == [pytest.approx(s["distance_m"], abs=1 if s["distance_m"] < 1000 else 50) for s in stations]
    assert len(held) == 1 and finder.page.evaluate("typeof window.L") == "undefined"  # still on its way
    assert finder.page.locator("#map.leaflet-container").count() == 0
    finder.page.screenshot(path=screenshot_dir / "finder-phone-before-map.png", full_page=True)

    held[0].continue_()
    expect(finder.page.locator("#map.leaflet-container")).to_be_visible()
    pins = finder.page.locator("#map .leaflet-marker-icon")
    expect(pins).to_have_count(len(stations))
    assert pins.all_text_contents() == [str(number) for number in range(1, len(stations) + 1)]
    expect(finder.page.locator("#map path.leaflet-interactive, #map path")).not_to_have_count(0)
    credit = finder.page.locator("#map .leaflet-control-attribution")
    expect(credit).to_have_text("Leaflet")
    assert credit.locator("svg, img").count() == 0  # no flag
    assert_clean(finder)


def test_manual_fallback_when_geolocation_is_refused(page: PageFactory, screenshot_dir: Path) -> None:
    finder = page(phone=True)
    finder.goto("/finder")
    expect(finder.page.locator("#status")).to_have_text("无法获取位置，请在地图上点选或选择乡镇")
    expect(finder.page.locator("#township")).to_be_visible()
    finder.page.locator("#open-now").uncheck()  # no position yet: nothing is asked

    option = finder.page.locator("#township optgroup[label='浔阳区'] option").first
    value, name = option.get_attribute("value"), option.text_content().strip()
    with finder.page.expect_response(is_nearest) as answer:
        finder.page.locator("#township").select_option(value)
    query = query_of(answer.value)
    assert (float(query["lon"][0]), float(query["lat"][0])) == pytest.approx(
        tuple(map(float, value.split(","))), abs=1e-6)
    assert same_answer(finder, answer.value)
    expect(finder.page.locator("#status")).to_contain_text(name)
    finder.page.screenshot(path=screenshot_dir / "finder-phone-township.png", full_page=True)

    with finder.page.expect_response(is_nearest) as answer:  # "lat, lon" as copied from a map app
        finder.page.locator("#coords").fill("29.71，115.99")
        finder.page.locator("#coords-form button").click()
    query = query_of(answer.value)
    assert (float(query["lon"][0]), float(query["lat"][0])) == pytest.approx(XUNYANG, abs=1e-6)
    assert same_answer(finder, answer.value)

    map_ = finder.page.locator("#map")
    map_.scroll_into_view_if_needed()
    box = map_.bounding_box()
    with finder.page.expect_response(is_nearest) as answer:  # a corner: the pins keep clear of it (padding)
        map_.tap(position={"x": 8, "y": box["height"] - 8})  # bottom left: Leaflet's credit is on the right
    assert same_answer(finder, answer.value)
    expect(finder.page.locator("#status")).to_contain_text("地图点选")
    assert_clean(finder)


def test_amenity_chip_filters_the_list(page: PageFactory) -> None:
    finder = page(geolocation=XUNYANG)
    with finder.page.expect_response(is_nearest):
        finder.goto("/finder")
    settle(finder)
    finder.page.locator("#open-now").uncheck()
    with finder.page.expect_response(lambda r: is_nearest(r) and "amenity=charging" in r.url) as answer:
        finder.page.locator("label.chip", has_text="充电").click()
    assert query_of(answer.value)["amenity"] == ["charging"]
    stations = same_answer(finder, answer.value)
    assert stations and all("charging" in station["amenities"] for station in stations)
    for item in finder.page.locator("#results li.station").all():
        expect(item.locator(".amenities")).to_contain_text("充电")
    assert_clean(finder)


def test_finder_page_is_self_contained(client: TestClient) -> None:
    """Scripts and stylesheets come from the app; only allow-listed static names are served."""
    response = client.get("/finder")
    assert response.status_code == 200
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.html["lang"] == "zh-CN"
    assert "width=device-width" in soup.find("meta", attrs={"name": "viewport"})["content"]
    sources = [tag["src"] for tag in soup.find_all("script", src=True)]
    sources += [tag["href"] for tag in soup.find_all("link", rel="stylesheet")]
    assert len(sources) == 4 and all(source.startswith("/") for source in sources)
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert soup.select_one("#type option[selected]")["value"] == "love_station"
    towns = soup.select("#township option[value]:not([value=''])")
    assert len(towns) > 150
    for town in towns:
        lon, lat = map(float, town["value"].split(","))
        assert 113.5 < lon < 117 and 28.4 < lat < 30.2, town  # inside Jiujiang's bounding box
    assert client.get("/finder/static/finder.js").headers["content-type"].startswith("text/javascript")
    for name in ("finder.html", "..%2Ffinder.py", "app.py"):
        assert client.get(f"/finder/static/{name}").status_code == 404
