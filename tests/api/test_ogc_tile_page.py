"""The collection page's tile map, server side: its config names the tile template the tileset
metadata gives (with protomaps-leaflet's {z}/{y}/{x} for tileMatrix/tileRow/tileCol) and the
collection's bbox as its JSON gives it; the template, filled in by the slippy-map formula written
out here, answers the MVT with the station in it; collections without tiles get no tile map.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

import mapbox_vector_tile
import pytest
from bs4 import BeautifulSoup

from tests.api.test_ogc_html import local, soup

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

MVT = "application/vnd.mapbox-vector-tile"


def tile_config(page: BeautifulSoup) -> dict:
    block = page.find("script", id="ogc-tile-map-config")
    assert block is not None and block["type"] == "application/json"
    return json.loads(block.string)


def slippy(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """(column, row) of the Web Mercator tile holding a point: the OSM wiki's formula."""
    n = 1 << zoom
    row = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(row)


@pytest.mark.parametrize(("collection", "kind"), [("love_station", "stations"), ("workers_home", "stations"),
                                                  ("counties", "regions"), ("townships", "regions")])
def test_config_names_the_tileset_template_and_the_bbox(client: TestClient, collection: str, kind: str) -> None:
    page = soup(client, f"/ogc/collections/{collection}")
    config = tile_config(page)
    tileset = client.get(local(config["tileset"])).json()
    [item] = [link for link in tileset["links"] if link["rel"] == "item"]
    assert item["type"] == MVT
    assert config["tiles"] == (item["href"].replace("{tileMatrix}", "{z}").replace("{tileRow}", "{y}")
                               .replace("{tileCol}", "{x}"))
    assert config["tiles"].endswith(f"/ogc/collections/{collection}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}")
    assert config["layer"] == collection == tileset["layers"][0]["id"]
    assert config["kind"] == kind and config["maxDataZoom"] == int(tileset["layers"][0]["maxTileMatrix"]) == 18
    document = client.get(f"/ogc/collections/{collection}", params={"f": "json"}).json()
    assert config["bbox"] == document["extent"]["spatial"]["bbox"][0]
    caption = page.find("figcaption")
    assert caption.find("a", href=f"{config['tileset']}?f=json") is not None and "矢量瓦片" in caption.text
    sources = [tag["src"] for tag in page.find_all("script", src=True)]
    assert any("/protomaps-leaflet/" in src for src in sources) and any("ogc-tile-map.js" in src for src in sources)
    assert all(src.startswith("/static/") for src in sources), sources


def test_template_filled_in_gives_the_stations_tile(client: TestClient) -> None:
    config = tile_config(soup(client, "/ogc/collections/love_station"))
    station = client.get("/ogc/collections/love_station/items", params={"limit": 1}).json()["features"][0]
    lon, lat = station["geometry"]["coordinates"]
    col, row = slippy(lon, lat, 12)
    answer = client.get(local(config["tiles"].replace("{z}", "12").replace("{y}", str(row)).replace("{x}", str(col))))
    assert answer.status_code == 200 and answer.headers["content-type"] == MVT
    ids = {feature["properties"]["station_id"] for feature in mapbox_vector_tile.decode(answer.content)["love_station"]
           ["features"]}
    assert station["id"] in ids


def test_no_tile_map_without_tiles(client: TestClient) -> None:
    page = soup(client, "/ogc/collections/coverage")
    assert page.find(id="ogc-tile-map") is None and page.find(id="ogc-tile-map-config") is None
    assert not [tag for tag in page.find_all("script", src=True) if "ogc-tile-map" in tag["src"]]
    assert client.get("/ogc/collections/coverage/tiles/WebMercatorQuad").status_code == 404
