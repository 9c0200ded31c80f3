"""What the documents promise, asked of the server directly (fast; tests/api/test_schemathesis.py fuzzes it all)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.orm import Session

from api.head import PREFIXES
from api.routers.station_writes import expected_version
from geo.errors import InputError
from geo.store.keys import create_key

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
# A value for each path parameter of either document that names something that exists.
SAMPLES = {"station_id": "1", "plan_id": "1", "job_id": "1", "collection_id": "love_station", "collectionId": "love_station",
           "feature_id": "1", "featureId": "1", "report_id": "1", "tileMatrixSetId": "WebMercatorQuad",
           "tileMatrix": "8", "tileRow": "105", "tileCol": "210"}  # a tile over Jiujiang's centre


def documented(paths: dict[str, dict[str, object]], prefix: str = "") -> list[tuple[str, set[str]]]:
    """Each documented path with its parameters filled in, and the methods it documents (upper case)."""
    return [(prefix + re.sub(r"\{(\w+)\}", lambda match: SAMPLES[match[1]], path),
             {method.upper() for method in operations if method in HTTP_METHODS})
            for path, operations in paths.items()]


def allow(response: object) -> set[str]:
    return {method.strip() for method in response.headers.get("allow", "").split(",") if method.strip()}  # type: ignore[attr-defined]


def test_every_path_answers_an_undocumented_method_with_405_and_exactly_its_methods(client: TestClient) -> None:
    paths = documented(client.get("/openapi.json").json()["paths"])
    paths += documented(client.get("/ogc/api").json()["paths"], prefix="/ogc")
    assert len(paths) > 30
    for path, methods in paths:
        for method in ("OPTIONS", "TRACE", *({"GET", "POST", "PUT", "PATCH", "DELETE"} - methods)):
            response = client.request(method, path)
            assert response.status_code == 405, (method, path, response.status_code)
            # api.head answers HEAD wherever GET is, under /ogc and /api/v1
            expected = methods | ({"HEAD"} if "GET" in methods and path.startswith(PREFIXES) else set())
            assert allow(response) == expected, (method, path, response.headers.get("allow"))


def test_nearest_is_not_a_station_id(client: TestClient, session: Session) -> None:
    """PUT /stations/nearest once went to the PUT of /stations/{station_id} and answered 422."""
    editor = {"Authorization": f"Bearer {create_key(session, name='文档', role='editor')}"}
    response = client.put("/api/v1/stations/nearest", headers=editor, json={})
    assert response.status_code == 405 and allow(response) == {"GET", "HEAD"}
    assert client.get("/api/v1/stations/abc").status_code == 404


def test_if_match_is_documented_as_required_and_a_missing_one_is_428(client: TestClient, session: Session) -> None:
    spec = client.get("/openapi.json").json()["paths"]["/api/v1/stations/{station_id}"]
    for method in ("put", "patch", "delete"):
        (header,) = [item for item in spec[method]["parameters"] if item["name"].lower() == "if-match"]
        assert header["required"] is True and header["in"] == "header"
        assert {"412", "428"} <= set(spec[method]["responses"])
    editor = {"Authorization": f"Bearer {create_key(session, name='版本', role='editor')}"}
    assert client.delete("/api/v1/stations/1", headers=editor).status_code == 428
    for bad in ("abc", "1" * 11):
        response = client.delete("/api/v1/stations/1", headers=editor | {"If-Match": bad})
        assert response.status_code == 422 and response.json()["field"] == "If-Match", bad
    # Byte 0xB2 in a header reads as "²" (Latin-1), which passes str.isdigit and then broke int():
    # a 500. Asked directly: TestClient re-encodes header bytes as UTF-8 on the way.
    with pytest.raises(InputError, match="not a station version"):
        expected_version("²")
    assert not re.fullmatch(header["schema"]["pattern"], "abc") and re.fullmatch(header["schema"]["pattern"], 'W/"3"')


def test_the_ogc_routes_document_their_media_types_and_errors(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    items = paths["/ogc/collections/{collection_id}/items"]["get"]
    assert set(items["responses"]["200"]["content"]) == {"application/geo+json", "text/html"}
    assert {"400", "404"} <= set(items["responses"])
    assert {item["name"] for item in items["parameters"]} >= {"limit", "offset", "bbox", "crs", "f"}
    assert set(paths["/ogc/api"]["get"]["responses"]["200"]["content"]) == {  # f=html: the Swagger UI page
        "application/vnd.oai.openapi+json;version=3.0", "text/html"}
    assert {"304", "400"} <= set(paths["/ogc/api"]["get"]["responses"])
    answer = client.get("/ogc/collections/love_station/items", params={"limit": 1})
    assert answer.headers["content-type"] == "application/geo+json"
