"""The stations map: served assets only, legend, honesty notices, one marker per station."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

BeautifulSoup = pytest.importorskip("bs4").BeautifulSoup  # a test extra

from geo.notices import APPROXIMATE, DEMO, MODELLED, POSITION_UNKNOWN  # noqa: E402

pytestmark = pytest.mark.db


@pytest.fixture
def page(client: TestClient) -> str:
    response = client.get("/maps/stations")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def test_no_external_script_or_stylesheet(page: str, client: TestClient) -> None:
    soup = BeautifulSoup(page, "html.parser")
    urls = [tag["src"] for tag in soup.find_all("script", src=True)]
    urls += [tag["href"] for tag in soup.find_all("link", href=True)]
    assert urls, "the map loads Leaflet from somewhere"
    external = [url for url in urls if re.match(r"^(https?:)?//", url)]
    assert external == []
    assert any(url.endswith("leaflet.js") for url in urls)
    for url in urls:  # and the app really serves each of them
        assert client.get(url).status_code == 200, url
    # Leaflet's CSS pulls its marker and layer icons relative to itself: they are served too.
    assert client.get("/static/vendor/leaflet/dist/images/layers.png").status_code == 200


def test_notices_and_legend_are_on_the_page(page: str) -> None:
    soup = BeautifulSoup(page, "html.parser")
    notice = soup.find(id="unionmap-notice").get_text()
    assert DEMO.text in notice
    assert APPROXIMATE.label in notice and "seat points" in notice and POSITION_UNKNOWN.text in notice
    assert MODELLED.text in notice
    legend = soup.find(id="unionmap-legend").get_text()
    for name in ("爱心驿站", "三师一室", "职工书屋", "工人文化宫", "职工之家"):
        assert name in legend


def test_every_station_is_drawn_once(page: str) -> None:
    # Folium inlines each GeoJSON layer as a JSON literal passed to geo_json_<id>_add(...).
    blobs = re.findall(r"geo_json_\w+_add\((\{.*?\})\);", page, flags=re.S)
    features = [f for blob in blobs for f in json.loads(blob)["features"]]
    points = [f for f in features if f["geometry"]["type"] == "Point"]
    polygons = [f for f in features if f["geometry"]["type"] in ("Polygon", "MultiPolygon")]
    assert len(points) == 475
    assert len(polygons) == 204 + 13
