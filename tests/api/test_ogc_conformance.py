"""The OGC abstract tests of OGC API - Features Part 1 (17-069r4: core, geojson, html, oas30) and
Part 2 (18-058, 1.0.1: crs) that no other test file proves on its own, one test per abstract test.

docs/ogc-conformance.md is the checklist: every abstract test, its verdict and the test that
proves it, here or in test_ogc*.py. The oracles are independent of the server's code: the
standard's schemas (transcribed below from core/openapi/schemas/*.yaml of 17-069r4, required
members and types only), the OpenAPI 3.0 JSON schema schemathesis ships, pyproj, shapely, the
REST API and plain SQL. Every collection the API lists is exercised, as the abstract tests ask.
"""

from __future__ import annotations

import math
import re
import socket
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jsonschema_rs
import pytest
import shapely
from lxml import html as lxml_html
from pyproj import Transformer
from shapely.geometry import box, shape
from sqlalchemy import text

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

pytestmark = pytest.mark.db

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
PART1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
PART2 = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
GEOJSON = "application/geo+json"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
UNSUPPORTED = "http://www.opengis.net/def/crs/EPSG/0/32650"  # UTM 50N: a real CRS the API does not offer

# The standard's schemas (17-069r4 core/openapi/schemas), their required members and types.
LINK = {"type": "object", "required": ["href", "rel"], "properties": {
    "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
    "hreflang": {"type": "string"}, "title": {"type": "string"}, "length": {"type": "integer"}}}
LINKS = {"type": "array", "items": LINK}
LANDING_PAGE = {"type": "object", "required": ["links"], "properties": {
    "title": {"type": "string"}, "description": {"type": "string"}, "links": LINKS}}
CONF_CLASSES = {"type": "object", "required": ["conformsTo"], "properties": {
    "conformsTo": {"type": "array", "items": {"type": "string"}}}}
EXTENT = {"type": "object", "properties": {
    "spatial": {"type": "object", "properties": {
        "bbox": {"type": "array", "minItems": 1, "items": {
            "type": "array", "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}],
            "items": {"type": "number"}}},
        "crs": {"type": "string", "enum": [CRS84, "http://www.opengis.net/def/crs/OGC/0/CRS84h"]}}},
    "temporal": {"type": "object", "properties": {
        "interval": {"type": "array", "minItems": 1, "items": {
            "type": "array", "minItems": 2, "maxItems": 2,
            "items": {"type": ["string", "null"], "format": "date-time"}}},
        "trs": {"type": "string", "enum": ["http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"]}}}}}
COLLECTION = {"type": "object", "required": ["id", "links"], "properties": {
    "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"}, "links": LINKS,
    "extent": EXTENT, "itemType": {"type": "string"}, "crs": {"type": "array", "items": {"type": "string"}}}}
COLLECTIONS = {"type": "object", "required": ["links", "collections"], "properties": {
    "links": LINKS, "collections": {"type": "array", "items": COLLECTION}}}
FEATURE = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
    "type": {"type": "string", "enum": ["Feature"]},
    "geometry": {"type": ["object", "null"], "required": ["type"]},
    "properties": {"type": ["object", "null"]},
    "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]}, "links": LINKS}}
FEATURE_COLLECTION = {"type": "object", "required": ["type", "features"], "properties": {
    "type": {"type": "string", "enum": ["FeatureCollection"]}, "features": {"type": "array", "items": FEATURE},
    "links": LINKS, "timeStamp": {"type": "string", "format": "date-time"},
    "numberMatched": {"type": "integer", "minimum": 0}, "numberReturned": {"type": "integer", "minimum": 0}}}


def valid(schema: dict[str, Any], document: object) -> list[str]:
    """The schema's complaints about a document (none when it is valid)."""
    return [error.message for error in jsonschema_rs.validator_for(schema).iter_errors(document)]


def rel(links: list[dict], name: str) -> list[dict]:
    return [item for item in links if item["rel"] == name]


def path_of(href: str) -> str:
    """A link's path and query, for TestClient (links are absolute)."""
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def collections(client: TestClient) -> list[dict]:
    return client.get("/ogc/collections").json()["collections"]


def first_feature_id(client: TestClient, collection: str) -> str:
    return str(client.get(f"/ogc/collections/{collection}/items", params={"limit": 1}).json()["features"][0]["id"])


def middle_box(collection: dict) -> tuple[float, float, float, float]:
    """The middle half of a collection's extent (CRS84): some features in, some out."""
    west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
    return (west + (east - west) * 0.25, south + (north - south) * 0.25,
            west + (east - west) * 0.75, south + (north - south) * 0.75)


def all_items(client: TestClient, collection: str, **params: object) -> dict:
    response = client.get(f"/ogc/collections/{collection}/items", params={"limit": 10_000, **params})
    assert response.status_code == 200, response.text
    return response.json() | {"content_crs": response.headers.get("content-crs")}


# ---- Part 1, core ---------------------------------------------------------------------------------


def test_root_op_and_root_success(client: TestClient) -> None:
    """/conf/core/root-op, /conf/core/root-success: {root}/ answers 200 with the links a client starts from."""
    for path in ("/ogc/", "/ogc"):
        response = client.get(path)
        assert response.status_code == 200
        body = response.json()
        assert valid(LANDING_PAGE, body) == []
        links = body["links"]
        assert all("type" in item for item in links)
        assert rel(links, "service-desc") and rel(links, "service-doc")
        assert [path_of(item["href"]) for item in rel(links, "conformance")] == ["/ogc/conformance"]
        assert [path_of(item["href"]) for item in rel(links, "data")] == ["/ogc/collections"]


def test_api_definition_op_and_success(client: TestClient) -> None:
    """/conf/core/api-definition-op and -success, /conf/oas30/oas-definition-1 and -2: every service-desc and
    service-doc link answers 200; the JSON one is OpenAPI 3.0 by the OpenAPI Initiative's own JSON schema."""
    from schemathesis.specs.openapi.definitions import OPENAPI_30 as OAS30_SCHEMA

    links = client.get("/ogc").json()["links"]
    (desc,) = rel(links, "service-desc")
    assert desc["type"] == OPENAPI_30
    response = client.get(path_of(desc["href"]), headers={"Accept": OPENAPI_30})
    assert response.status_code == 200 and response.headers["content-type"] == OPENAPI_30
    document = response.json()
    assert document["openapi"].startswith("3.0.")
    assert [error.message for error in jsonschema_rs.Draft4Validator(OAS30_SCHEMA).iter_errors(document)] == []
    for doc in rel(links, "service-doc"):
        assert doc["type"] == "text/html"
        page = client.get(path_of(doc["href"]), headers={"Accept": "text/html"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_conformance_op_and_success(client: TestClient) -> None:
    """/conf/core/conformance-op, /conf/core/conformance-success: the declaration at {root}/conformance and at
    the landing page's link lists exactly the Part 1 and Part 2 classes this API passes (docs/ogc-conformance.md).

    Classes of other parts (3, Tiles) are checked by their own tests: only Parts 1 and 2 must be exact here.
    """
    (declared,) = rel(client.get("/ogc").json()["links"], "conformance")
    for path in ("/ogc/conformance", path_of(declared["href"])):
        response = client.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert valid(CONF_CLASSES, body) == []
        classes = body["conformsTo"]
        assert len(classes) == len(set(classes))
        assert {uri for uri in classes if uri.startswith((PART1, PART2))} == {
            PART1 + "core", PART1 + "geojson", PART1 + "html", PART1 + "oas30", PART2 + "crs"}


def test_features_are_in_crs84_unless_asked_otherwise(client: TestClient) -> None:
    """/conf/core/crs84: with no crs parameter, stations come as the REST API's (lon, lat) and regions as
    crs=CRS84 gives them, with Content-Crs CRS84."""
    rest = {feature["id"]: feature["geometry"]["coordinates"] for feature in
            client.get("/api/v1/stations", params={"type": "worker_library", "limit": 1000}).json()["features"]}
    page = all_items(client, "worker_library")
    assert page["content_crs"] == f"<{CRS84}>"
    assert {feature["id"]: feature["geometry"]["coordinates"] for feature in page["features"]} == rest
    plain = all_items(client, "counties")
    assert plain["content_crs"] == f"<{CRS84}>"
    assert plain["features"] == all_items(client, "counties", crs=CRS84)["features"]
    west, south, east, north = shapely.total_bounds([shape(feature["geometry"]) for feature in plain["features"]])
    assert 113 < west < east < 118 and 28 < south < north < 31  # longitudes first


def test_collections_metadata(client: TestClient) -> None:
    """/conf/core/fc-md-op, -success, -links, -items, -items-links: /collections answers 200 with self and
    alternate links, CRS84 first in ``crs``, and one entry per collection the API serves (the per-collection
    paths of the API definition), each with an id and an ``items`` link per encoding, every link typed."""
    response = client.get("/ogc/collections")
    assert response.status_code == 200
    body = response.json()
    assert valid(COLLECTIONS, body) == []
    assert body["crs"][0] == CRS84
    assert all("type" in item for item in body["links"])
    (self_link,) = rel(body["links"], "self")
    assert path_of(self_link["href"]) == "/ogc/collections" and self_link["type"] == "application/json"
    assert [item["type"] for item in rel(body["links"], "alternate")] == ["text/html"]
    ids = [collection["id"] for collection in body["collections"]]
    served = {path.split("/")[2] for path in client.get("/ogc/api").json()["paths"]
              if re.fullmatch(r"/collections/[^/{]+/items", path)}
    assert len(ids) == len(set(ids)) and set(ids) == served and len(ids) >= 8
    for collection in body["collections"]:
        assert all("type" in item for item in collection["links"])
        items = {item["type"]: path_of(item["href"]) for item in rel(collection["links"], "items")}
        assert items == {GEOJSON: f"/ogc/collections/{collection['id']}/items",
                         "text/html": f"/ogc/collections/{collection['id']}/items?f=html"}
        for media_type, path in items.items():
            answer = client.get(path)
            assert answer.status_code == 200 and answer.headers["content-type"].startswith(media_type)


def test_collection_extent_holds_every_feature(client: TestClient) -> None:
    """/conf/core/fc-md-extent: each collection's bbox holds every geometry it serves (shapely's bounds of
    the features), and the temporal interval holds every feature's time (what ``datetime`` filters on)."""
    for collection in collections(client):
        features = all_items(client, collection["id"])["features"]
        assert features
        (bbox,) = collection["extent"]["spatial"]["bbox"]
        west, south, east, north = shapely.total_bounds([shape(feature["geometry"]) for feature in features])
        assert bbox[0] <= west and bbox[1] <= south and east <= bbox[2] and north <= bbox[3], collection["id"]
        if "temporal" in collection["extent"]:
            [[start, end]] = collection["extent"]["temporal"]["interval"]
            inside = all_items(client, collection["id"], datetime=f"{start}/{end}", limit=1)["numberMatched"]
            assert inside == len(features), collection["id"]


def test_each_collection_answers_as_it_is_listed(client: TestClient) -> None:
    """/conf/core/sfc-md-op, /conf/core/sfc-md-success: /collections/{id} answers 200 with the same id, title,
    description, extent and itemType as its entry in /collections, and every link of that entry."""
    for listed in collections(client):
        response = client.get(f"/ogc/collections/{listed['id']}")
        assert response.status_code == 200
        alone = response.json()
        assert valid(COLLECTION, alone) == []
        for name in ("id", "title", "description", "extent", "itemType"):
            assert alone[name] == listed[name], (listed["id"], name)
        assert all(item in alone["links"] for item in listed["links"])


def test_items_of_every_collection(client: TestClient) -> None:
    """/conf/core/fc-op, /conf/core/fc-response, /conf/core/fc-links, /conf/geojson/content: every collection's
    items answer 200 as a GeoJSON FeatureCollection by the standard's schema, with self and alternate links,
    every link typed, every geometry readable by shapely."""
    for collection in collections(client):
        response = client.get(f"/ogc/collections/{collection['id']}/items", params={"limit": 5})
        assert response.status_code == 200 and response.headers["content-type"] == GEOJSON
        body = response.json()
        assert valid(FEATURE_COLLECTION, body) == [], collection["id"]
        assert 0 < len(body["features"]) <= 5
        assert all(shape(feature["geometry"]).is_valid for feature in body["features"])
        assert all("type" in item for item in body["links"])
        (self_link,) = rel(body["links"], "self")
        assert self_link["type"] == GEOJSON and path_of(self_link["href"]).startswith(
            f"/ogc/collections/{collection['id']}/items")
        assert [item["type"] for item in rel(body["links"], "alternate")] == ["text/html"]


def test_limit_is_an_integer_form_parameter_and_caps_the_page(client: TestClient) -> None:
    """/conf/core/fc-limit-definition, /conf/core/fc-limit-response: ``limit`` is as the standard's fragment
    defines it; no page holds more than the limit asked or the maximum, and a limit above the maximum is
    served, capped, not refused."""
    limit = client.get("/ogc/api").json()["components"]["parameters"]["limit"]
    assert {key: limit[key] for key in ("name", "in", "required", "style", "explode")} == {
        "name": "limit", "in": "query", "required": False, "style": "form", "explode": False}
    assert limit["schema"]["type"] == "integer"
    maximum = limit["schema"]["maximum"]
    for collection in collections(client):
        for asked in (1, 3):
            body = all_items(client, collection["id"], limit=asked)
            assert body["numberReturned"] == len(body["features"]) == min(asked, body["numberMatched"])
        above = all_items(client, collection["id"], limit=maximum + 1)
        assert len(above["features"]) <= maximum and len(above["features"]) == above["numberMatched"]


def test_bbox_and_datetime_are_defined_as_the_standard_says(client: TestClient) -> None:
    """/conf/core/fc-bbox-definition, /conf/core/fc-time-definition: the parameters of the API definition,
    compared with the standard's OpenAPI fragments."""
    parameters = client.get("/ogc/api").json()["components"]["parameters"]
    bbox, moment = parameters["bbox"], parameters["datetime"]
    assert {key: bbox[key] for key in ("name", "in", "required", "style", "explode")} == {
        "name": "bbox", "in": "query", "required": False, "style": "form", "explode": False}
    assert bbox["schema"] == {"type": "array", "items": {"type": "number"},
                              "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}]}
    assert {key: moment[key] for key in ("name", "in", "required", "style", "explode")} == {
        "name": "datetime", "in": "query", "required": False, "style": "form", "explode": False}
    assert moment["schema"] == {"type": "string"}


def test_bbox_and_datetime_together_select_what_matches_both(client: TestClient, session: Session) -> None:
    """/conf/core/fc-op (combinations of bbox and datetime), /conf/core/fc-bbox-response, /conf/core/fc-time-response,
    /conf/core/fc-numberMatched: plain SQL is the oracle for the box, a moved updated_at for the time."""
    stations = next(item for item in collections(client) if item["id"] == "love_station")
    west, south, east, north = middle_box(stations)
    inside = [row[0] for row in session.execute(text(
        "SELECT id FROM station WHERE type_code = 'love_station' AND deleted_at IS NULL "
        "AND ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326)) ORDER BY id"),
        {"w": west, "s": south, "e": east, "n": north})]
    outside = session.execute(text(
        "SELECT min(id) FROM station WHERE type_code = 'love_station' AND deleted_at IS NULL "
        "AND NOT ST_Intersects(geom, ST_MakeEnvelope(:w, :s, :e, :n, 4326))"),
        {"w": west, "s": south, "e": east, "n": north}).scalar_one()
    assert len(inside) >= 2 and outside is not None
    session.execute(text("SET LOCAL session_replication_role = replica"))  # the trigger would stamp now()
    session.execute(text("UPDATE station SET updated_at = '2031-03-01T00:00:00Z' WHERE id = ANY(:ids)"),
                    {"ids": [inside[0], outside]})
    session.execute(text("SET LOCAL session_replication_role = origin"))
    box_text = f"{west},{south},{east},{north}"
    later = all_items(client, "love_station", bbox=box_text, datetime="2031-01-01T00:00:00Z/..")
    assert [feature["id"] for feature in later["features"]] == [inside[0]] and later["numberMatched"] == 1
    earlier = all_items(client, "love_station", bbox=box_text, datetime="../2030-12-31T23:59:59Z")
    assert [feature["id"] for feature in earlier["features"]] == inside[1:]
    assert earlier["numberMatched"] == earlier["numberReturned"] == len(inside) - 1
    # regions have no time: datetime keeps all of them, bbox still selects
    counties = all_items(client, "counties", bbox=box_text)
    assert all_items(client, "counties", bbox=box_text, datetime="2031-01-01T00:00:00Z/..")["features"] == \
        counties["features"]
    assert all(shape(feature["geometry"]).intersects(box(west, south, east, north)) for feature in counties["features"])


def test_number_matched_and_returned_count_what_is_there(client: TestClient) -> None:
    """/conf/core/fc-numberMatched, /conf/core/fc-numberReturned: numberMatched is the number of features
    the next links reach, numberReturned the number on the page, for every collection with a bbox."""
    for collection in collections(client):
        west, south, east, north = middle_box(collection)
        url: str | None = (f"/ogc/collections/{collection['id']}/items?bbox={west},{south},{east},{north}"
                           "&limit=40")
        seen: list[object] = []
        matched: set[int] = set()
        while url:
            body = client.get(url).json()
            assert body["numberReturned"] == len(body["features"])
            matched.add(body["numberMatched"])
            seen += [feature["id"] for feature in body["features"]]
            url = next((path_of(item["href"]) for item in rel(body["links"], "next")), None)
        assert matched == {len(seen)} and len(seen) == len(set(seen)), collection["id"]


def test_time_stamp_is_when_the_answer_was_made(client: TestClient) -> None:
    """/conf/core/fc-timeStamp: between the clock before the request and after it (to the second)."""
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = client.get("/ogc/collections/townships/items", params={"limit": 2}).json()["timeStamp"]
    after = datetime.now(UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    assert before <= datetime.fromisoformat(stamp) <= after


def test_each_feature_answers_at_its_own_url(client: TestClient) -> None:
    """/conf/core/f-op, /conf/core/f-success, /conf/core/f-links, /conf/geojson/content: features of every
    collection answer 200 at /items/{featureId}, with that id, the geometry of the items page, and self,
    alternate and collection links, every link typed."""
    for collection in collections(client):
        page = all_items(client, collection["id"], limit=4)["features"]
        for listed in page:
            feature_id = str(listed["id"])
            response = client.get(f"/ogc/collections/{collection['id']}/items/{feature_id}")
            assert response.status_code == 200 and response.headers["content-type"] == GEOJSON
            feature = response.json()
            assert valid(FEATURE, feature) == []
            assert str(feature["id"]) == feature_id and feature["id"] == listed["id"]  # integer station ids
            assert feature["geometry"] == listed["geometry"] and feature["properties"] == listed["properties"]
            links = feature["links"]
            assert all("type" in item for item in links)
            assert [path_of(item["href"]) for item in rel(links, "self")] == [
                f"/ogc/collections/{collection['id']}/items/{feature_id}"]
            assert [item["type"] for item in rel(links, "alternate")] == ["text/html"]
            assert [path_of(item["href"]) for item in rel(links, "collection")] == [
                f"/ogc/collections/{collection['id']}"]


@pytest.mark.parametrize("path", ["/ogc", "/ogc/conformance", "/ogc/api", "/ogc/collections",
                                  "/ogc/collections/counties", "/ogc/collections/counties/items",
                                  "/ogc/collections/counties/items/360403"])
def test_an_invalid_or_unknown_parameter_is_a_400(client: TestClient, path: str) -> None:
    """/conf/core/query-param-invalid, /conf/core/query-param-unknown, on every resource (items in detail:
    test_ogc.py::test_bad_parameters_are_400_naming_the_parameter)."""
    for params in ({"f": "xml"}, {"unknown": "1"}):
        response = client.get(path, params=params)
        assert response.status_code == 400 and response.json()["parameter"] == next(iter(params))


# ---- Part 1, geojson, html, oas30 -------------------------------------------------------------------


def test_json_and_geojson_are_served_as_asked(client: TestClient) -> None:
    """/conf/geojson/definition: application/geo+json for features, application/json for the rest."""
    feature_id = first_feature_id(client, "love_station")
    for path in ("/ogc/collections/love_station/items", f"/ogc/collections/love_station/items/{feature_id}"):
        for request in ({"headers": {"Accept": GEOJSON}}, {"params": {"f": "json"}}, {}):
            response = client.get(path, **request)  # type: ignore[arg-type]
            assert response.status_code == 200 and response.headers["content-type"] == GEOJSON
    for path in ("/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/love_station"):
        for request in ({"headers": {"Accept": "application/json"}}, {"params": {"f": "json"}}):
            response = client.get(path, **request)  # type: ignore[arg-type]
            assert response.status_code == 200 and response.headers["content-type"] == "application/json"


def test_html_is_served_wherever_it_is_asked_for_as_html5(client: TestClient) -> None:
    """/conf/html/definition, /conf/html/content: every operation answers text/html when a browser asks
    (Accept) or ``f=html``; each page is an HTML5 document (doctype, language, charset, title), and the landing
    page links the API definition, the conformance declaration and the data, as its JSON does."""
    feature_id = first_feature_id(client, "townships")
    for path in ("/ogc", "/ogc/conformance", "/ogc/api", "/ogc/collections", "/ogc/collections/townships",
                 "/ogc/collections/townships/items", f"/ogc/collections/townships/items/{feature_id}"):
        for request in ({"headers": {"Accept": BROWSER}}, {"params": {"f": "html"}}):
            response = client.get(path, **request)  # type: ignore[arg-type]
            assert response.status_code == 200 and response.headers["content-type"].startswith("text/html"), path
            page = response.text
            assert re.match(r"\s*<!DOCTYPE html>", page, flags=re.IGNORECASE), path  # whitespace may come first
            tree = lxml_html.document_fromstring(page)
            assert tree.tag == "html" and tree.get("lang") and tree.find("head/title") is not None, path
            assert tree.xpath("//meta[@charset]") or "charset=utf-8" in response.headers["content-type"]
    landing = lxml_html.document_fromstring(client.get("/ogc?f=html").text)
    hrefs = {path_of(href) for href in landing.xpath("//a/@href")}
    for item in client.get("/ogc").json()["links"]:
        if item["rel"] in ("service-desc", "service-doc", "conformance", "data"):
            assert path_of(item["href"]) in hrefs, item


def concrete(path: str, collection: str, feature_id: str, tile: tuple[int, int, int] = (8, 105, 210)) -> str:
    """A documented path with its parameters filled in; ``tile`` (zoom, row, column) a tile of the collection."""
    zoom, row, column = tile
    return "/ogc" + (path.replace("{collectionId}", collection).replace("{featureId}", feature_id)
                     .replace("{tileMatrixSetId}", "WebMercatorQuad").replace("{tileMatrix}", str(zoom))
                     .replace("{tileRow}", str(row)).replace("{tileCol}", str(column)))


def tile_of(client: TestClient, collection: str, feature_id: str, zoom: int = 8) -> tuple[int, int, int]:
    """The WebMercatorQuad tile (zoom, row, column) holding a feature's first coordinate."""
    geometry = client.get(f"/ogc/collections/{collection}/items/{feature_id}").json()["geometry"]
    position = geometry["coordinates"]
    while isinstance(position[0], list):
        position = position[0]
    lon, lat = position[:2]
    size = 2**zoom
    row = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * size
    return zoom, int(row), int((lon + 180) / 360 * size)


def test_every_path_of_the_api_definition_works_as_described(client: TestClient) -> None:
    """/conf/oas30/oas-impl, /conf/oas30/security: every path of /ogc/api, with every enumerated value of its
    query parameters, answers 200 in a documented media type, with no credentials (the document declares no
    security scheme: /ogc takes none)."""
    document = client.get("/ogc/api").json()
    assert "security" not in document and "securitySchemes" not in document["components"]
    assert document["servers"][0]["url"].endswith("/ogc")
    shared = document["components"]["parameters"]
    checked = 0
    for template, item in document["paths"].items():
        operation = item["get"]
        home = first_feature_id(client, "workers_home")
        path = concrete(template, "workers_home", home, tile_of(client, "workers_home", home))
        documented = set(operation["responses"]["200"]["content"])
        parameters = [shared[ref["$ref"].rsplit("/", 1)[1]] if "$ref" in ref else ref
                      for ref in operation["parameters"]]
        requests: list[dict[str, str]] = [{}]
        for parameter in parameters:
            if parameter["in"] == "query" and "enum" in parameter["schema"] and parameter["name"] != "bbox-crs":
                requests += [{parameter["name"]: str(value)} for value in parameter["schema"]["enum"]]
        for params in requests:
            response = client.get(path, params=params)
            assert response.status_code == 200, (path, params, response.text)
            assert response.headers["content-type"].split(";")[0] in {media.split(";")[0] for media in documented}
            checked += 1
    assert checked > 40


def status_codes(document: dict, template: str) -> set[int]:
    return {int(status) for status in document["paths"][template]["get"]["responses"]}


def test_every_status_the_api_answers_is_documented(client: TestClient) -> None:
    """/conf/oas30/completeness, /conf/oas30/exceptions-codes: for every operation, each status the server
    gives (200, 304 when the client's ETag still matches, 400, 404; 503 is drilled in test_overload.py)
    is in the operation's responses."""
    document = client.get("/ogc/api").json()
    feature_id = first_feature_id(client, "counties")
    for template in document["paths"]:
        path = concrete(template, "counties", feature_id, tile_of(client, "counties", feature_id))
        declared = status_codes(document, template)
        ok = client.get(path)
        assert ok.status_code == 200
        seen = {200, client.get(path, headers={"If-None-Match": ok.headers["etag"]}).status_code,
                client.get(path, params={"unknown": "1"}).status_code}
        if "{" in template:
            seen.add(client.get(concrete(template, "nope" if "{collectionId}" in template else "counties",
                                         "999999")).status_code)
        assert seen <= declared, (template, seen - declared)
        assert 503 in declared


# ---- core/http --------------------------------------------------------------------------------------


@pytest.mark.clients
def test_http_1_1_with_persistent_connections(live_server: str) -> None:
    """/conf/core/http: the served app speaks HTTP/1.1, two requests on one connection (uvicorn as shipped)."""
    host, port = urlsplit(live_server).hostname, urlsplit(live_server).port
    assert host and port
    with socket.create_connection((host, port), timeout=30) as connection:
        answers = []
        for path in ("/ogc/conformance", "/ogc/collections/counties"):
            connection.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n"
                               .encode())
            head = b""
            while b"\r\n\r\n" not in head:
                head += connection.recv(1)
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            body = b""
            while len(body) < length:
                body += connection.recv(length - len(body))
            answers.append(head.split(b"\r\n", 1)[0])
    assert answers == [b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK"]


# ---- Part 2, crs ------------------------------------------------------------------------------------

OGC_CRS_URI = re.compile(r"http://www\.opengis\.net/def/crs/(OGC|EPSG)/[0-9.]+/[A-Za-z0-9]+")


def test_crs_lists_are_ogc_uris_with_crs84_and_the_storage_crs(client: TestClient) -> None:
    """/conf/crs/crs-uri, /conf/crs/default-crs, /conf/crs/storageCrs: in /collections and /collections/{id},
    every crs and storageCrs is an OGC http-URI (09-048r5 form), CRS84 is in every list, storageCrs in crs."""
    body = client.get("/ogc/collections").json()
    assert all(OGC_CRS_URI.fullmatch(uri) for uri in body["crs"])
    for collection in body["collections"]:
        alone = client.get(f"/ogc/collections/{collection['id']}").json()
        for document in (collection, alone):
            crs = [uri for uri in document["crs"] if uri != "#/crs"]
            assert all(OGC_CRS_URI.fullmatch(uri) for uri in [*crs, document["storageCrs"]]), crs
            assert CRS84 in crs
            assert document["storageCrs"] in crs


def test_every_listed_crs_is_served_for_items_and_features(client: TestClient) -> None:
    """/conf/crs/crs-parameter, /conf/crs/crs-parameter-default, /conf/crs/crs-parameter-transform: every
    collection, every CRS it lists, items and one feature: 200, a valid document, Content-Crs naming the CRS
    asked (CRS84 when none is), and coordinates that pyproj takes back to the CRS84 ones."""
    for collection in collections(client):
        feature_id = first_feature_id(client, collection["id"])
        base = f"/ogc/collections/{collection['id']}/items"
        plain_page = client.get(base, params={"limit": 2})
        plain_feature = client.get(f"{base}/{feature_id}")
        assert plain_page.headers["content-crs"] == plain_feature.headers["content-crs"] == f"<{CRS84}>"
        for crs in collection["crs"]:
            to_crs84 = Transformer.from_crs(crs.replace("http://www.opengis.net/def/crs/EPSG/0/", "EPSG:")
                                            .replace("http://www.opengis.net/def/crs/OGC/1.3/", "OGC:"), "OGC:CRS84")
            for url, plain, params in ((base, plain_page, {"limit": 2}), (f"{base}/{feature_id}", plain_feature, {})):
                response = client.get(url, params=params | {"crs": crs})
                assert response.status_code == 200 and response.headers["content-crs"] == f"<{crs}>"
                body = response.json()
                assert valid(FEATURE_COLLECTION if url == base else FEATURE, body) == []
                written = [item["geometry"] for item in body.get("features", [body])]
                expected = [item["geometry"] for item in plain.json().get("features", [plain.json()])]
                for ours, theirs in zip(written, expected, strict=True):
                    back = shapely.transform(shape(ours), to_crs84.transform, interleaved=False)
                    assert abs(shapely.get_coordinates(back) - shapely.get_coordinates(shape(theirs))).max() < 1e-7


@pytest.mark.parametrize("parameter", ["crs", "bbox-crs"])
def test_an_unlisted_crs_is_a_400_on_every_collection(client: TestClient, parameter: str) -> None:
    """/conf/crs/crs-parameter-invalid (items and a feature), /conf/crs/bbox-crs-parameter-invalid (items)."""
    for collection in collections(client):
        base = f"/ogc/collections/{collection['id']}/items"
        urls = [base] + ([f"{base}/{first_feature_id(client, collection['id'])}"] if parameter == "crs" else [])
        for url in urls:
            params = {parameter: UNSUPPORTED} | ({"bbox": "29,115,30,116"} if parameter == "bbox-crs" else {})
            response = client.get(url, params=params)
            assert response.status_code == 400 and response.json()["parameter"] == parameter, (url, response.text)


def test_bbox_crs_crs84_is_the_default(client: TestClient) -> None:
    """/conf/crs/bbox-crs-parameter-default: a box with bbox-crs=CRS84 selects what it selects without it."""
    for collection in collections(client):
        west, south, east, north = middle_box(collection)
        box_text = f"{west},{south},{east},{north}"
        plain = all_items(client, collection["id"], bbox=box_text)
        assert all_items(client, collection["id"], bbox=box_text, **{"bbox-crs": CRS84})["features"] == \
            plain["features"]


def test_a_box_in_any_listed_crs_selects_features_that_cross_it(client: TestClient) -> None:
    """/conf/crs/bbox-crs-parameter: for every collection and CRS, the middle of the extent made into a box in
    that CRS by pyproj; every feature served (asked in the same CRS) intersects it, and some are served."""
    served = 0
    for collection in collections(client):
        west, south, east, north = middle_box(collection)
        for crs in collection["crs"]:
            code = crs.replace("http://www.opengis.net/def/crs/EPSG/0/", "EPSG:").replace(
                "http://www.opengis.net/def/crs/OGC/1.3/", "OGC:")
            to_crs = Transformer.from_crs("OGC:CRS84", code)  # the CRS's own axis order out
            (x0, y0), (x1, y1) = to_crs.transform(west, south), to_crs.transform(east, north)
            body = all_items(client, collection["id"], bbox=f"{x0},{y0},{x1},{y1}", **{"bbox-crs": crs, "crs": crs})
            area = box(x0, y0, x1, y1).buffer(1e-6 if abs(x1 - x0) < 1000 else 0.01)  # a micro-degree or a cm
            assert all(shape(feature["geometry"]).intersects(area) for feature in body["features"]), (collection, crs)
            served += len(body["features"])
    assert served > 0
