"""OGC API - Tiles at /ogc: the WebMercatorQuad definition, the tilesets, and the Mapbox Vector Tiles.

Oracles independent of the code under test: pyproj for Web Mercator (corners, tile envelopes,
a point's place in its tile), the OGC items endpoint and plain SQL for which features a tile
must hold, ``mapbox_vector_tile`` and GDAL's MVT driver to read the tiles.
"""

from __future__ import annotations

import gzip
import json
import math
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mapbox_vector_tile
import pytest
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

MVT = "application/vnd.mapbox-vector-tile"
TMS = "/ogc/tileMatrixSets/WebMercatorQuad"
TYPES = ("love_station", "legal_service", "worker_library", "cultural_palace", "workers_home")
TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
TO_DEGREES = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
HALF = TO_MERCATOR.transform(180.0, 0.0)[0]  # 20 037 508.34… m, from pyproj, not from the code
EXTENT, BUFFER = 4096, 64


def rel(links: list[dict], name: str) -> list[dict]:
    return [item for item in links if item["rel"] == name]


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """(row, col) by pyproj: the metres of the point over the side of a tile."""
    x, y = TO_MERCATOR.transform(lon, lat)
    side = 2 * HALF / 2**zoom
    return math.floor((HALF - y) / side), math.floor((x + HALF) / side)


def envelope(zoom: int, row: int, col: int, margin: float = 0.0) -> tuple[float, float, float, float]:
    """A tile's square in metres (west, south, east, north), grown by ``margin`` of its side."""
    side = 2 * HALF / 2**zoom
    west, north = -HALF + col * side, HALF - row * side
    return west - margin * side, north - side - margin * side, west + side + margin * side, north + margin * side


def degrees(box: tuple[float, float, float, float]) -> str:
    west, south = TO_DEGREES.transform(box[0], box[1])
    east, north = TO_DEGREES.transform(box[2], box[3])
    return f"{west},{south},{east},{north}"


def decode(body: bytes) -> dict[str, Any]:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True}) if body else {}


def items(client: TestClient, collection: str, bbox: str) -> list[dict]:
    response = client.get(f"/ogc/collections/{collection}/items", params={"bbox": bbox, "limit": 10000})
    assert response.status_code == 200
    return response.json()["features"]


def station(session: Session, type_code: str) -> tuple[int, float, float]:
    row = session.execute(text("SELECT id, ST_X(geom), ST_Y(geom) FROM station WHERE type_code = :t "
                               "AND deleted_at IS NULL ORDER BY id LIMIT 1"), {"t": type_code}).one()
    return int(row[0]), float(row[1]), float(row[2])


# ---- documents ------------------------------------------------------------------------------


def test_landing_conformance_and_collections_link_to_the_tiles(client: TestClient) -> None:
    (schemes,) = rel(client.get("/ogc").json()["links"], "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes")
    assert schemes["href"].endswith("/ogc/tileMatrixSets")
    conforms = client.get("/ogc/conformance").json()["conformsTo"]
    for name in ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt"):
        assert f"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{name}" in conforms
    assert "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset" in conforms
    documents = {item["id"]: item for item in client.get("/ogc/collections").json()["collections"]}
    for collection in (*TYPES, "counties", "townships"):
        (tiles,) = rel(documents[collection]["links"], "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector")
        assert tiles["href"].endswith(f"/ogc/collections/{collection}/tiles")
        assert client.get(tiles["href"]).status_code == 200
    assert not rel(documents["coverage"]["links"], "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector")
    coverage = client.get("/ogc/collections/coverage/tiles")
    assert coverage.status_code == 404 and coverage.json()["code"] == "NotFound"


def test_web_mercator_quad_agrees_with_pyproj(client: TestClient) -> None:
    listed = client.get("/ogc/tileMatrixSets").json()["tileMatrixSets"]
    assert [item["id"] for item in listed] == ["WebMercatorQuad"]
    assert rel(listed[0]["links"], "self")[0]["href"].endswith(TMS)
    tms = client.get(TMS).json()
    assert tms["uri"] == "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    assert tms["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    assert tms["orderedAxes"] == ["X", "Y"]
    corner_x, corner_y = TO_MERCATOR.transform(-180.0, math.degrees(math.atan(math.sinh(math.pi))))
    assert [matrix["id"] for matrix in tms["tileMatrices"]] == [str(zoom) for zoom in range(25)]
    for zoom, matrix in enumerate(tms["tileMatrices"]):
        assert matrix["pointOfOrigin"] == pytest.approx([corner_x, corner_y], abs=1e-6)
        assert matrix["cornerOfOrigin"] == "topLeft"
        assert matrix["matrixWidth"] == matrix["matrixHeight"] == 2**zoom
        assert matrix["tileWidth"] == matrix["tileHeight"] == 256
        assert matrix["cellSize"] == pytest.approx(2 * HALF / 256 / 2**zoom, rel=1e-12)
        assert matrix["scaleDenominator"] == pytest.approx(matrix["cellSize"] / 0.00028, rel=1e-12)
    assert tms["tileMatrices"][0]["scaleDenominator"] == pytest.approx(559082264.0287178, rel=1e-9)  # 17-083r4 D.1
    assert client.get("/ogc/tileMatrixSets/WorldCRS84Quad").status_code == 404


@pytest.mark.parametrize("collection", ["worker_library", "townships", "counties"])
def test_tileset_metadata_has_the_required_members(client: TestClient, collection: str) -> None:
    listed = client.get(f"/ogc/collections/{collection}/tiles").json()
    (summary,) = listed["tilesets"]
    assert summary["dataType"] == "vector" and summary["crs"].endswith("/EPSG/0/3857")
    url = rel(summary["links"], "self")[0]["href"]
    assert url.endswith(f"/ogc/collections/{collection}/tiles/WebMercatorQuad")
    tileset = client.get(url).json()
    assert tileset["dataType"] == "vector"
    assert tileset["tileMatrixSetURI"] == "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    (scheme,) = rel(tileset["links"], "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme")
    assert client.get(scheme["href"]).json()["id"] == "WebMercatorQuad"
    (item,) = rel(tileset["links"], "item")
    assert item["type"] == MVT and item["templated"] is True
    template = "/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"
    assert item["href"].endswith(f"/collections/{collection}{template}")
    (layer,) = tileset["layers"]
    assert layer["id"] == collection and layer["dataType"] == "vector"
    assert (layer["minTileMatrix"], layer["maxTileMatrix"]) == ("0", "18")
    properties = layer["propertiesSchema"]["properties"]
    assert ("is_demo" in properties) == (collection == "worker_library")
    assert ("boundary_is_approximate" in properties) == (collection != "worker_library")
    # the limits are the tiles of the collection's extent, by pyproj
    west, south, east, north = client.get(f"/ogc/collections/{collection}").json()["extent"]["spatial"]["bbox"][0]
    limits = tileset["tileMatrixSetLimits"]
    assert [item["tileMatrix"] for item in limits] == [str(zoom) for zoom in range(19)]
    for zoom, limit in enumerate(limits):
        (top, left), (bottom, right) = tile_of(west, north, zoom), tile_of(east, south, zoom)
        assert (limit["minTileRow"], limit["maxTileRow"], limit["minTileCol"], limit["maxTileCol"]) == (
            top, bottom, left, right)


# ---- tiles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("type_code", TYPES)
def test_a_station_tile_holds_the_stations_the_items_endpoint_finds_there(
        client: TestClient, session: Session, type_code: str) -> None:
    _, lon, lat = station(session, type_code)
    zoom = 10
    row, col = tile_of(lon, lat, zoom)
    response = client.get(f"/ogc/collections/{type_code}/tiles/WebMercatorQuad/{zoom}/{row}/{col}")
    assert response.status_code == 200 and response.headers["content-type"] == MVT
    (layer,) = decode(response.content).values()
    assert layer["extent"] == EXTENT and decode(response.content).keys() == {type_code}
    expected = {feature["id"]: feature for feature in
                items(client, type_code, degrees(envelope(zoom, row, col, BUFFER / EXTENT)))}
    got = {feature["id"]: feature for feature in layer["features"]}
    assert got.keys() == expected.keys() and got
    schema = client.get(f"/ogc/collections/{type_code}/tiles/WebMercatorQuad").json()["layers"][0]
    for fid, feature in got.items():
        properties, reference = feature["properties"], expected[fid]["properties"]
        assert set(properties) <= set(schema["propertiesSchema"]["properties"])
        for name in ("station_id", "name", "status", "is_demo", "region_is_approximate", "county_code",
                     "amenities", "version", "updated_at"):
            if reference.get(name) is not None:
                assert properties[name] == reference[name], name


def test_a_point_sits_where_pyproj_puts_it_in_its_tile(client: TestClient, session: Session) -> None:
    station_id, lon, lat = station(session, "love_station")
    for zoom in (8, 12, 16):
        row, col = tile_of(lon, lat, zoom)
        body = client.get(f"/ogc/collections/love_station/tiles/WebMercatorQuad/{zoom}/{row}/{col}").content
        (feature,) = [f for f in decode(body)["love_station"]["features"] if f["id"] == station_id]
        west, _, east, north = envelope(zoom, row, col)
        x, y = TO_MERCATOR.transform(lon, lat)
        expected = ((x - west) / (east - west) * EXTENT, (north - y) / (east - west) * EXTENT)
        assert feature["geometry"]["type"] == "Point"
        assert feature["geometry"]["coordinates"] == pytest.approx(list(expected), abs=1.0)


def test_a_deleted_station_leaves_the_tile(client: TestClient, session: Session) -> None:
    station_id, lon, lat = station(session, "love_station")
    row, col = tile_of(lon, lat, 12)
    url = f"/ogc/collections/love_station/tiles/WebMercatorQuad/12/{row}/{col}"
    assert station_id in {f["id"] for f in decode(client.get(url).content)["love_station"]["features"]}
    session.execute(text("SELECT set_config('unionmap.actor', 'test', true)"))
    session.execute(text("UPDATE station SET deleted_at = now() WHERE id = :id"), {"id": station_id})
    session.flush()
    layers = decode(client.get(url).content)
    assert station_id not in {f["id"] for f in layers.get("love_station", {}).get("features", [])}


@pytest.mark.parametrize(("collection", "level", "zoom"), [("townships", "township", 8), ("counties", "county", 7)])
def test_a_region_tile_holds_the_regions_that_meet_it(client: TestClient, session: Session, collection: str,
                                                      level: str, zoom: int) -> None:
    lon, lat = session.execute(text("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) AS c "
                                    "FROM region WHERE level = :l) AS e"), {"l": level}).one()
    row, col = tile_of(lon, lat, zoom)
    response = client.get(f"/ogc/collections/{collection}/tiles/WebMercatorQuad/{zoom}/{row}/{col}")
    layer = decode(response.content)[collection]
    west, south, east, north = envelope(zoom, row, col, BUFFER / EXTENT)
    codes = {code for (code,) in session.execute(text(
        "SELECT code FROM region WHERE level = :l AND ST_Intersects(ST_Transform(geom, 3857), "
        "ST_MakeEnvelope(:w, :s, :e, :n, 3857))"), {"l": level, "w": west, "s": south, "e": east, "n": north})}
    assert {f["properties"]["code"] for f in layer["features"]} == codes and codes
    assert {f["id"] for f in layer["features"]} == {int(code) for code in codes}
    flags = {code: (approximate, modelled) for code, approximate, modelled in session.execute(text(
        "SELECT code, boundary_is_approximate, population_is_modelled FROM region WHERE level = :l"), {"l": level})}
    for feature in layer["features"]:
        properties = feature["properties"]
        assert (properties["boundary_is_approximate"], properties["population_is_modelled"]) == flags[
            properties["code"]]
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_an_empty_tile_inside_the_limits_is_an_empty_200(client: TestClient) -> None:
    limits = client.get("/ogc/collections/cultural_palace/tiles/WebMercatorQuad").json()["tileMatrixSetLimits"]
    limit = limits[18]
    row, col = limit["minTileRow"], limit["minTileCol"]  # a corner of the extent: 150 m across, no palace
    assert not items(client, "cultural_palace", degrees(envelope(18, row, col, BUFFER / EXTENT)))
    response = client.get(f"/ogc/collections/cultural_palace/tiles/WebMercatorQuad/18/{row}/{col}")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-type"] == MVT


@pytest.mark.parametrize(("path", "status", "parameter"), [
    ("townships/tiles/WebMercatorQuad/x/0/0", 400, "tileMatrix"),
    ("townships/tiles/WebMercatorQuad/8/-1/0", 400, "tileRow"),
    ("townships/tiles/WebMercatorQuad/8/0/1.5", 400, "tileCol"),
    ("townships/tiles/WebMercatorQuad/8/0/99999999999", 400, "tileCol"),
    ("townships/tiles/WebMercatorQuad/19/0/0", 404, None),  # not a served tile matrix
    ("townships/tiles/WebMercatorQuad/25/0/0", 404, None),  # not in the tile matrix set
    ("townships/tiles/WebMercatorQuad/2/4/0", 404, None),  # past the matrix
    ("townships/tiles/WebMercatorQuad/8/0/0", 404, None),  # outside the limits (the extent)
    ("townships/tiles/WorldCRS84Quad/8/0/0", 404, None),
    ("nowhere/tiles/WebMercatorQuad/0/0/0", 404, None),
    ("coverage/tiles/WebMercatorQuad/0/0/0", 404, None),
    ("nowhere/tiles/WebMercatorQuad", 404, None),
])
def test_bad_tile_addresses_get_the_ogc_exception(client: TestClient, path: str, status: int,
                                                  parameter: str | None) -> None:
    response = client.get(f"/ogc/collections/{path}")
    assert response.status_code == status
    body = response.json()
    assert body["code"] == ("InvalidParameterValue" if status == 400 else "NotFound") and body["description"]
    assert body.get("parameter") == parameter


def test_unknown_query_parameters_are_refused(client: TestClient) -> None:
    tile = client.get("/ogc/collections/townships/tiles/WebMercatorQuad/0/0/0?colour=red")
    assert tile.status_code == 400 and tile.json()["parameter"] == "colour"
    assert client.get("/ogc/tileMatrixSets?f=html").json()["parameter"] == "f"
    assert client.get("/ogc/collections/townships/tiles?f=json").status_code == 200


def test_tiles_revalidate_by_etag_and_compress(client: TestClient) -> None:
    url = "/ogc/collections/townships/tiles/WebMercatorQuad/0/0/0"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    tag = plain.headers["etag"]
    assert tag.startswith('W/"') and plain.headers["cache-control"] == "public, no-cache"
    assert len(plain.content) > 1024
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    packed = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.headers["etag"] == tag
    assert "Accept-Encoding" in packed.headers["vary"]
    raw = client.stream("GET", url, headers={"Accept-Encoding": "gzip"})
    with raw as response:
        wire = b"".join(response.iter_raw())
    assert gzip.decompress(wire) == plain.content and len(wire) < len(plain.content)


def test_the_openapi_document_lists_the_tiles(client: TestClient) -> None:
    paths = client.get("/ogc/api").json()["paths"]
    tile = paths["/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}"]["get"]
    assert MVT in tile["responses"]["200"]["content"] and {"400", "404"} <= set(tile["responses"])
    for path in ("/tileMatrixSets", "/tileMatrixSets/{tileMatrixSetId}", "/collections/{collectionId}/tiles",
                 "/collections/{collectionId}/tiles/{tileMatrixSetId}"):
        assert paths[path]["get"]["operationId"]


# ---- a real reader: GDAL's MVT driver, on tiles from a live server ----------------------------


@pytest.mark.clients
def test_gdal_reads_the_tiles_of_a_live_server(live_server: str, tmp_path: Path) -> None:
    if shutil.which("ogrinfo") is None:
        pytest.fail("ogrinfo not found: install gdal-bin (scripts/setup.sh does on CI)")
    base = f"{live_server}/ogc/collections/townships/tiles/WebMercatorQuad"
    with urllib.request.urlopen(base) as response:
        limit = json.load(response)["tileMatrixSetLimits"][8]
    row, col = limit["minTileRow"], limit["minTileCol"]
    path = tmp_path / "tile.mvt"
    with urllib.request.urlopen(f"{base}/8/{row}/{col}") as response:
        assert response.headers["Content-Type"] == MVT
        path.write_bytes(response.read())
    expected = len(decode(path.read_bytes())["townships"]["features"])
    result = subprocess.run(["ogrinfo", "-ro", "-al", "-so", f"MVT:{path}", "-oo", "Z=8", "-oo", f"X={col}",
                             "-oo", f"Y={row}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "ERROR" not in result.stderr, result.stderr
    assert "Layer name: townships" in result.stdout
    assert f"Feature Count: {expected}" in result.stdout and expected > 0
    assert "boundary_is_approximate: Integer(Boolean)" in result.stdout and "code: String" in result.stdout
