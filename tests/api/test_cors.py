"""CORS (``api.cors``): any origin reads /ogc and the read API; writes only from configured origins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from api.app import create_app
from api.deps import get_read_session, get_session
from geo.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

pytestmark = pytest.mark.db

ELSEWHERE = "https://viewer.example.org"


def test_any_origin_reads_the_open_data(client: TestClient) -> None:
    for path in ("/ogc/collections/love_station/items?limit=2", "/api/v1/stations?limit=2", "/ogc"):
        answer = client.get(path, headers={"Origin": ELSEWHERE})
        assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in answer.headers
    preflight = client.options("/ogc/collections/love_station/items", headers={
        "Origin": ELSEWHERE, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "accept"})
    assert preflight.status_code == 200 and "GET" in preflight.headers["access-control-allow-methods"]
    exposed = client.get("/api/v1/stations/1", headers={"Origin": ELSEWHERE}).headers.get(
        "access-control-expose-headers", "")
    assert "ETag" in exposed and "X-Unionmap-LSN" in exposed  # a writer elsewhere reads its own writes


def test_writes_from_another_origin_are_not_allowed_by_default(client: TestClient) -> None:
    preflight = client.options("/api/v1/stations", headers={
        "Origin": ELSEWHERE, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers
    post = client.post("/api/v1/stations", json={}, headers={"Origin": ELSEWHERE})
    assert "access-control-allow-origin" not in post.headers  # the browser hides the answer
    page = client.get("/edit/sign-in", headers={"Origin": ELSEWHERE})
    assert "access-control-allow-origin" not in page.headers  # the editor is not open data


@pytest.fixture
def write_origin_client(test_settings: Settings, session: Session) -> Iterator[TestClient]:
    from fastapi.testclient import TestClient

    app = create_app(test_settings.model_copy(update={"cors_write_origins": [ELSEWHERE]}))
    app.dependency_overrides[get_session] = lambda: session
    app.dependency_overrides[get_read_session] = lambda: session
    with TestClient(app) as test_client:
        yield test_client


def test_a_configured_origin_may_write_with_a_key(write_origin_client: TestClient) -> None:
    preflight = write_origin_client.options("/api/v1/stations/1", headers={
        "Origin": ELSEWHERE, "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization,content-type,if-match"})
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == ELSEWHERE
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    other = write_origin_client.options("/api/v1/stations/1", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "PATCH"})
    assert other.status_code == 400
