"""Overload without a hang: admission lanes, body limits, quotas, solver processes with deadlines.

Each part is tested alone with a tiny ASGI app or a plain function, where the answer is known,
and then through the real app where it matters (plans, imports, keys).
"""

from __future__ import annotations

import asyncio
import logging
import operator
import os
import time
from typing import TYPE_CHECKING, Any

import pytest

from api.admission import AdmissionControl, Lane, lane_of
from api.body_limit import BodyLimit
from api.quota import SlidingWindow
from geo.analysis.solver_pool import Cancelled, SolverBusy, SolverPool, TimeLimitExceeded
from geo.settings import Settings
from maps import assets

if TYPE_CHECKING:
    import httpx
    from fastapi.testclient import TestClient


def slow_app(seconds: float, calls: list[str]) -> Any:
    """An ASGI app that takes ``seconds`` per request and records the paths it served."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        await asyncio.sleep(seconds)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def lanes(slots: int = 1, wait_s: float = 0.1, queue_length: int = 8) -> dict[str, Lane]:
    return {name: Lane(name, slots, wait_s, queue_length, 3) for name in ("hot", "heavy")}


def asgi_client(app: Any) -> httpx.AsyncClient:
    """An httpx client that calls ``app`` in this process; the test is skipped without httpx (a test extra)."""
    httpx = pytest.importorskip("httpx", reason="httpx is a test extra")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def sync_client(app: Any) -> TestClient:
    """Starlette's TestClient of ``app``; the test is skipped without httpx (a test extra)."""
    pytest.importorskip("httpx", reason="TestClient needs httpx, a test extra")
    from fastapi.testclient import TestClient

    return TestClient(app)


async def burst(app: Any, paths: list[str]) -> list[httpx.Response]:
    async with asgi_client(app) as client:
        return await asyncio.gather(*(client.get(path) for path in paths))


def test_a_full_lane_answers_503_with_retry_after_at_once() -> None:
    calls: list[str] = []
    app = AdmissionControl(slow_app(0.5, calls), lanes(slots=2, wait_s=0.1))
    begun = time.monotonic()
    answers = asyncio.run(burst(app, ["/api/v1/stations/nearest"] * 5))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 200, 503, 503, 503]
    busy = [answer for answer in answers if answer.status_code == 503]
    assert all(answer.headers["retry-after"] == "3" for answer in busy)
    assert "server busy" in busy[0].json()["detail"]
    assert len(calls) == 2  # the refused ones did no work
    assert time.monotonic() - begun < 1.5


def test_heavy_requests_never_take_the_hot_lane() -> None:
    calls: list[str] = []
    app = AdmissionControl(slow_app(0.4, calls), lanes(slots=1, wait_s=0.05))
    answers = asyncio.run(burst(app, ["/api/v1/coverage", "/api/v1/coverage", "/api/v1/stations/nearest"]))
    assert [answer.status_code for answer in answers] == [200, 503, 200]  # nearest got its own slot


def test_a_waiting_request_gets_the_slot_within_its_wait() -> None:
    calls: list[str] = []
    app = AdmissionControl(slow_app(0.1, calls), lanes(slots=1, wait_s=1.0))
    answers = asyncio.run(burst(app, ["/ogc/collections"] * 3))
    assert [answer.status_code for answer in answers] == [200, 200, 200]


def test_ogc_paths_get_ogc_exceptions_and_static_files_take_no_slot() -> None:
    calls: list[str] = []
    app = AdmissionControl(slow_app(0.3, calls), lanes(slots=1, wait_s=0.01))
    static = [f"{assets.URL_PREFIX}/leaflet/dist/leaflet.js"] * 2 + ["/finder/static/finder.js"] * 2
    answers = asyncio.run(burst(app, ["/ogc/collections", "/ogc/collections", *static]))
    assert [answer.status_code for answer in answers] == [200, 503, 200, 200, 200, 200]
    assert answers[1].json()["code"] == "ServiceUnavailable"
    assert lane_of("/maps/coverage") == "heavy" and lane_of("/api/v1/import") == "heavy"
    assert lane_of("/api/v1/stations/nearest") == "hot" and lane_of("/docs") is None


def test_a_client_that_left_while_it_waited_gets_no_work_done() -> None:
    calls: list[str] = []
    app = AdmissionControl(slow_app(0.2, calls), lanes(slots=1, wait_s=2.0))
    sent: list[dict[str, Any]] = []

    async def gone() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def record(message: dict[str, Any]) -> None:
        sent.append(message)

    async def scenario() -> None:
        scope = {"type": "http", "method": "GET", "path": "/api/v1/stations", "headers": []}
        first = asyncio.create_task(burst(app, ["/api/v1/stations/nearest"]))
        await asyncio.sleep(0.05)  # the slot is taken
        await app(scope, gone, record)
        await first

    asyncio.run(scenario())
    assert calls == ["/api/v1/stations/nearest"] and sent == []


def test_a_get_that_declares_a_body_it_never_sends_holds_no_slot() -> None:
    calls: list[str] = []
    app = AdmissionControl(slow_app(0.05, calls), lanes(slots=1, wait_s=0.5))
    sent: list[dict[str, Any]] = []

    async def never() -> dict[str, Any]:
        await asyncio.sleep(3600)  # the promised byte never comes
        return {"type": "http.disconnect"}

    async def record(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/api/v1/stations", "headers": [(b"content-length", b"1")]}
    asyncio.run(asyncio.wait_for(app(scope, never, record), 2))  # not waiting on receive
    assert calls == ["/api/v1/stations"] and sent[0]["status"] == 200


def test_lanes_follow_the_path_below_root_path_and_a_busy_body_closes_the_connection() -> None:
    from api.admission import app_path, busy_response

    scope = {"path": "/unionmap/api/v1/coverage", "root_path": "/unionmap"}
    assert lane_of(app_path(scope)) == "heavy" and lane_of(app_path({"path": f"{assets.URL_PREFIX}/x.js"})) is None
    calls: list[str] = []
    app = AdmissionControl(slow_app(0.3, calls), lanes(slots=1, wait_s=0.01))

    async def scenario() -> list[httpx.Response]:
        async with asgi_client(app) as client:
            return await asyncio.gather(client.post("/api/v1/stations", content=b"{}"),
                                        client.post("/api/v1/stations", content=b"{}"))

    answers = sorted(asyncio.run(scenario()), key=lambda answer: answer.status_code)
    assert [answer.status_code for answer in answers] == [200, 503]
    assert answers[1].headers["connection"] == "close"  # its unread body must not be parsed as a request
    assert busy_response("/ogc", lanes()["hot"])[0] == 503


def test_a_body_that_trickles_in_is_cut_off_with_408(limited_app: Any) -> None:
    app, calls = limited_app
    app.settings = app.settings.model_copy(update={"body_timeout_s": 0.3})
    sent: list[dict[str, Any]] = []
    chunks = iter([b"{", b" "])

    async def trickle() -> dict[str, Any]:
        chunk = next(chunks, None)
        if chunk is None:
            await asyncio.sleep(3600)
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def record(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/stations", "headers": []}
    asyncio.run(asyncio.wait_for(app(scope, trickle, record), 2))
    assert sent[0]["status"] == 408 and calls == [] and b"0.3 s" in sent[1]["body"]


@pytest.fixture
def limited_app() -> Any:
    calls: list[int] = []

    async def reader(scope: dict[str, Any], receive: Any, send: Any) -> None:
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RuntimeError("client gone")  # what Starlette's request.stream() raises
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        calls.append(size)
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": str(size).encode()})

    settings = Settings(max_upload_mb=1, max_body_kb=4)
    return BodyLimit(reader, settings), calls


def test_a_declared_oversized_body_is_refused_before_it_is_read(limited_app: Any) -> None:
    app, calls = limited_app
    client = sync_client(app)
    answer = client.post("/api/v1/import", content=b"x" * (60 * 1024 * 1024))
    assert answer.status_code == 413 and answer.json()["limit_bytes"] == 1024 * 1024
    assert "1 MB" in answer.json()["detail"] and calls == []
    assert client.post("/api/v1/stations", content=b"{" + b" " * 5000 + b"}").status_code == 413
    assert client.post("/api/v1/stations", content=b"{}").status_code == 201 and calls == [2]


def test_a_streamed_oversized_body_is_cut_off_when_it_passes_the_limit(limited_app: Any) -> None:
    app, calls = limited_app

    def chunks() -> Any:
        for _ in range(40):
            yield b"y" * 64 * 1024  # 2.5 MB in all, no Content-Length

    answer = sync_client(app).post("/api/v1/import", content=chunks())
    assert answer.status_code == 413 and calls == []
    small = sync_client(app).post("/api/v1/import", content=iter([b"a" * 1000, b"b" * 1000]))
    assert small.status_code == 201 and small.text == "2000"


def test_sliding_window_allows_then_refuses_then_forgets(caplog: pytest.LogCaptureFixture) -> None:
    window = SlidingWindow("wrong API keys", allowed=3, window_s=0.3)
    with caplog.at_level(logging.WARNING, logger="unionmap.quota"):
        for _ in range(5):
            window.record("10.0.0.1")
    assert window.retry_after_s("10.0.0.1") >= 1 and window.retry_after_s("10.0.0.2") == 0
    assert sum("10.0.0.1 reached 3" in record.getMessage() for record in caplog.records) == 1
    time.sleep(0.35)
    assert window.retry_after_s("10.0.0.1") == 0


def test_solver_pool_stops_a_call_at_its_wall_clock_limit_and_recovers() -> None:
    pool = SolverPool(1, niceness=0)
    try:
        # Functions the child can import by name (this test module it cannot).
        assert pool.run(operator.add, 3, 4, timeout_s=60) == 7
        first = pool.run(os.getpid, timeout_s=60)
        assert first != os.getpid()  # in a child
        assert pool.run(os.getpid, timeout_s=60) == first  # the child is kept between calls
        begun = time.monotonic()
        with pytest.raises(TimeLimitExceeded, match="limit of 0.5 s"):
            pool.run(time.sleep, 30.0, timeout_s=0.5)
        assert time.monotonic() - begun < 3
        with pytest.raises(ProcessLookupError):
            os.kill(first, 0)  # the overrunning child is gone ...
        assert pool.run(os.getpid, timeout_s=60) != first  # ... and a fresh one answers
        with pytest.raises(ValueError, match="bad input"):
            pool.run(int, "bad input", timeout_s=60)  # exceptions come back as themselves
        with pytest.raises(TypeError, match="cannot be sent"):
            pool.run(lambda: 1, timeout_s=60)  # cannot be pickled: said, and the pool goes on
        assert pool.run(operator.add, 2, 2, timeout_s=60) == 4
    finally:
        pool.close()


def test_the_warm_up_runs_at_normal_priority_and_later_calls_at_the_pools() -> None:
    """The child started by ``warm`` runs its first call (the warm-up) at the parent's priority,
    then lowers its own: plans stay behind web requests, the start-up does not crawl."""
    pool = SolverPool(1, niceness=5)
    try:
        pool.warm()
        parent = os.nice(0)
        assert pool.run(os.nice, 0, timeout_s=60) == parent
        assert pool.run(os.nice, 0, timeout_s=60) == min(parent + 5, 19)
    finally:
        pool.close()


def test_solver_pool_says_busy_instead_of_queueing_forever() -> None:
    import threading

    pool = SolverPool(1, niceness=0, wait_s=0.2)
    try:
        pool.warm()
        worker = threading.Thread(target=pool.run, args=(time.sleep, 1.5), kwargs={"timeout_s": 10})
        worker.start()
        time.sleep(0.3)
        with pytest.raises(SolverBusy):
            pool.run(operator.add, 1, 1, timeout_s=10)
        worker.join()
        assert pool.run(operator.add, 1, 2, timeout_s=10) == 3
    finally:
        pool.close()


def test_a_call_during_the_warm_up_waits_for_it_instead_of_finding_the_pool_busy() -> None:
    import threading

    pool = SolverPool(1, niceness=0, wait_s=0.2)
    answers: list[object] = []
    try:
        pool.warm()
        inside = threading.Event()

        def warm_up() -> None:
            with pool.warming():
                inside.set()
                pool.run(time.sleep, 1.0, timeout_s=10)  # the warm-up itself never waits on itself

        warming = threading.Thread(target=warm_up)
        warming.start()
        inside.wait(5)
        begun = time.monotonic()
        answers.append(pool.run(operator.add, 2, 3, timeout_s=10))  # longer than wait_s: would be busy
        waited = time.monotonic() - begun
        warming.join()
        assert answers == [5] and 0.5 < waited < 5
        # Past the warm-up, a call that finds the process busy is told so at once, as before.
        worker = threading.Thread(target=pool.run, args=(time.sleep, 1.0), kwargs={"timeout_s": 10})
        worker.start()
        time.sleep(0.3)
        with pytest.raises(SolverBusy):
            pool.run(operator.add, 1, 1, timeout_s=10)
        worker.join()
    finally:
        pool.close()


def test_the_wait_for_a_warm_up_counts_against_the_call_and_ends_when_its_client_leaves() -> None:
    import threading

    pool = SolverPool(1, niceness=0, wait_s=0.2)
    release = threading.Event()
    try:
        pool.warm()

        def warm_up() -> None:
            with pool.warming():
                release.wait(10)

        warming = threading.Thread(target=warm_up)
        warming.start()
        time.sleep(0.1)
        begun = time.monotonic()
        with pytest.raises(TimeLimitExceeded, match="waiting for the warm-up"):
            pool.run(operator.add, 1, 1, timeout_s=0.6)
        assert time.monotonic() - begun < 2
        gone = threading.Event()
        threading.Timer(0.3, gone.set).start()
        begun = time.monotonic()
        with pytest.raises(Cancelled):
            pool.run(operator.add, 1, 1, timeout_s=30, cancelled=gone)
        assert time.monotonic() - begun < 2
        release.set()
        warming.join()
        assert pool.run(operator.add, 1, 1, timeout_s=10) == 2
    finally:
        release.set()
        pool.close()
