"""Part 2 CRS, Part 3 sortby/properties/CQL2 JSON and the vector tiles from OWSLib 0.35 and GDAL
3.6 against a live server (tests/conftest.py ``live_server``). Expected values come from the
REST API (sorted here), pyproj, and the server's own items read by httpx; tiles are decoded with
mapbox_vector_tile. What these versions cannot do is pinned too, so an upgrade that can shows up
(README, "What each client does")."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import Any

import pytest
from pyproj import Transformer
from shapely.geometry import box, shape

httpx = pytest.importorskip("httpx")
Features = pytest.importorskip("owslib.ogcapi.features").Features
mapbox_vector_tile = pytest.importorskip("mapbox_vector_tile")

pytestmark = [pytest.mark.db, pytest.mark.clients]

TILE = (10, 424, 841)  # z, row, col: WebMercatorQuad tile over Jiujiang's centre (checked non-empty below)


def rest_stations(server: str) -> list[dict[str, Any]]:
    """Every love station's properties from the REST API (not /ogc)."""
    stations = httpx.get(f"{server}/api/v1/stations", params={"type": "love_station", "limit": 1000},
                         timeout=30).json()["features"]
    return [station["properties"] for station in stations]


def test_owslib_sortby_follows_the_rest_list_sorted_here(live_server: str) -> None:
    """OWSLib 0.35 takes ``sortby`` as a (property, "asc"|"desc") pair and sends ``sortby=-name``."""
    api = Features(f"{live_server}/ogc")
    page = api.collection_items("love_station", sortby=("name", "desc"), limit=1000)
    assert "sortby=-name" in api.request
    stations = rest_stations(live_server)
    # ties (equal names) by id, as the server documents
    expected = [s["id"] for s in sorted(sorted(stations, key=lambda s: s["id"]), key=lambda s: s["name"],
                                        reverse=True)]
    got = [feature["properties"]["station_id"] for feature in page["features"]]
    assert sorted(got) == sorted(expected) and len(got) == len(stations)
    names = [feature["properties"]["name"] for feature in page["features"]]
    assert names == sorted((s["name"] for s in stations), reverse=True)


def test_owslib_properties_keeps_exactly_the_ones_asked(live_server: str) -> None:
    api = Features(f"{live_server}/ogc")
    page = api.collection_items("love_station", properties="name,status", limit=50)
    assert page["features"] and {tuple(sorted(f["properties"])) for f in page["features"]} == {("name", "status")}
    by_id = {s["id"]: s for s in rest_stations(live_server)}
    for feature in page["features"]:
        station = by_id[int(feature["id"])]
        assert feature["properties"] == {"name": station["name"], "status": station["status"]}


def test_owslib_crs_and_bbox_crs_in_web_mercator(live_server: str) -> None:
    """``crs=EPSG:3857`` output and a ``bbox-crs=EPSG:3857`` box (OWSLib forwards any keyword, so
    hyphenated names go as a dict): the points are pyproj's projection of the CRS84 ones to 1 mm,
    and the Mercator box selects what the same box in degrees does."""
    api = Features(f"{live_server}/ogc")
    to_mercator = Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True)
    west, south = to_mercator.transform(115.9, 29.6)
    east, north = to_mercator.transform(116.1, 29.8)
    page = api.collection_items("love_station", limit=1000, bbox=[west, south, east, north],
                                **{"bbox-crs": "EPSG:3857", "crs": "EPSG:3857"})
    assert api.response_headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/3857>"
    degrees = api.collection_items("love_station", limit=1000, bbox=[115.9, 29.6, 116.1, 29.8])
    lon_lat = {feature["id"]: feature["geometry"]["coordinates"] for feature in degrees["features"]}
    assert 0 < len(lon_lat) < page["numberMatched"] + 1 and set(lon_lat) == {f["id"] for f in page["features"]}
    for feature in page["features"]:
        assert feature["geometry"]["coordinates"] == pytest.approx(
            list(to_mercator.transform(*lon_lat[feature["id"]])), abs=1e-3)


def test_owslib_cql2_json_as_a_filter_parameter(live_server: str) -> None:
    """OWSLib's own ``cql=`` POSTs the JSON to /items (pygeoapi's extension, not the standard):
    refused here with 405. The standard way, ``filter`` + ``filter-lang=cql2-json``, goes through
    OWSLib's keyword forwarding."""
    api = Features(f"{live_server}/ogc")
    expression = {"op": "and", "args": [{"op": "=", "args": [{"property": "status"}, "open"]},
                                        {"op": "<", "args": [{"property": "station_id"}, 60]}]}
    page = api.collection_items("love_station", limit=1000, filter=json.dumps(expression),
                                **{"filter-lang": "cql2-json"})
    expected = sorted(s["id"] for s in rest_stations(live_server) if s["status"] == "open" and s["id"] < 60)
    assert sorted(f["properties"]["station_id"] for f in page["features"]) == expected and expected
    with pytest.raises(RuntimeError):
        api.collection_items("love_station", cql=expression)


def _ogrinfo(*arguments: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("ogrinfo") is None:
        pytest.fail("ogrinfo not found: install gdal-bin (scripts/setup.sh does on CI)")
    env = os.environ | {"NO_PROXY": "127.0.0.1,localhost", "GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "ON"}
    return subprocess.run(["ogrinfo", "-ro", *arguments], capture_output=True, text=True, env=env, timeout=300)


def test_gdal_mvt_driver_reads_a_tile_by_its_url(live_server: str) -> None:
    """GDAL 3.6's MVT driver takes a /vsicurl/ path ending in digits for a tileset folder
    ({z}/{x}/{y}.pbf), so the tile's URL ends in ``?f=mvt``; Z/X/Y open options place it. Its
    features (ids, names) are the tile's own decoded by mapbox_vector_tile (those inside the tile
    proper), and the server's items in the tile's box hold every one of them."""
    z, row, col = TILE
    url = f"{live_server}/ogc/collections/townships/tiles/WebMercatorQuad/{z}/{row}/{col}"
    decoded = mapbox_vector_tile.decode(httpx.get(url, timeout=30).content)["townships"]
    tile = box(0, 0, decoded["extent"], decoded["extent"])
    # GDAL clips to the tile (its CLIP open option, on by default): a feature only in the 64-unit
    # buffer around the tile is not read
    in_tile = {str(feature["id"]): feature["properties"]["name"] for feature in decoded["features"]
               if shape(feature["geometry"]).intersection(tile).area > 0}
    assert 3 < len(in_tile) <= len(decoded["features"])
    wrong = httpx.get(url, params={"f": "json"}, timeout=30)
    assert wrong.status_code == 400 and wrong.json()["parameter"] == "f"  # a tile is MVT only
    result = _ogrinfo("-al", "-oo", f"Z={z}", "-oo", f"X={col}", "-oo", f"Y={row}", f"MVT:/vsicurl/{url}?f=mvt")
    assert result.returncode == 0, result.stderr
    read = dict(re.findall(r"\n  mvt_id \(Integer64\) = (\d+)\n(?:  \w+ \(\w+\) = .*\n)*?  name \(String\) = (.+)\n",
                           result.stdout))
    assert "Layer name: townships" in result.stdout
    assert read == in_tile
    # the tile's box in degrees, by pyproj from the matrix (156543.03 m a pixel at zoom 0, 256 px)
    side = 2 * 20037508.342789244 / 2**z
    to_degrees = Transformer.from_crs("EPSG:3857", "OGC:CRS84", always_xy=True)
    west, north = to_degrees.transform(-20037508.342789244 + col * side, 20037508.342789244 - row * side)
    east, south = to_degrees.transform(-20037508.342789244 + (col + 1) * side, 20037508.342789244 - (row + 1) * side)
    items = httpx.get(f"{live_server}/ogc/collections/townships/items",
                      params={"bbox": f"{west},{south},{east},{north}", "limit": 1000}, timeout=30).json()
    assert set(in_tile) <= {str(feature["id"]) for feature in items["features"]}


def test_gdal_3_6_sorts_an_order_by_itself(live_server: str) -> None:
    """``-sql ... ORDER BY`` is evaluated by GDAL (no ``sortby`` sent; it pages through everything),
    with the same order as the server's ``sortby=-name``."""
    result = _ogrinfo(f"OAPIF:{live_server}/ogc", "-sql",
                      "SELECT station_id, name FROM love_station ORDER BY name DESC")
    assert result.returncode == 0, result.stderr
    assert "/items" in result.stderr and "sortby" not in result.stderr
    names = re.findall(r"\n  name \(String\) = (.+)\n", result.stdout)
    server = httpx.get(f"{live_server}/ogc/collections/love_station/items",
                       params={"sortby": "-name", "properties": "name", "limit": 1000}, timeout=30).json()
    assert names == [feature["properties"]["name"] for feature in server["features"]] and names
