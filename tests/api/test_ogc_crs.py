"""OGC API - Features Part 2 at /ogc: EPSG:4490 (CGCS2000) and EPSG:3857 (Web Mercator) beside CRS84
and EPSG:4326, for ``crs`` and ``bbox-crs``; and the station collections' temporal extent.

The oracle is pyproj (PROJ's default operations), never the server's own code path: station
coordinates of the REST API (/api/v1/stations, lon, lat) are transformed by pyproj and compared
with what /ogc writes; boxes in Mercator are made by the closed-form spherical Mercator formula.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import TYPE_CHECKING

import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.api.test_ogc_http import rings_follow_rfc7946

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
EPSG3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
ALL_CRS = [CRS84, EPSG4326, EPSG4490, EPSG3857]
TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)
TO_CGCS2000 = Transformer.from_crs(4326, 4490)  # authority order both sides: (lat, lon) in, (lat, lon) out
EARTH_RADIUS_M = 6378137.0  # Web Mercator's sphere: the WGS 84 semi-major axis
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"


def rest_stations(client: TestClient, station_type: str) -> dict[int, tuple[float, float]]:
    """Station id → (lon, lat) from the REST API, the other door to the same rows."""
    features = client.get("/api/v1/stations", params={"type": station_type, "limit": 1000}).json()["features"]
    return {feature["id"]: tuple(feature["geometry"]["coordinates"]) for feature in features}


def ogc_items(client: TestClient, collection: str, **params: object) -> dict:
    response = client.get(f"/ogc/collections/{collection}/items", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json() | {"content_crs": response.headers["content-crs"]}


def mercator(lon: float, lat: float) -> tuple[float, float]:
    """Spherical (Web) Mercator in closed form: independent of PROJ and of the server."""
    return (EARTH_RADIUS_M * math.radians(lon),
            EARTH_RADIUS_M * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


def test_every_collection_and_the_list_name_the_four_crs(client: TestClient) -> None:
    body = client.get("/ogc/collections").json()
    assert body["crs"] == ALL_CRS
    assert len(body["collections"]) >= 7
    for collection in body["collections"]:
        assert collection["crs"] == ALL_CRS and collection["storageCrs"] == CRS84
    assert client.get("/ogc/collections/counties").json()["crs"] == ALL_CRS


def both_doors(client: TestClient, station_type: str, crs: str) -> list[tuple[tuple[float, float], list[float]]]:
    """Every station of a type as (lon, lat) from the REST API and its coordinates from /ogc in ``crs``."""
    expected = rest_stations(client, station_type)
    body = ogc_items(client, station_type, crs=crs)
    assert body["content_crs"] == f"<{crs}>"
    written = {feature["id"]: feature["geometry"]["coordinates"] for feature in body["features"]}
    assert set(written) == set(expected)
    return [(expected[station_id], written[station_id]) for station_id in sorted(expected)]


def test_stations_in_web_mercator_are_pyprojs_to_a_millimetre(client: TestClient) -> None:
    pairs = both_doors(client, "love_station", EPSG3857)
    assert len(pairs) == 136
    for (lon, lat), written in pairs:
        x, y = TO_MERCATOR.transform(lon, lat)
        assert 1.2e7 < x < 1.31e7 and 3.3e6 < y < 3.6e6  # Jiujiang, in metres: x east first
        assert written == pytest.approx([x, y], abs=1e-3)
        assert all(round(value, 3) == value for value in written)  # three decimals: millimetres, as documented


def test_stations_in_cgcs2000_come_lat_lon_as_pyproj_gives(client: TestClient) -> None:
    pairs = both_doors(client, "worker_library", EPSG4490)
    assert len(pairs) == 234
    for (lon, lat), written in pairs:
        first, second = TO_CGCS2000.transform(lat, lon)
        assert 28 < first < 31 and 113 < second < 118  # latitude first
        assert written == pytest.approx([first, second], abs=1e-12)


@pytest.mark.parametrize("crs", [EPSG4490, "EPSG:4490", "urn:ogc:def:crs:EPSG::4490",
                                 "https://www.opengis.net/def/crs/EPSG/0/4490", EPSG3857, "EPSG:3857",
                                 "urn:ogc:def:crs:EPSG::3857", "[EPSG:3857]"])
def test_one_station_in_either_crs_by_any_alias(client: TestClient, crs: str) -> None:
    lon, lat = rest_stations(client, "love_station")[1]
    response = client.get("/ogc/collections/love_station/items/1", params={"crs": crs})
    assert response.status_code == 200
    canonical = EPSG3857 if "3857" in crs else EPSG4490
    assert response.headers["content-crs"] == f"<{canonical}>"
    expected = TO_MERCATOR.transform(lon, lat) if canonical == EPSG3857 else TO_CGCS2000.transform(lat, lon)
    assert response.json()["geometry"]["coordinates"] == pytest.approx(list(expected), abs=1e-3)


@pytest.mark.parametrize("collection", ["counties", "townships"])
def test_region_polygons_in_web_mercator_match_pyproj_and_turn_as_rfc_7946_asks(client: TestClient,
                                                                                  collection: str) -> None:
    plain = ogc_items(client, collection)["features"]
    projected = ogc_items(client, collection, crs=EPSG3857)["features"]
    assert [feature["id"] for feature in plain] == [feature["id"] for feature in projected]
    assert len(projected) >= 13
    for lon_lat, metres in zip(plain, projected, strict=True):
        assert "crs" not in metres["geometry"]  # PostGIS's own crs member is left out: Content-Crs says it
        assert rings_follow_rfc7946(metres["geometry"])
        ours = shapely.get_coordinates(shape(metres["geometry"]))
        theirs = shapely.get_coordinates(shapely.transform(shape(lon_lat["geometry"]),
                                                           lambda x, y: TO_MERCATOR.transform(x, y),
                                                           interleaved=False))
        assert ours.shape == theirs.shape  # the same vertices in the same order
        assert abs(ours - theirs).max() < 1e-3


def test_region_polygons_in_cgcs2000_turn_as_rfc_7946_asks_in_lat_lon_order(client: TestClient) -> None:
    features = ogc_items(client, "townships", crs=EPSG4490)["features"]
    assert len(features) == 204
    assert all(rings_follow_rfc7946(feature["geometry"], lat_first=True) for feature in features)
    region = client.get("/ogc/collections/counties/items/360403", params={"crs": EPSG4490}).json()
    plain = client.get("/ogc/collections/counties/items/360403").json()
    swapped = shapely.transform(shape(plain["geometry"]), lambda xy: xy[:, ::-1])
    assert shapely.get_coordinates(shape(region["geometry"])) == pytest.approx(shapely.get_coordinates(swapped),
                                                                                abs=1e-9)


def crs84_box(client: TestClient) -> tuple[float, float, float, float]:
    """A box over the middle of the love stations' extent: some stations in, some out."""
    west, south, east, north = client.get("/ogc/collections/love_station").json()["extent"]["spatial"]["bbox"][0]
    return (west + (east - west) * 0.3, south + (north - south) * 0.3,
            west + (east - west) * 0.8, south + (north - south) * 0.8)


def selected(client: TestClient, **params: object) -> set[int]:
    return {feature["id"] for feature in ogc_items(client, "love_station", **params)["features"]}


def test_a_web_mercator_box_selects_what_its_lon_lat_box_selects(client: TestClient) -> None:
    west, south, east, north = crs84_box(client)
    expected = selected(client, bbox=f"{west},{south},{east},{north}")
    assert 0 < len(expected) < 136
    (x0, y0), (x1, y1) = mercator(west, south), mercator(east, north)
    assert selected(client, bbox=f"{x0},{y0},{x1},{y1}", **{"bbox-crs": EPSG3857}) == expected
    assert selected(client, bbox=f"{x0},{y0},{x1},{y1}", **{"bbox-crs": "EPSG:3857"}, crs=EPSG3857) == expected
    # the box as seen through the REST API's coordinates, pyproj's Mercator
    inside = {station_id for station_id, (lon, lat) in rest_stations(client, "love_station").items()
              if x0 <= TO_MERCATOR.transform(lon, lat)[0] <= x1 and y0 <= TO_MERCATOR.transform(lon, lat)[1] <= y1}
    assert inside == expected


def test_a_cgcs2000_box_comes_lat_lon(client: TestClient) -> None:
    west, south, east, north = crs84_box(client)
    expected = selected(client, bbox=f"{west},{south},{east},{north}")
    assert selected(client, bbox=f"{south},{west},{north},{east}", **{"bbox-crs": EPSG4490}) == expected
    assert selected(client, bbox=f"{south},{west},0,{north},{east},100",
                    **{"bbox-crs": "urn:ogc:def:crs:EPSG::4490"}) == expected
    # given lon, lat by mistake, its "latitudes" (115°, 116°) are clamped to the pole: nothing
    assert selected(client, bbox=f"{west},{south},{east},{north}", **{"bbox-crs": EPSG4490}) == set()


@pytest.mark.parametrize("bbox", ["-30000000,-1e9,30000000,1e9", "-20037508.342789244,-2e7,20037508.342789244,2e7"])
def test_a_web_mercator_box_past_the_world_is_clamped_not_wrapped(client: TestClient, bbox: str) -> None:
    every = ogc_items(client, "love_station", limit=1)["numberMatched"]
    assert ogc_items(client, "love_station", limit=1, bbox=bbox, **{"bbox-crs": EPSG3857})["numberMatched"] == every


@pytest.mark.parametrize(("path", "params", "parameter"), [
    ("/ogc/collections/love_station/items", {"crs": "EPSG:32650"}, "crs"),
    ("/ogc/collections/love_station/items", {"crs": "EPSG:4490x"}, "crs"),
    ("/ogc/collections/love_station/items", {"bbox": "1,2,3,4", "bbox-crs": "EPSG:4547"}, "bbox-crs"),
    ("/ogc/collections/love_station/items", {"bbox": "1e7,4e6,1.3e7,3e6", "bbox-crs": EPSG3857}, "bbox"),
    ("/ogc/collections/counties/items/360403", {"crs": "http://www.opengis.net/def/crs/EPSG/0/900913"}, "crs"),
])
def test_an_unsupported_crs_is_a_400_naming_the_parameter(client: TestClient, path: str, params: dict,
                                                          parameter: str) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidParameterValue" and body["parameter"] == parameter


def test_the_openapi_document_lists_the_four_crs(client: TestClient) -> None:
    document = client.get("/ogc/api").json()
    for name in ("crs", "bbox-crs"):
        assert document["components"]["parameters"][name]["schema"]["enum"] == ALL_CRS
    fastapi_items = client.get("/openapi.json").json()["paths"]["/ogc/collections/{collection_id}/items"]["get"]
    crs = next(item for item in fastapi_items["parameters"] if item["name"] == "crs")
    assert crs["schema"]["enum"] == ALL_CRS


def test_station_collections_declare_the_time_span_of_updated_at(client: TestClient, session: Session) -> None:
    ids = sorted(rest_stations(client, "cultural_palace"))
    assert len(ids) >= 3
    # an edit stamps updated_at with the transaction's time (a trigger): now later than the others' load time
    session.execute(text("UPDATE station SET phone = '0792-1234567' WHERE id = :id"), {"id": ids[-1]})
    first, last = session.execute(text("SELECT min(updated_at), max(updated_at) FROM station WHERE id = ANY(:ids)"),
                                  {"ids": ids}).one()
    assert first < last
    extent = client.get("/ogc/collections/cultural_palace").json()["extent"]
    assert extent["temporal"]["trs"] == GREGORIAN
    [[start, end]] = extent["temporal"]["interval"]
    assert start.endswith("Z") and end.endswith("Z")  # RFC 3339 in UTC
    assert (datetime.fromisoformat(start), datetime.fromisoformat(end)) == (first, last)
    listed = {item["id"]: item for item in client.get("/ogc/collections").json()["collections"]}
    assert listed["cultural_palace"]["extent"]["temporal"] == extent["temporal"]
    for regions in ("counties", "townships", "coverage"):
        assert "temporal" not in listed[regions]["extent"]
    # the interval holds exactly what ``datetime`` finds, its ends included
    assert ogc_items(client, "cultural_palace", datetime=f"{start}/{end}")["numberMatched"] == len(ids)
    assert ogc_items(client, "cultural_palace", datetime=f"{end}/..")["numberMatched"] == 1


# Real clients against the app served in a subprocess (tests/conftest.py ``live_server``). GDAL 3.6's
# OAPIF driver has no CRS open option (``ogrinfo --format OAPIF`` lists URL, PAGE_SIZE, USERPWD and
# IGNORE_SCHEMA; CRS and PREFERRED_CRS came with GDAL 3.7): it reads in CRS84, so GDAL reads the
# projected page through its GeoJSON driver, which takes the coordinates as written.
@pytest.mark.clients
def test_gdal_reads_the_web_mercator_page_as_pyproj_writes_it(live_server: str) -> None:
    from tests.api.test_ogc_clients import gdal, httpx

    rest = httpx.get(f"{live_server}/api/v1/stations", params={"type": "legal_service", "limit": 1000},
                     timeout=30).json()["features"]
    output = gdal("ogrinfo", "-ro", "-al", "-q", "-geom=YES",
                  f"{live_server}/ogc/collections/legal_service/items?limit=1000&crs=EPSG:3857")
    read = {int(station): (float(x), float(y)) for station, x, y in
            re.findall(r"station_id \(Integer\S*\) = (\d+).*?POINT \((\S+) (\S+)\)", output, flags=re.DOTALL)}
    assert len(read) == len(rest) > 0
    for feature in rest:
        assert read[feature["id"]] == pytest.approx(TO_MERCATOR.transform(*feature["geometry"]["coordinates"]),
                                                    abs=1e-3)


@pytest.mark.clients
def test_gdal_oapif_reads_the_temporal_extent(live_server: str) -> None:
    from tests.api.test_ogc_clients import gdal, httpx

    interval = httpx.get(f"{live_server}/ogc/collections/love_station", timeout=30).json()["extent"]["temporal"]
    output = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{live_server}/ogc", "love_station")
    start, end = interval["interval"][0]
    assert f"TEMPORAL_INTERVAL_MIN={start}" in output and f"TEMPORAL_INTERVAL_MAX={end}" in output, output


@pytest.mark.clients
def test_owslib_pages_in_cgcs2000_lat_lon_as_pyproj_gives(live_server: str) -> None:
    features_client = pytest.importorskip("owslib.ogcapi.features").Features
    from tests.api.test_ogc_clients import httpx

    rest = httpx.get(f"{live_server}/api/v1/stations", params={"type": "workers_home", "limit": 1000},
                     timeout=30).json()["features"]
    api = features_client(f"{live_server}/ogc")
    assert api.collection("workers_home")["crs"] == ALL_CRS
    page = api.collection_items("workers_home", limit=1000, crs=EPSG4490)
    read = {feature["id"]: feature["geometry"]["coordinates"] for feature in page["features"]}
    assert len(read) == len(rest) > 0
    for feature in rest:
        lon, lat = feature["geometry"]["coordinates"]
        assert read[feature["id"]] == pytest.approx(list(TO_CGCS2000.transform(lat, lon)), abs=1e-12)
