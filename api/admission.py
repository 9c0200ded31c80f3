"""Admission control: a bounded number of requests per process, fast 503s beyond it, never a hang.

Why: a sync endpoint holds a thread and a pooled database connection; when more requests ran
at once than the pool had connections, the threads waiting for a connection took every thread
the holders needed to finish (response validation runs in the thread pool too), and the
backlog of accepted requests grew without bound: the server answered nothing for minutes
after a burst. Here every request of a database-backed route first takes a slot of its lane;
a lane never has more slots than the pool has connections, so no request waits inside the
pool, and a request that cannot get a slot within the lane's wait is answered ``503`` with
``Retry-After`` straight away. The backlog is therefore bounded by the lanes' queues, and the
server is back to normal as soon as a burst ends.

Two lanes, so that cheap requests stay ahead of expensive ones: **hot** (the phone finder's
nearest query, station reads and writes, OGC pages, health, plan jobs' status) and **heavy**
(coverage, gaps, plans, maps, imports, exports). Static files and the API documents take no slot.

A plain ASGI middleware (no ``BaseHTTPMiddleware``: it costs every request a task group).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from api.ogc.exceptions import exception_body, is_ogc
from geo.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Paths that never touch the database or the solver: no slot (the map assets under
# ``maps.assets.URL_PREFIX`` and the finder's own files; the API documents; the offline basemap's
# file, read in dozens of small ranges per map view).
FREE_PREFIXES = ("/static/", "/finder/static/", "/docs", "/openapi.json", "/favicon", "/tiles/")
# Paths whose work is measured in seconds of CPU or megabytes.
HEAVY_PREFIXES = ("/api/v1/coverage", "/api/v1/gaps", "/api/v1/plans", "/api/v1/import", "/api/v1/export",
                  "/api/v1/rollup", "/maps/")
# Under a heavy prefix but cheap: reading or cancelling a plan job is one row (its solve runs in
# the job runner), and polling clients must not take the slots of real heavy work. A what-if
# (``/plans/evaluate``) is milliseconds on the warm model with no connection held meanwhile, and a
# planner clicking on the plan page must not queue behind other people's plans and maps.
LIGHT_PREFIXES = ("/api/v1/plans/jobs/", "/api/v1/plans/evaluate")
BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})
# Key in the ASGI scope of heavy requests: a ``threading.Event`` set when the client disconnects.
CLIENT_GONE = "unionmap.client_gone"


@dataclass
class Lane:
    """Concurrent slots for one class of requests, and how long a request may wait for one."""

    name: str
    slots: int
    wait_s: float
    queue_length: int
    retry_after_s: int
    waiting: int = 0
    _semaphore: asyncio.Semaphore | None = field(default=None, repr=False)

    @property
    def semaphore(self) -> asyncio.Semaphore:
        # Made on first use, inside the server's event loop.
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.slots)
        return self._semaphore

    async def acquire(self) -> bool:
        """Take a slot, waiting at most ``wait_s``; False when the lane is full (answer 503)."""
        semaphore = self.semaphore
        if not semaphore.locked():
            await semaphore.acquire()  # free slot: returns at once, no timer
            return True
        if self.waiting >= self.queue_length:
            return False
        self.waiting += 1
        try:
            await asyncio.wait_for(semaphore.acquire(), self.wait_s)
            return True
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1

    def release(self) -> None:
        self.semaphore.release()


def lanes_for(settings: Settings) -> dict[str, Lane]:
    """The hot and heavy lanes of one server process, sized from the settings."""
    return {
        "hot": Lane("hot", settings.hot_concurrency, settings.queue_wait_s, settings.queue_length, 1),
        "heavy": Lane("heavy", settings.heavy_concurrency, settings.heavy_queue_wait_s, settings.queue_length,
                      settings.retry_after_s),
    }


def app_path(scope: Scope) -> str:
    """The path below the app's mount point (uvicorn's ``path`` includes ``root_path``)."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def bodiless(scope: Scope) -> bool:
    """A request that declares no body: its one message is already complete when it arrives.

    A GET that declares ``Content-Length: 1`` and never sends the byte is not: waiting for its
    first message would hold a slot until the client went away.
    """
    if scope["method"] not in BODILESS:
        return False
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return False
    return True


def lane_of(path: str) -> str | None:
    """Which lane a path belongs to (None: no slot needed)."""
    if path.startswith(FREE_PREFIXES):
        return None
    if path.startswith(LIGHT_PREFIXES):
        return "hot"
    if path.startswith(HEAVY_PREFIXES) or path == "/maps":
        return "heavy"
    return "hot"


def busy_response(path: str, lane: Lane) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """A 503 in the shape of the part of the API that was asked (OGC's exception under /ogc)."""
    wait = lane.retry_after_s
    text = f"服务繁忙，请 {wait} 秒后重试 / server busy ({lane.name} requests), retry in {wait} s"
    body = exception_body("ServiceUnavailable", text) if is_ogc(path) else {"detail": text}
    content = json.dumps(body, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode()),
               (b"retry-after", str(lane.retry_after_s).encode()), (b"cache-control", b"no-store")]
    return 503, headers, content


class AdmissionControl:
    """Give each database-backed request a slot of its lane, or a fast 503 with Retry-After."""

    def __init__(self, app: ASGIApp, lanes: dict[str, Lane]) -> None:
        self.app = app
        self.lanes = lanes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = lane_of(app_path(scope))
        if name is None:
            await self.app(scope, receive, send)
            return
        lane = self.lanes[name]
        if not await lane.acquire():
            status, headers, content = busy_response(app_path(scope), lane)
            if not bodiless(scope):
                headers.append((b"connection", b"close"))  # its unread body must not become the next request
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": content})
            return
        watcher: asyncio.Task[None] | None = None
        try:
            underlying = receive
            if bodiless(scope):
                checked = await self._unless_gone(receive)
                if checked is None:
                    return  # the client hung up while it waited: do not do its work
                receive = checked
            if name == "heavy":
                receive, watcher = self._watch_for_hang_up(scope, receive, underlying)
            await self.app(scope, receive, send)
        finally:
            if watcher is not None:
                watcher.cancel()
            lane.release()

    @staticmethod
    def _watch_for_hang_up(scope: Scope, receive: Receive, underlying: Receive) -> tuple[Receive, asyncio.Task[None]]:
        """Set ``scope[CLIENT_GONE]`` (a threading.Event) when the client disconnects, so that long
        work in a thread (a plan in a solver process) can stop instead of finishing for nobody.

        The watcher reads ``receive`` only once the app has read the whole body; heavy routes do
        not read it again (no streaming responses), so the two never wait on it together.
        """
        gone = scope[CLIENT_GONE] = threading.Event()
        body_done = asyncio.Event()
        if bodiless(scope):
            body_done.set()  # its one message was read already; the app gets it from ``receive``

        async def tracked() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
            elif not message.get("more_body", False):
                body_done.set()
            return message

        async def watch() -> None:
            await body_done.wait()
            while not gone.is_set():
                if (await underlying())["type"] == "http.disconnect":
                    gone.set()

        return tracked, asyncio.create_task(watch())

    @staticmethod
    async def _unless_gone(receive: Receive) -> Receive | None:
        """For a request without a body: None if its client has disconnected, else a ``receive``
        that hands the app the message read here. uvicorn answers this first ``receive`` at once
        (the request is complete, or the connection is gone)."""
        first = await receive()
        if first["type"] == "http.disconnect":
            return None
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return first
            return await receive()

        return replay
