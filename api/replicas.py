"""Reads on hot standbys, read-your-writes, and writes a synchronous standby did not confirm.

With ``UNIONMAP_READ_DATABASE_URL`` set, the read-only session (``api.deps.get_read_session``:
finder, stations, OGC, maps) is opened on the read engines, in turn; every other session stays
on the primary (``DATABASE_URL``). Which server a URL reaches is libpq's choice
(``target_session_attrs``), so a promoted standby is found without code of ours.

Read-your-writes: after a successful write the response names the primary's WAL position
(cookie ``unionmap_lsn`` and header ``X-Unionmap-LSN``). A read that carries one (cookie or
header) is served by the replica only once ``pg_last_wal_replay_lsn()`` has reached it, polled
for at most ``read_your_writes_wait_s``; else the primary serves it. A read without one costs
nothing extra: no round trip, one header lookup.

A commit waits for the synchronous standby; with the standby dead it would wait for ever (the
statement time-out does not cover a commit), holding its admission slot and connection. The
``SyncWaitGuard`` cancels such waits after ``synchronous_commit_wait_s``; PostgreSQL then keeps
the write committed on the primary alone ("canceling wait for synchronous replication"), where
a failover now would lose it. Such a write is answered 503 with ``Retry-After``, not 2xx, so
that nothing the API acknowledges can be lost by a failover (``geo.store.replica``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import Request
from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.unavailable import Incidents
from geo.settings import Settings
from geo.store import db, wal

log = logging.getLogger("unionmap.replicas")

COOKIE = "unionmap_lsn"
HEADER = "X-Unionmap-LSN"
# A minute: far longer than a healthy standby's replay lag (milliseconds), short enough that a
# client's reads stop paying the replay check soon after its last write.
COOKIE_MAX_AGE_S = 60
POLL_S = 0.01
GUARD_POLL_S = 1.0
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# PostgreSQL's warning when a commit stopped waiting for its synchronous standby (syncrep.c).
UNREPLICATED_COMMIT = "canceling wait for synchronous replication"
UNCONFIRMED = ("写入已在主库提交，但同步备库未确认，不算已确认；请先读取该记录再重试 / the write was committed on the "
               "primary but the synchronous standby did not confirm it, so it is not acknowledged: read the record "
               "before writing again")


class ReadRouting:
    """The read engines and their autocommit session factories, taken in turn, and the guard of
    synchronous commits that comes with replicas."""

    def __init__(self, engines: list[Engine], settings: Settings) -> None:
        self.engines = engines
        self.wait_s = settings.read_your_writes_wait_s
        self.guard = SyncWaitGuard(settings)
        self._factories: list[sessionmaker[Session]] = [db.make_read_session_factory(e) for e in engines]
        self._turn = itertools.cycle(range(len(engines)))  # next() on a cycle is atomic under the GIL

    def session(self) -> Session:
        """A read session on the next read engine (no connection is opened yet)."""
        return self._factories[next(self._turn)]()

    async def caught_up(self, session: Session, lsn: str) -> bool:
        """Whether the session's server has replayed ``lsn``, polling up to ``wait_s``; a replica
        that cannot answer counts as behind (the primary serves the read)."""
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                if await anyio.to_thread.run_sync(wal.has_replayed, session, lsn):
                    return True
            except (DBAPIError, PoolTimeout) as error:
                log.info("replica did not answer the replay check (%s): the primary serves the read", error)
                return False
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(POLL_S)

    def dispose(self) -> None:
        self.guard.close()
        for engine in self.engines:
            engine.dispose()


class SyncWaitGuard:
    """Ends, once a second, every commit of this app that has waited longer than
    ``synchronous_commit_wait_s`` for a synchronous standby (a dead one would hold it for ever,
    and with it an admission slot and a connection: a few such writes would starve the finder).
    It runs on a connection of its own, beside the request pool."""

    def __init__(self, settings: Settings) -> None:
        self.engine = db.make_engine(settings, server=True)
        self.wait_s = settings.synchronous_commit_wait_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sync-wait-guard", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(GUARD_POLL_S):
            try:
                with Session(self.engine) as session:
                    cancelled = wal.cancel_synchronous_waits(session, application=db.SERVER_APPLICATION,
                                                             older_than_s=self.wait_s)
                    session.commit()
            except (DBAPIError, PoolTimeout):
                continue  # the primary is away: its requests are answered 503 anyway
            if cancelled:
                log.warning("%d write(s) waited over %g s for the synchronous standby: wait cancelled, answered 503",
                            cancelled, self.wait_s)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()


def start_routing(settings: Settings, incidents: Incidents) -> ReadRouting | None:
    """The read routing of the settings' read URLs (None when there are none)."""
    engines = db.make_read_engines(settings)
    for engine in engines:
        incidents.watch(engine)
    return ReadRouting(engines, settings) if engines else None


async def read_session(request: Request) -> Session:
    """The session of a read: on a replica, unless the client's last write has not been replayed
    there within the bounded wait (then on the primary)."""
    state = request.app.state
    routing: ReadRouting | None = getattr(state, "read_routing", None)
    if routing is None:
        return state.read_session_factory()  # type: ignore[no-any-return]
    session = routing.session()
    lsn = wal.parse_lsn(request.headers.get(HEADER) or request.cookies.get(COOKIE))
    if lsn is None or await routing.caught_up(session, lsn):
        return session
    session.close()
    return state.read_session_factory()  # type: ignore[no-any-return]


@dataclass
class _Commits:
    """What the commits of one write request reported (set from the thread that ran them)."""

    unreplicated: bool = False


# Set per write request by CommitPosition; the request's threads see the same object (the thread
# pool copies the context), so the notice handler can mark it.
_COMMITS: ContextVar[_Commits | None] = ContextVar("unionmap_commits", default=None)


def _on_notice(diagnostic: Any) -> None:
    if (diagnostic.message_primary or "").startswith(UNREPLICATED_COMMIT) and (commits := _COMMITS.get()):
        commits.unreplicated = True


def watch_commits(engine: Engine) -> None:
    """Listen on the primary's connections for commits the synchronous standby did not confirm."""
    event.listen(engine, "connect", lambda connection, _record: connection.add_notice_handler(_on_notice))


class CommitPosition:
    """A plain ASGI middleware on write requests (others pass through untouched): a successful
    write's response gets the primary's WAL position (cookie and header) when reads go to
    replicas; a write whose commit the synchronous standby did not confirm becomes a 503."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.retry_after_s = settings.retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        commits = _Commits()
        token = _COMMITS.set(commits)
        refused = False

        async def send_with_position(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start" and message["status"] < 400:
                if commits.unreplicated:
                    refused = True
                    await self._refuse(send)
                    return
                if (lsn := await anyio.to_thread.run_sync(_position, scope["app"].state)) is not None:
                    message["headers"] = [*message.get("headers", []), (HEADER.lower().encode(), lsn.encode()),
                                          (b"set-cookie", (f"{COOKIE}={lsn}; Max-Age={COOKIE_MAX_AGE_S}; Path=/; "
                                                           "SameSite=Lax; HttpOnly").encode())]
            elif refused:
                return  # the body of the response that the 503 replaced
            await send(message)

        try:
            await self.app(scope, receive, send_with_position)
        finally:
            _COMMITS.reset(token)

    async def _refuse(self, send: Send) -> None:
        log.warning("a commit was not confirmed by the synchronous standby: answered 503")
        body = json.dumps({"detail": UNCONFIRMED}, ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(self.retry_after_s).encode()), (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body})


def _position(state: Any) -> str | None:
    """The primary's WAL position after a write, when reads go to replicas (else None: no one needs it)."""
    if getattr(state, "read_routing", None) is None:
        return None
    try:
        with state.session_factory() as session:
            return wal.insert_position(session)
    except (DBAPIError, PoolTimeout) as error:  # the write stands; its reads may just miss it for a moment
        log.info("no WAL position after a write (%s): no read-your-writes cookie", error)
        return None
