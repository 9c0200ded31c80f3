"""A local hot standby of the private cluster, with PostgreSQL's own streaming replication.

``start`` copies the running primary with ``pg_basebackup -R`` (which writes ``standby.signal``
and ``primary_conninfo``) into ``pgdata-replica`` beside the primary's data folder, and creates a
physical replication slot (``unionmap_replica``) so the primary keeps every WAL segment the standby
has not received yet, however long it is stopped (the price: the primary's ``pg_wal`` grows while
the standby is down; ``remove`` drops the slot). The standby runs as the same unprivileged user as
the primary, on a Unix socket of its own, with ``hot_standby`` (it answers reads) and
``hot_standby_feedback`` (the primary's vacuum waits for rows a standby query still reads, so
such queries are not cancelled).

Nothing acknowledged is lost, by synchronous replication: with ``synchronous=True`` (the
default) the primary names the standby in ``synchronous_standby_names`` (its ``cluster_name``
is the ``application_name`` of its WAL receiver) with ``synchronous_commit = on``, so a COMMIT
returns only once the standby has flushed the commit record to its disk. The price, said
plainly: while the standby is down, every write on the primary waits (reads do not), and
nothing in PostgreSQL ends that wait (the statement time-out does not cover a commit). The API
cancels it after ``synchronous_commit_wait_s`` (``api.replicas``): the transaction then stays
committed on the primary alone, and the write is answered 503 (not acknowledged), never 2xx.
A command (``unionmap import``, say) waits until the standby is back or replication is turned off.
``stop`` turns synchronous replication off before it stops the standby, so a planned stop never
blocks writes; after an unplanned loss, ``unionmap db replica stop`` (or ``start --async``) lets
writes through again, unprotected until the standby is back.

``promote`` ends recovery (``pg_ctl promote``): the standby becomes a primary that takes writes.
It refuses while the private primary still runs (two primaries would both take writes). The old
primary must not be started again afterwards: its WAL has diverged; make it a new standby.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from geo.settings import Settings
from geo.store import cluster
from geo.store.cluster import PORT, SUPERUSER, ClusterError

# The standby's cluster_name, hence its WAL receiver's application_name (what
# synchronous_standby_names and pg_stat_replication name), and its replication slot.
APPLICATION_NAME = "unionmap_replica"
# Command-line settings outrank postgresql.auto.conf, which pg_basebackup copies from the primary:
# an empty synchronous_standby_names keeps a promoted standby from waiting for a standby of its own.
STANDBY_OPTIONS = ("-c hot_standby=on", "-c hot_standby_feedback=on", f"-c cluster_name={APPLICATION_NAME}",
                   "-c synchronous_standby_names=''")
STREAMING_WAIT_S = 60.0


@dataclass(frozen=True)
class ReplicaStatus:
    """Where the standby lives, whether it runs and streams, and how far behind it is."""

    data_dir: Path
    socket_dir: Path
    initialised: bool
    running: bool
    in_recovery: bool | None  # False once promoted; None when it does not run
    streaming: bool  # the primary's pg_stat_replication shows it streaming
    sync_state: str | None  # "sync" (commits wait for it), "async", or None when not connected
    primary_lsn: str | None  # pg_current_wal_lsn() of the primary, when it runs
    received_lsn: str | None  # pg_last_wal_receive_lsn() of the standby
    replay_lsn: str | None  # pg_last_wal_replay_lsn() of the standby
    lag_bytes: int | None  # WAL not yet replayed: primary's position (else received) minus replayed
    replay_lag_s: float | None  # pg_stat_replication.replay_lag (None when idle or unknown)


def data_dir(settings: Settings) -> Path:
    """The standby's data folder, beside the primary's."""
    return cluster.data_dir(settings).parent / "pgdata-replica"


def socket_dir(settings: Settings) -> Path:
    """Directory of the standby's Unix socket."""
    return cluster.socket_dir_for(data_dir(settings))


def conninfo(settings: Settings, database: str = "postgres") -> str:
    """libpq connection string of the standby (administrative connections)."""
    return f"host={socket_dir(settings)} port={PORT} user={SUPERUSER} dbname={database}"


def urls(settings: Settings, database: str | None = None) -> tuple[str, str]:
    """The write URL and the read URL for an app served by this primary and standby.

    libpq multi-host URLs, so no code of ours chooses a server: writes go to whichever of the two
    accepts them (``target_session_attrs=read-write``: the primary, after ``promote`` the
    standby); reads to the standby while it is one, else to any that answers (``prefer-standby``).
    """
    name = database or settings.database_name
    primary, standby = cluster.socket_dir(settings), socket_dir(settings)
    base = f"postgresql+psycopg://{SUPERUSER}@/{name}?port={PORT},{PORT}&host="
    return (f"{base}{primary},{standby}&target_session_attrs=read-write",
            f"{base}{standby},{primary}&target_session_attrs=prefer-standby")


def _running(settings: Settings) -> bool:
    folder = data_dir(settings)
    return (folder / "PG_VERSION").exists() and cluster.run_binary(
        settings, "pg_ctl", "-D", folder, "status", check=False).returncode == 0


def _primary(settings: Settings) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(cluster.conninfo(settings), autocommit=True)


def start(settings: Settings, *, synchronous: bool = True) -> bool:
    """Copy the primary (first time), start the standby, wait until it streams, then set
    synchronous replication on or off; return False if the standby already ran."""
    if not cluster.status(settings).running:
        raise ClusterError("主库未运行，请先 unionmap db start / the primary does not run: unionmap db start first")
    folder = data_dir(settings)
    started = not _running(settings)
    if started:
        if not (folder / "PG_VERSION").exists():
            _base_backup(settings, folder)
        elif not (folder / "standby.signal").exists():
            raise ClusterError(f"{folder} 已提升为主库，不能再作备库 / was promoted and is a primary now: "
                               "unionmap db replica remove, then start, makes a new standby")
        cluster.start_server(settings, folder, *STANDBY_OPTIONS)
    _wait_streaming(settings)
    # Only once it streams: naming a standby that is not connected would make every commit wait.
    set_synchronous(settings, synchronous)
    return started


def _base_backup(settings: Settings, folder: Path) -> None:
    """``pg_basebackup -R`` of the running primary into ``folder``, with a fresh replication slot."""
    cluster.make_owned_dir(settings, folder)
    _drop_slot(settings)  # a slot left by a removed standby would hold WAL for nobody
    try:
        cluster.run_binary(settings, "pg_basebackup", "-D", folder, "-h", cluster.socket_dir(settings),
                           "-p", str(PORT), "-U", SUPERUSER, "-R", "-X", "stream", "-c", "fast",
                           "-C", "-S", APPLICATION_NAME)
    except ClusterError:
        shutil.rmtree(folder, ignore_errors=True)
        _drop_slot(settings)
        raise
    # The primary keeps its socket (and the socket's lock file) and its log in its data folder:
    # the copy would refuse to start on the lock file and begin with the primary's log.
    for copied in (f".s.PGSQL.{PORT}.lock", "server.log"):
        (folder / copied).unlink(missing_ok=True)


def _drop_slot(settings: Settings) -> None:
    with _primary(settings) as connection:
        connection.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                           "WHERE slot_name = %s AND NOT active", (APPLICATION_NAME,))


def _replication_row(settings: Settings) -> tuple[object, ...] | None:
    """The primary's pg_stat_replication row of the standby: state, sync_state, replay lag (s), and
    its position and lag in bytes; None when the standby is not connected."""
    with _primary(settings) as connection:
        return connection.execute(
            "SELECT r.state, r.sync_state, extract(epoch FROM r.replay_lag)::float8, pg_current_wal_lsn()::text, "
            "pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint "
            "FROM pg_stat_replication r WHERE r.application_name = %s", (APPLICATION_NAME,)).fetchone()


def _wait_streaming(settings: Settings, *, sync_state: str | None = None) -> None:
    deadline = time.monotonic() + STREAMING_WAIT_S
    while True:
        row = _replication_row(settings)
        if row is not None and row[0] == "streaming" and sync_state in (None, row[1]):
            return
        if time.monotonic() > deadline:
            log_tail = (data_dir(settings) / "server.log").read_text(errors="replace")[-2000:]
            raise ClusterError(f"备库未在 {STREAMING_WAIT_S:g} 秒内开始流复制 / the standby did not stream within "
                               f"{STREAMING_WAIT_S:g} s (pg_stat_replication: {row}):\n{log_tail}")
        time.sleep(0.1)


def set_synchronous(settings: Settings, synchronous: bool) -> None:
    """Make the primary's commits wait for the standby (or stop waiting), and wait until it does.

    ``ALTER SYSTEM`` on the primary, then a reload; ``synchronous_commit = on`` (the default) means
    the standby has flushed the commit to disk before the client hears "committed".
    """
    with _primary(settings) as connection:
        if synchronous:
            connection.execute(sql.SQL("ALTER SYSTEM SET synchronous_standby_names = {}").format(
                sql.Literal(f'"{APPLICATION_NAME}"')))
            connection.execute("ALTER SYSTEM SET synchronous_commit = 'on'")
        else:
            connection.execute("ALTER SYSTEM RESET synchronous_standby_names")
        connection.execute("SELECT pg_reload_conf()")
    if synchronous:
        _wait_streaming(settings, sync_state="sync")


def check_primary_may_start(settings: Settings) -> None:
    """Refuse to start the private primary once its standby was promoted: its WAL has diverged,
    and two primaries would both take writes."""
    folder = data_dir(settings)
    if (folder / "PG_VERSION").exists() and not (folder / "standby.signal").exists():
        raise ClusterError(f"备库 {folder} 已提升为主库，旧主库不能再启动 / the standby was promoted: this old "
                           "primary is stale and must not take writes again. Serve from the promoted one, or "
                           "`unionmap db replica remove` to discard it and keep this primary")


def reconcile_after_primary_start(settings: Settings) -> str | None:
    """After the primary starts: with no standby left (removed while the primary was down), stop
    waiting for one; with a synchronous standby that does not run, return a warning to print
    (every write waits until it runs)."""
    with _primary(settings) as connection:
        row = connection.execute("SELECT current_setting('synchronous_standby_names') <> ''").fetchone()
    if not (row and row[0]):
        return None
    if not (data_dir(settings) / "PG_VERSION").exists():
        set_synchronous(settings, False)
        return None
    if _running(settings):
        return None
    return ("同步备库未运行，写入将等待它 / the synchronous standby does not run: every write waits until "
            "`unionmap db replica start` (or `unionmap db replica stop`, which turns synchronous replication off)")


def stop(settings: Settings) -> bool:
    """Stop the standby (fast shutdown), turning synchronous replication off first so no write
    waits for it; return False if it did not run."""
    if cluster.status(settings).running:
        set_synchronous(settings, False)
    if not _running(settings):
        return False
    cluster.run_binary(settings, "pg_ctl", "-D", data_dir(settings), "-m", "fast", "-w", "stop")
    return True


def remove(settings: Settings) -> None:
    """Stop the standby, drop its replication slot and delete its data folder."""
    stop(settings)
    if cluster.status(settings).running:
        _drop_slot(settings)
    shutil.rmtree(data_dir(settings), ignore_errors=True)


def promote(settings: Settings) -> bool:
    """Promote the standby to a primary (``pg_ctl promote``, waiting until it takes writes);
    return False if it was one already."""
    if cluster.status(settings).running:
        raise ClusterError("主库仍在运行，提升备库会产生两个主库 / the primary still runs: promoting now would make "
                           "two primaries take writes; stop it first (unionmap db stop)")
    current = status(settings)
    if not current.running:
        raise ClusterError("备库未运行 / the standby does not run: unionmap db replica start")
    if not current.in_recovery:
        return False
    cluster.run_binary(settings, "pg_ctl", "-D", current.data_dir, "-w", "-t", "60", "promote")
    return True


def status(settings: Settings) -> ReplicaStatus:
    """The standby's state, as the standby and (when it runs) the primary see it."""
    folder = data_dir(settings)
    running = _running(settings)
    in_recovery = received = replayed = None
    standby_lag = None
    if running:
        with psycopg.connect(conninfo(settings), autocommit=True) as connection:
            row = connection.execute(
                "SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn()::text, pg_last_wal_replay_lsn()::text, "
                "pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint").fetchone()
            assert row is not None  # one row, always
            in_recovery, received, replayed, standby_lag = row
    primary_row = _replication_row(settings) if cluster.status(settings).running else None
    state, sync_state, replay_lag_s, primary_lsn, primary_lag = primary_row or (None,) * 5
    lag = primary_lag if primary_lag is not None else standby_lag
    return ReplicaStatus(folder, socket_dir(settings), (folder / "PG_VERSION").exists(), running,
                         in_recovery if running else None, state == "streaming",
                         sync_state if isinstance(sync_state, str) else None,
                         primary_lsn if isinstance(primary_lsn, str) else None, received, replayed,
                         int(lag) if isinstance(lag, int) else None,
                         float(replay_lag_s) if isinstance(replay_lag_s, float) else None)
