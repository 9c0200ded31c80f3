"""OGC API - Features Part 3 at /ogc: queryables, ``filter`` (CQL2 text and JSON), ``sortby`` and
``properties``, each checked against plain SQL over the station and region tables."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.store.counting import live_sql

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

ITEMS = "/ogc/collections/love_station/items"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"


def ids(client: TestClient, url: str = ITEMS, **params: Any) -> list[int]:
    response = client.get(url, params={"limit": 10000, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["numberMatched"] == body["numberReturned"] == len(body["features"])
    return [feature["properties"]["station_id"] for feature in body["features"]]


def sql_ids(session: Session, where: str, **params: object) -> list[int]:
    rows = session.execute(text(f"SELECT id FROM station s WHERE {live_sql('s')} AND s.type_code = 'love_station' "
                                f"AND ({where}) ORDER BY id"), params)
    return [row.id for row in rows]


def bad(client: TestClient, url: str = ITEMS, **params: str) -> dict[str, Any]:
    response = client.get(url, params=params)
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == "InvalidParameterValue"
    return body


# (CQL2 text, CQL2 JSON, the same condition in SQL): each side written by hand
CASES = [
    ("status = 'open'", {"op": "=", "args": [{"property": "status"}, "open"]}, "s.status = 'open'"),
    ("status <> 'open'", {"op": "<>", "args": [{"property": "status"}, "open"]}, "s.status <> 'open'"),
    ("station_id < 60", {"op": "<", "args": [{"property": "station_id"}, 60]}, "s.id < 60"),
    ("station_id <= 60", {"op": "<=", "args": [{"property": "station_id"}, 60]}, "s.id <= 60"),
    ("60 < station_id", {"op": "<", "args": [60, {"property": "station_id"}]}, "s.id > 60"),
    ("station_id >= 100", {"op": ">=", "args": [{"property": "station_id"}, 100]}, "s.id >= 100"),
    ("name LIKE '%镇%'", {"op": "like", "args": [{"property": "name"}, "%镇%"]}, "s.name LIKE '%镇%'"),
    ("name NOT LIKE '%镇%'", {"op": "not", "args": [{"op": "like", "args": [{"property": "name"}, "%镇%"]}]},
     "s.name NOT LIKE '%镇%'"),
    ("status IN ('closed', 'planned')",
     {"op": "in", "args": [{"property": "status"}, ["closed", "planned"]]}, "s.status IN ('closed', 'planned')"),
    ("station_id BETWEEN 40 AND 90", {"op": "between", "args": [{"property": "station_id"}, 40, 90]},
     "s.id BETWEEN 40 AND 90"),
    ("phone IS NULL", {"op": "isNull", "args": [{"property": "phone"}]}, "s.phone IS NULL"),
    ("managing_union IS NOT NULL", {"op": "not", "args": [{"op": "isNull", "args": [{"property": "managing_union"}]}]},
     "s.managing_union IS NOT NULL"),
    ("NOT (status = 'open') AND is_demo = true",
     {"op": "and", "args": [{"op": "not", "args": [{"op": "=", "args": [{"property": "status"}, "open"]}]},
                            {"op": "=", "args": [{"property": "is_demo"}, True]}]},
     "s.status <> 'open' AND s.is_demo"),
    ("status = 'closed' OR station_id < 20",
     {"op": "or", "args": [{"op": "=", "args": [{"property": "status"}, "closed"]},
                           {"op": "<", "args": [{"property": "station_id"}, 20]}]},
     "s.status = 'closed' OR s.id < 20"),
    ("updated_at >= TIMESTAMP('2000-01-01T00:00:00Z')",
     {"op": ">=", "args": [{"property": "updated_at"}, {"timestamp": "2000-01-01T00:00:00Z"}]},
     "s.updated_at >= '2000-01-01T00:00:00Z'"),
    ("S_INTERSECTS(geometry, BBOX(115.9, 29.6, 116.05, 29.75))",
     {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [115.9, 29.6, 116.05, 29.75]}]},
     "ST_Intersects(s.geom, ST_MakeEnvelope(115.9, 29.6, 116.05, 29.75, 4326))"),
    ("S_INTERSECTS(geometry, POLYGON((115.9 29.6, 116.1 29.6, 115.9 29.8, 115.9 29.6)))",
     {"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": [
         [[115.9, 29.6], [116.1, 29.6], [115.9, 29.8], [115.9, 29.6]]]}]},
     "ST_Intersects(s.geom, ST_GeomFromText('POLYGON((115.9 29.6, 116.1 29.6, 115.9 29.8, 115.9 29.6))', 4326))"),
]


@pytest.mark.parametrize(("cql_text", "cql_json", "where"), CASES, ids=[case[0] for case in CASES])
def test_each_operator_in_text_and_json_matches_sql(client: TestClient, session: Session, cql_text: str,
                                                    cql_json: dict[str, Any], where: str) -> None:
    expected = sql_ids(session, where)
    assert ids(client, filter=cql_text) == expected
    assert ids(client, filter=json.dumps(cql_json), **{"filter-lang": "cql2-json"}) == expected
    assert ids(client, filter=cql_text, **{"filter-lang": "cql-text"}) == expected  # GDAL 3.6's name for it


def test_the_cases_are_not_trivial(session: Session) -> None:
    """Every case above selects some stations and leaves some out, so that it can fail; but the demo
    data has no NULL phone or union, so IS NULL selects none and IS NOT NULL all (both still checked)."""
    everything = len(sql_ids(session, "true"))
    for _, _, where in CASES:
        if "NULL" not in where and "updated_at" not in where:  # demo rows share one time: see below
            assert 0 < len(sql_ids(session, where)) < everything, where


def test_timestamps_compare_like_sql_on_the_latest_change(client: TestClient, session: Session) -> None:
    latest = session.execute(text("SELECT max(updated_at) FROM station WHERE type_code = 'love_station'")).scalar_one()
    stamp = latest.isoformat()
    assert ids(client, filter=f"updated_at > TIMESTAMP('{stamp}')") == []
    expected = sql_ids(session, "s.updated_at >= :t", t=latest)
    assert expected and ids(client, filter=f"updated_at >= TIMESTAMP('{stamp}')") == expected
    assert ids(client, filter=f"updated_at = '{stamp}'") == sql_ids(session, "s.updated_at = :t", t=latest)


def test_s_intersects_a_point_finds_the_station_there(client: TestClient, session: Session) -> None:
    row = session.execute(text("SELECT id, ST_X(geom) AS x, ST_Y(geom) AS y FROM station "
                               "WHERE type_code = 'love_station' ORDER BY id LIMIT 1")).one()
    expected = sql_ids(session, "ST_Intersects(s.geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))", x=row.x, y=row.y)
    assert row.id in expected
    assert ids(client, filter=f"S_INTERSECTS(geometry, POINT({row.x!r} {row.y!r}))") == expected
    point = {"type": "Point", "coordinates": [row.x, row.y]}
    assert ids(client, filter=json.dumps({"op": "s_intersects", "args": [{"property": "geometry"}, point]}),
               **{"filter-lang": "cql2-json"}) == expected


def test_filter_crs_epsg_4326_reads_lat_lon_and_a_bbox_filter_equals_bbox(client: TestClient) -> None:
    lon_lat = ids(client, filter="S_INTERSECTS(geometry, BBOX(115.9, 29.6, 116.05, 29.75))")
    assert lon_lat == ids(client, bbox="115.9,29.6,116.05,29.75")
    assert lon_lat == ids(client, filter="S_INTERSECTS(geometry, BBOX(29.6, 115.9, 29.75, 116.05))",
                          **{"filter-crs": EPSG4326})
    assert lon_lat == ids(client, filter="S_INTERSECTS(geometry, POLYGON((29.6 115.9, 29.6 116.05, 29.75 116.05, "
                          "29.75 115.9, 29.6 115.9)))", **{"filter-crs": "EPSG:4326"})
    # CGCS2000 (EPSG:4490) is lat, lon too, with the same numbers (PROJ's ballpark identity)
    assert lon_lat == ids(client, filter="S_INTERSECTS(geometry, BBOX(29.6, 115.9, 29.75, 116.05))",
                          **{"filter-crs": "EPSG:4490"})
    assert len(lon_lat) > 0


def test_filter_combines_with_bbox_datetime_and_paging(client: TestClient, session: Session) -> None:
    expected = sql_ids(session, "s.status = 'open' AND ST_Intersects(s.geom, ST_MakeEnvelope(115, 29, 117, 30, 4326))")
    assert ids(client, filter="status = 'open'", bbox="115,29,117,30", datetime="2000-01-01T00:00:00Z/..") == expected
    expected = sql_ids(session, "s.status = 'open'")
    pages = [client.get(ITEMS, params={"filter": "status = 'open'", "limit": 50, "offset": offset}).json()
             for offset in range(0, len(expected) + 50, 50)]
    assert [f["properties"]["station_id"] for page in pages for f in page["features"]] == expected
    assert all(page["numberMatched"] == len(expected) for page in pages)
    assert "filter=status" in next(link["href"] for link in pages[0]["links"] if link["rel"] == "next")


def test_a_value_outside_the_enum_is_no_match_not_an_error(client: TestClient) -> None:
    assert ids(client, filter="status = 'bogus'") == []


def test_sql_in_a_string_literal_is_a_value_and_changes_nothing(client: TestClient, session: Session) -> None:
    before = session.execute(text("SELECT count(*) FROM station")).scalar_one()
    for value in ("x' OR '1'='1", "x'); DELETE FROM station; --", "%' OR 1=1 --"):
        cql = {"op": "=", "args": [{"property": "name"}, value]}
        assert ids(client, filter=json.dumps(cql), **{"filter-lang": "cql2-json"}) == []
    assert ids(client, filter="name = 'x; DELETE FROM station; --'") == []
    assert session.execute(text("SELECT count(*) FROM station")).scalar_one() == before


@pytest.mark.parametrize(("params", "parameter", "words"), [
    ({"filter": "bogus = 1 AND colour = 'red'"}, "filter", ("bogus", "colour")),
    ({"filter": "status = "}, "filter", ("column 8",)),
    ({"filter": "status > 3"}, "filter", ("status", "string")),
    ({"filter": "station_id = 'x'"}, "filter", ("station_id", "integer")),
    ({"filter": "is_demo = 1"}, "filter", ("is_demo", "boolean")),
    ({"filter": "updated_at > 'yesterday'"}, "filter", ("updated_at",)),
    ({"filter": "name = address"}, "filter", ("property-property",)),
    ({"filter": "S_WITHIN(geometry, POINT(116 29))"}, "filter", ("GeometryWithin",)),
    ({"filter": "name LIKE 3"}, "filter", ("LIKE",)),
    ({"filter": "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))"}, "filter", ("valid",)),
    ({"filter": "S_INTERSECTS(geometry, POINT(29 200))"}, "filter", ("lat",)),
    ({"filter": "S_INTERSECTS(status, POINT(116 29))"}, "filter", ("S_INTERSECTS", "status")),
    ({"filter": "{\"op\": \"=\", \"args\": [", "filter-lang": "cql2-json"}, "filter", ("cql2-json",)),
    ({"filter": "{\"op\": \"nope\", \"args\": []}", "filter-lang": "cql2-json"}, "filter", ("nope",)),
    ({"filter": "status = 'open'", "filter-lang": "sql"}, "filter-lang", ("sql",)),
    ({"filter": "status = 'open'", "filter-crs": "EPSG:32650"}, "filter-crs", ("filter-crs",)),
    ({"filter-lang": "sql"}, "filter-lang", ("sql",)),  # checked even without a filter
    ({"filter-crs": "EPSG:32650"}, "filter-crs", ("filter-crs",)),
    ({"sortby": "-colour"}, "sortby", ("colour",)),
    ({"sortby": "geometry"}, "sortby", ("geometry",)),
    ({"sortby": "name,-name"}, "sortby", ("twice",)),
    ({"properties": "name,colour"}, "properties", ("colour",)),
])
def test_bad_input_is_a_400_naming_the_parameter_and_the_thing(client: TestClient, params: dict[str, str],
                                                               parameter: str, words: tuple[str, ...]) -> None:
    body = bad(client, **params)
    assert body["parameter"] == parameter
    for word in words:
        assert word in body["description"], body


def test_queryables_are_a_json_schema_linked_from_each_collection(client: TestClient) -> None:
    collections = client.get("/ogc/collections").json()["collections"]
    assert len(collections) == 8
    for collection in collections:
        link = next(item for item in collection["links"]
                    if item["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/queryables")
        response = client.get(link["href"].replace("http://testserver", ""))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/schema+json")
        schema = response.json()
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == link["href"] and schema["type"] == "object"
        assert schema["additionalProperties"] is False
        assert schema["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"
        assert all(" / " in prop["title"] for prop in schema["properties"].values())
    stations = client.get("/ogc/collections/love_station/queryables").json()["properties"]
    assert stations["status"] == {"title": "状态 / status", "type": "string", "enum": ["open", "closed", "planned"]}
    assert stations["updated_at"]["format"] == "date-time"
    assert stations["geometry"]["format"] == "geometry-point"
    assert stations["station_id"]["type"] == "integer" and stations["is_demo"]["type"] == "boolean"
    coverage = client.get("/ogc/collections/coverage/queryables").json()["properties"]
    assert set(coverage) == {"code", "name", "parent_code", "boundary_is_approximate", "position_is_unknown",
                             "geometry"}
    assert coverage["position_is_unknown"]["type"] == "boolean"
    assert client.get("/ogc/collections/nope/queryables").status_code == 404
    assert client.get("/ogc/collections/love_station/queryables?x=1").status_code == 400


def test_every_queryable_of_every_collection_can_be_filtered_and_sorted(client: TestClient) -> None:
    for collection in client.get("/ogc/collections").json()["collections"]:
        url = f"/ogc/collections/{collection['id']}"
        for name in client.get(f"{url}/queryables").json()["properties"]:
            condition = (f"S_INTERSECTS({name}, BBOX(-180, -90, 180, 90))" if name == "geometry"
                         else f"{name} IS NOT NULL")
            response = client.get(f"{url}/items", params={"filter": condition, "limit": 1})
            assert response.status_code == 200, (collection["id"], name, response.text)
            if name != "geometry":
                sorted_response = client.get(f"{url}/items", params={"sortby": f"-{name}", "limit": 1})
                assert sorted_response.status_code == 200, (collection["id"], name, sorted_response.text)


def test_region_filters_match_sql(client: TestClient, session: Session) -> None:
    county = session.execute(text("SELECT code FROM region WHERE level = 'county' ORDER BY code LIMIT 1")).scalar_one()
    expected = [row.code for row in session.execute(text(
        "SELECT code FROM region WHERE level = 'township' AND parent_code = :c AND population > 20000 ORDER BY code"),
        {"c": county})]
    response = client.get("/ogc/collections/townships/items",
                          params={"filter": f"parent_code = '{county}' AND population > 20000", "limit": 1000})
    assert [feature["id"] for feature in response.json()["features"]] == expected
    expected = [row.code for row in session.execute(text(
        "SELECT code FROM region WHERE level = 'township' AND ST_Intersects(geom, "
        "ST_SetSRID(ST_MakePoint(116.0, 29.7), 4326))"))]
    response = client.get("/ogc/collections/coverage/items",
                          params={"filter": "S_INTERSECTS(geometry, POINT(116 29.7))"})
    assert [feature["id"] for feature in response.json()["features"]] == expected and expected
    assert bad(client, "/ogc/collections/coverage/items", filter="population > 1")["parameter"] == "filter"


def test_sortby_orders_like_sql_with_ties_by_id_and_pages_stay_consistent(client: TestClient, session: Session) -> None:
    expected = [row.id for row in session.execute(text(
        f"SELECT id FROM station s WHERE {live_sql('s')} AND type_code = 'love_station' "
        "ORDER BY status DESC, name ASC, id"))]
    assert ids(client, sortby="-status,+name") == expected
    assert ids(client, sortby="-status, name") == expected  # '+' unencoded in a URL arrives as a space
    pages = [client.get(ITEMS, params={"sortby": "-status,name", "limit": 7, "offset": offset}).json()
             for offset in range(0, len(expected), 7)]
    assert [f["properties"]["station_id"] for page in pages for f in page["features"]] == expected
    by_update = ids(client, sortby="-updated_at")
    stamps = session.execute(text("SELECT id, updated_at FROM station")).all()
    when = dict(stamps)
    assert [when[i] for i in by_update] == sorted((when[i] for i in by_update), reverse=True)


def test_properties_keeps_only_the_named_ones(client: TestClient) -> None:
    features = client.get(ITEMS, params={"properties": "status,name,opening_hours", "limit": 3}).json()["features"]
    assert [list(feature["properties"]) for feature in features] == [["status", "name", "opening_hours"]] * 3
    assert all(feature["geometry"]["type"] == "Point" for feature in features)
    empty = client.get(ITEMS, params={"properties": "", "limit": 2}).json()["features"]
    assert [feature["properties"] for feature in empty] == [{}, {}]
    coverage = client.get("/ogc/collections/coverage/items", params={"limit": 1}).json()["features"][0]["properties"]
    figure = next(name for name in coverage if name.endswith("_covered_share"))
    selected = client.get("/ogc/collections/coverage/items", params={"properties": f"name,{figure}", "limit": 1})
    assert selected.json()["features"][0]["properties"] == {"name": coverage["name"], figure: coverage[figure]}


def test_conformance_and_openapi_declare_part_3(client: TestClient) -> None:
    classes = set(client.get("/ogc/conformance").json()["conformsTo"])
    for name in ("ogcapi-features-3/1.0/conf/filter", "ogcapi-features-3/1.0/conf/features-filter",
                 "ogcapi-features-3/1.0/conf/queryables", "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json",
                 "cql2/1.0/conf/basic-cql2", "cql2/1.0/conf/advanced-comparison-operators",
                 "cql2/1.0/conf/basic-spatial-functions"):
        assert f"http://www.opengis.net/spec/{name}" in classes
    document = client.get("/ogc/api").json()
    parameters = {item["name"]: item for item in document["components"]["parameters"].values()}
    assert {"filter", "filter-lang", "filter-crs", "sortby", "properties"} <= set(parameters)
    assert "cql-text" in parameters["filter-lang"]["schema"]["enum"]  # what GDAL 3.6 looks for
    assert "/collections/{collectionId}/queryables" in document["paths"]


def test_filter_lang_and_crs_alone_change_nothing(client: TestClient) -> None:
    """A client may send its defaults with every request: valid values without a filter select everything."""
    everything = ids(client)
    assert everything and ids(client, **{"filter-lang": "cql2-json", "filter-crs": "EPSG:4326"}) == everything
