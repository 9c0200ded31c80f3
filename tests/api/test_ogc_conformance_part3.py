"""The abstract tests of OGC API - Features Part 3 (19-079r2: queryables, filter, features-filter) and
of the CQL2 classes /ogc declares (21-065r2: basic-cql2, advanced-comparison-operators,
basic-spatial-functions(-plus), cql2-text, cql2-json), run on every collection the API lists.

docs/ogc-conformance.md is the checklist. The CQL2 suite's "test-data" tests need Natural Earth's
ne110m4cql2 data set, which this API does not serve; the same operators are checked here against
oracles the server does not use: plain SQL (PostgreSQL evaluating the predicate), shapely on the
features' own geometries, pyproj for the CRS, and the partitions the abstract tests assert
(``=`` and ``<>`` share no feature …).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import jsonschema_rs
import pytest
from pyproj import Transformer
from shapely import wkt
from shapely.geometry import shape
from sqlalchemy import text

from geo.store.counting import live_sql

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

pytestmark = pytest.mark.db

SPEC = "http://www.opengis.net/spec/"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
GEOJSON = "application/geo+json"
GEOMETRY_FORMATS = {f"geometry-{name}" for name in (
    "point", "multipoint", "linestring", "multilinestring", "polygon", "multipolygon", "geometrycollection", "any",
    "point-or-multipoint", "linestring-or-multilinestring", "polygon-or-multipolygon")}
# The CQL2 comparison test's literal per type (21-065r2 annex A, /conf/basic-cql2/comparison)
VALUES = {"string": "'foo'", "boolean": "true", "number": "3.14", "integer": "1",
          "date-time": "TIMESTAMP('2022-04-14T14:48:46Z')"}


def collections(client: TestClient) -> list[dict]:
    return client.get("/ogc/collections").json()["collections"]


def queryables(client: TestClient, collection: str) -> dict[str, dict]:
    properties: dict[str, dict] = client.get(f"/ogc/collections/{collection}/queryables").json()["properties"]
    return properties


def kind(schema: dict) -> str:
    if "type" not in schema:
        return "geometry"
    return "date-time" if schema.get("format") == "date-time" else str(schema["type"])


def found(client: TestClient, collection: str, **params: str) -> set[str]:
    """The ids of every feature the filter selects (one page: the collections hold fewer than 10 000)."""
    response = client.get(f"/ogc/collections/{collection}/items", params={"limit": "10000", **params})
    assert response.status_code == 200, (collection, params, response.text)
    assert response.headers["content-type"].startswith(GEOJSON)
    body = response.json()
    assert body["numberMatched"] == body["numberReturned"] == len(body["features"])
    return {str(feature["id"]) for feature in body["features"]}


def refused(client: TestClient, collection: str, **params: str) -> dict[str, Any]:
    response = client.get(f"/ogc/collections/{collection}/items", params=params)
    assert response.status_code == 400, (collection, params, response.text)
    body: dict[str, Any] = response.json()
    return body


def features(client: TestClient, collection: str) -> list[dict]:
    response = client.get(f"/ogc/collections/{collection}/items", params={"limit": "10000"})
    result: list[dict] = response.json()["features"]
    return result


# ---- Part 3, queryables ---------------------------------------------------------------------


def test_part_3_and_cql2_classes_are_declared(client: TestClient) -> None:
    """/conf/{queryables,filter,features-filter}/get-conformance; the CQL2 classes and Tiles declared."""
    response = client.get("/ogc/conformance", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    declared = set(response.json()["conformsTo"])
    part3 = {f"{SPEC}ogcapi-features-3/1.0/conf/{name}" for name in ("queryables", "filter", "features-filter")}
    cql2 = {f"{SPEC}cql2/1.0/conf/{name}" for name in (
        "basic-cql2", "advanced-comparison-operators", "basic-spatial-functions", "basic-spatial-functions-plus",
        "cql2-text", "cql2-json")}
    assert part3 | cql2 <= declared
    # not declared, and checked to be absent: the checklist says n/a for these
    for name in ("ogcapi-features-3/1.0/conf/queryables-query-parameters", "ogcapi-features-3/1.0/conf/functions",
                 "cql2/1.0/conf/case-insensitive-comparison", "cql2/1.0/conf/accent-insensitive-comparison",
                 "cql2/1.0/conf/spatial-functions", "cql2/1.0/conf/temporal-functions", "cql2/1.0/conf/array-functions",
                 "cql2/1.0/conf/property-property", "cql2/1.0/conf/functions", "cql2/1.0/conf/arithmetic"):
        assert f"{SPEC}{name}" not in declared


def test_queryables_uris_and_documents_of_every_collection(client: TestClient) -> None:
    """/conf/queryables/get-queryables-uris (HEAD, a Link header), /conf/queryables/get-queryables and
    /conf/features-filter/get-collection (the collection's link)."""
    for collection in collections(client):
        cid = collection["id"]
        head = client.head(f"/ogc/collections/{cid}/items", headers={"Accept": "application/json"})
        assert head.status_code == 200
        (header,) = [part for part in head.headers["link"].split(",") if f'rel="{QUERYABLES_REL}"' in part]
        uri = header.split(";")[0].strip().strip("<>")
        assert uri == f"http://testserver/ogc/collections/{cid}/queryables"
        (link,) = [item for item in collection["links"] if item["rel"] == QUERYABLES_REL]
        assert link["href"] == uri
        own = client.get(f"/ogc/collections/{cid}", headers={"Accept": "application/json"}).json()
        assert [item["href"] for item in own["links"] if item["rel"] == QUERYABLES_REL] == [uri]
        response = client.get(uri, headers={"Accept": "application/schema+json"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/schema+json")
        schema = response.json()
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == uri and schema["type"] == "object" and schema["properties"]
        for name, member in schema["properties"].items():
            assert isinstance(member, dict)
            if "type" not in member:
                assert member["format"] in GEOMETRY_FORMATS and "$ref" not in member, name
            if member.get("format") == "date-time":
                assert member["type"] == "string"
        jsonschema_rs.validator_for(schema)  # compiles: a valid JSON Schema (2020-12)
        assert schema["additionalProperties"] is False


def test_an_unknown_queryable_is_refused(client: TestClient) -> None:
    """/conf/filter/expression-construction: additionalProperties is false, so a 400."""
    for collection in collections(client):
        body = refused(client, collection["id"], **{"filter-lang": "cql2-text",
                                                    "filter": "this_is_not_a_queryable IS NULL"})
        assert body["parameter"] == "filter" and "this_is_not_a_queryable" in body["description"]


# ---- Part 3, filter and features-filter -------------------------------------------------------


@pytest.mark.parametrize("lang", [None, "cql2-text"])
def test_filter_param_and_the_default_language(client: TestClient, lang: str | None) -> None:
    """/conf/filter/filter-param (lang given) and /conf/filter/filter-lang-default (lang left out),
    which /conf/features-filter/filter-on-items runs on /items: every queryable IS NULL selects
    exactly the features whose property is null in the unfiltered result."""
    language = {"filter-lang": lang} if lang else {}
    for collection in collections(client):
        cid = collection["id"]
        everything = features(client, cid)
        assert len(everything) == found(client, cid).__len__() > 0
        for name, schema in queryables(client, cid).items():
            if "type" not in schema:
                continue
            expected = {str(feature["id"]) for feature in everything if feature["properties"].get(name) is None}
            assert found(client, cid, filter=f"{name} IS NULL", **language) == expected, (cid, name)
        assert refused(client, cid, filter="THIS IS NOT A FILTER", **language)["parameter"] == "filter"


def test_filter_crs_wgs84_is_the_default_and_mixes_with_bbox(client: TestClient) -> None:
    """/conf/filter/filter-crs-wgs84 and /conf/features-filter/mixing-expression: the extent as a
    BBOX filter selects everything, alone and with bbox= the extent; a bbox that misses the extent
    selects nothing; coordinates of a million degrees are a 400."""
    for collection in collections(client):
        cid = collection["id"]
        west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
        everything = found(client, cid)
        box = f"S_INTERSECTS(geometry, BBOX({west}, {south}, {east}, {north}))"
        assert found(client, cid, filter=box, **{"filter-lang": "cql2-text"}) == everything
        assert found(client, cid, filter=box, bbox=f"{west},{south},{east},{north}") == everything
        assert found(client, cid, filter=box, bbox="-10,-10,-5,-5") == set()
        body = refused(client, cid, filter="S_INTERSECTS(geometry, BBOX(1000000, 1000000, 2000000, 2000000))")
        assert body["parameter"] == "filter"


def test_filter_crs_param_in_every_listed_crs(client: TestClient) -> None:
    """/conf/filter/filter-crs-param: the extent, taken by pyproj into each CRS a collection lists
    (in that CRS's axis order), selects everything; an unknown CRS is a 400."""
    for collection in collections(client):
        cid = collection["id"]
        west, south, east, north = collection["extent"]["spatial"]["bbox"][0]
        everything = found(client, cid)
        for crs in collection["crs"]:
            to_crs = Transformer.from_crs("OGC:CRS84", crs.rsplit("/", 3)[-3] + ":" + crs.rsplit("/", 1)[-1]
                                          if "/EPSG/" in crs else "OGC:CRS84")
            # pyproj's own axis order of the CRS (EPSG:4326 and 4490: lat, lon) is the order the filter uses
            x1, y1 = to_crs.transform(west, south)
            x2, y2 = to_crs.transform(east, north)
            box = f"S_INTERSECTS(geometry, BBOX({min(x1, x2)!r}, {min(y1, y2)!r}, {max(x1, x2)!r}, {max(y1, y2)!r}))"
            assert found(client, cid, filter=box, **{"filter-crs": crs}) == everything, (cid, crs)
        body = refused(client, cid, filter=f"S_INTERSECTS(geometry, BBOX({west}, {south}, {east}, {north}))",
                       **{"filter-crs": "http://www.opengis.net/def/crs/OGC/0/does_not_exist"})
        assert body["parameter"] == "filter-crs"


def test_a_web_mercator_filter_selects_what_its_lon_lat_box_selects(client: TestClient) -> None:
    """filter-crs EPSG:3857 on a box inside the extent (some in, some out), against pyproj."""
    to_mercator = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    for cid in ("love_station", "townships"):
        everything = found(client, cid)
        lon_lat = found(client, cid, filter="S_INTERSECTS(geometry, BBOX(115.9, 29.6, 116.05, 29.75))")
        assert 0 < len(lon_lat) < len(everything)
        x1, y1 = to_mercator.transform(115.9, 29.6)
        x2, y2 = to_mercator.transform(116.05, 29.75)
        assert found(client, cid, filter=f"S_INTERSECTS(geometry, BBOX({x1!r}, {y1!r}, {x2!r}, {y2!r}))",
                     **{"filter-crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}) == lon_lat


# ---- CQL2, basic-cql2 -----------------------------------------------------------------------


def test_basic_cql2_basic_test(client: TestClient) -> None:
    """/conf/basic-cql2/basic-test: each collection has queryables, each typed, one at least scalar."""
    for collection in collections(client):
        properties = queryables(client, collection["id"])
        assert properties
        assert all("type" in schema or schema.get("format") in GEOMETRY_FORMATS for schema in properties.values())
        assert any(schema.get("type") in ("string", "boolean", "number", "integer") for schema in properties.values())


def test_basic_cql2_comparison_and_is_null_partition_every_collection(client: TestClient) -> None:
    """/conf/basic-cql2/comparison and /conf/basic-cql2/is-null, every scalar queryable of every
    collection with the test's literals: = and <>, > and <=, < and >= share no feature and (the
    property set) together hold every feature whose property is not null; IS NULL and IS NOT NULL
    split the collection."""
    for collection in collections(client):
        cid = collection["id"]
        everything = found(client, cid)
        for name, schema in queryables(client, cid).items():
            if kind(schema) == "geometry":
                continue
            null = found(client, cid, filter=f"{name} IS NULL")
            not_null = found(client, cid, filter=f"{name} is not null")
            assert null.isdisjoint(not_null) and null | not_null == everything, (cid, name)
            value = VALUES[kind(schema)]
            for left, right in (("=", "<>"), (">", "<="), ("<", ">=")):
                one = found(client, cid, filter=f"{name} {left} {value}")
                other = found(client, cid, filter=f"{name} {right} {value}")
                assert one.isdisjoint(other) and one | other == not_null, (cid, name, left)


def test_basic_cql2_boolean(client: TestClient) -> None:
    """/conf/basic-cql2/boolean: ``true`` selects everything, ``false`` nothing (text and JSON)."""
    for collection in collections(client):
        cid = collection["id"]
        everything = found(client, cid)
        assert found(client, cid, filter="true") == found(client, cid, filter="TRUE") == everything
        assert found(client, cid, filter="false") == set()
        assert found(client, cid, filter="true", **{"filter-lang": "cql2-json"}) == everything
        assert found(client, cid, filter="false", **{"filter-lang": "cql2-json"}) == set()


# (p1, p2, p3, p4) over stations, each with its SQL: the logical test's combined expression
PREDICATES = [
    ("status = 'open'", "s.status = 'open'"), ("station_id > 60", "s.id > 60"),
    ("name < 'M'", "s.name < 'M'"), ("phone IS NULL", "s.phone IS NULL"), ("is_demo = true", "s.is_demo"),
    ("county_code <> '360402'", "s.county_code <> '360402'"), ("station_id <= 30", "s.id <= 30"),
]


@pytest.mark.parametrize("offset", range(4))
def test_basic_cql2_logical_matches_sql(client: TestClient, session: Session, offset: int) -> None:
    """/conf/basic-cql2/logical (and the logical tests of the other classes): the suite's
    expression ``(NOT (p2) AND p1) OR (p3 and p4) or not (p1 OR p4)`` over four predicates, as SQL."""
    picked = [PREDICATES[(offset + step * 2) % len(PREDICATES)] for step in range(4)]
    (p1, s1), (p2, s2), (p3, s3), (p4, s4) = picked
    cql = f"(NOT ({p2}) AND {p1}) OR ({p3} and {p4}) or not ({p1} OR {p4})"
    where = f"(NOT ({s2}) AND {s1}) OR ({s3} AND {s4}) OR NOT ({s1} OR {s4})"
    expected = {str(row.id) for row in session.execute(text(
        f"SELECT id FROM station s WHERE {live_sql('s')} AND s.type_code = 'love_station' AND ({where})"))}
    assert found(client, "love_station", filter=cql) == expected


# ---- CQL2, advanced-comparison-operators ----------------------------------------------------


def test_advanced_comparison_operators_on_every_queryable(client: TestClient) -> None:
    """/conf/advanced-comparison-operators/like, /between and /in with the suite's expressions."""
    for collection in collections(client):
        cid = collection["id"]
        everything = found(client, cid)
        for name, schema in queryables(client, cid).items():
            value_kind = kind(schema)
            if value_kind == "string":
                some = found(client, cid, filter=f"{name} like '_%'")
                empty = found(client, cid, filter=f"{name} like ''")
                assert some.isdisjoint(empty)
                assert found(client, cid, filter=f"{name} LIKE '%'") == found(client, cid, filter=f"{name} like '%%'")
                assert found(client, cid, filter=f"{name} like '\\\\%\\\\_'") == set()  # no value holds "%_"
                found(client, cid, filter=f"{name} in ('foo', 'bar')")
            elif value_kind in ("integer", "number"):
                assert found(client, cid, filter=f"{name} between 100.0 and 1.0") == set()  # low > high: none
                found(client, cid, filter=f"{name} BETWEEN 0 AND 100")
                found(client, cid, filter=f"{name} IN (1, 2, 3)")
            elif value_kind == "boolean":
                assert found(client, cid, filter=f"{name} in (true)") == found(client, cid, filter=f"{name} = true")
            elif value_kind == "date-time":
                assert found(client, cid, filter=f"{name} in ('2022-04-14T14:52:56Z', '2022-04-14T15:52:56Z')") <= (
                    everything)


def test_like_between_and_in_match_sql(client: TestClient, session: Session) -> None:
    """The three operators on stations with values that split them, against SQL."""
    cases = [("name LIKE '%镇%'", "s.name LIKE '%镇%'"), ("name like '_%站'", "s.name LIKE '_%站'"),
             ("station_id BETWEEN 40 AND 90", "s.id BETWEEN 40 AND 90"),
             ("station_id between 40.5 and 90.5", "s.id BETWEEN 40.5 AND 90.5"),
             ("status IN ('closed', 'planned')", "s.status IN ('closed', 'planned')"),
             ("station_id in (1, 2, 3, 50)", "s.id IN (1, 2, 3, 50)"), ("is_demo in (false)", "NOT s.is_demo")]
    for cql, where in cases:
        expected = {str(row.id) for row in session.execute(text(
            f"SELECT id FROM station s WHERE {live_sql('s')} AND s.type_code = 'love_station' AND ({where})"))}
        assert found(client, "love_station", filter=cql) == expected, cql


# ---- CQL2, basic-spatial-functions(-plus) ----------------------------------------------------

WORLD_LITERALS = [  # the suite's literals (21-065r2 annex A), far from Jiujiang
    "BBOX(-180,-90,180,90)", "POINT(7.02 49.92)", "LINESTRING(-180 -45, 0 -45)",
    "MULTILINESTRING((-180 -45, 0 -45), (0 45, 180 45))",
    "POLYGON((-180 -90, -90 -90, -90 90, -180 90, -180 -90), (-120 -50, -100 -50, -100 -40, -120 -40, -120 -50))",
    "MULTIPOLYGON(((-180 -90, -90 -90, -90 90, -180 90, -180 -90), (-120 -50, -100 -50, -100 -40, -120 -40, "
    "-120 -50)),((0 0, 10 0, 10 10, 0 10, 0 0)))",
    "GEOMETRYCOLLECTION(POINT(7.02 49.92), POLYGON((0 0, 10 0, 10 10, 0 10, 0 0)))",
]
# the same kinds of literal over Jiujiang, so that some features meet them and some do not
LOCAL_LITERALS = [
    "POINT(116.0 29.7)", "MULTIPOINT((116.0 29.7), (115.6 29.3))", "LINESTRING(115.5 29.5, 116.2 29.8)",
    "MULTILINESTRING((115.5 29.5, 116.2 29.8), (115.0 29.0, 115.2 29.1))",
    "POLYGON((115.8 29.5, 116.2 29.5, 116.2 29.9, 115.8 29.9, 115.8 29.5), "
    "(115.9 29.6, 116.0 29.6, 116.0 29.7, 115.9 29.7, 115.9 29.6))",
    "MULTIPOLYGON(((115.8 29.5, 116.2 29.5, 116.2 29.9, 115.8 29.5)), ((115.0 29.0, 115.3 29.0, 115.3 29.3, "
    "115.0 29.0)))",
    "GEOMETRYCOLLECTION(POINT(116.0 29.7), LINESTRING(115.5 29.5, 116.2 29.8))",
]


def test_s_intersects_with_every_literal_matches_shapely(client: TestClient) -> None:
    """/conf/basic-spatial-functions/s_intersects and /conf/basic-spatial-functions-plus/s_intersects:
    every literal the suite names, on every collection, is answered; the world box holds everything;
    POINT(90 180) and a MULTIPOINT with it are a 400 (invalid coordinate). The features each literal
    selects are the ones shapely finds intersecting it, from their own unfiltered geometries."""
    for collection in collections(client):
        cid = collection["id"]
        geometries = {str(feature["id"]): shape(feature["geometry"]) for feature in features(client, cid)}
        assert found(client, cid, filter="S_INTERSECTS(geometry,BBOX(-180,-90,180,90))") == set(geometries)
        found(client, cid, filter="S_INTERSECTS(geometry,BBOX(-180,-90,-90,90)) AND "
                                  "S_INTERSECTS(geometry,BBOX(90,-90,180,90))")
        for literal in ("POINT(90 180)", "MULTIPOINT(7.02 49.92, 90 180)"):
            assert refused(client, cid, filter=f"S_INTERSECTS(geometry,{literal})")["parameter"] == "filter"
        for literal in [*WORLD_LITERALS[1:], *LOCAL_LITERALS]:
            other = wkt.loads(literal)
            expected = {key for key, geometry in geometries.items() if geometry.intersects(other)}
            assert found(client, cid, filter=f"S_INTERSECTS(geometry, {literal})") == expected, (cid, literal)
            as_json = json.dumps({"op": "s_intersects", "args": [{"property": "geometry"}, other.__geo_interface__]})
            assert found(client, cid, filter=as_json, **{"filter-lang": "cql2-json"}) == expected, (cid, literal)


def test_the_local_literals_are_not_trivial(client: TestClient) -> None:
    """Some of the local literals select some features but not all, so that the test above can fail."""
    stations = found(client, "love_station")
    counts = [len(found(client, "townships", filter=f"S_INTERSECTS(geometry, {literal})"))
              for literal in LOCAL_LITERALS]
    assert all(count > 0 for count in counts)
    assert 0 < len(found(client, "love_station", filter=f"S_INTERSECTS(geometry, {LOCAL_LITERALS[4]})")) < len(
        stations)


# ---- CQL2, cql2-text and cql2-json ------------------------------------------------------------


def test_cql2_text_escaping(client: TestClient, session: Session) -> None:
    """/conf/cql2-text/escaping: '' and \\' for a quote, \\t \\n … for control characters."""
    station_id = session.execute(text("SELECT id FROM station WHERE type_code = 'love_station' "
                                      "AND deleted_at IS NULL ORDER BY id LIMIT 1")).scalar_one()
    session.execute(text("SELECT set_config('unionmap.actor', 'test', true)"))
    session.execute(text("UPDATE station SET address = :a WHERE id = :id"),
                    {"a": "O'Brien\tA\nB\rC\x07\x08\x0b\x0c", "id": station_id})
    session.flush()
    for cql in ("address = 'O''Brien\\tA\\nB\\rC\\a\\b\\v\\f'", "address = 'O\\'Brien\\tA\\nB\\rC\\a\\b\\v\\f'"):
        assert found(client, "love_station", filter=cql) == {str(station_id)}, cql
    assert found(client, "love_station", filter="address LIKE 'O''Brien%'") == {str(station_id)}
    assert found(client, "love_station", filter="address = 'O''Brien'") == set()


# the suite's expressions in CQL2 JSON, each with its CQL2 text twin
JSON_TWINS = [
    ({"op": "=", "args": [{"property": "status"}, "open"]}, "status = 'open'"),
    ({"op": ">", "args": [{"property": "is_demo"}, True]}, "is_demo > true"),
    ({"op": "<=", "args": [{"property": "updated_at"}, {"timestamp": "2022-04-14T14:48:46Z"}]},
     "updated_at <= TIMESTAMP('2022-04-14T14:48:46Z')"),
    ({"op": "isNull", "args": [{"property": "phone"}]}, "phone IS NULL"),
    ({"op": "like", "args": [{"property": "name"}, "_%"]}, "name like '_%'"),
    ({"op": "between", "args": [{"property": "station_id"}, 100.0, 1.0]}, "station_id between 100.0 and 1.0"),
    ({"op": "between", "args": [{"property": "station_id"}, 0, 100]}, "station_id BETWEEN 0 AND 100"),
    ({"op": "in", "args": [{"property": "station_id"}, [1, 2, 3]]}, "station_id IN (1, 2, 3)"),
    ({"op": "in", "args": [{"property": "is_demo"}, [True]]}, "is_demo in (true)"),
    ({"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [115.9, 29.6, 116.05, 29.75]}]},
     "S_INTERSECTS(geometry, BBOX(115.9, 29.6, 116.05, 29.75))"),
    ({"op": "or", "args": [{"op": "and", "args": [{"op": "not", "args": [{"op": "=", "args": [
        {"property": "status"}, "open"]}]}, {"op": ">", "args": [{"property": "station_id"}, 60]}]},
        {"op": "not", "args": [{"op": "<", "args": [{"property": "name"}, "M"]}]}]},
     "(NOT (status = 'open') AND station_id > 60) OR NOT (name < 'M')"),
]


@pytest.mark.parametrize(("cql_json", "cql_text"), JSON_TWINS, ids=[twin[1] for twin in JSON_TWINS])
def test_cql2_json_selects_what_its_text_twin_selects(client: TestClient, cql_json: dict, cql_text: str) -> None:
    """/conf/cql2-json/validate (with /conf/cql2-text/validate): the suite's expressions in either
    encoding select the same stations."""
    as_text = found(client, "love_station", filter=cql_text, **{"filter-lang": "cql2-text"})
    assert found(client, "love_station", filter=json.dumps(cql_json), **{"filter-lang": "cql2-json"}) == as_text


def test_and_binds_tighter_than_or_and_not_takes_a_condition(client: TestClient, session: Session) -> None:
    """CQL2's BNF (booleanExpression = booleanTerm {OR booleanTerm}; booleanTerm = booleanFactor {AND …}):
    pygeofilter 0.4 alone read ``a OR b AND c`` as ``(a OR b) AND c``; SQL is the oracle."""
    for cql, where in (("status = 'closed' OR station_id < 20 AND is_demo = true",
                        "s.status = 'closed' OR (s.id < 20 AND s.is_demo)"),
                       ("station_id < 20 AND is_demo = true OR status = 'closed'",
                        "(s.id < 20 AND s.is_demo) OR s.status = 'closed'"),
                       ("NOT (status = 'closed' OR station_id < 20)", "NOT (s.status = 'closed' OR s.id < 20)")):
        expected = {str(row.id) for row in session.execute(text(
            f"SELECT id FROM station s WHERE {live_sql('s')} AND s.type_code = 'love_station' AND ({where})"))}
        assert found(client, "love_station", filter=cql) == expected, cql
