"""Text that attacks the page is shown as text: stored XSS on every page, in a real browser.

A registry of its own (the synthetic region, its own database and server) in which every text a
user or an administrator can type carries the attacks at once: a tag that breaks out of an
attribute (``"><img onerror>``), a script element, quotes, and what breaks out of the
JavaScript template literals Folium wraps tooltips and popups in (a backtick, ``${…}``, and a
backslash before ``u``, which is a syntax error there). Fields the write API refuses (a phone
with letters, an unknown amenity) are put in with SQL: rows from an old import or an edit by
hand must not turn into script either.

On every page each tooltip and popup is opened (Leaflet's own mouse events on every layer,
and the real mouse on some), then: no dialog, no console error or CSP violation, no element the
text would have made, and the text shown literally — not double-escaped (``&lt;``). Last, an
event handler is put into the page by hand, as a missed escape would: the page's
Content-Security-Policy must block it.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from sqlalchemy import text

from geo.services.transaction import session_scope
from geo.settings import Settings, get_settings
from geo.store.keys import create_key
from tests.browser.conftest import pages_on, serve_in_thread
from tests.conftest import write_synthetic_region

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.browser.conftest import BrowserPage, PageFactory
    from tests.conftest import Databases

# test extras
httpx = pytest.importorskip("httpx")
expect = pytest.importorskip("playwright.sync_api").expect

pytestmark = pytest.mark.db


def hostile(label: str) -> str:
    """Every attack in one text; ``label`` tells the fields apart (and keeps names unique)."""
    return (f'{label}"><img src=x onerror=alert(3)> <script>alert(1)</script> \'" `${{alert(4)}}` '
            "C:\\users\\ javascript:alert(5)")


NAME, ADDRESS, UNION, SOURCE = hostile("名称"), hostile("地址"), hostile("工会"), hostile("来源")
PHONE, AMENITY = hostile("电话"), hostile("设施")
SECOND_NAME = hostile("二站")
REGION, COUNTY, TOWNSHIP, QUOTE = hostile("市"), hostile("县"), hostile("乡"), hostile("原文")
TYPE_NAME, AMENITY_NAME = hostile("类型"), hostile("饮水")
KEY_NAME, REPORT_NOTE = hostile("密钥"), hostile("报告")[:200]  # a report's text is at most 200 characters
OPEN, SECOND = (116.03, 30.05), (116.15, 30.06)  # lon, lat in the synthetic 甲县 and 乙县

# Every tooltip and popup of a Folium map, opened through Leaflet's own mouse events on each
# layer (the events a real pointer fires, so Folium's content functions run as they do for a
# user); then everything shown as text, script and style contents left out.
OPEN_EVERYTHING = """async () => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  const leaves = [];
  map.eachLayer(layer => { if (!layer._layers && (layer.getLatLng || layer.getBounds)) leaves.push(layer); });
  const shown = {tooltips: [], popups: []};
  for (const layer of leaves) {
    const at = layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter();
    layer.fire('mouseover', {latlng: at}, true);
    document.querySelectorAll('.leaflet-tooltip').forEach(t => shown.tooltips.push(t.textContent));
    layer.fire('mouseout', {latlng: at}, true);
    layer.fire('click', {latlng: at}, true);
    document.querySelectorAll('.leaflet-popup-content').forEach(p => shown.popups.push(p.textContent));
    map.closePopup();
  }
  await new Promise(resolve => setTimeout(resolve, 200));  // an injected handler would run now
  return shown;
}"""
PAGE_TEXT = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode: node =>
    node.parentElement.closest('script, style') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  const parts = [];
  while (walker.nextNode()) parts.push(walker.currentNode.nodeValue);
  return parts.join('\\n');
}"""
# What the attacks would have made had any of them been parsed as HTML.
INJECTED = """() => [...document.querySelectorAll('img[src="x"], script')]
  .filter(node => node.tagName === 'IMG' || node.textContent.trim() === 'alert(1)').length"""
# A handler put in by hand, as a missed escape would: it must not run.
HANDLER_RUNS = """() => new Promise(resolve => {
  document.body.insertAdjacentHTML('beforeend', '<img src="data:," onerror="window.handlerRan = true">');
  setTimeout(() => resolve(window.handlerRan === true), 300);
})"""
MAP_POINT = """([lon, lat]) => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  const point = map.latLngToContainerPoint([lat, lon]);
  const box = map.getContainer().getBoundingClientRect();
  return {x: box.left + point.x, y: box.top + point.y};
}"""


def write_hostile_region(data_dir: Path) -> None:
    """The synthetic region whose county, township, region, type, amenity and target texts attack."""
    folder = write_synthetic_region(data_dir)
    counties = json.loads((folder / "counties.geojson").read_text(encoding="utf-8"))
    counties["features"][0]["properties"]["mc"] = COUNTY + "甲县"
    (folder / "counties.geojson").write_text(json.dumps(counties, ensure_ascii=False), encoding="utf-8")
    with (folder / "townships.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    for row in rows:  # the suffix (镇, 乡, 街道) stays last: it tells the kind of unit
        row["name"] = f"{TOWNSHIP}{row['code'][-3:]}{row['name']}"
    with (folder / "townships.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    def rewrite(path: Path, change: Any) -> None:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(document)
        path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")

    rewrite(folder / "region.yaml", lambda region: region.update(name_zh=REGION))
    rewrite(folder / "targets.yaml", lambda targets: targets["targets"][0].update(source_quote=QUOTE))
    rewrite(data_dir / "service_types.yaml",
            lambda types: next(t for t in types if t["code"] == "love_station").update(name_zh=TYPE_NAME))
    rewrite(data_dir / "amenities.yaml", lambda amenities: amenities["water"].update(name_zh=AMENITY_NAME))


def add_stations(base_url: str, settings: Settings) -> dict[str, Any]:
    """Two love stations through the write API by a key with a hostile name (one open 24/7, one with
    unknown hours), then what the API refuses put in with SQL, and a rider's hostile report; the
    stations' ids and the key (``key``), for signing in to the editor."""
    with session_scope(settings) as session:
        key = create_key(session, name=KEY_NAME, role="editor")
    editor = {"Authorization": f"Bearer {key}"}

    def post(point: tuple[float, float], properties: dict[str, Any]) -> int:
        response = httpx.post(f"{base_url}/api/v1/stations", headers=editor, timeout=30, json={
            "type": "Feature", "geometry": {"type": "Point", "coordinates": list(point)},
            "properties": {"type_code": "love_station", **properties}})
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    opened = post(OPEN, {"name": NAME, "address": ADDRESS, "managing_union": UNION, "source": SOURCE,
                         "opening_hours": "24/7", "amenities": ["water", "charging"], "phone": "0792-1234567"})
    second = post(SECOND, {"name": SECOND_NAME, "address": ADDRESS})
    with session_scope(settings) as session:
        session.execute(text("UPDATE station SET phone = :phone, amenities = amenities || CAST(:extra AS text[]) "
                             "WHERE id = :id"), {"phone": PHONE, "extra": [AMENITY], "id": opened})
    reported = httpx.post(f"{base_url}/api/v1/stations/{opened}/reports", timeout=30,
                          json={"kind": "other", "note": REPORT_NOTE})
    assert reported.status_code == 201, reported.text
    return {"open": opened, "second": second, "key": key}


@pytest.fixture(scope="module")
def hostile_server(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    """The app (in a thread of this process) on a database of the hostile region; yields its
    base URL and the ids of its stations."""
    from typer.testing import CliRunner

    from api.app import create_app
    from api.cli import app as cli

    data_dir = tmp_path_factory.mktemp("hostile") / "data"
    write_hostile_region(data_dir)
    name = f"unionmap_hostile_{os.getpid()}"
    url = databases.create(name)
    settings = Settings(database_url=url, data_dir=data_dir, region="synthetic", solver_warm_at_start=False)
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["load", "reference"], env={
        "DATABASE_URL": url, "UNIONMAP_DATA_DIR": str(data_dir), "UNIONMAP_REGION": "synthetic"})
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    try:
        with serve_in_thread(create_app(settings), "hostile-server") as base_url:
            yield base_url, add_stations(base_url, settings)
    finally:
        databases.drop(name)


@pytest.fixture
def hostile_page(browser: Browser, hostile_server: tuple[str, dict]) -> Iterator[PageFactory]:
    yield from pages_on(browser, hostile_server[0])


@pytest.fixture
def station_ids(hostile_server: tuple[str, dict]) -> dict[str, Any]:
    return hostile_server[1]


def visit(view: BrowserPage, path: str) -> str:
    """Open a page; its Content-Security-Policy ("" when it has none)."""
    return view.goto(path).headers.get("content-security-policy", "")


def assert_inert(view: BrowserPage, policy: str, *, must_show: list[str], shown: str) -> None:
    """Nothing ran, nothing was made of the texts, each is shown as typed; the policy lets only
    the page's own scripts run (by nonce) and blocks a handler put in by hand."""
    assert view.dialogs == []
    assert view.console_errors == []
    assert view.blocked == []
    assert view.page.evaluate(INJECTED) == 0
    for expected in must_show:
        assert expected in shown, f"{expected!r} not shown literally in:\n{shown[:3000]}"
    assert "&lt;" not in shown and "&amp;" not in shown and "&#" not in shown, "double-escaped"
    scripts = next((d.split()[1:] for d in policy.split(";") if d.split()[:1] == ["script-src"]), [])
    assert any(source.startswith("'nonce-") for source in scripts) and "'unsafe-inline'" not in scripts, policy
    assert view.page.evaluate(HANDLER_RUNS) is False
    assert any("CSP violation: script-src-attr" in line for line in view.console_errors), view.console_errors
    view.console_errors.clear()


def open_map(view: BrowserPage, path: str) -> tuple[str, str]:
    """A Folium map with every tooltip and popup opened once: its policy, and all the text it showed."""
    policy = visit(view, path)
    view.page.wait_for_selector(".leaflet-container")
    opened = view.page.evaluate(OPEN_EVERYTHING)
    return policy, "\n".join(opened["tooltips"] + opened["popups"] + [view.page.evaluate(PAGE_TEXT)])


def hover_and_click(view: BrowserPage, point: tuple[float, float], name: str) -> None:
    """The real pointer over a station: its tooltip, then its popup, show the name as typed."""
    at = view.page.evaluate(MAP_POINT, list(point))
    view.page.mouse.move(at["x"], at["y"])
    tooltip = view.page.locator(".leaflet-tooltip").filter(has_text="名称")
    assert name in tooltip.first.text_content()
    view.page.mouse.click(at["x"], at["y"])
    assert name in view.page.locator(".leaflet-popup-content").first.text_content()


# Each map and what it must show as typed (tooltips, popups, panels, badges, the layer control).
MAPS = {
    "/maps/stations": [NAME, SECOND_NAME, ADDRESS, AMENITY, AMENITY_NAME, TYPE_NAME, f"{TOWNSHIP}100甲镇"],
    "/maps/coverage?type=love_station": [NAME, SECOND_NAME, ADDRESS, AMENITY, TYPE_NAME, f"{TOWNSHIP}200乙乡"],
    "/maps/gaps": [COUNTY, TYPE_NAME, QUOTE],
    "/maps/plan?type=love_station&add=2": [NAME, TYPE_NAME, TOWNSHIP],
    "/maps/station/{open}": [NAME, ADDRESS, PHONE, AMENITY, AMENITY_NAME, TYPE_NAME],
}


@pytest.mark.parametrize("path", list(MAPS))
def test_map(hostile_page: PageFactory, station_ids: dict[str, int], path: str) -> None:
    view = hostile_page()
    policy, shown = open_map(view, path.format(**station_ids))
    assert_inert(view, policy, shown=shown, must_show=MAPS[path])
    if path.startswith(("/maps/stations", "/maps/coverage")):  # a GeoJSON layer, then clustered markers
        hover_and_click(view, OPEN, NAME)
        assert view.dialogs == [] and view.console_errors == []
    if path.startswith("/maps/plan"):
        assert view.page.locator(".unionmap-proposal").count() == 2


def test_finder(hostile_page: PageFactory) -> None:
    view = hostile_page()
    policy = visit(view, f"/finder?lon={OPEN[0]}&lat={OPEN[1]}")
    view.page.wait_for_selector("#status.ok")
    view.page.locator("#open-now").uncheck()
    expect(view.page.locator("#results li.station")).to_have_count(2)
    item = view.page.locator("#results li.station").first
    assert item.locator("h2").text_content() == NAME
    assert item.locator(".address").text_content() == ADDRESS
    assert AMENITY in item.locator(".amenities").text_content()
    assert AMENITY_NAME in item.locator(".amenities").text_content()
    assert PHONE in item.locator("a.call").text_content()
    assert item.locator("a.nav-amap").get_attribute("aria-label") == f"用高德导航到{NAME}"
    for link in view.page.locator("#results a").all():
        assert link.get_attribute("href").startswith(("https://", "tel:")), link.get_attribute("href")
    tooltips = []
    for pin in view.page.locator(".leaflet-marker-icon.pin").all():
        # Leaflet's own event: a pin may sit outside the phone-sized map (the view follows the
        # nearest station), where a real pointer cannot reach it.
        pin.dispatch_event("mouseover")
        tooltips.append(view.page.locator(".leaflet-tooltip").last.text_content())
    assert f"1. {NAME}" in tooltips and f"2. {SECOND_NAME}" in tooltips
    shown = "\n".join([*tooltips, view.page.evaluate(PAGE_TEXT)])
    options = view.page.locator("#township option").all_text_contents()
    assert_inert(view, policy, shown=shown, must_show=[NAME, SECOND_NAME, TYPE_NAME, AMENITY_NAME])
    assert any(TOWNSHIP in option for option in options)


def test_start_page(hostile_page: PageFactory) -> None:
    view = hostile_page()
    policy = visit(view, "/")
    assert_inert(view, policy, shown=view.page.evaluate(PAGE_TEXT), must_show=[REGION, QUOTE, TYPE_NAME])
    assert view.page.title() == f"unionmap · {REGION}"


def test_ogc_pages(hostile_page: PageFactory, station_ids: dict[str, int]) -> None:
    view = hostile_page()
    for path, expected in [
        ("/ogc?f=html", []),
        ("/ogc/collections?f=html", [TYPE_NAME]),
        ("/ogc/collections/love_station?f=html", [TYPE_NAME]),
        ("/ogc/collections/love_station/items?f=html", [NAME, SECOND_NAME, ADDRESS, PHONE, AMENITY]),
        (f"/ogc/collections/love_station/items/{station_ids['open']}?f=html", [NAME, ADDRESS, PHONE, UNION, SOURCE]),
        ("/ogc/collections/townships/items?f=html", [TOWNSHIP]),
    ]:
        policy = visit(view, path)
        assert_inert(view, policy, shown=view.page.evaluate(PAGE_TEXT), must_show=expected)


# The editor's pages, signed in with the hostile key (its name is the actor of every change), and
# what each must show as typed. Input values are read apart: they are not text nodes.
EDITOR_PAGES = {
    "/edit?q=%E5%90%8D%E7%A7%B0": [NAME, TYPE_NAME, f"{TOWNSHIP}100甲镇", KEY_NAME],
    "/edit/stations/{open}": [TYPE_NAME, AMENITY_NAME, KEY_NAME],
    "/edit/stations/{open}/history": [NAME, ADDRESS, UNION, AMENITY_NAME, KEY_NAME],
    "/edit/stations/{open}/card": [NAME, ADDRESS, PHONE, UNION, AMENITY_NAME, TYPE_NAME],
    "/edit/reports": [NAME, REPORT_NOTE],
    "/edit/bulk": [KEY_NAME],
}


@pytest.mark.parametrize("path", list(EDITOR_PAGES))
def test_editor_pages(hostile_page: PageFactory, station_ids: dict[str, Any], path: str) -> None:
    view = hostile_page()
    view.goto("/edit/sign-in")
    view.page.fill("#key", station_ids["key"])
    view.page.click("#sign-in-form button[type=submit]")
    view.page.wait_for_url("**/edit")
    policy = visit(view, path.format(**station_ids))
    view.page.wait_for_load_state("networkidle")  # the list and the map are drawn by script
    shown = view.page.evaluate(PAGE_TEXT)
    if path == "/edit/stations/{open}":
        assert view.page.input_value("#f-name") == NAME and view.page.input_value("#f-address") == ADDRESS
        assert view.page.input_value("#f-managing_union") == UNION and view.page.input_value("#f-phone") == PHONE
    if path.startswith("/edit?"):
        expect(view.page.locator("#station-list")).to_contain_text(NAME)
        shown = view.page.evaluate(PAGE_TEXT)
    assert_inert(view, policy, shown=shown, must_show=EDITOR_PAGES[path])


def test_finder_report_panel(hostile_page: PageFactory) -> None:
    """The rider's report panel open on a station whose texts attack; a hostile note sent as typed."""
    view = hostile_page(phone=True)
    policy = visit(view, f"/finder?lon={OPEN[0]}&lat={OPEN[1]}")
    view.page.wait_for_selector("#status.ok")
    item = view.page.locator("#results li.station").first
    assert view.page.evaluate("document.documentElement.scrollWidth") <= 360  # long texts wrap
    item.get_by_role("button", name="报告问题").click()
    item.locator(".report-panel input").fill(REPORT_NOTE)
    item.get_by_role("button", name="其他").click()
    expect(item.locator(".report-done")).to_have_text("已收到，工会工作人员会核实")
    assert_inert(view, policy, shown=view.page.evaluate(PAGE_TEXT), must_show=[NAME, ADDRESS])
