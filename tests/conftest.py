"""Database fixtures: a fresh PostGIS database per test run, a rolled-back transaction per test.

The database runs on the project's own private cluster (the code that serves the app), or on
the server of ``UNIONMAP_TEST_DATABASE_URL`` when given. Tests never skip for want of a
database: if it cannot start, the run fails and says why.

Every test that uses the database (its fixtures all rest on ``databases``) is marked ``db``
here, so that ``pytest -m "not db"`` runs the rest with no database and without the test extras
(httpx, beautifulsoup4, schemathesis, owslib, playwright): nothing here imports them at module
level, and test modules import them where they are used or skip (``pytest.importorskip``).
A run that selects database tests is a full run: without the extras it stops before it starts.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import get_read_session, get_session
from geo.settings import Settings, get_settings
from geo.store import cluster, db

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def _own_siting_files() -> None:
    """Siting instances the tests build go to a folder of this run, not the checkout's
    .state/cache/siting: their grids would push a developer's own instances out (set before any
    settings are read; servers the tests start inherit it)."""
    import atexit
    import shutil
    import tempfile

    if "UNIONMAP_SITING_FILES_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="unionmap-test-siting-")
        os.environ["UNIONMAP_SITING_FILES_DIR"] = folder
        atexit.register(shutil.rmtree, folder, True)


_own_siting_files()
BROWSER_DIR = Path(__file__).resolve().parent / "browser"
TEST_EXTRAS = {"httpx": "httpx", "bs4": "beautifulsoup4", "schemathesis": "schemathesis", "owslib": "owslib",
               "playwright": "playwright"}  # module: package (pyproject.toml, [project.optional-dependencies] test)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``db`` every test that uses the database, ``browser`` every test under tests/browser/.

    The fixtures that reach the database (test_settings, engine, session, client, scratch_settings,
    live_server, the browser's page) all rest on ``databases``: a test whose fixture closure holds
    it uses the database. A module's own fixture of one of those names (the ``client`` of a small
    app in test_security_headers.py) does not rest on it, and its tests stay pure.
    """
    for item in items:
        if "databases" in getattr(item, "fixturenames", ()) and item.get_closest_marker("db") is None:
            item.add_marker(pytest.mark.db)
        if item.path.is_relative_to(BROWSER_DIR) and item.get_closest_marker("browser") is None:
            item.add_marker(pytest.mark.browser)


def pytest_collection_finish(session: pytest.Session) -> None:
    """A run with database tests is a full run: without the test extras it stops here and says so
    (rather than skip modules, or start a database for tests that cannot run)."""
    missing = [package for module, package in TEST_EXTRAS.items() if importlib.util.find_spec(module) is None]
    if missing and any(item.get_closest_marker("db") for item in session.items):
        pytest.exit(f"the database tests need the test extras, missing: {', '.join(missing)}; install them "
                    "(scripts/setup.sh --test, or pip install -e '.[test]') or run pytest -m 'not db'",
                    returncode=pytest.ExitCode.USAGE_ERROR)


class Databases:
    """Creates and drops throw-away databases on the test server."""

    def __init__(self) -> None:
        self.base_url = os.environ.get("UNIONMAP_TEST_DATABASE_URL")
        self.settings = Settings(database_url=None)
        self.started_cluster = False
        if not self.base_url:
            self.started_cluster = cluster.start(self.settings)

    def url(self, name: str) -> str:
        if self.base_url:
            return make_url(db.database_url(Settings(database_url=self.base_url))).set(
                database=name).render_as_string(hide_password=False)
        return cluster.url(self.settings, name)

    def create(self, name: str) -> str:
        if self.base_url:
            self.drop(name)
            with self._admin() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            engine = create_engine(self.url(name))
            with engine.begin() as connection:
                connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
            engine.dispose()
        else:
            cluster.drop_database(self.settings, name)
            cluster.create_database(self.settings, name)
        return self.url(name)

    def drop(self, name: str) -> None:
        if self.base_url:
            with self._admin() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            cluster.drop_database(self.settings, name)

    def _admin(self):  # noqa: ANN202 - a connection context manager
        engine = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        return engine.connect()

    def close(self) -> None:
        if self.started_cluster:
            cluster.stop(self.settings)


@pytest.fixture(scope="session")
def databases() -> Iterator[Databases]:
    manager = Databases()
    yield manager
    manager.close()


def load_jiujiang(settings: Settings) -> None:
    """Load the default region and its demo registry with the CLI's own code path."""
    from typer.testing import CliRunner

    from api.cli import app

    runner = CliRunner()
    for command in (["load", "reference"], ["load", "demo", "--seed", "7"]):
        result = runner.invoke(app, command, env={"DATABASE_URL": settings.database_url or ""})
        assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def test_settings(databases: Databases) -> Iterator[Settings]:
    """Settings of the session's database, holding Jiujiang and the demo registry."""
    name = f"unionmap_test_{os.getpid()}"
    url = databases.create(name)
    # No solver process at each test app's start (a plan starts one when it needs it).
    settings = Settings(database_url=url, data_dir=DATA_DIR, region="jiujiang", solver_warm_at_start=False,
                        trusted_hosts=["testserver"])  # TestClient's Host
    get_settings.cache_clear()
    load_jiujiang(settings)
    get_settings.cache_clear()
    yield settings
    databases.drop(name)


@pytest.fixture(scope="session")
def engine(test_settings: Settings) -> Iterator[Engine]:
    engine = db.make_engine(test_settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back: tests may commit."""
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint",
                          expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


@pytest.fixture
def client(test_settings: Settings, session: Session) -> Iterator[TestClient]:
    """The app on the test database, every request in the test's transaction."""
    from fastapi.testclient import TestClient  # needs httpx, a test extra

    app = create_app(test_settings)
    app.dependency_overrides[get_session] = lambda: session
    app.dependency_overrides[get_read_session] = lambda: session
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def scratch_settings(databases: Databases, monkeypatch: pytest.MonkeyPatch,
                     tmp_path: Path) -> Iterator[Settings]:
    """An empty, migrated database of its own, for tests of commands that commit."""
    name = f"unionmap_scratch_{os.getpid()}"
    url = databases.create(name)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("UNIONMAP_DATA_DIR", str(DATA_DIR))
    get_settings.cache_clear()
    settings = Settings(database_url=url, data_dir=DATA_DIR)
    db.prepare(settings).dispose()
    yield settings
    get_settings.cache_clear()
    databases.drop(name)


def write_synthetic_region(data_dir: Path, name: str = "synthetic") -> Path:
    """A small second region (two counties, five townships) in the files a city would supply."""
    import json
    import shutil

    folder = data_dir / name
    folder.mkdir(parents=True)
    shutil.copy(DATA_DIR / "service_types.yaml", data_dir / "service_types.yaml")
    shutil.copy(DATA_DIR / "amenities.yaml", data_dir / "amenities.yaml")

    def square(west: float, east: float) -> dict:
        ring = [[west, 30.0], [east, 30.0], [east, 30.1], [west, 30.1], [west, 30.0]]
        return {"type": "Polygon", "coordinates": [ring]}

    counties = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"dm": "990001", "mc": "甲县"}, "geometry": square(116.0, 116.1)},
        {"type": "Feature", "properties": {"dm": "990002", "mc": "乙县"}, "geometry": square(116.1, 116.2)},
    ]}
    (folder / "counties.geojson").write_text(json.dumps(counties, ensure_ascii=False), encoding="utf-8")
    (folder / "townships.csv").write_text(
        "code,county_code,name\n990001001,990001,东街道\n990001100,990001,甲镇\n990001200,990001,乙乡\n"
        "990002100,990002,丙镇\n990002500,990002,丁林场\n", encoding="utf-8")
    (folder / "seats.csv").write_text(
        "code,lon,lat\n990001001,,\n990001100,116.03,30.05\n990001200,116.08,30.02\n"
        "990002100,116.15,30.05\n990002500,,\n", encoding="utf-8")
    (folder / "population.csv").write_text(
        "code,pop,urban\n990001,100000,0.6\n990002,50000,0.3\n", encoding="utf-8")
    (folder / "region.yaml").write_text("""
code: "990000"
name_zh: 示例市
name_en: Synthetic
counties: {file: counties.geojson, crs: wgs84, code_field: dm, name_field: mc, source: test}
townships: {file: townships.csv, source: test}
seats: {files: [seats.csv], crs: wgs84}
population: {file: population.csv, code_field: code, population_field: pop, urban_share_field: urban}
derivation: {street_ring_radius_m: 1000}
targets: targets.yaml
demo: demo.yaml
""", encoding="utf-8")
    (folder / "targets.yaml").write_text("""
targets:
  - {code: rest_county, type: love_station, scope: county, kind: count, threshold: 2,
     deadline: 2030-12-31, source_quote: 每县至少两家}
""", encoding="utf-8")
    (folder / "demo.yaml").write_text("""
stations:
  love_station: {count: 6, placement: population}
  workers_home: {count: 3, placement: per_township}
""", encoding="utf-8")
    return folder


@pytest.fixture
def synthetic_region(tmp_path: Path) -> Path:
    """Folder of region folders holding the synthetic region ``synthetic``."""
    data_dir = tmp_path / "data"
    write_synthetic_region(data_dir)
    return data_dir


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(test_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served by ``unionmap serve`` (two worker processes, as shipped) on the session's
    database; yields its base URL.

    A separate process, because clients such as GDAL block a threaded server in the same process.
    """
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    log = tmp_path_factory.mktemp("uvicorn") / "server.log"
    env = os.environ | {"DATABASE_URL": test_settings.database_url or "", "UNIONMAP_DATA_DIR": str(DATA_DIR),
                        "UNIONMAP_REGION": test_settings.region, "NO_PROXY": "127.0.0.1,localhost",
                        "UNIONMAP_HEADER_TIMEOUT_S": "2",  # short, so the slow-client drill is quick
                        "UNIONMAP_EXACT_STOP_GRACE_S": "1",  # short, so a cancelled plan job ends quickly
                        # long, so that a session a request left idle in its transaction is still
                        # there for the abandoned-request drill to find
                        "UNIONMAP_DB_IDLE_IN_TRANSACTION_TIMEOUT_S": "120"}
    with log.open("wb") as output:
        process = subprocess.Popen([str(Path(sys.executable).parent / "unionmap"), "serve",
                                    "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                                   env=env, cwd=DATA_DIR.parent, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"uvicorn exited with {process.returncode}:\n{log.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"uvicorn did not answer within 60 s:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
