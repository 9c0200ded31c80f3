"""Database fixtures: a fresh PostGIS database per test run, a rolled-back transaction per test.

The database runs on the project's own private cluster (the code that serves the app), or on
the server of ``UNIONMAP_TEST_DATABASE_URL`` when given. Tests never skip for want of a
database: if it cannot start, the run fails and says why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import get_session
from geo import cluster, db
from geo.settings import Settings, get_settings

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


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

    from geo.cli import app

    runner = CliRunner()
    for command in (["load", "reference"], ["load", "demo", "--seed", "7"]):
        result = runner.invoke(app, command, env={"DATABASE_URL": settings.database_url or ""})
        assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def test_settings(databases: Databases) -> Iterator[Settings]:
    """Settings of the session's database, holding Jiujiang and the demo registry."""
    name = f"unionmap_test_{os.getpid()}"
    url = databases.create(name)
    settings = Settings(database_url=url, data_dir=DATA_DIR, region="jiujiang")
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
    app = create_app(test_settings)
    app.dependency_overrides[get_session] = lambda: session
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
