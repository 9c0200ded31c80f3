"""Every map page: served assets only, notices, legend, the right number of shapes, downloads."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from geo.notices import APPROXIMATE, DEMO, MODELLED, POSITION_UNKNOWN, position_unknown_count
from tests.honesty import boundary_notice, township_counts, unknown_codes

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from httpx import Response

BeautifulSoup = pytest.importorskip("bs4").BeautifulSoup  # a test extra

pytestmark = pytest.mark.db

PAGES = ["/maps/stations", "/maps/coverage?type=love_station", "/maps/gaps", "/maps/plan?type=love_station&add=4"]


def layers(page: str) -> list[dict]:
    """The GeoJSON layers Folium inlined in the page."""
    return [json.loads(blob) for blob in re.findall(r"geo_json_\w+_add\((\{.*?\})\);", page, flags=re.S)]


def layers_with(page: str, keys: set[str]) -> list[dict]:
    """The inlined layers whose features carry exactly these keys among their properties."""
    return [layer for layer in layers(page) if layer["features"] and keys <= set(layer["features"][0]["properties"])]


def script_nonce(response: Response) -> str:
    """The nonce of the page's policy, which must let no other inline script run; every <script>
    the page has carries it."""
    policy = response.headers["content-security-policy"]
    scripts = next(part.split()[1:] for part in policy.split(";") if part.split()[:1] == ["script-src"])
    assert "'unsafe-inline'" not in scripts and response.headers["x-content-type-options"] == "nosniff"
    nonce = next(source for source in scripts if source.startswith("'nonce-"))[len("'nonce-"):-1]
    tags = BeautifulSoup(response.text, "html.parser").find_all("script")
    assert all(tag.get("nonce") == nonce for tag in tags), [str(tag)[:80] for tag in tags if tag.get("nonce") != nonce]
    return nonce


def external_urls(page: str) -> list[str]:
    soup = BeautifulSoup(page, "html.parser")
    urls = [t["src"] for t in soup.find_all("script", src=True)] + [t["href"] for t in soup.find_all("link", href=True)]
    return [url for url in urls if re.match(r"^(https?:)?//", url)]


@pytest.mark.parametrize("url", PAGES)
def test_every_map_is_local_and_honest(client: TestClient, session: Session, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert external_urls(page) == []
    script_nonce(response)
    soup = BeautifulSoup(page, "html.parser")
    notice = soup.find(id="unionmap-notice").get_text()
    assert DEMO.text in notice and boundary_notice(session).text in notice and MODELLED.text in notice
    assert POSITION_UNKNOWN.text in notice  # Jiujiang has townships without a seat
    assert APPROXIMATE.text not in notice  # "derived from seat points" alone is not true of them all
    assert soup.find(id="unionmap-legend") is not None
    assert "L.control.layers" in page and "L.control.scale" in page


def test_coverage_map_shades_every_township(client: TestClient) -> None:
    page = client.get("/maps/coverage?type=love_station").text
    shaded = layers_with(page, {"share_text"})
    assert len(shaded) == 1 and len(shaded[0]["features"]) == 204
    first = shaded[0]["features"][0]["properties"]
    assert first["share_text"].endswith("%") and first["flags"] in (
        f"{APPROXIMATE.label_zh}·{MODELLED.label_zh}",
        f"{APPROXIMATE.label_zh}·{POSITION_UNKNOWN.label_zh}·{MODELLED.label_zh}")
    hexagons = layers_with(page, {"uncovered_text"})
    assert len(hexagons) == 1 and len(hexagons[0]["features"]) > 50
    assert page.count("L.circleMarker(") == 136  # every love station, clustered (closed ones say so)
    assert client.get("/maps/coverage?type=night_market").status_code == 422


def unit_layer(page: str) -> list[dict]:
    """The features of the chosen target's units (those carrying a met flag)."""
    found = layers_with(page, {"met", "status", "shortfall"})
    assert len(found) == 1
    return found[0]["features"]


def test_gaps_map_opens_on_the_failing_counties_with_a_plan_link(client: TestClient) -> None:
    page = client.get("/maps/gaps").text
    api = client.get("/api/v1/gaps", params={"detail": True}).json()
    rows = [r for r in api["rows"] if r["type_code"] == "love_station" and r["scope"] == "county"]
    failing = {r["region_name"] for r in rows if not r["met"]}
    assert failing  # the demo has counties under 5 (德安县 and 湖口县 in the shipped data)
    features = unit_layer(page)
    assert len(features) == 13
    assert {f["properties"]["name"] for f in features if not f["properties"]["met"]} == failing
    assert {f["properties"]["status"] for f in features if f["properties"]["met"]} == {"达标 ✓"}
    soup = BeautifulSoup(page, "html.parser")
    listed = [li.find("a").get_text() for li in soup.find(id="unionmap-failing").find_all("li")]
    shortfall = {r["region_name"]: r["shortfall"] for r in rows}
    assert listed == sorted(failing, key=lambda name: -shortfall[name])  # the largest gap first: 湖口县
    link = soup.find(id="unionmap-plan-link")["href"]
    assert link == f"/maps/plan?type=love_station&add={int(sum(shortfall.values()))}&min_per_county=5"
    met = len(rows) - len(failing)
    assert f"{met}/{len(rows)} 县达标" in soup.find(id="unionmap-target-figure").get_text()
    table = soup.find(id="unionmap-targets").get_text()
    assert "全市打造100家标准化" in table and "5/13" in table


def test_gaps_map_of_a_township_target(client: TestClient, session: Session) -> None:
    page = client.get("/maps/gaps", params={"target": "workers_home_township"}).text
    with_home = session.execute(text("SELECT count(DISTINCT township_code) FROM station WHERE type_code = "
                                     "'workers_home' AND status = 'open' AND deleted_at IS NULL")).scalar_one()
    features = unit_layer(page)
    assert len(features) == 204 and sum(not f["properties"]["met"] for f in features) == 204 - with_home
    soup = BeautifulSoup(page, "html.parser")
    assert len(soup.find(id="unionmap-failing").find_all("li")) == 204 - with_home
    assert soup.find(id="unionmap-target").find("option", selected=True)["value"] == "workers_home_township"


def test_gaps_map_zooms_to_a_unit_and_refuses_unknown_ones(client: TestClient) -> None:
    page = client.get("/maps/gaps", params={"target": "love_station_county_2019", "unit": "360429"}).text
    selected = [layer for layer in layers(page) if layer["features"]
                and set(layer["features"][0]["properties"]) == {"name"}]
    assert [f["properties"]["name"] for layer in selected for f in layer["features"]] == ["湖口县"]
    unknown = client.get("/maps/gaps", params={"target": "no_such_target"})
    assert unknown.status_code == 404 and "target" in unknown.json()["detail"]
    wrong_unit = client.get("/maps/gaps", params={"target": "love_station_county_2019", "unit": "999999"})
    assert wrong_unit.status_code == 404 and "unit" in wrong_unit.json()["detail"]


def test_plan_map_numbers_the_proposals(client: TestClient, session: Session) -> None:
    page = client.get("/maps/plan?type=love_station&add=4").text
    plan = client.post("/api/v1/plans", json={"type": "love_station", "add": 4}).json()  # the same greedy plan
    proposals = plan["proposals"]
    assert [p["order"] for p in proposals] == [1, 2, 3, 4]
    assert sum(p["added"] for p in proposals) == pytest.approx(plan["objective"]) and plan["objective"] > 0
    assert plan["covered_after"] == pytest.approx(plan["covered_before"] + plan["objective"])
    names = dict(session.execute(text("SELECT code, name FROM region WHERE code = ANY(:codes)"),
                                 {"codes": [p["township_code"] for p in proposals]
                                  + [p["county_code"] for p in proposals]}).all())
    names = {code: name + ("（位置未知）" if code in unknown_codes(session) else "") for code, name in names.items()}
    # Each proposal is a marker (its position, then its DivIcon and tooltip) up to the next marker.
    # Folium writes the DivIcon's HTML as a JSON string: quotes escaped, < and > as \u003c, \u003e.
    drawn = []
    for block in page.split("L.marker(")[1:]:
        if "unionmap-proposal" in block:
            lat, lon = map(float, re.match(r"\s*\[([-\d.]+), ([-\d.]+)\]", block).groups())
            number = int(re.search(r'unionmap-proposal\\".*?\\u003e(\d+)\\u003c', block).group(1))
            tooltip = re.search(r"#\d+ [^<\n]*人", block).group(0)
            drawn.append((number, lat, lon, tooltip))
    assert sorted(drawn) == [(p["order"], p["lat"], p["lon"],
                              f"#{p['order']} {names[p['county_code']]} · {names[p['township_code']]}："
                              f"新增覆盖 {p['added']:,.0f} 人")
                             for p in proposals]
    panel = BeautifulSoup(page, "html.parser").find(id="unionmap-plan-summary")
    assert panel.find("summary").get_text() == "方案 / plan"  # what the panel folds into on a phone
    summary = [line.strip() for line in panel.find(id="unionmap-plan-figures").get_text("\n").split("\n")
               if line.strip()] + [panel.find(id="unionmap-plan-certificate").get_text()]
    before, after, added, population = (plan[key] for key in ("covered_before", "covered_after", "objective",
                                                               "population"))
    assert "新增 4 处" in summary[0]
    assert summary[1:] == [f"规划前 before：{before:,.0f} 人（{before / population:.1%}）",
                           f"规划后 after：{after:,.0f} 人（{after / population:.1%}）",
                           f"新增覆盖 added：{added:,.0f} 人", plan["certificate"]]
    # The table (drawn by the server too, so the page reads without JavaScript) and the form's values.
    table = [[cell.get_text() for cell in row.find_all("td")[:5]]
             for row in panel.select("#unionmap-plan-table tbody tr")]
    assert table == [[str(p["order"]), names[p["county_code"]], names[p["township_code"]], f"{p['added']:,.0f}",
                      f"{p['share']:.1%}"] for p in proposals]
    form = panel.find(id="unionmap-plan-form")
    assert (form["method"], form["action"]) == ("get", "plan")
    assert form.find(id="unionmap-plan-add")["value"] == "4" and form.find(id="unionmap-plan-min")["value"] == "0"
    assert form.find(id="unionmap-plan-type").find("option", selected=True)["value"] == "love_station"
    # The same question, the same certificate on the map and in the API; k = 4 is proven optimal.
    assert plan["bound_method"] == "lagrangian" and plan["bound_share"] == pytest.approx(1.0, abs=1e-9)
    assert plan["certificate"].startswith("方案已证明为理论最优")


def test_plan_map_uncovered_layers_sum_to_the_plans_figures(client: TestClient) -> None:
    """The before/after hexagons hold the people the plan leaves uncovered, before and after it
    (per hexagon rounded, hexagons under one person left out: a few hundred people in millions)."""
    page = client.get("/maps/plan?type=love_station&add=6").text
    plan = client.post("/api/v1/plans", json={"type": "love_station", "add": 6}).json()
    before, after = (sum(feature["properties"]["uncovered"] for feature in layer["features"])
                     for layer in layers_with(page, {"uncovered"}))
    slack = 1_000
    assert before == pytest.approx(plan["population"] - plan["covered_before"], abs=slack)
    assert after == pytest.approx(plan["population"] - plan["covered_after"], abs=slack)
    assert before - after > 10 * slack  # the plan's people, not noise


def test_station_map_and_missing_station(client: TestClient, session: Session) -> None:
    station_id = session.execute(text("SELECT min(id) FROM station WHERE type_code = 'love_station'")).scalar_one()
    response = client.get(f"/maps/station/{station_id}")
    script_nonce(response)
    page = response.text
    assert page.count("L.circle(") == 2  # the urban and the rural radius, in metres
    assert re.search(r'"radius": 1000(\.0)?,', page) and re.search(r'"radius": 3000(\.0)?,', page)
    assert client.get("/maps/station/999999999").status_code == 404


def test_download_is_a_standalone_page(client: TestClient) -> None:
    response = client.get("/maps/gaps?download=true")
    assert response.headers["content-disposition"].startswith("attachment")
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.find_all("script", src=True) == [] and soup.find_all("link", rel="stylesheet") == []
    assert "L.Map" in response.text or "Leaflet" in response.text


def test_gap_table_workbook(client: TestClient) -> None:
    response = client.get("/maps/gaps.xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert sheet.freeze_panes == "A2" and sheet.max_row == 1 + 1 + 13 + 204 + 1 + 13 + 204


def test_start_page(client: TestClient, session: Session) -> None:
    page = client.get("/").text
    soup = BeautifulSoup(page, "html.parser")
    lines = [line.get_text() for line in soup.find(id="unionmap-notice").find_all("div")]
    demo, approximate = (int(re.search(r"（(\d+) 个", line)[1]) for line in lines[:2])
    assert demo > 0 and approximate == 204
    unknown, total = township_counts(session)
    assert lines == [f"⚠ {DEMO.counted(demo, '站点', 'stations')}",
                     f"⚠ {boundary_notice(session).counted(approximate, '乡镇', 'townships')}",
                     f"⚠ {position_unknown_count(unknown, total)}", f"⚠ {MODELLED.text}"]
    assert len(soup.find(id="targets").find_all("tr")) == 1 + 6
    assert {a["href"].split("?")[0] for a in soup.find("nav").find_all("a")} >= {  # 选址方案 carries a question
        "/maps/stations", "/maps/coverage", "/maps/gaps", "/maps/plan", "/finder"}
    assert external_urls(page) == []


def test_amap_basemap_draws_overlays_in_gcj02(client: TestClient, test_settings) -> None:  # noqa: ANN001
    import geopandas as gpd
    from shapely.geometry import Point

    from geo.core import crs
    from maps.basemap import BASEMAPS, for_display

    frame = gpd.GeoDataFrame(geometry=[Point(116.0, 29.7)], crs=4326)
    shifted = for_display(frame, BASEMAPS["amap"]).geometry.iloc[0]
    expected = crs.wgs84_to_gcj02(116.0, 29.7)
    assert (shifted.x, shifted.y) == pytest.approx((float(expected[0]), float(expected[1])), abs=1e-9)
    assert for_display(frame, BASEMAPS["osm"]).geometry.iloc[0] == Point(116.0, 29.7)


def test_map_render_command(test_settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: ANN001
    from api.cli import app
    from geo.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", test_settings.database_url)
    get_settings.cache_clear()
    out = tmp_path / "coverage.html"
    result = CliRunner().invoke(app, ["map", "render", "coverage", "--type", "worker_library", "-o", str(out)])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    soup = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    assert soup.find_all("script", src=True) == [] and DEMO.text in soup.find(id="unionmap-notice").get_text()


@pytest.mark.parametrize("url", ["/", "/finder", "/ogc?f=html", "/ogc/collections/love_station/items?f=html"])
def test_every_other_page_is_under_the_policy(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    script_nonce(response)
    assert response.headers["x-frame-options"] == "SAMEORIGIN"


def test_the_finders_answers_carry_the_headers(client: TestClient) -> None:
    response = client.get("/api/v1/stations/nearest", params={"lon": 115.99, "lat": 29.71})
    assert response.status_code == 200 and response.headers["x-content-type-options"] == "nosniff"
    assert "'nonce-" not in response.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
