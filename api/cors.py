"""CORS: any web page may read the open data; only configured origins may write.

A browser app on another origin (a union's own site, a GIS viewer) reads ``/ogc`` and the read
API with ``fetch``; without ``Access-Control-Allow-Origin`` the browser hides every answer, and
the preflight of a request with headers was a 405. Two of Starlette's ``CORSMiddleware`` do the
work: reads (GET, HEAD, and their preflights) under ``/ogc`` and ``/api/v1`` are allowed for
``cors_read_origins`` (default ``*``); everything else (writes, and the editor's pages, which
are not listed) only for ``cors_write_origins`` (default none), with the key and ETag headers a
writer sends. No credentials are ever allowed: the editor's cookie stays same-site (it is
SameSite=Strict anyway), and another origin writes with an API key.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from geo.settings import Settings
from api.admission import app_path

READ_PREFIXES = ("/ogc", "/api/v1/")
READ_METHODS = ("GET", "HEAD")
EXPOSED = ("ETag", "Location", "Link", "Retry-After", "Content-Crs", "OGC-NumberMatched",
           "X-Unionmap-LSN")  # api.replicas: a cross-origin writer reads its own writes by sending it back


def _header(scope: Scope, name: bytes) -> str:
    return next((value.decode("latin-1") for key, value in scope.get("headers", ()) if key == name), "")


class Cors:
    """Reads for ``cors_read_origins``, writes for ``cors_write_origins`` (see the module doc)."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.reads = CORSMiddleware(app, allow_origins=settings.cors_read_origins, allow_methods=READ_METHODS,
                                    allow_headers=("Accept", "Accept-Language", "If-None-Match"),
                                    expose_headers=EXPOSED, max_age=3600)
        self.writes = CORSMiddleware(app, allow_origins=settings.cors_write_origins,
                                     allow_methods=("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"),
                                     allow_headers=("Authorization", "X-API-Key", "Content-Type", "If-Match",
                                                    "Accept", "Accept-Language", "If-None-Match"),
                                     expose_headers=EXPOSED, max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _header(scope, b"origin"):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":  # a preflight asks for the method it will use
            method = _header(scope, b"access-control-request-method").upper() or method
        read = method in READ_METHODS and app_path(scope).startswith(READ_PREFIXES)
        await (self.reads if read else self.writes)(scope, receive, send)
