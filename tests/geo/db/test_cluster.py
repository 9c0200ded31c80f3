"""The private cluster: a second start is harmless, status tells the truth, stop is clean."""

import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from geo.settings import Settings
from geo.store import cluster, db

pytestmark = pytest.mark.db


def test_second_start_is_harmless_and_status_reports_running(databases) -> None:  # noqa: ANN001
    settings = databases.settings
    assert cluster.start(settings) is False  # already running for the test session
    status = cluster.status(settings)
    assert status.initialised and status.running
    with psycopg.connect(cluster.conninfo(settings)) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)


def test_data_folder_belongs_to_an_unprivileged_user(databases) -> None:  # noqa: ANN001
    data_dir = cluster.status(databases.settings).data_dir
    owner = data_dir.stat().st_uid
    assert owner != 0
    if os.geteuid() != 0:
        assert owner == os.geteuid()


def test_a_fresh_cluster_initialises_starts_and_stops() -> None:
    # Not tmp_path: pytest keeps it in a folder only root may enter, and the cluster runs as postgres.
    state = Path("/tmp") / f"unionmap-test-cluster-{os.getpid()}"
    settings = Settings(database_url=None, state_dir=state)
    try:
        assert cluster.start(settings) is True
        assert cluster.start(settings) is False
        engine = db.prepare(settings)
        with engine.connect() as connection:
            tables = set(connection.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").scalars())
        engine.dispose()
        assert {"station", "region", "station_history", "target", "service_type"} <= tables
        assert cluster.stop(settings) is True
        assert cluster.status(settings).running is False
        assert cluster.stop(settings) is False
        assert not (cluster.status(settings).data_dir / "postmaster.pid").exists()
    finally:
        cluster.remove(settings)
        subprocess.run(["rm", "-rf", str(state)], check=False)


def test_database_url_setting_is_used_as_given() -> None:
    settings = Settings(database_url="postgresql://u:p@db.example:5433/x")
    assert db.database_url(settings) == "postgresql+psycopg://u:p@db.example:5433/x"
