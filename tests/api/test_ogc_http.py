"""HEAD wherever GET is (``api.head``), and the OGC exception body for every error under /ogc."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

pytestmark = pytest.mark.db

READS = ["/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/love_station",
         "/ogc/collections/love_station/items?limit=3", "/ogc/collections/love_station/items?limit=3&f=html",
         "/ogc/collections/townships/items?limit=2", "/api/v1/stations?type=love_station", "/api/v1/health"]


@pytest.mark.parametrize("path", READS)
def test_head_answers_as_get_without_a_body(client: TestClient, path: str) -> None:
    get = client.get(path, headers={"Accept-Encoding": "gzip"})
    head = client.head(path, headers={"Accept-Encoding": "gzip"})
    assert get.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers.get("content-encoding") == get.headers.get("content-encoding")
    if "html" not in get.headers["content-type"]:  # an HTML page's nonce differs per response, not its length
        assert head.headers["content-length"] == get.headers["content-length"]
    assert int(head.headers["content-length"]) > 0


def test_head_of_a_missing_resource_is_its_404(client: TestClient) -> None:
    head = client.head("/ogc/collections/nope")
    assert head.status_code == 404 and head.content == b""


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/ogc/nope", 404, "NotFound"),
    ("GET", "/ogc/collections/love_station/nope", 404, "NotFound"),
    ("POST", "/ogc", 405, "MethodNotAllowed"),
    ("DELETE", "/ogc/collections/love_station/items", 405, "MethodNotAllowed"),
])
def test_every_error_under_ogc_has_the_exception_body(client: TestClient, method: str, path: str, status: int,
                                                      code: str) -> None:
    answer = client.request(method, path)
    assert answer.status_code == status
    body = answer.json()
    assert body["code"] == code and body["description"] and "detail" not in body
    if status == 405:
        assert answer.headers["allow"] == "GET, HEAD"


def test_errors_elsewhere_keep_fastapis_shape(client: TestClient) -> None:
    assert client.get("/api/v1/nope").json() == {"detail": "Not Found"}
    assert client.get("/edit", follow_redirects=False).status_code == 303  # the editor's redirect still works


def rings_follow_rfc7946(geometry: dict, *, lat_first: bool = False) -> bool:
    """Every exterior ring counterclockwise and every hole clockwise, in lon, lat."""
    import shapely
    from shapely.geometry import shape

    shaped = shape(geometry)
    if lat_first:
        shaped = shapely.transform(shaped, lambda coordinates: coordinates[:, ::-1])
    polygons = list(getattr(shaped, "geoms", [shaped]))
    return all(p.exterior.is_ccw and not any(hole.is_ccw for hole in p.interiors) for p in polygons)


@pytest.mark.parametrize("path", ["/ogc/collections/counties/items?limit=50",
                                  "/ogc/collections/townships/items?limit=300",
                                  "/ogc/collections/coverage/items?limit=300",
                                  "/api/v1/regions?level=county", "/api/v1/regions?level=township"])
def test_polygons_turn_as_rfc_7946_asks(client: TestClient, path: str) -> None:
    features = client.get(path).json()["features"]
    assert len(features) >= 13
    assert all(rings_follow_rfc7946(feature["geometry"]) for feature in features)


def test_the_turn_holds_in_latitude_first_order(client: TestClient) -> None:
    epsg4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
    features = client.get("/ogc/collections/counties/items", params={"crs": epsg4326}).json()["features"]
    assert features and all(rings_follow_rfc7946(feature["geometry"], lat_first=True) for feature in features)


@pytest.mark.parametrize("path", ["/ogc", "/ogc/conformance", "/ogc/api", "/ogc/collections",
                                  "/ogc/collections/love_station", "/ogc/collections/love_station/items/1"])
def test_an_unknown_parameter_is_refused_on_every_resource(client: TestClient, path: str) -> None:
    refused = client.get(path, params={"lang": "zh", "f": "json"})
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == "InvalidParameterValue" and body["parameter"] == "lang" and "lang" in body["description"]
    assert client.get(path, params={"f": "json"}).status_code in (200, 404)  # f alone is fine


def test_caches_are_told_the_answer_depends_on_accept(client: TestClient) -> None:
    answer = client.get("/ogc/collections/love_station/items?limit=2", headers={"Accept-Encoding": "gzip"})
    vary = {part.strip() for value in answer.headers.get_list("vary") for part in value.split(",")}
    assert {"Accept", "Accept-Encoding"} <= vary


@pytest.mark.parametrize("path", ["/ogc/collections", "/ogc/collections/townships/items?limit=20",
                                  "/ogc/collections/love_station/items/1", "/ogc/conformance"])
def test_a_client_revalidates_with_the_etag(client: TestClient, path: str) -> None:
    first = client.get(path, headers={"Accept-Encoding": "gzip"})
    tag = first.headers["etag"]
    fixed = path in ("/ogc/conformance",)  # only a release changes it
    assert first.status_code == 200 and tag.startswith('W/"')
    assert first.headers["cache-control"] == ("public, max-age=3600" if fixed else "public, no-cache")
    assert client.get(path).headers["etag"] == tag  # the same tag whatever the encoding
    again = client.get(path, headers={"If-None-Match": tag, "Accept-Encoding": "gzip"})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    assert client.get(path, headers={"If-None-Match": '"other", ' + tag}).status_code == 304
    assert client.get(path, headers={"If-None-Match": 'W/"other"'}).status_code == 200


@pytest.mark.parametrize(("path", "control"), [
    ("/ogc/api", "public, max-age=3600"), ("/ogc/tileMatrixSets/WebMercatorQuad", "public, max-age=3600"),
    ("/ogc/collections/love_station", "public, no-cache"), ("/ogc", "public, no-cache"),
    ("/ogc/collections/townships/tiles/WebMercatorQuad", "public, no-cache")])
def test_cache_control_suits_the_resource(client: TestClient, path: str, control: str) -> None:
    """What only a release changes may be reused for an hour; what the registry's writes change is asked again."""
    assert client.get(path, headers={"Accept": "application/json"}).headers["cache-control"] == control


def test_the_tag_holds_when_only_the_time_stamp_moves(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page's timeStamp moves every second; the data did not, so neither does the tag (CI caught this)."""
    from datetime import UTC, datetime

    from api.ogc import router

    path = "/ogc/collections/townships/items?limit=3"
    stamps = (datetime(2026, 1, 1, 0, 0, second, tzinfo=UTC) for second in range(60))

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
            return next(stamps)

    monkeypatch.setattr(router, "datetime", Clock)
    first, second = client.get(path), client.get(path)
    assert first.json()["timeStamp"] == "2026-01-01T00:00:00Z" and second.json()["timeStamp"] == "2026-01-01T00:00:01Z"
    assert first.headers["etag"] == second.headers["etag"]
    assert client.get(path, headers={"If-None-Match": first.headers["etag"]}).status_code == 304


def test_a_change_changes_the_tag(client: TestClient, session: Session) -> None:
    from sqlalchemy import text

    path = "/ogc/collections/love_station/items?limit=5"
    tag = client.get(path).headers["etag"]
    first = client.get(path).json()["features"][0]["id"]
    session.execute(text("UPDATE station SET name = name || '（改）' WHERE id = :id"), {"id": int(first)})
    changed = client.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


def test_html_pages_carry_no_etag(client: TestClient) -> None:
    assert "etag" not in client.get("/ogc/collections?f=html").headers


@pytest.mark.parametrize("bad", ["garbage", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "../..", "/",
                                 "2024-06-04T10:00:00", "2024-06-04", "2024-06-05T00:00:00Z/2024-06-04T00:00:00Z"])
def test_a_bad_datetime_is_a_400(client: TestClient, bad: str) -> None:
    answer = client.get("/ogc/collections/love_station/items", params={"datetime": bad})
    assert answer.status_code == 400 and answer.json()["parameter"] == "datetime", (bad, answer.text)


def test_datetime_selects_stations_by_when_they_changed(client: TestClient, session: Session) -> None:
    from sqlalchemy import text

    path = "/ogc/collections/love_station/items"
    everything = client.get(path, params={"limit": 1000}).json()["numberMatched"]
    first = int(client.get(path, params={"limit": 1}).json()["features"][0]["id"])
    # the write trigger stamps updated_at with now(): set a known time with triggers off, in the test's transaction
    session.execute(text("SET LOCAL session_replication_role = replica"))
    session.execute(text("UPDATE station SET updated_at = '2031-03-01T08:00:00+08:00' WHERE id = :id"), {"id": first})
    session.execute(text("SET LOCAL session_replication_role = origin"))
    later = client.get(path, params={"datetime": "2031-01-01T00:00:00Z/.."}).json()
    assert [feature["id"] for feature in later["features"]] == [first] and later["numberMatched"] == 1
    instant = client.get(path, params={"datetime": "2031-03-01T00:00:00Z"}).json()
    assert [feature["id"] for feature in instant["features"]] == [first]
    before = client.get(path, params={"datetime": "../2030-12-31T23:59:59Z", "limit": 1000}).json()
    assert before["numberMatched"] == everything - 1
    closed = client.get(path, params={"datetime": "2031-02-28T00:00:00Z/2031-03-02T00:00:00+08:00"}).json()
    assert closed["numberMatched"] == 1
    # regions have no time: the parameter is checked but filters nothing
    counties = client.get("/ogc/collections/counties/items", params={"datetime": "2031-01-01T00:00:00Z/.."}).json()
    assert counties["numberMatched"] == 13
