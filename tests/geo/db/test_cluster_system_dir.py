"""A checkout the cluster's owner cannot reach (under /root, say) keeps its cluster in the system folder.

Only root runs the cluster as another user, so only root can be refused the way (CI runs as root).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from geo.settings import Settings
from geo.store import cluster

pytestmark = [pytest.mark.db, pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the cluster as "
                                                 "another user, so only root can have a folder it cannot reach")]


def folder(mode: int) -> Iterator[Path]:
    """A new folder in /var/tmp (which everybody may enter) with this mode, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="unionmap-cluster-", dir="/var/tmp"))
    path.chmod(mode)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def system_dir() -> Iterator[Path]:
    """A stand-in for /var/lib/unionmap."""
    yield from folder(0o755)


@pytest.fixture
def hidden() -> Iterator[Path]:
    """A home folder only root may enter, as /root on Debian."""
    yield from folder(0o700)


def test_an_unreachable_checkout_gets_a_cluster_of_its_own_in_the_system_folder(
        hidden: Path, system_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(database_url=None, state_dir=hidden / "checkout" / ".state", pg_system_dir=system_dir)
    try:
        with caplog.at_level(logging.WARNING, logger="unionmap.cluster"):
            assert cluster.start(settings) is True
        status = cluster.status(settings)
        assert status.running and status.data_dir == cluster.system_data_dir(settings)
        assert status.data_dir.parent.parent == system_dir and status.data_dir.stat().st_uid != 0
        assert (status.data_dir.parent / "checkout.txt").read_text().strip() == str(settings.state_dir.resolve())
        (line,) = [record.getMessage() for record in caplog.records]
        assert f"cannot reach {settings.state_dir}" in line and str(status.data_dir) in line
        with psycopg.connect(cluster.conninfo(settings)) as connection:
            assert connection.execute("SELECT current_setting('data_directory')").fetchone() == (
                str(status.data_dir),)
        assert not settings.pg_data_dir.exists()
        assert cluster.stop(settings) is True and not cluster.status(settings).running

        hidden.chmod(0o755)  # reachable now: the cluster stays where its data is
        cluster._reachable.cache_clear()
        assert cluster._reachable(settings.pg_os_user, settings.pg_data_dir.resolve())
        assert cluster.status(settings).data_dir == status.data_dir
        other = Settings(database_url=None, state_dir=hidden / "other" / ".state", pg_system_dir=system_dir)
        assert cluster.system_data_dir(other) != status.data_dir  # one folder per checkout
    finally:
        cluster.remove(settings)


def test_a_reachable_checkout_keeps_its_cluster_in_its_state_folder(system_dir: Path) -> None:
    for open_folder in folder(0o755):
        settings = Settings(database_url=None, state_dir=open_folder / ".state", pg_system_dir=system_dir)
        assert cluster.status(settings).data_dir == settings.pg_data_dir.resolve()
