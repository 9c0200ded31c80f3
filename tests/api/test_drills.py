"""Fault drills against real servers: abandoned requests, kill -9, a database outage, slow clients.

The abandoned-request and slow-client drills use the suite's ``live_server`` (two workers, as
shipped). The kill and outage drills need a database they may kill: a private cluster of their
own, loaded with the Jiujiang reference data, served by ``unionmap serve --workers 2``.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from geo.settings import Settings
from geo.store import cluster, db
from geo.store.keys import create_key

httpx = pytest.importorskip("httpx")  # a test extra

pytestmark = [pytest.mark.db, pytest.mark.clients]

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
UNIONMAP = str(Path(sys.executable).parent / "unionmap")
XUNYANG = (115.99, 29.71)


def idle_in_transaction(engine: Engine) -> list[tuple[str, float]]:
    """The web server's connections left idle inside a transaction: (last statement, seconds idle)."""
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            "SELECT query, extract(epoch FROM now() - state_change) FROM pg_stat_activity "
            "WHERE application_name = :app AND state LIKE 'idle in transaction%'"),
            {"app": db.SERVER_APPLICATION})]


def hang_up(base: str, request: bytes, after_s: float) -> None:
    """Send a request and close the connection before reading the answer."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=5) as connection:
        connection.sendall(request)
        time.sleep(after_s)


def get(path: str, host: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


ROUTE_CLASSES = [
    "/api/v1/stations/nearest?lon=115.99&lat=29.71&type=love_station",
    "/api/v1/stations?type=love_station",
    "/api/v1/stations/1",
    "/ogc/collections/love_station/items?limit=50",
    "/api/v1/coverage?level=township",
    "/api/v1/gaps?detail=true",
    "/api/v1/export?format=xlsx",
    "/maps/coverage",
    "/maps/plan?add=5",
]


def patient_get(client: httpx.Client, path: str, patience_s: float = 15) -> httpx.Response:
    """GET as a well-behaved client does: after a 503, wait its Retry-After and ask again."""
    deadline = time.monotonic() + patience_s
    while True:
        answer = client.get(path)
        if answer.status_code != 503 or time.monotonic() > deadline:
            return answer
        time.sleep(float(answer.headers["Retry-After"]))


def test_abandoned_requests_leave_no_session_behind(live_server: str, engine: Engine) -> None:
    host = urlsplit(live_server).netloc
    rng = random.Random(10)
    requests = [get(path, host) for path in ROUTE_CLASSES for _ in range(6)]
    body = b'{"add": 3}'
    requests += [b"POST /api/v1/plans HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body] * 4
    threads = [threading.Thread(target=hang_up, args=(live_server, request, rng.uniform(0, 0.05)))
               for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A request still at work may sit between two statements for a moment; a session left behind
    # stays idle in its transaction (the live server's own time-out for that is 120 s).
    deadline = time.monotonic() + 10
    while (stuck := [row for row in idle_in_transaction(engine) if row[1] > 1.0]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stuck == []
    with httpx.Client(base_url=live_server, timeout=60) as client:  # and everything answers as before
        answers = {path: patient_get(client, path) for path in ROUTE_CLASSES}
    failed = {path: (answer.status_code, answer.text[:300]) for path, answer in answers.items()
              if answer.status_code != 200}
    assert not failed


def test_a_slow_header_client_is_cut_off(live_server: str) -> None:
    """The live server runs with UNIONMAP_HEADER_TIMEOUT_S=2 (see conftest)."""
    address = urlsplit(live_server)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        begun = time.monotonic()
        connection.sendall(b"GET /api/v1/health HTTP/1.1\r\n")
        closed = None
        for _ in range(20):  # a header line now and then, never the blank line that ends them
            try:
                connection.sendall(b"X-Slow: 1\r\n")
                if connection.recv(1, socket.MSG_DONTWAIT) == b"":
                    closed = time.monotonic() - begun
                    break
            except BlockingIOError:
                pass
            except OSError:
                closed = time.monotonic() - begun
                break
            time.sleep(0.5)
    assert closed is not None and 1.5 < closed < 5, closed


def test_an_oversized_upload_is_refused_before_its_body_is_sent(live_server: str) -> None:
    address = urlsplit(live_server)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(f"POST /api/v1/import?format=csv HTTP/1.1\r\nHost: {address.netloc}\r\n"
                           f"Content-Type: text/csv\r\nContent-Length: {60 * 1024 * 1024}\r\n\r\n".encode())
        answer = b""
        while b"limit_bytes" not in answer:  # not one byte of the 60 MB was sent
            answer += connection.recv(4096) or b"limit_bytes (connection closed)"
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"20 MB" in answer


# --- drills on a cluster of their own -------------------------------------------------------------


@dataclass
class Drill:
    settings: Settings
    url: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path
    key: str
    engine: Engine

    def workers(self) -> list[int]:
        """Process ids of the server's worker processes (children of its supervisor)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children
                if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()]

    def postmaster(self) -> int:
        return int((self.settings.pg_data_dir / "postmaster.pid").read_text().split()[0])


def wait_for(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer 200 within {seconds} s")


@pytest.fixture(scope="module")
def drill() -> Iterator[Drill]:
    # A folder the cluster's unprivileged owner can reach (pytest's own temporary folder is 0700).
    base_dir = Path(tempfile.mkdtemp(prefix="unionmap-drill-", dir="/var/tmp"))
    base_dir.chmod(0o755)
    settings = Settings(database_url=None, state_dir=base_dir / "state", data_dir=DATA_DIR, database_name="drill")
    cluster.start(settings)
    url = cluster.url(settings)
    env = os.environ | {"DATABASE_URL": url, "UNIONMAP_DATA_DIR": str(DATA_DIR), "UNIONMAP_RETRY_AFTER_S": "1"}
    process = None
    try:
        cluster.create_database(settings, "drill")
        subprocess.run([UNIONMAP, "load", "reference"], env=env, check=True, capture_output=True)
        engine = db.make_engine(Settings(database_url=url))  # drops connections a kill left dead
        with Session(engine) as session:
            key = create_key(session, name="演练", role="editor")
            session.commit()
        port = socket.socket()
        port.bind(("127.0.0.1", 0))
        number = port.getsockname()[1]
        port.close()
        log = base_dir / "server.log"
        with log.open("wb") as output:
            process = subprocess.Popen([UNIONMAP, "serve", "--port", str(number), "--workers", "2"], env=env,
                                       stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        server = f"http://127.0.0.1:{number}"
        wait_for(f"{server}/api/v1/health")
        yield Drill(settings, url, server, process, log, key, engine)
        engine.dispose()
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        subprocess.run(["runuser", "-u", settings.pg_os_user, "--", str(settings.pg_bin_dir / "pg_ctl"), "-D",
                        str(settings.pg_data_dir), "-m", "immediate", "stop"], capture_output=True)
        subprocess.run(["rm", "-rf", str(base_dir)], check=False)


@dataclass
class Storm:
    """Writers that create stations and rename them with If-Match, recording what was acknowledged."""

    base: str
    key: str
    acknowledged: dict[int, tuple[int, str]] = field(default_factory=dict)  # id → (version, name)
    statuses: Counter[str] = field(default_factory=Counter)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def writer(self, number: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.base, timeout=10, headers=headers) as client:
            mine: list[tuple[int, int]] = []
            step = 0
            while not self.stop.is_set():
                step += 1
                try:
                    if not mine or step % 3 == 0:
                        name = f"演练站 {number}-{step}"
                        answer = client.post("/api/v1/stations", json={"type": "Feature", "geometry": {
                            "type": "Point", "coordinates": list(XUNYANG)},
                            "properties": {"type_code": "love_station", "name": name}})
                        if answer.status_code == 201:
                            mine.append((answer.json()["id"], 1))
                            self.ack(answer.json()["id"], 1, name)
                    else:
                        station, version = mine[-1]
                        name = f"演练站 {number}-{step} 改"
                        answer = client.patch(f"/api/v1/stations/{station}", json={"properties": {"name": name}},
                                              headers={"If-Match": f'"{version}"'})
                        if answer.status_code == 200:
                            mine[-1] = (station, answer.json()["version"])
                            self.ack(station, answer.json()["version"], name)
                        elif answer.status_code == 412:  # an answer lost in the fault: read again
                            mine[-1] = (station, int(answer.headers["ETag"].strip('"')))
                    self.count(str(answer.status_code) + (" + Retry-After" if "retry-after" in answer.headers
                                                          else ""))
                except httpx.HTTPError as error:
                    self.count(type(error).__name__)
                    time.sleep(0.05)

    def ack(self, station: int, version: int, name: str) -> None:
        with self.lock:
            self.acknowledged[station] = (version, name)

    def count(self, outcome: str) -> None:
        with self.lock:
            self.statuses[outcome] += 1

    def __enter__(self) -> Storm:
        self.threads = [threading.Thread(target=self.writer, args=(n,)) for n in range(6)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def assert_nothing_lost(engine: Engine, storm: Storm) -> None:
    """Every acknowledged write is stored, and each station's history holds each of its versions once."""
    assert storm.acknowledged, storm.statuses
    with engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT id, version FROM station WHERE id = ANY(:ids)"),
                                         {"ids": list(storm.acknowledged)}).all())
        history = connection.execute(text(
            "SELECT station_id, array_agg((new_row->>'version')::int ORDER BY id), "
            "(array_agg(new_row->>'name' ORDER BY id DESC))[1] "
            "FROM station_history WHERE station_id = ANY(:ids) GROUP BY station_id"),
            {"ids": list(storm.acknowledged)}).all()
    for station, (version, _) in storm.acknowledged.items():
        assert stored.get(station, 0) >= version, (station, version, stored.get(station))
    for station, versions, last_name in history:
        assert versions == list(range(1, stored[station] + 1)), (station, versions)
        version, name = storm.acknowledged[station]
        if stored[station] == version:
            assert last_name == name


def test_kill_9_of_the_database_during_a_write_storm_loses_nothing(drill: Drill) -> None:
    with Storm(drill.base, drill.key) as storm:
        time.sleep(3)
        os.kill(drill.postmaster(), signal.SIGKILL)
        time.sleep(2)
        for _ in range(20):  # the backends may take a moment to notice their postmaster is gone
            try:
                cluster.start(drill.settings)
                break
            except cluster.ClusterError:
                time.sleep(0.5)
        time.sleep(4)
    statuses = storm.statuses
    assert statuses["201"] > 0 and statuses["200"] > 0, statuses
    unexpected = {name: count for name, count in statuses.items()
                  if name not in ("200", "201", "412", "503 + Retry-After")}
    assert not unexpected, statuses  # no 500, no reset connection, no 503 without Retry-After
    assert_nothing_lost(drill.engine, storm)


def test_kill_9_of_a_worker_during_a_write_storm_loses_nothing(drill: Drill) -> None:
    with Storm(drill.base, drill.key) as storm:
        time.sleep(2)
        victim = drill.workers()[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60  # the supervisor notices (it pings each worker) and starts a new one
        while (victim in drill.workers() or len(drill.workers()) != 2) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert victim not in drill.workers() and len(drill.workers()) == 2, drill.log.read_text()[-2000:]
        time.sleep(2)
    assert not any(name.startswith("5") and name != "503 + Retry-After" for name in storm.statuses), storm.statuses
    assert_nothing_lost(drill.engine, storm)


def test_a_database_outage_is_503_then_normal_without_a_stale_connection(drill: Drill) -> None:
    nearest = "/api/v1/stations/nearest?lon=115.99&lat=29.71&type=love_station"
    with httpx.Client(base_url=drill.base, timeout=10) as client:
        assert all(client.get(nearest).status_code == 200 for _ in range(20))  # pools are warm
        seen = len(drill.log.read_text(errors="replace"))
        cluster.stop(drill.settings)
        during = []
        for _ in range(40):
            begun = time.monotonic()
            answer = client.get(nearest)
            during.append((answer.status_code, answer.headers.get("Retry-After"), time.monotonic() - begun))
        assert {(status, retry) for status, retry, _ in during} == {(503, "1")}
        assert max(seconds for *_, seconds in during) < 2  # fast answers, no hang
        cluster.start(drill.settings)
        after = [client.get(nearest).status_code for _ in range(40)]
    # The first request after the restart already succeeds: no client meets a stale connection.
    assert after == [200] * 40
    log = drill.log.read_text(errors="replace")[seen:]
    assert 1 <= log.count("database unreachable") <= 2, log  # once per worker, not once per request
    assert "Traceback" not in log


def test_twenty_racing_if_match_writers_get_exactly_one_winner(drill: Drill) -> None:
    headers = {"Authorization": f"Bearer {drill.key}"}
    with httpx.Client(base_url=drill.base, timeout=30, headers=headers) as client:
        created = client.post("/api/v1/stations", json={
            "type": "Feature", "geometry": {"type": "Point", "coordinates": list(XUNYANG)},
            "properties": {"type_code": "love_station", "name": "赛跑"}})
        assert created.status_code == 201
        station = created.json()["id"]
    for round_number in range(1, 4):
        outcomes = race_once(drill, headers, station, expected=round_number)
        assert sorted(outcomes) == [200] + [412] * 19, outcomes
    with drill.engine.connect() as connection:
        versions = connection.execute(text(
            "SELECT array_agg((new_row->>'version')::int ORDER BY id) FROM station_history WHERE station_id = :id"),
            {"id": station}).scalar_one()
    assert versions == [1, 2, 3, 4]  # one history row per winning write, none for the losers


def race_once(drill: Drill, headers: dict[str, str], station: int, *, expected: int) -> list[int]:
    """Twenty writers PATCH one station at the same instant, all with ``If-Match: expected``."""
    barrier, outcomes = threading.Barrier(20), []

    def race(writer: int) -> None:
        with httpx.Client(base_url=drill.base, timeout=30, headers=headers) as own:
            barrier.wait()
            answer = own.patch(f"/api/v1/stations/{station}", json={"properties": {"name": f"赛跑 {writer}"}},
                               headers={"If-Match": f'"{expected}"'})
            outcomes.append(answer.status_code)

    threads = [threading.Thread(target=race, args=(writer,)) for writer in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
