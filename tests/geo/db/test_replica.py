"""The local hot standby (``geo.store.replica``): a primary and a standby of their own under /var/tmp.

One small cluster pair (no region loaded), walked through its life: start (synchronous), status,
a commit seen on the standby, a planned stop that leaves writes unblocked, promotion refused while
the primary runs, promotion, and the old primary refusing to start again. Run alone: ``pytest -m replica``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from api.cli import app
from geo.settings import Settings, get_settings
from geo.store import cluster, replica

pytestmark = [pytest.mark.db, pytest.mark.replica]


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    base_dir = Path(tempfile.mkdtemp(prefix="unionmap-standby-", dir="/var/tmp"))
    base_dir.chmod(0o755)  # the clusters' unprivileged owner must reach it
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("UNIONMAP_STATE_DIR", str(base_dir / "state"))
    get_settings.cache_clear()
    settings = Settings(database_url=None, state_dir=base_dir / "state")
    try:
        cluster.start(settings)
        cluster.create_database(settings, settings.database_name)
        yield settings
    finally:
        get_settings.cache_clear()
        for folder in (replica.data_dir(settings), cluster.data_dir(settings)):
            if (folder / "postmaster.pid").exists():
                cluster.run_binary(settings, "pg_ctl", "-D", folder, "-m", "immediate", "stop", check=False)
        shutil.rmtree(base_dir, ignore_errors=True)


def primary_setting(settings: Settings, name: str) -> str:
    with psycopg.connect(cluster.conninfo(settings)) as connection:
        row = connection.execute("SELECT current_setting(%s)", (name,)).fetchone()
    assert row is not None
    return str(row[0])


def test_the_standby_streams_synchronously_stops_cleanly_and_is_promoted(settings: Settings) -> None:
    runner = CliRunner()
    started = runner.invoke(app, ["db", "replica", "start"])
    assert started.exit_code == 0, started.output
    assert "target_session_attrs=read-write" in started.output and "prefer-standby" in started.output
    status = replica.status(settings)
    assert (status.running, status.in_recovery, status.streaming, status.sync_state) == (True, True, True, "sync")
    assert (status.data_dir / "standby.signal").exists()
    assert status.data_dir.stat().st_uid == cluster.data_dir(settings).stat().st_uid  # the primary's owner
    assert primary_setting(settings, "synchronous_standby_names") == '"unionmap_replica"'

    # A commit acknowledged by the primary is on the standby's disk; replay follows at once.
    with psycopg.connect(cluster.conninfo(settings, settings.database_name), autocommit=True) as primary:
        primary.execute("CREATE TABLE seen (x int)")
        primary.execute("INSERT INTO seen VALUES (42)")
        row = primary.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        assert row is not None
        lsn = row[0]
    with psycopg.connect(replica.conninfo(settings, settings.database_name), autocommit=True) as standby:
        deadline = time.monotonic() + 5
        while standby.execute("SELECT pg_last_wal_replay_lsn() < %s::pg_lsn", (lsn,)).fetchone() == (True,):
            assert time.monotonic() < deadline, "the standby did not replay the commit within 5 s"
            time.sleep(0.02)
        assert standby.execute("SELECT x FROM seen").fetchall() == [(42,)]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            standby.execute("INSERT INTO seen VALUES (1)")

    shown = runner.invoke(app, ["db", "replica", "status"])
    assert shown.exit_code == 0 and "streaming: True (sync_state: sync)" in shown.output, shown.output

    # A planned stop turns synchronous replication off first: writes do not wait for it.
    assert runner.invoke(app, ["db", "replica", "stop"]).exit_code == 0
    assert primary_setting(settings, "synchronous_standby_names") == ""
    with psycopg.connect(cluster.conninfo(settings, settings.database_name), autocommit=True) as primary:
        primary.execute("SET statement_timeout = '5s'")
        primary.execute("INSERT INTO seen VALUES (43)")  # would hang with a synchronous standby down

    assert runner.invoke(app, ["db", "replica", "start"]).exit_code == 0
    assert replica.status(settings).sync_state == "sync"

    refused = runner.invoke(app, ["db", "promote"])  # two primaries must never take writes
    assert refused.exit_code == 2 and "primary still runs" in refused.output
    cluster.run_binary(settings, "pg_ctl", "-D", cluster.data_dir(settings), "-m", "immediate", "stop")
    promoted = runner.invoke(app, ["db", "promote"])
    assert promoted.exit_code == 0, promoted.output
    with psycopg.connect(replica.conninfo(settings, settings.database_name), autocommit=True) as new_primary:
        new_primary.execute("INSERT INTO seen VALUES (44)")  # takes writes, waits for no standby
        rows = new_primary.execute("SELECT x FROM seen ORDER BY x").fetchall()
    assert rows == [(42,), (43,), (44,)]
    assert replica.status(settings).in_recovery is False

    # The old primary is stale now: it refuses to start.
    again = runner.invoke(app, ["db", "start"])
    assert again.exit_code == 2 and "stale" in again.output, again.output
    assert not cluster.status(settings).running
