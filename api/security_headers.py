"""Security headers on every response; a fresh script nonce on every HTML page.

Every response: ``X-Content-Type-Options: nosniff`` (a JSON answer is never run as script or
shown as HTML), ``X-Frame-Options: SAMEORIGIN`` and ``frame-ancestors 'self'`` (no other site
frames a page to trick a click), ``Referrer-Policy: strict-origin-when-cross-origin`` (a page's
address with its query never leaves the site; OpenStreetMap's tile policy asks for the origin,
and the hand-off to Amap, Baidu and Apple Maps needs no referrer at all), and a
Content-Security-Policy: scripts, styles, fonts and data from this origin only, images from
here, ``data:`` and the configured basemap's tile hosts.

HTML pages (Folium's maps run inline scripts) get ``script-src 'self' 'nonce-…'``, a new nonce
per response, written into every ``<script`` tag of the page as it leaves the app. There is no
``'unsafe-inline'`` for scripts, so an event handler (``onerror=…``) that reached a page through
a missed escape, or that the browser builds from data (a tooltip's ``innerHTML``), never runs.
The limit, and why escaping stays the first defence: a whole ``<script>`` element written
unescaped into the server's HTML would be given the nonce too.

Only HTML is held back (until its body is complete, to add the nonce and fix Content-Length);
every other response passes through with headers added, nothing buffered: the nearest-station
endpoint is the hot path. A compressed HTML body cannot be rewritten, so compression belongs
outside this middleware. The API documentation (/docs) loads Swagger UI from this app too, so
no page has an exception.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from geo.settings import Settings
from maps.basemap import tile_sources

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Callable[[], Awaitable[Message]], Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

CSP = b"content-security-policy"
FIXED_HEADERS: Headers = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"SAMEORIGIN"),
                          (b"referrer-policy", b"strict-origin-when-cross-origin")]
# A <script> tag's name ends at space, "/" or ">"; its content ends at the first "</script".
_SCRIPT_START = re.compile(rb"<script(?=[\s/>])", re.IGNORECASE)
_SCRIPT_END = re.compile(rb"</script", re.IGNORECASE)


def add_nonce(html: bytes, nonce: str) -> bytes:
    """Every ``<script`` tag of the page with ``nonce="…"``; script contents are left alone."""
    attribute = b' nonce="' + nonce.encode("ascii") + b'"'
    parts: list[bytes] = []
    at = 0
    while (tag := _SCRIPT_START.search(html, at)) is not None:
        closing = _SCRIPT_END.search(html, tag.end())
        end = closing.end() if closing else len(html)
        parts += [html[at:tag.end()], attribute, html[tag.end():end]]
        at = end
    return b"".join(parts) + html[at:]


def policy(images: tuple[str, ...], *, nonce: str | None = None) -> str:
    """The Content-Security-Policy text: this origin only, images also from ``images``."""
    directives: dict[str, tuple[str, ...]] = {
        "default-src": ("'self'",), "script-src": ("'self'", *((f"'nonce-{nonce}'",) if nonce else ())),
        "style-src": ("'self'", "'unsafe-inline'"),  # Folium and Leaflet set style attributes
        "img-src": ("'self'", "data:", *images), "font-src": ("'self'",), "object-src": ("'none'",),
        "base-uri": ("'self'",), "form-action": ("'self'",), "frame-ancestors": ("'self'",)}
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def _header(headers: Headers, name: bytes) -> bytes:
    return next((value for key, value in headers if key.lower() == name), b"")


class SecurityHeaders:
    """Plain ASGI middleware (see module docstring); ``BaseHTTPMiddleware`` would cost every
    request a task group and a copy of the response."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.images = tile_sources(settings.basemap)
        self.plain: Headers = [*FIXED_HEADERS, (CSP, policy(self.images).encode())]

    async def __call__(self, scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Message]],
                       send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None  # an HTML response's start, until its body is complete
        chunks: list[bytes] = []

        async def send_secured(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if self._rewritable(scope, headers):
                    held = {**message, "headers": headers}
                    return
                await send({**message, "headers": self._added(headers, self.plain)})
                return
            if held is None:
                await send(message)
                return
            if message["type"] != "http.response.body":  # e.g. a file sent by path: pass it on unchanged
                start, held = held, None
                await send({**start, "headers": self._added(start["headers"], self.plain)})
                if chunks:
                    await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            nonce = secrets.token_urlsafe(18)
            body = add_nonce(b"".join(chunks), nonce)
            page_policy = policy(self.images, nonce=nonce)
            headers = [(key, value) for key, value in held["headers"] if key.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**held, "headers": self._added(headers, [*FIXED_HEADERS, (CSP, page_policy.encode())])})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_secured)

    @staticmethod
    def _rewritable(scope: MutableMapping[str, Any], headers: Headers) -> bool:
        """An HTML page the browser will show: not a HEAD, a download, compressed, or with its own policy."""
        return (_header(headers, b"content-type").startswith(b"text/html") and scope["method"] != "HEAD"
                and not _header(headers, b"content-disposition").startswith(b"attachment")
                and _header(headers, b"content-encoding") in (b"", b"identity") and not _header(headers, CSP))

    @staticmethod
    def _added(headers: Headers, extra: Headers) -> Headers:
        """``headers`` with each of ``extra`` that the response did not set itself."""
        present = {key.lower() for key, _ in headers}
        return headers + [(key, value) for key, value in extra if key not in present]
