"""Weak ETags and 304s for the OGC API's JSON: a client revalidates instead of downloading again.

QGIS, GDAL and browsers ask for the same collections and pages again and again; the townships
page alone is 619 KB. Every successful GET of JSON under ``/ogc`` (and of the REST station list)
gets a weak ETag (a hash of the body as the app made it, before compression, so one tag serves
both encodings) and
``Cache-Control: public, no-cache``: any cache may keep the answer but must ask first, because
the registry changes with every write (conformance, the API definition and the tile matrix sets,
which only a release changes, may be reused for an hour). A request whose ``If-None-Match`` names the tag gets
``304 Not Modified`` with no body. HTML pages are left alone: each carries a fresh script nonce,
so its bytes never repeat. A feature page's ``timeStamp`` (when the answer was made, to the
second) is left out of the hash: otherwise the tag would change every second while the data stood
still, and a client that revalidates would always download again. A 304 keeps the client's copy
with the time it was first made, which is what that copy is.

The body is still computed for a 304 (the tag is its hash); what is saved is the transfer, which
is what a slow link pays for.
"""

from __future__ import annotations

import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from api.admission import app_path

PREFIX = "/ogc"
# REST reads a client polls as a whole: the station list pages (a single station keeps its strong
# ETag, the version an edit sends back in If-Match, set by its route).
REST_LISTS = frozenset({"/api/v1/stations"})
CACHE_CONTROL = b"public, no-cache"
# What changes only with a new release of the app, never with the data: the conformance classes, the
# API definition and the tile matrix sets. A client may reuse them for an hour without asking.
FIXED = frozenset({"/ogc/conformance", "/ogc/api", "/ogc/tileMatrixSets", "/ogc/tileMatrixSets/WebMercatorQuad"})
FIXED_CACHE_CONTROL = b"public, max-age=3600"
TIME_STAMP = re.compile(rb'"timeStamp":\s*"[^"]*"')


def weak_tag(body: bytes) -> bytes:
    """``W/"<hash>"`` of a body, its ``timeStamp`` left out (see the module docstring)."""
    digest = hashlib.sha256(TIME_STAMP.sub(b"", body)).hexdigest()[:24]
    return b'W/"' + digest.encode() + b'"'


def matches(if_none_match: str, tag: bytes) -> bool:
    """Whether an ``If-None-Match`` header names ``tag`` (weak comparison, RFC 9110 §13.1.2) or is ``*``."""
    opaque = tag.decode().removeprefix("W/")
    candidates = [part.strip() for part in if_none_match.split(",")]
    return any(candidate == "*" or candidate.removeprefix("W/") == opaque for candidate in candidates)


def tagged_path(path: str) -> bool:
    """Whether answers to GETs of ``path`` get a weak ETag: all of /ogc, and the REST lists."""
    return path.startswith(PREFIX) or path in REST_LISTS


def cache_control(path: str) -> bytes:
    """``Cache-Control`` for a tagged answer: an hour for what only a release changes, else ask each time."""
    return FIXED_CACHE_CONTROL if path.rstrip("/") in FIXED else CACHE_CONTROL


class OgcETags:
    """Plain ASGI middleware (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not tagged_path(app_path(scope)):
            await self.app(scope, receive, send)
            return
        asked = next((value.decode("latin-1") for key, value in scope.get("headers", ()) if key == b"if-none-match"),
                     "")
        held: Message | None = None
        chunks: list[bytes] = []

        async def tagged(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                kind = next((value for key, value in message.get("headers", ()) if key.lower() == b"content-type"),
                            b"html")
                if message["status"] == 200 and b"html" not in kind:
                    held = message
                    return
                await send(message)
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body, tag = b"".join(chunks), weak_tag(b"".join(chunks))
            headers = [(key, value) for key, value in held.get("headers", ())
                       if key.lower() not in (b"etag", b"cache-control")]
            headers += [(b"etag", tag), (b"cache-control", cache_control(app_path(scope)))]
            if asked and matches(asked, tag):
                kept = [(key, value) for key, value in headers
                        if key.lower() not in (b"content-length", b"content-type")]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**held, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, tagged)
