"""gzip over real HTTP (the live server, uvicorn): pages, JSON, GeoJSON and scripts compressed and
decoded to the very same bytes; downloads that are zips already, partial answers, HEAD and
clients that ask for no coding left alone."""

from __future__ import annotations

import gzip
import http.client
import re
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.db

LEAFLET = "/static/vendor/leaflet/dist/leaflet.js"
COMPRESSED = {
    "html": "/maps/coverage?type=love_station",
    "json": "/api/v1/stations?type=love_station",  # the nearest answer carries its time: not twice the same
    "geojson": "/ogc/collections/love_station/items?limit=20",
    "script": LEAFLET,
    "finder script": "/finder/static/finder.js",
}
NONCE = re.compile(rb' nonce="([^"]+)"')
FOLIUM_ID = re.compile(rb"_[0-9a-f]{32}(?![0-9a-f])")  # Folium names each map element with a fresh uuid4
TIME_STAMP = re.compile(rb'"timeStamp": ?"[^"]*"')  # an OGC page says when it was made, to the second


def fetch(base_url: str, path: str, accept_encoding: str | None, *, method: str = "GET",
          headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Status, headers and the body exactly as sent (http.client decodes nothing); no
    ``Accept-Encoding`` header at all when ``accept_encoding`` is None."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        sent = {"Host": address.netloc} | ({"Accept-Encoding": accept_encoding} if accept_encoding else {})
        for name, value in (sent | (headers or {})).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def fixed(body: bytes) -> bytes:
    """An answer with what differs between two renderings blanked: a page's script nonce and Folium's
    element ids, an OGC page's time stamp."""
    return TIME_STAMP.sub(b'"timeStamp":""', FOLIUM_ID.sub(b"_id", NONCE.sub(b' nonce=""', body)))


@pytest.mark.parametrize("kind", COMPRESSED)
def test_compressed_answer_decodes_to_the_same_bytes(live_server: str, kind: str) -> None:
    path = COMPRESSED[kind]
    status, plain_headers, plain = fetch(live_server, path, None)
    assert status == 200 and plain_headers["Content-Encoding"] is None
    status, headers, raw = fetch(live_server, path, "gzip, deflate, br")
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "accept-encoding" in headers["Vary"].lower()
    assert len(raw) < len(plain) / 2, (len(raw), len(plain))
    # a file is sent in pieces (chunked, each piece compressed as it goes); an answer made whole has its length
    assert headers["Content-Length"] is None or int(headers["Content-Length"]) == len(raw)
    body = gzip.decompress(raw)
    if kind == "html":  # the security headers' nonce went in before compression, and matches the policy
        nonces = set(NONCE.findall(body))
        assert len(nonces) == 1 and f"'nonce-{nonces.pop().decode()}'" in headers["Content-Security-Policy"]
    else:
        assert NONCE.search(body) is None
    assert fixed(body) == fixed(plain) and len(body) == len(plain)
    assert headers["Content-Type"] == plain_headers["Content-Type"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_workbook_is_sent_as_it_is(live_server: str) -> None:
    """An XLSX is a zip already: gzip would cost time and save nothing."""
    status, headers, body = fetch(live_server, "/maps/gaps.xlsx", "gzip")
    assert status == 200 and headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert headers["Content-Encoding"] is None
    assert body[:2] == b"PK" and int(headers["Content-Length"]) == len(body)


def test_no_coding_without_accept_encoding(live_server: str) -> None:
    for path in (COMPRESSED["html"], LEAFLET):
        status, headers, body = fetch(live_server, path, None)
        assert status == 200 and headers["Content-Encoding"] is None
        assert int(headers["Content-Length"]) == len(body) > 100_000
    status, headers, _ = fetch(live_server, LEAFLET, "identity")
    assert status == 200 and headers["Content-Encoding"] is None


def test_range_and_head_of_a_static_file_are_not_compressed(live_server: str) -> None:
    """A byte range is of the file as stored; a HEAD states the file's own length."""
    _, _, whole = fetch(live_server, LEAFLET, None)
    status, headers, part = fetch(live_server, LEAFLET, "gzip", headers={"Range": "bytes=100-1099"})
    assert status == 206 and headers["Content-Encoding"] is None
    assert part == whole[100:1100] and headers["Content-Range"] == f"bytes 100-1099/{len(whole)}"
    status, headers, body = fetch(live_server, LEAFLET, "gzip", method="HEAD")
    assert status == 200 and body == b"" and headers["Content-Encoding"] is None
    assert int(headers["Content-Length"]) == len(whole)


def test_small_answers_and_refusals_pass_unchanged(live_server: str) -> None:
    """Under 1 KB nothing is gained; a Host the server does not serve is still refused (400)."""
    status, headers, body = fetch(live_server, "/api/v1/health", "gzip")
    assert status == 200 and headers["Content-Encoding"] is None and body.startswith(b"{")
    status, headers, _ = fetch(live_server, "/api/v1/stations", "gzip", headers={"Host": "evil.example"})
    assert status == 400 and headers["Content-Encoding"] is None
