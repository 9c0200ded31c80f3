"""Reads on a hot standby, against real servers: a primary and its synchronous standby (clusters of
their own under /var/tmp, stopped at the end), served by ``unionmap serve`` with libpq multi-host
URLs (``geo.store.replica.urls``).

- the primary is killed mid read storm: no read fails; writes answer 503 + Retry-After;
  ``unionmap db promote`` makes writes work again; every acknowledged write is on the promoted server;
- read-your-writes: with the standby's replay paused, a read carrying the write's LSN cookie sees
  the write (served by the primary after the bounded wait), one without it does not (the standby);
- the standby dies: a write is not acknowledged (503) once its wait for the standby is cancelled;
- every read route (finder, stations, regions, OGC, maps) answers from the standby alone.

Run them alone: ``pytest -m replica``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from geo.settings import Settings
from geo.store import cluster, replica
from geo.store.keys import create_key
from tests.api.test_drills import wait_for

httpx = pytest.importorskip("httpx")  # a test extra

pytestmark = [pytest.mark.db, pytest.mark.clients, pytest.mark.replica]

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
UNIONMAP = str(Path(sys.executable).parent / "unionmap")
XUNYANG = (115.99, 29.71)
NEAREST = "/api/v1/stations/nearest?lon=115.99&lat=29.71&type=love_station"
OGC_ITEMS = "/ogc/collections/love_station/items?limit=20"


@dataclass
class Pair:
    """A primary, its standby and the app serving both."""

    settings: Settings
    env: dict[str, str]
    base: str
    key: str
    log: Path

    def write(self, client: httpx.Client, name: str) -> httpx.Response:
        return client.post("/api/v1/stations", headers={"Authorization": f"Bearer {self.key}"}, json={
            "type": "Feature", "geometry": {"type": "Point", "coordinates": list(XUNYANG)},
            "properties": {"type_code": "love_station", "name": name}})

    def promote(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run([UNIONMAP, "db", "promote"], env=self.env | {"DATABASE_URL": ""}, capture_output=True,
                              text=True)


@dataclass
class Template:
    """A stopped primary holding Jiujiang, the demo registry and an editor key, copied for each test
    (a copy takes a second; loading takes most of half a minute on a busy machine)."""

    base_dir: Path
    data_dir: Path
    key: str


def environment(settings: Settings) -> dict[str, str]:
    env = os.environ | {"UNIONMAP_STATE_DIR": str(settings.state_dir), "UNIONMAP_DATA_DIR": str(DATA_DIR),
                        "UNIONMAP_DATABASE_NAME": "replica", "UNIONMAP_RETRY_AFTER_S": "1",
                        "UNIONMAP_SOLVER_WARM_AT_START": "false", "NO_PROXY": "127.0.0.1,localhost"}
    env.pop("DATABASE_URL", None)
    return env


def private_settings(base_dir: Path) -> Settings:
    return Settings(database_url=None, state_dir=base_dir / "state", data_dir=DATA_DIR, database_name="replica")


def stop_servers(settings: Settings, *folders: Path) -> None:
    for folder in folders:
        if (folder / "postmaster.pid").exists():
            cluster.run_binary(settings, "pg_ctl", "-D", folder, "-m", "immediate", "stop", check=False)


@pytest.fixture(scope="module")
def template() -> Iterator[Template]:
    # A folder the clusters' unprivileged owner can reach (pytest's own temporary folder is 0700).
    base_dir = Path(tempfile.mkdtemp(prefix="unionmap-replica-", dir="/var/tmp"))
    base_dir.chmod(0o755)
    settings = private_settings(base_dir / "template")
    try:
        cluster.start(settings)
        cluster.create_database(settings, "replica")
        for command in (["load", "reference"], ["load", "demo", "--seed", "7"]):
            subprocess.run([UNIONMAP, *command], env=environment(settings), check=True, capture_output=True)
        with Session(create_engine(cluster.url(settings))) as session:
            key = create_key(session, name="副本演练", role="editor")
            session.commit()
        cluster.stop(settings)
        yield Template(base_dir, cluster.data_dir(settings), key)
    finally:
        stop_servers(settings, cluster.data_dir(settings))
        shutil.rmtree(base_dir, ignore_errors=True)


@pytest.fixture
def pair(template: Template, request: pytest.FixtureRequest) -> Iterator[Pair]:
    """A copy of the template as primary, its synchronous standby, and ``unionmap serve`` on both."""
    settings = private_settings(template.base_dir / request.node.name)
    env = environment(settings)
    process = None
    try:
        settings.state_dir.mkdir(parents=True)
        settings.state_dir.chmod(0o755)
        subprocess.run(["cp", "-a", str(template.data_dir), str(settings.pg_data_dir)], check=True)
        cluster.start(settings)
        replica.start(settings, synchronous=True)
        write_url, read_url = replica.urls(settings)
        port = cluster_free_port()
        log = settings.state_dir / "server.log"
        server_env = env | {"DATABASE_URL": write_url, "UNIONMAP_READ_DATABASE_URL": read_url,
                            "UNIONMAP_SYNCHRONOUS_COMMIT_WAIT_S": "2"}  # a write waiting for a dead standby: 2 s
        with log.open("wb") as output:
            process = subprocess.Popen([UNIONMAP, "serve", "--port", str(port), "--workers", "1"], env=server_env,
                                       stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/api/v1/health")
        yield Pair(settings, env, base, template.key, log)
    finally:
        if process is not None:
            for stop in (signal.SIGTERM, signal.SIGKILL):
                os.killpg(process.pid, stop)  # the server and its job runner: its own process group
                with suppress(subprocess.TimeoutExpired):
                    process.wait(20)
                    break
        stop_servers(settings, replica.data_dir(settings), cluster.data_dir(settings))
        shutil.rmtree(settings.state_dir, ignore_errors=True)


def cluster_free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ReadStorm:
    """Readers of the finder and an OGC page, counting every outcome, until stopped."""

    base: str
    outcomes: Counter[str]
    stop: threading.Event
    threads: list[threading.Thread]

    @classmethod
    def start(cls, base: str, readers: int = 4) -> ReadStorm:
        storm = cls(base, Counter(), threading.Event(), [])
        lock = threading.Lock()

        def read(number: int) -> None:
            path = NEAREST if number % 2 else OGC_ITEMS
            with httpx.Client(base_url=base, timeout=10) as client:
                while not storm.stop.is_set():
                    try:
                        answer = client.get(path)
                        status = answer.status_code
                        outcome = f"{status}" + ("" if status == 200 else f" {answer.text[:200]}")
                    except httpx.HTTPError as error:
                        outcome = type(error).__name__
                    with lock:
                        storm.outcomes[outcome] += 1

        storm.threads = [threading.Thread(target=read, args=(n,)) for n in range(readers)]
        for thread in storm.threads:
            thread.start()
        return storm

    def finish(self) -> Counter[str]:
        self.stop.set()
        for thread in self.threads:
            thread.join()
        return self.outcomes


def stored_names(url: str, ids: list[int]) -> dict[int, str]:
    engine: Engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(text("SELECT id, name FROM station WHERE id = ANY(:ids)"),
                                           {"ids": ids}).all())
    finally:
        engine.dispose()


READ_ROUTES = ["/", "/finder", "/api/v1/health", NEAREST, "/api/v1/stations?type=love_station", "/api/v1/stations/1",
               "/api/v1/stations/1/history", "/api/v1/regions?level=county", "/api/v1/regions/at?lon=115.99&lat=29.71",
               "/ogc", "/ogc/collections", "/ogc/collections/love_station", "/ogc/collections/love_station/queryables",
               OGC_ITEMS, "/ogc/collections/love_station/items/1", "/ogc/collections/love_station/tiles",
               "/maps/stations", "/maps/coverage", "/maps/gaps", "/maps/gaps.xlsx", "/maps/station/1"]


def test_every_read_route_answers_from_the_standby_alone(pair: Pair) -> None:
    """The read session runs on the standby, where any write (even a temporary table) fails: each
    read route answers 200 with the primary stopped (no fallback possible)."""
    cluster.run_binary(pair.settings, "pg_ctl", "-D", cluster.data_dir(pair.settings), "-m", "fast", "stop")
    with httpx.Client(base_url=pair.base, timeout=120) as client:
        answers = {path: client.get(path) for path in READ_ROUTES}
    failed = {path: (answer.status_code, answer.text[:300]) for path, answer in answers.items()
              if answer.status_code != 200}
    assert not failed
    assert "read-only transaction" not in pair.log.read_text(errors="replace")


def test_the_primary_dies_mid_read_storm_reads_go_on_writes_503_then_promote(pair: Pair) -> None:
    acknowledged: dict[int, str] = {}
    with httpx.Client(base_url=pair.base, timeout=10) as writer:
        storm = ReadStorm.start(pair.base)
        for number in range(15):  # writes while the storm reads
            answer = pair.write(writer, f"副本站 {number}")
            assert answer.status_code == 201, answer.text
            acknowledged[answer.json()["id"]] = f"副本站 {number}"
        time.sleep(1)
        cluster.run_binary(pair.settings, "pg_ctl", "-D", cluster.data_dir(pair.settings), "-m", "immediate", "stop")
        killed_at = storm.outcomes.total()
        time.sleep(3)
        refused = pair.write(writer, "主库已停 / primary down")
        reads = storm.finish()
        assert reads.total() - killed_at > 20, reads  # the storm went on reading after the kill
        assert set(reads) == {"200"}, reads  # not one read failed

        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == "1"
        assert "数据库暂时不可用" in refused.json()["detail"] and "unavailable" in refused.json()["detail"]

        promoted = pair.promote()
        assert promoted.returncode == 0, promoted.stdout + promoted.stderr
        assert "promoted" in promoted.stdout
        deadline, after = time.monotonic() + 10, None
        while time.monotonic() < deadline:  # the pool drops connections the kill left dead, libpq finds the new primary
            after = pair.write(writer, "提升之后 / after promotion")
            if after.status_code != 503:
                break
            time.sleep(float(after.headers["Retry-After"]))
        assert after is not None and after.status_code == 201, after.text if after else None
        assert writer.get(NEAREST).status_code == 200 and writer.get(OGC_ITEMS).status_code == 200
    # Every write acknowledged before the kill is on the promoted server, as acknowledged.
    promoted_url = f"postgresql+psycopg://postgres@/replica?host={replica.socket_dir(pair.settings)}&port=5432"
    assert stored_names(promoted_url, list(acknowledged)) == acknowledged
    assert "Traceback" not in pair.log.read_text(errors="replace")


def test_read_your_writes_with_the_standbys_replay_paused(pair: Pair) -> None:
    with psycopg.connect(replica.conninfo(pair.settings, "replica"), autocommit=True) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        with httpx.Client(base_url=pair.base, timeout=10) as client:
            written = pair.write(client, "读己之写 / read your writes")
            assert written.status_code == 201, written.text
            lsn = written.headers["X-Unionmap-LSN"]
            assert client.cookies["unionmap_lsn"] == lsn
            station = f"/api/v1/stations/{written.json()['id']}"

            begun = time.monotonic()
            own = client.get(station)  # the cookie: the standby is behind, so after 0.5 s the primary answers
            waited = time.monotonic() - begun
            assert own.status_code == 200
            assert own.json()["features"][0]["properties"]["name"] == "读己之写 / read your writes"
            assert waited >= 0.5
            with httpx.Client(base_url=pair.base, timeout=10) as stranger:  # no cookie: the standby, behind
                assert stranger.get(station).status_code == 404
                assert stranger.get(station, headers={"X-Unionmap-LSN": lsn}).status_code == 200  # the header too

            standby.execute("SELECT pg_wal_replay_resume()")
            deadline = time.monotonic() + 5
            while standby.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone() != (True,):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            begun = time.monotonic()
            assert client.get(station).status_code == 200  # the standby has it now: no wait
            assert time.monotonic() - begun < 0.5


def test_a_write_the_dead_standby_did_not_confirm_is_not_acknowledged(pair: Pair) -> None:
    # An unplanned loss: the standby dies without turning synchronous replication off.
    cluster.run_binary(pair.settings, "pg_ctl", "-D", replica.data_dir(pair.settings), "-m", "immediate", "stop")
    with httpx.Client(base_url=pair.base, timeout=30) as client:
        begun = time.monotonic()
        answer = pair.write(client, "无人确认 / unconfirmed")
        waited = time.monotonic() - begun
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "1"
        assert "同步备库未确认" in answer.json()["detail"] and "not acknowledged" in answer.json()["detail"]
        assert 2 <= waited < 10  # it waited for the standby until the guard cancelled the wait (2 s here)
        # Reads go on: the read URL falls back to the primary when no standby answers.
        assert client.get(NEAREST).status_code == 200
