"""OGC API - Features at /ogc over TestClient, on the Jiujiang reference and demo data."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.ogc import collections as ogc
from geo.core import hours
from geo.errors import NotFound
from geo.notices import APPROXIMATE, DEMO, MODELLED, POSITION_UNKNOWN
from tests.honesty import boundary_notice

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
TYPES = ("love_station", "legal_service", "worker_library", "cultural_palace", "workers_home")


def rel(links: list[dict], name: str) -> list[dict]:
    return [item for item in links if item["rel"] == name]


def count(session: Session, sql: str, **params: object) -> int:
    return int(session.execute(text(sql), params).scalar_one())


@pytest.mark.parametrize("headers", [{}, {"Accept": "*/*"}, {"Accept": "application/json"}, {"Accept": ""}])
def test_landing_page_is_json_by_default_with_the_links_clients_need(client: TestClient, headers: dict) -> None:
    response = client.get("/ogc", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["title"].startswith("九江市")
    links = body["links"]
    (desc,) = rel(links, "service-desc")
    assert desc["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert desc["href"].endswith("/ogc/api")
    assert rel(links, "service-doc")[0]["href"].endswith("/docs")
    assert rel(links, "conformance")[0]["href"].endswith("/ogc/conformance")
    assert rel(links, "data")[0]["href"].endswith("/ogc/collections")
    assert rel(links, "alternate")[0]["type"] == "text/html"
    slash = client.get("/ogc/", headers=headers)  # OWSLib asks for the trailing slash
    assert slash.status_code == 200 and rel(slash.json()["links"], "data") == rel(links, "data")


def test_landing_page_as_html_for_browsers(client: TestClient) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for response in (client.get("/ogc", headers={"Accept": browser}), client.get("/ogc?f=html")):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "/ogc/collections" in response.text and DEMO.text in response.text


def test_conformance_declares_core_geojson_html_oas30_and_crs(client: TestClient) -> None:
    classes = client.get("/ogc/conformance").json()["conformsTo"]
    for name in ("core", "geojson", "html", "oas30"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{name}" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes


def test_api_document_is_openapi_30_with_per_collection_filters(client: TestClient) -> None:
    response = client.get("/ogc/api")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert re.search(r'"openapi": ?"3\.0\.\d', response.text)
    document = response.json()
    assert document["servers"][0]["url"].endswith("/ogc")
    assert "/collections/{collectionId}/items" in document["paths"]
    assert document["components"]["parameters"]["limit"]["schema"]["maximum"] == 10_000
    names = {item.get("name") for item in document["paths"]["/collections/love_station/items"]["get"]["parameters"]}
    assert {"status", "county_code", "township_code", "is_demo"} <= names


def test_fastapi_docs_still_describe_the_ogc_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/ogc/collections/{collection_id}/items" in paths and "/ogc/api" in paths


def test_collections_list_every_type_regions_and_coverage(client: TestClient, session: Session) -> None:
    body = client.get("/ogc/collections").json()
    found = {item["id"]: item for item in body["collections"]}
    assert set(TYPES) | {"counties", "townships", "coverage"} <= set(found)
    assert found["love_station"]["title"].startswith("爱心驿站")
    assert found["townships"]["title"] == f"乡级行政区边界（{APPROXIMATE.label_zh}）Townships ({APPROXIMATE.label_en})"
    assert found["counties"]["title"] == "县级行政区边界 Counties"
    boundaries = boundary_notice(session).text
    assert MODELLED.text in found["coverage"]["description"] and boundaries in found["coverage"]["description"]
    assert POSITION_UNKNOWN.text in found["townships"]["description"]
    assert MODELLED.text in found["townships"]["description"]
    for item in found.values():
        assert item["itemType"] == "feature"
        assert item["crs"][:2] == [CRS84, EPSG4326] and item["storageCrs"] == CRS84
        (bbox,) = item["extent"]["spatial"]["bbox"]
        west, south, east, north = bbox
        assert 113 < west < east < 118 and 28 < south < north < 31
        (items,) = [link for link in rel(item["links"], "items") if link["type"] == "application/geo+json"]
        assert items["href"].endswith(f"/ogc/collections/{item['id']}/items")
    assert client.get("/ogc/collections/love_station").json()["id"] == "love_station"


def test_items_page_counts_and_headers(client: TestClient, session: Session) -> None:
    response = client.get("/ogc/collections/love_station/items")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert response.headers["content-crs"] == f"<{CRS84}>"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == 136 == count(
        session, "SELECT count(*) FROM station WHERE type_code = 'love_station' AND deleted_at IS NULL")
    assert body["numberReturned"] == len(body["features"]) == 10
    assert body["timeStamp"].endswith("Z")
    feature = body["features"][0]
    lon, lat = feature["geometry"]["coordinates"]
    assert 113.5 < lon < 117 and 28.5 < lat < 30.5
    properties = feature["properties"]
    assert isinstance(feature["id"], int)
    assert properties["type_code"] == "love_station" and properties["is_demo"] is True
    assert properties["opening_hours_text"] and isinstance(properties["amenities"], str)
    assert properties["opening_hours"] == properties["opening_hours_text"]
    assert "amenity_list" not in properties  # no arrays or objects: GeoPackage, Shapefile, CSV have no such field
    assert all(value is None or isinstance(value, str | int | float | bool) for value in properties.values())
    assert rel(body["links"], "next") and not rel(body["links"], "prev")


def test_next_links_read_every_station_of_a_type_exactly_once(client: TestClient, session: Session) -> None:
    expected = [row[0] for row in session.execute(text(
        "SELECT id FROM station WHERE type_code = 'worker_library' AND deleted_at IS NULL ORDER BY id"))]
    seen: list[int] = []
    url: str | None = "/ogc/collections/worker_library/items?limit=25"
    pages = 0
    while url:
        body = client.get(url).json()
        assert body["numberMatched"] == len(expected) == 234
        seen += [feature["id"] for feature in body["features"]]
        pages += 1
        if pages > 1:
            assert rel(body["links"], "prev")
        url = next((link["href"] for link in rel(body["links"], "next")), None)
    assert pages == 10 and seen == expected


def test_a_page_deep_in_a_collection_is_the_right_slice_with_the_full_count(client: TestClient,
                                                                            session: Session) -> None:
    stations = [row[0] for row in session.execute(text(
        "SELECT id FROM station WHERE type_code = 'love_station' AND deleted_at IS NULL ORDER BY id"))]
    body = client.get("/ogc/collections/love_station/items", params={"offset": 120, "limit": 10}).json()
    assert [f["id"] for f in body["features"]] == stations[120:130]
    assert body["numberMatched"] == len(stations) and body["numberReturned"] == 10
    codes = [row[0] for row in session.execute(text("SELECT code FROM region WHERE level = 'township' ORDER BY code"))]
    for collection in ("townships", "coverage"):
        page = client.get(f"/ogc/collections/{collection}/items", params={"offset": 100, "limit": 5}).json()
        assert [f["id"] for f in page["features"]] == codes[100:105]
        assert page["numberMatched"] == 204 and rel(page["links"], "next") and rel(page["links"], "prev")


def test_items_look_the_collection_up_without_counting_it(session: Session) -> None:
    counted = ogc.find_collection(session, "love_station")
    light = ogc.find_collection(session, "love_station", counted=False)
    assert counted.count == 136 and counted.bbox is not None
    assert light.count is None and light.bbox is None
    assert (light.title, light.kind, light.key, light.filters, light.notices) == (
        counted.title, counted.kind, counted.key, counted.filters, counted.notices)
    assert ogc.find_collection(session, "townships", counted=False).count == 204  # regions: always counted
    with pytest.raises(NotFound):
        ogc.find_collection(session, "nope", counted=False)


def test_opening_hours_text_is_described_from_the_stored_hours_and_unknown_when_malformed(client: TestClient,
                                                                                         session: Session) -> None:
    (first, stored), (second, _) = session.execute(text(
        "SELECT id, opening_hours FROM station WHERE type_code = 'love_station' AND deleted_at IS NULL "
        "ORDER BY id LIMIT 2")).all()
    session.execute(text("UPDATE station SET opening_hours = '{\"weekly\": 5}' WHERE id = :id"), {"id": second})
    features = client.get("/ogc/collections/love_station/items", params={"limit": 2}).json()["features"]
    assert [f["id"] for f in features] == [first, second]
    assert features[0]["properties"]["opening_hours_text"] == hours.describe_zh(hours.from_json(stored))
    assert features[0]["properties"]["opening_hours_osm"] == hours.format_simple(hours.from_json(stored))
    assert features[1]["properties"]["opening_hours_text"] == "时间未知"
    assert features[1]["properties"]["opening_hours"] == "时间未知"  # text, never the stored object
    assert features[1]["properties"]["opening_hours_osm"] == ""


def test_next_link_keeps_filters(client: TestClient, session: Session) -> None:
    body = client.get("/ogc/collections/worker_library/items", params={"status": "open", "limit": 5}).json()
    expected = count(session, "SELECT count(*) FROM station WHERE type_code = 'worker_library' "
                              "AND status = 'open' AND deleted_at IS NULL")
    assert body["numberMatched"] == expected
    (following,) = rel(body["links"], "next")
    assert "status=open" in following["href"] and "offset=5" in following["href"]
    assert all(feature["properties"]["status"] == "open" for feature in body["features"])


def test_bbox_in_crs84_and_in_epsg4326_order_select_the_same_features(client: TestClient, session: Session) -> None:
    west, south, east, north = 115.9, 29.6, 116.1, 29.8
    params = {"limit": 1000}
    lonlat = client.get("/ogc/collections/love_station/items",
                        params=params | {"bbox": f"{west},{south},{east},{north}"}).json()
    latlon = client.get("/ogc/collections/love_station/items",
                        params=params | {"bbox": f"{south},{west},{north},{east}", "bbox-crs": EPSG4326}).json()
    expected = count(session, "SELECT count(*) FROM station WHERE type_code = 'love_station' AND deleted_at IS NULL "
                              "AND ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))",
                     w=west, s=south, e=east, n=north)
    assert expected > 0
    assert lonlat["numberMatched"] == latlon["numberMatched"] == expected
    assert [f["id"] for f in lonlat["features"]] == [f["id"] for f in latlon["features"]]
    townships = client.get("/ogc/collections/townships/items",
                           params={"bbox": f"{west},{south},{east},{north}", "limit": 500}).json()
    assert 0 < townships["numberMatched"] < 204


def test_crs_epsg4326_swaps_coordinates(client: TestClient) -> None:
    plain = client.get("/ogc/collections/cultural_palace/items").json()
    swapped_response = client.get("/ogc/collections/cultural_palace/items", params={"crs": EPSG4326})
    assert swapped_response.headers["content-crs"] == f"<{EPSG4326}>"
    swapped = swapped_response.json()
    assert len(plain["features"]) == len(swapped["features"]) == 5
    for a, b in zip(plain["features"], swapped["features"], strict=True):
        assert a["id"] == b["id"]
        assert b["geometry"]["coordinates"] == a["geometry"]["coordinates"][::-1]
    region = client.get("/ogc/collections/counties/items/360403", params={"crs": EPSG4326}).json()
    lat, lon = region["geometry"]["coordinates"][0][0][0]
    assert 28 < lat < 31 and 113 < lon < 118


@pytest.mark.parametrize(("collection", "params", "sql"), [
    ("love_station", {"status": "open"}, "type_code = 'love_station' AND status = 'open'"),
    ("love_station", {"county_code": "360403"}, "type_code = 'love_station' AND county_code = '360403'"),
    ("workers_home", {"is_demo": "true"}, "type_code = 'workers_home' AND is_demo"),
    ("workers_home", {"is_demo": "false"}, "type_code = 'workers_home' AND NOT is_demo"),
])
def test_property_filters(client: TestClient, session: Session, collection: str, params: dict, sql: str) -> None:
    if params.get("is_demo") == "false":  # the demo registry has no real rows: add one so the filter has work
        session.execute(text("INSERT INTO station (type_code, name, is_demo, geom) VALUES "
                             "(:type, '真实站点', false, ST_SetSRID(ST_MakePoint(116.0, 29.7), 4326))"),
                        {"type": collection})
    body = client.get(f"/ogc/collections/{collection}/items", params=params | {"limit": 1000}).json()
    expected = count(session, f"SELECT count(*) FROM station WHERE deleted_at IS NULL AND {sql}")
    assert body["numberMatched"] == body["numberReturned"] == expected > 0
    for name, value in params.items():
        assert {str(f["properties"][name]).lower() for f in body["features"]} <= {value}


def test_townships_filter_on_parent_code(client: TestClient, session: Session) -> None:
    body = client.get("/ogc/collections/townships/items", params={"parent_code": "360403", "limit": 100}).json()
    expected = count(session, "SELECT count(*) FROM region WHERE level = 'township' AND parent_code = '360403'")
    assert body["numberMatched"] == expected > 0
    assert {f["properties"]["parent_code"] for f in body["features"]} == {"360403"}
    assert all(f["properties"]["boundary_is_approximate"] is True for f in body["features"])
    assert client.get("/ogc/collections/townships/items").json()["numberMatched"] == 204
    assert client.get("/ogc/collections/counties/items").json()["numberMatched"] == 13


def test_coverage_items_carry_shares_per_type(client: TestClient) -> None:
    body = client.get("/ogc/collections/coverage/items", params={"limit": 300}).json()
    assert body["numberMatched"] == body["numberReturned"] == 204
    properties = body["features"][0]["properties"]
    assert properties["population_is_modelled"] is True
    for code in TYPES:
        assert 0 <= properties[f"{code}_covered_share"] <= 1
        assert 0 <= properties[f"{code}_covered_population"] <= properties["population"]
    one = client.get(f"/ogc/collections/coverage/items/{body['features'][0]['id']}").json()
    assert one["properties"] == properties


def test_single_item_and_404s(client: TestClient, session: Session) -> None:
    station_id = count(session, "SELECT min(id) FROM station WHERE type_code = 'love_station' AND deleted_at IS NULL")
    response = client.get(f"/ogc/collections/love_station/items/{station_id}")
    assert response.status_code == 200 and response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["id"] == station_id and body["properties"]["type_code"] == "love_station"
    assert rel(body["links"], "collection")
    assert client.get("/ogc/collections/counties/items/360403").json()["properties"]["name"]
    for url, name in [("/ogc/collections/love_station/items/999999999", "999999999"),
                      ("/ogc/collections/love_station/items/abc", "abc"),
                      ("/ogc/collections/counties/items/000000", "000000"),
                      ("/ogc/collections/nope/items", "nope"),
                      ("/ogc/collections/nope", "nope"),
                      ("/ogc/collections/counties/items/36%00", "36"),
                      ("/ogc/collections/no%00pe/items", "no")]:
        missing = client.get(url)
        assert missing.status_code == 404, url
        assert missing.json()["code"] == "NotFound" and name in missing.json()["description"]
    other_type = count(session, "SELECT min(id) FROM station WHERE type_code = 'worker_library'")
    assert client.get(f"/ogc/collections/love_station/items/{other_type}").status_code == 404


def test_soft_deleted_stations_are_never_served(client: TestClient, session: Session) -> None:
    station_id = count(session, "SELECT min(id) FROM station WHERE type_code = 'cultural_palace'")
    session.execute(text("UPDATE station SET deleted_at = now() WHERE id = :id"), {"id": station_id})
    body = client.get("/ogc/collections/cultural_palace/items").json()
    assert body["numberMatched"] == 4 and station_id not in [f["id"] for f in body["features"]]
    assert client.get(f"/ogc/collections/cultural_palace/items/{station_id}").status_code == 404
    found = {c["id"]: c for c in client.get("/ogc/collections").json()["collections"]}
    assert "（4 处）" in found["cultural_palace"]["description"]
    assert ": 4 points" in found["cultural_palace"]["description"]


@pytest.mark.parametrize(("params", "parameter"), [
    ({"limit": "0"}, "limit"), ({"limit": "abc"}, "limit"), ({"limit": "-5"}, "limit"), ({"offset": "-1"}, "offset"),
    ({"bbox": "1,2,3"}, "bbox"), ({"bbox": "a,b,c,d"}, "bbox"), ({"bbox": "116,30,117,29"}, "bbox"),
    ({"bbox": "nan,1,2,3"}, "bbox"), ({"crs": "http://www.opengis.net/def/crs/EPSG/0/32650"}, "crs"),
    ({"bbox": "29,116,30,117", "bbox-crs": "EPSG:9999"}, "bbox-crs"), ({"colour": "red"}, "colour"),
    ({"status": "bogus"}, "status"), ({"is_demo": "maybe"}, "is_demo"), ({"f": "xml"}, "f"),
    ({"parent_code": "360403"}, "parent_code"), ({"offset": "99999999999999999999"}, "offset"),
    ({"bbox": "inf,29,117,30"}, "bbox"),
])
def test_bad_parameters_are_400_naming_the_parameter(client: TestClient, params: dict, parameter: str) -> None:
    response = client.get("/ogc/collections/love_station/items", params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "InvalidParameterValue" and body["parameter"] == parameter
    assert parameter in body["description"]


def test_nul_in_a_filter_is_a_client_error_naming_it(client: TestClient) -> None:
    response = client.get("/ogc/collections/love_station/items", params={"county_code": "36\x00"})
    assert response.status_code in (400, 422)  # the app-wide NUL guard may answer first
    assert "county_code" in response.text


def test_repeated_parameter_and_bad_feature_parameter_are_400(client: TestClient) -> None:
    repeated = client.get("/ogc/collections/love_station/items?limit=1&limit=2")
    assert repeated.status_code == 400 and repeated.json()["parameter"] == "limit"
    assert client.get("/ogc/collections/counties/items/360403?crs=bogus").json()["parameter"] == "crs"
    assert client.get("/ogc/collections/counties/items/360403?limit=3").status_code == 400


def test_large_limit_is_served_as_the_maximum(client: TestClient) -> None:
    body = client.get("/ogc/collections/love_station/items",
                      params={"limit": 10**30, "datetime": "2024-01-01T00:00:00Z/.."})  # every station changed since
    assert body.status_code == 200
    assert body.json()["numberReturned"] == 136 and not rel(body.json()["links"], "next")
    past_end = client.get("/ogc/collections/love_station/items", params={"offset": 500}).json()
    assert past_end["numberMatched"] == 136 and past_end["numberReturned"] == 0


@pytest.mark.parametrize("path", ["/ogc?f=html", "/ogc/collections?f=html", "/ogc/collections/love_station?f=html",
                                  "/ogc/collections/love_station/items?f=html",
                                  "/ogc/collections/townships/items?f=html", "/ogc/collections/townships?f=html",
                                  "/ogc/collections/coverage/items?f=html", "/ogc/conformance?f=html"])
def test_html_pages_show_notices_and_load_nothing_external(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    # scripts and stylesheets only from this app (Leaflet from /static/vendor, ours from /static/unionmap)
    assert all(url.startswith("/static/") for url in re.findall(r'<script[^>]* src="([^"]*)"', page))
    assert all(url.startswith("/static/") for url in re.findall(r'<link rel="stylesheet" href="([^"]*)"', page))
    assert not re.search(r'src="https?://', page)
    if "love_station" in path or path == "/ogc?f=html":
        assert DEMO.text in page
    if "townships" in path or "coverage" in path:
        assert APPROXIMATE.label in page and POSITION_UNKNOWN.text in page
    if "items" in path:
        assert "共" in page and "features" in page


def test_html_items_page_links_next_page_and_features(client: TestClient) -> None:
    page = client.get("/ogc/collections/love_station/items", params={"f": "html", "limit": 5}).text
    assert "下一页" in page and "offset=5" in page and "f=html" in page
    first = re.search(r'/items/(\d+)\?f=html', page)
    assert first is not None
    feature_page = client.get(f"/ogc/collections/love_station/items/{first.group(1)}?f=html")
    assert feature_page.status_code == 200 and DEMO.text in feature_page.text


def test_feature_page_and_items_page_show_opening_hours_as_text_not_a_dict(client: TestClient,
                                                                           session: Session) -> None:
    station, stored = session.execute(text(
        "SELECT id, opening_hours::text FROM station WHERE type_code = 'love_station' AND deleted_at IS NULL "
        "AND opening_hours ? 'weekly' AND opening_hours->'weekly' <> '{}'::jsonb ORDER BY id LIMIT 1")).one()
    parsed, described = hours.read_stored(stored)
    assert parsed.weekly and described != "时间未知"  # a station with known weekly hours
    page = client.get(f"/ogc/collections/love_station/items/{station}?f=html").text
    assert f"<code>opening_hours</code></th><td>{described}</td>" in page
    assert f"<code>opening_hours_osm</code></th><td>{hours.format_simple(parsed)}</td>" in page
    shown = re.sub(r'<script[^>]*type="application/json".*?</script>', "", page.split("<body>")[1])  # the map's JSON
    assert "weekly" not in page and "{" not in shown  # no Python dict, no JSON object
    items = client.get("/ogc/collections/love_station/items", params={"f": "html", "limit": 1000}).text
    assert ">开放时间 <" in items and f"<td>{described}</td>" in items and "weekly" not in items
    collection = client.get("/ogc/collections/love_station?f=html").text
    assert "<code>opening_hours_osm</code>" in collection  # the collection page says what the fields hold
