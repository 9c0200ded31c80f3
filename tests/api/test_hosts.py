"""Host headers: only trusted ones are answered, and with ``public_url`` links never name the request's host."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import get_read_session, get_session
from api.hosts import allowed_hosts
from geo.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

PUBLIC = "https://gis.example.org/unionmap"


def hrefs(body: object) -> list[str]:
    """Every ``href`` anywhere in a JSON document."""
    if isinstance(body, dict):
        return ([body["href"]] if isinstance(body.get("href"), str) else []) + [
            href for value in body.values() for href in hrefs(value)]
    if isinstance(body, list):
        return [href for value in body for href in hrefs(value)]
    return []


def test_default_trusted_hosts_are_loopback_and_the_configured_host() -> None:
    assert Settings(host="127.0.0.1").trusted_hosts == ["localhost", "127.0.0.1", "::1"]
    assert Settings(host="10.0.0.5").trusted_hosts == ["localhost", "127.0.0.1", "::1", "10.0.0.5"]
    assert Settings(host="0.0.0.0").trusted_hosts == ["localhost", "127.0.0.1", "::1"]  # every address: no name
    assert Settings(host="0.0.0.0", public_url=PUBLIC).trusted_hosts[-1] == "gis.example.org"
    assert Settings(trusted_hosts=["*"]).trusted_hosts == ["*"]


def test_trusted_hosts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNIONMAP_TRUSTED_HOSTS", "gis.example.org, 10.0.0.5")
    assert Settings().trusted_hosts == ["gis.example.org", "10.0.0.5"]
    monkeypatch.setenv("UNIONMAP_TRUSTED_HOSTS", '["*"]')
    assert Settings().trusted_hosts == ["*"]


def test_public_url_must_be_an_http_url() -> None:
    with pytest.raises(ValueError, match="public_url"):
        Settings(public_url="gis.example.org")


def test_ipv6_literals_also_match_in_brackets_as_a_host_header_has_them() -> None:
    assert allowed_hosts(["localhost", "::1"]) == ["localhost", "::1", "[::1]"]


@pytest.mark.db
def test_a_foreign_host_gets_400_and_is_written_nowhere(client: TestClient) -> None:
    for path in ("/ogc", "/ogc/collections/love_station/items", "/api/v1/health", "/"):
        response = client.get(path, headers={"Host": "evil.example"})
        assert response.status_code == 400, path
        assert "evil" not in response.text
    trusted = client.get("/ogc/collections", headers={"Host": "testserver"})
    assert trusted.status_code == 200
    assert hrefs(trusted.json()) and all(href.startswith("http://testserver/") for href in hrefs(trusted.json()))


@pytest.mark.db
def test_default_hosts_answer_loopback_names_with_and_without_a_port(test_settings: Settings) -> None:
    from fastapi.testclient import TestClient  # needs httpx, a test extra

    settings = test_settings.model_copy(update={"trusted_hosts": Settings().trusted_hosts})
    with TestClient(create_app(settings)) as client:
        for host in ("localhost", "127.0.0.1:8000", "[::1]:8000"):
            response = client.get("/ogc/conformance", headers={"Host": host})
            assert response.status_code == 200, host
        assert client.get("/ogc/conformance", headers={"Host": "testserver"}).status_code == 400
        assert client.get("/ogc/conformance", headers={"Host": "localhost.evil.example"}).status_code == 400


@pytest.fixture
def public_client(test_settings: Settings, session: Session) -> Iterator[TestClient]:
    """The app with ``public_url`` set, on the test's session."""
    from fastapi.testclient import TestClient  # needs httpx, a test extra

    app = create_app(test_settings.model_copy(update={"public_url": PUBLIC + "/"}))
    app.dependency_overrides[get_session] = lambda: session
    app.dependency_overrides[get_read_session] = lambda: session
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.db
@pytest.mark.parametrize("path", ["/ogc", "/ogc/collections", "/ogc/collections/love_station",
                                  "/ogc/collections/love_station/items?limit=2&offset=2",
                                  "/ogc/collections/townships/items?parent_code=360402&limit=2"])
def test_with_public_url_every_ogc_link_starts_with_it(public_client: TestClient, path: str) -> None:
    response = public_client.get(path)
    assert response.status_code == 200, response.text
    links = hrefs(response.json())
    assert all(href.startswith(PUBLIC + "/") for href in links), links
    if "items" in path:
        assert {"self", "next", "collection"} <= {item["rel"] for item in response.json()["links"]}
        (self_link,) = [item["href"] for item in response.json()["links"] if item["rel"] == "self"]
        assert self_link == PUBLIC + path  # the query is kept as sent


@pytest.mark.db
def test_with_public_url_the_api_document_and_one_feature_name_it(public_client: TestClient, session: Session) -> None:
    assert public_client.get("/ogc/api").json()["servers"] == [{"url": PUBLIC + "/ogc"}]
    feature = public_client.get("/ogc/collections/counties/items/360402")
    assert feature.status_code == 200
    assert all(href.startswith(PUBLIC + "/ogc/collections/counties") for href in hrefs(feature.json()))
    html = public_client.get("/ogc/collections?f=html").text
    assert f'{PUBLIC}/ogc/collections/love_station' in html and "http://testserver" not in html
