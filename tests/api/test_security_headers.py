"""Security headers: on every response, a fresh nonce on every script of an HTML page, nothing
held back for anything else. A small app of its own (no database): the middleware alone."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse

from api.security_headers import SecurityHeaders, add_nonce
from geo.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

PAGE = ("<!doctype html><html><head><script src='/static/a.js'></script><SCRIPT>var tag = '<script>';</SCRIPT>"
        "</head><body><p>x</p><script type='application/json'>{}</script><script>\nrun();\n</script></body></html>")


def directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def make_client(basemap: str = "none") -> TestClient:
    pytest.importorskip("httpx", reason="TestClient needs httpx, a test extra")
    from fastapi.testclient import TestClient

    app = FastAPI()

    @app.api_route("/page", methods=["GET", "HEAD"])
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE)

    @app.get("/download")
    def download() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"Content-Disposition": 'attachment; filename="map.html"'})

    @app.get("/own-policy")
    def own_policy() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"Content-Security-Policy": "default-src 'none'"})

    @app.get("/chunks")
    def chunks() -> StreamingResponse:
        return StreamingResponse(iter([b"<html><scr", b"ipt>a()</script><script>b()</scr", b"ipt></html>"]),
                                 media_type="text/html")

    @app.get("/nearest")
    def nearest() -> JSONResponse:
        return JSONResponse({"name": "<script>alert(1)</script>"})

    app.add_middleware(SecurityHeaders, settings=Settings(database_url=None, basemap=basemap))
    return TestClient(app)


@pytest.fixture
def client() -> TestClient:
    return make_client()


def test_every_script_of_a_page_carries_the_policys_nonce(client: TestClient) -> None:
    bs4 = pytest.importorskip("bs4", reason="beautifulsoup4 is a test extra")
    response = client.get("/page")
    policy = directives(response.headers["content-security-policy"])
    nonces = [source for source in policy["script-src"] if source.startswith("'nonce-")]
    assert len(nonces) == 1 and "'unsafe-inline'" not in policy["script-src"]
    nonce = nonces[0][len("'nonce-"):-1]
    scripts = bs4.BeautifulSoup(response.text, "html.parser").find_all("script")
    assert len(scripts) == 4 and all(script["nonce"] == nonce for script in scripts)
    assert response.text.replace(f' nonce="{nonce}"', "") == PAGE  # nothing else changed, not the '<script>' text
    assert int(response.headers["content-length"]) == len(response.content)
    assert policy["default-src"] == ["'self'"] and policy["frame-ancestors"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"] and policy["object-src"] == ["'none'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    again = directives(client.get("/page").headers["content-security-policy"])["script-src"]
    assert again != policy["script-src"], "a nonce is never reused"


def test_a_page_sent_in_pieces_gets_its_nonces_once_whole(client: TestClient) -> None:
    response = client.get("/chunks")
    nonce = directives(response.headers["content-security-policy"])["script-src"][1][len("'nonce-"):-1]
    assert response.text == f'<html><script nonce="{nonce}">a()</script><script nonce="{nonce}">b()</script></html>'


def test_json_gets_the_headers_and_its_body_untouched(client: TestClient) -> None:
    response = client.get("/nearest")
    assert response.json() == {"name": "<script>alert(1)</script>"}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    policy = directives(response.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"] and policy["frame-ancestors"] == ["'self'"]


def test_anything_but_html_passes_through_unbuffered() -> None:
    """The start goes out before the app has sent its last piece: nothing is held back."""
    sent: list[dict[str, Any]] = []
    seen_by_then: list[int] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"a":', "more_body": True})
        seen_by_then.append(len(sent))
        await send({"type": "http.response.body", "body": b"1}"})

    async def record(message: dict[str, Any]) -> None:
        sent.append(message)

    middleware = SecurityHeaders(app, settings=Settings(database_url=None))
    # A thread of its own: in a run with the browser tests, Playwright's loop runs in this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, middleware({"type": "http", "method": "GET", "path": "/x"}, None, record)).result()
    assert seen_by_then == [2]
    headers = dict(sent[0]["headers"])
    assert headers[b"x-content-type-options"] == b"nosniff" and b"content-security-policy" in headers
    assert [message.get("body") for message in sent[1:]] == [b'{"a":', b"1}"]


@pytest.mark.parametrize("path", ["/download", "/own-policy"])
def test_downloads_and_pages_with_their_own_policy_are_left_as_they_are(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.text == PAGE and response.headers["x-content-type-options"] == "nosniff"
    if path == "/own-policy":
        assert response.headers.get_list("content-security-policy") == ["default-src 'none'"]
    else:
        assert "'nonce-" not in response.headers["content-security-policy"]


def test_a_head_request_is_not_rewritten(client: TestClient) -> None:
    response = client.head("/page")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert int(response.headers["content-length"]) == len(PAGE)


@pytest.mark.parametrize(("basemap", "hosts"), [
    ("none", []),
    ("osm", ["https://tile.openstreetmap.org"]),
    ("amap", ["https://*.is.autonavi.com"]),
    ("tianditu", ["https://*.tianditu.gov.cn"]),
])
def test_images_may_come_only_from_the_configured_basemap(basemap: str, hosts: list[str]) -> None:
    client = make_client(basemap)
    for path in ("/page", "/nearest"):
        policy = directives(client.get(path).headers["content-security-policy"])
        assert policy["img-src"] == ["'self'", "data:", *hosts]
        assert not [source for source in policy["script-src"] if "//" in source], "no remote script host"


def test_add_nonce_marks_tags_not_text() -> None:
    html = b"<script>var s = '<script>'; // <scripts></script><Script src=a.js></Script><scripty>"
    assert add_nonce(html, "n") == (b"<script nonce=\"n\">var s = '<script>'; // <scripts></script>"
                                    b'<Script nonce="n" src=a.js></Script><scripty>')
