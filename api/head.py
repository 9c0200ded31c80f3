"""HEAD wherever GET is, under the OGC API and the read API: the same headers, no body.

FastAPI's routes answer only the methods they declare, so ``HEAD /ogc`` was a 405, and clients
that probe a resource first (QGIS, GDAL, link checkers, caches revalidating) were told it does
not exist. A plain ASGI middleware turns a HEAD under ``/ogc`` or ``/api/v1`` into the GET it
stands for and sends the GET's status and headers (``Content-Length`` included, as RFC 9110
asks) without its body. Routes that declare HEAD themselves (the PMTiles file under ``/tiles``)
are outside these prefixes and keep their own answer.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from api.admission import app_path

PREFIXES = ("/ogc", "/api/v1/")


class HeadAsGet:
    """HEAD → GET for the read APIs, body dropped on the way out."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or not app_path(scope).startswith(PREFIXES):
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
