"""The HTML face of /ogc (``?f=html``): the page's map data against the JSON endpoint, links to
the JSON and between pages, readable names, notices, hostile text, /ogc/api as a page.

The oracle for the map is the GeoJSON the same URL serves with ``f=json``: the map must draw
exactly the features (ids and coordinates) of the page, in lon, lat whatever ``crs`` is asked.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.ogc.html import script_json
from geo.notices import DEMO, POSITION_UNKNOWN, approximate_notice

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
HOSTILE = ('名称"><img src=x onerror=alert(3)> <script>alert(1)</script> \'" `${alert(4)}` '
           "</script><!-- C:\\users\\ javascript:alert(5)")
STATUS_WORDS = {"open": "开放", "closed": "关闭", "planned": "规划中"}  # written out here, not imported


def soup(client: TestClient, path: str, **params: Any) -> BeautifulSoup:
    response = client.get(path, params={"f": "html", **params})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html"), response.text
    return BeautifulSoup(response.text, "html.parser")


def map_config(page: BeautifulSoup) -> dict:
    block = page.find("script", id="ogc-map-config")
    assert block is not None and block["type"] == "application/json"
    return json.loads(block.string)


def local(href: str) -> str:
    """A link of the page as a path with query, for the TestClient."""
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def geojson(client: TestClient, path: str, **params: Any) -> dict:
    response = client.get(path, params={"f": "json", **params})
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize(("collection", "params"), [
    ("love_station", {"limit": 7, "offset": 3}), ("townships", {"limit": 5}), ("counties", {"limit": 20}),
    ("coverage", {"limit": 4}), ("workers_home", {"limit": 3, "crs": EPSG4326})])
def test_items_map_draws_the_page_features_of_the_json(client: TestClient, collection: str, params: dict) -> None:
    path = f"/ogc/collections/{collection}/items"
    page = soup(client, path, **params)
    expected = geojson(client, path, **{key: value for key, value in params.items() if key != "crs"})  # lon, lat
    drawn = map_config(page)["features"]["features"]
    assert expected["numberReturned"] > 0
    assert [f["id"] for f in drawn] == [f["id"] for f in expected["features"]]
    assert [f["geometry"] for f in drawn] == [f["geometry"] for f in expected["features"]]
    assert [f["properties"]["name"] for f in drawn] == [f["properties"]["name"] for f in expected["features"]]
    # the table lists the same features, each linking to its page
    rows = [a.get_text() for a in page.select("table a[href*='/items/']")]
    assert rows == [str(f["id"]) for f in expected["features"]]
    if "crs" in params:  # the map stays in lon, lat; the JSON link keeps the crs the reader asked for
        first = expected["features"][0]["geometry"]["coordinates"]
        assert 113 < first[0] < 118 and 28 < first[1] < 31  # Jiujiang: lon, lat
        alternate = page.find("a", type="application/geo+json")["href"]
        assert parse_qs(urlsplit(alternate).query)["crs"] == [EPSG4326]


def test_items_page_links_to_its_json_and_pages_through(client: TestClient) -> None:
    path = "/ogc/collections/love_station/items"
    first = soup(client, path, limit=5)
    head = first.find("link", rel="alternate", type="application/geo+json")
    shown = first.find("a", type="application/geo+json")
    assert head is not None and shown is not None and head["href"] == shown["href"]
    assert parse_qs(urlsplit(shown["href"]).query)["f"] == ["json"]
    followed = client.get(local(shown["href"]))
    assert followed.headers["content-type"].startswith("application/geo+json")
    drawn = map_config(first)["features"]["features"]
    assert [f["id"] for f in followed.json()["features"]] == [f["id"] for f in drawn]
    assert first.find("a", rel="prev") is None
    following = first.find("a", rel="next")
    assert following is not None and following.get_text() == "下一页 / next page"
    assert parse_qs(urlsplit(following["href"]).query) == {"f": ["html"], "offset": ["5"], "limit": ["5"]}
    second = BeautifulSoup(client.get(local(following["href"])).text, "html.parser")
    expected = geojson(client, path, limit=5, offset=5)
    assert [f["id"] for f in map_config(second)["features"]["features"]] == [f["id"] for f in expected["features"]]
    back = second.find("a", rel="prev")
    assert back is not None and parse_qs(urlsplit(back["href"]).query)["offset"] == ["0"]
    matched = expected["numberMatched"]
    last = soup(client, path, limit=5, offset=matched - 1)
    assert last.find("a", rel="next") is None and last.find("a", rel="prev") is not None


def test_items_page_reads_in_words(client: TestClient) -> None:
    path = "/ogc/collections/love_station/items"
    page = soup(client, path, limit=20)
    headers = [th.get_text(" ", strip=True) for th in page.select("table th")]
    for words in ("名称 name", "地址 address", "状态 status", "开放时间 opening hours", "演示数据 demo data"):
        assert words in headers
    status_column = headers.index("状态 status")
    cells = [row.find_all("td")[status_column].get_text() for row in page.select("table tr")[1:]]
    expected = geojson(client, path, limit=20)["features"]
    assert cells == [f"{STATUS_WORDS[f['properties']['status']]} {f['properties']['status']}" for f in expected]
    assert page.find("html")["lang"] == "zh-CN"
    assert DEMO.text in [p.get_text() for p in page.select("p.notice")]


def test_feature_page_maps_the_feature_and_links_to_its_json(client: TestClient) -> None:
    expected = geojson(client, "/ogc/collections/townships/items", limit=1)["features"][0]
    path = f"/ogc/collections/townships/items/{expected['id']}"
    page = soup(client, path)
    drawn = map_config(page)["features"]["features"]
    assert [(f["id"], f["geometry"]) for f in drawn] == [(expected["id"], expected["geometry"])]
    shown = page.find("a", type="application/geo+json")
    assert shown is not None and local(shown["href"]) == f"{path}?f=json"
    assert client.get(local(shown["href"])).json()["id"] == expected["id"]
    assert page.find("a", href=re.compile(r"/ogc/collections/townships/items\?f=html$")) is not None
    notices = [p.get_text() for p in page.select("p.notice")]
    unknown = expected["properties"]["position_is_unknown"]
    assert (approximate_notice(int(unknown), 1).text in notices) == expected["properties"]["boundary_is_approximate"]
    assert (POSITION_UNKNOWN.text in notices) == unknown
    rows = {row.th.code.get_text(): row.td.get_text() for row in page.select("table tr")}
    assert rows["name"] == expected["properties"]["name"] and rows["code"] == str(expected["id"])


def test_feature_notices_follow_the_feature_not_the_collection(client: TestClient, session: Session) -> None:
    real = session.execute(text(
        "INSERT INTO station (type_code, name, is_demo, geom) VALUES "
        "('love_station', '真实站点', false, ST_SetSRID(ST_MakePoint(116.0, 29.7), 4326)) RETURNING id")).scalar_one()
    demo = session.execute(text("SELECT id FROM station WHERE is_demo AND type_code = 'love_station' "
                                "AND deleted_at IS NULL ORDER BY id LIMIT 1")).scalar_one()
    real_page = soup(client, f"/ogc/collections/love_station/items/{real}")
    demo_page = soup(client, f"/ogc/collections/love_station/items/{demo}")
    assert DEMO.text not in real_page.get_text() and DEMO.text in demo_page.get_text()
    assert map_config(real_page)["features"]["features"][0]["geometry"] == {"type": "Point", "coordinates": [116, 29.7]}


def test_hostile_station_name_is_text_everywhere(client: TestClient, session: Session) -> None:
    station = session.execute(text(
        "INSERT INTO station (type_code, name, address, is_demo, geom) VALUES "
        "('love_station', :name, :name, true, ST_SetSRID(ST_MakePoint(116.0, 29.7), 4326)) RETURNING id"),
        {"name": HOSTILE}).scalar_one()
    for path, params in ((f"/ogc/collections/love_station/items/{station}", {}),
                         ("/ogc/collections/love_station/items", {"limit": 1000})):
        raw = client.get(path, params={"f": "html", **params}).text
        page = BeautifulSoup(raw, "html.parser")
        assert not page.select('img[src="x"]') and not page.find(onerror=True)
        runnable = [tag for tag in page.find_all("script") if tag.get("type") != "application/json"]
        assert runnable and all(tag.get("src", "").startswith("/static/") and not tag.string for tag in runnable)
        block = re.search(r'<script[^>]*id="ogc-map-config">(.*?)</script>', raw, re.DOTALL)
        assert block is not None and "<" not in block[1]  # nothing in the data can end the block
        names = [f["properties"]["name"] for f in map_config(page)["features"]["features"]]
        assert HOSTILE in names  # the map gets the text back exactly
        assert HOSTILE in [td.get_text() for td in page.find_all("td")]  # shown literally, not as markup
    feature_page = soup(client, f"/ogc/collections/love_station/items/{station}")
    assert feature_page.h1.get_text().startswith(HOSTILE) and feature_page.title.get_text().startswith(HOSTILE)


def test_script_json_cannot_end_its_block() -> None:
    value = {"name": "</script><script>alert(1)</script><!-- & -->"}
    written = script_json(value)
    assert "<" not in written and ">" not in written and "&" not in written
    assert json.loads(written) == value


def test_empty_page_has_no_map(client: TestClient) -> None:
    page = soup(client, "/ogc/collections/love_station/items", offset=100_000)
    assert page.find(id="ogc-map") is None and page.find("script", src=True) is None


@pytest.mark.parametrize("request_", [{"params": {"f": "html"}}, {"headers": {"Accept": "text/html,*/*;q=0.8"}}])
def test_api_definition_as_a_page_reads_the_json(client: TestClient, request_: dict) -> None:
    response = client.get("/ogc/api", **request_)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = BeautifulSoup(response.text, "html.parser")
    assert page.find("html")["lang"] == "zh-CN"
    sources = [tag["src"] for tag in page.find_all("script", src=True)]
    assert "/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in sources  # the app's own Swagger UI, as /docs
    assert all(src.startswith("/static/") for src in sources)
    url = re.search(r"url: '([^']+)'", response.text)
    assert url is not None and local(url[1]) == "/ogc/api?f=json"
    document = client.get(local(url[1]))
    assert document.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    assert document.json()["openapi"].startswith("3.0")


@pytest.mark.parametrize("accept", ["", "application/vnd.oai.openapi+json;version=3.0",
                                    "application/vnd.oai.openapi+json;version=3.0, text/html;q=0.5", "*/*"])
def test_api_definition_stays_json_for_clients(client: TestClient, accept: str) -> None:
    response = client.get("/ogc/api", headers={"Accept": accept})
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json")


@pytest.mark.parametrize("path", ["/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/love_station"])
def test_pages_link_to_the_api_definition_page(client: TestClient, path: str) -> None:
    page = soup(client, path)
    link = page.find("a", href=re.compile(r"/ogc/api\?f=html$"))
    assert link is not None and client.get(local(link["href"])).headers["content-type"].startswith("text/html")
