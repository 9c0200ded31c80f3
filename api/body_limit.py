"""Request-body limits: 413 before a byte of an oversized body is read, and while streaming.

Why: an import read a 100 MB CSV whole before it rejected it (80 s, the worker from 0.9 to
3.3 GB). A declared ``Content-Length`` over the limit is refused at once; a chunked body is
counted as it arrives and refused the moment it passes the limit (the app then sees the
client as gone, and nothing it sends after the 413 reaches the client). A body must also
arrive within ``body_timeout_s`` (else 408): a request holds a slot while its body comes in.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable

from api.admission import ASGIApp, Message, Receive, Scope, Send, app_path
from geo.settings import Settings

# Paths with a limit of their own, first match wins: (pattern matched from the path's start,
# the limit in bytes from the settings). Any other path: settings.max_body_kb.
ROUTE_LIMITS: tuple[tuple[re.Pattern[str], Callable[[Settings], float]], ...] = (
    (re.compile(r"/api/v1/import"), lambda settings: settings.max_upload_mb * 1024 * 1024),  # uploads
    # A rider's report is a kind and at most 200 characters: a few KB is plenty.
    (re.compile(r"/api/v1/stations/[^/]+/reports/?$"), lambda settings: settings.report_body_kb * 1024),
)


def limit_for(path: str, settings: Settings) -> int:
    """Bytes a body to this path may have."""
    for pattern, limit in ROUTE_LIMITS:
        if pattern.match(path):
            return int(limit(settings))
    return int(settings.max_body_kb * 1024)


def too_large(limit: int) -> tuple[list[tuple[bytes, bytes]], bytes]:
    megabytes = limit / 1024 / 1024
    size = f"{megabytes:g} MB" if megabytes >= 1 else f"{limit // 1024} KB"
    content = json.dumps({"detail": f"请求体超过 {size} 的上限 / request body larger than the limit of {size}",
                          "limit_bytes": limit}, ensure_ascii=False).encode()
    return [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode()),
            (b"connection", b"close")], content


def too_slow(timeout_s: float) -> tuple[list[tuple[bytes, bytes]], bytes]:
    text = f"请求体未在 {timeout_s:g} 秒内传完 / request body not received within {timeout_s:g} s"
    content = json.dumps({"detail": text}, ensure_ascii=False).encode()
    return [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode()),
            (b"connection", b"close")], content


class BodyLimit:
    """Refuse request bodies larger than the path's limit with 413."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = limit_for(app_path(scope), self.settings)
        deadline = asyncio.get_running_loop().time() + self.settings.body_timeout_s
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        seen, refused, started = 0, False, False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            try:  # a body trickled in byte by byte would hold a slot of the server for ever
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                refused = True
                if not started:
                    await self._refuse(send, limit, status=408)
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    if not started:
                        await self._refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out; the app's own answer is dropped
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not refused:
                raise  # the app's own failure; a refused body's ClientDisconnect is expected

    async def _refuse(self, send: Send, limit: int, status: int = 413) -> None:
        headers, content = too_large(limit) if status == 413 else too_slow(self.settings.body_timeout_s)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
