"""The private PostGIS cluster that unionmap runs when no ``DATABASE_URL`` is given.

PostgreSQL refuses to run as root, and sessions and CI run as root: in that case every server
command runs as an unprivileged system user (``settings.pg_os_user``, default ``postgres``)
who owns the data folder. The server listens on a Unix socket only (no TCP port to collide
with another cluster); the socket lives in the data folder, or in ``/tmp`` when that path
would be longer than the 107 bytes a socket path may have.

The data folder is ``<state_dir>/pgdata``, unless that user cannot reach ``state_dir`` (a
checkout under a folder only root may enter, such as ``/root`` on Debian): then it is
``<pg_system_dir>/<hash of state_dir>/pgdata``, one per checkout, and ``start`` says so in one
line. Once a cluster lives there it stays there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import psycopg
from psycopg import sql

from geo.settings import Settings

PORT = 5432
SUPERUSER = "postgres"
_SOCKET_PATH_MAX = 100
# Without logging configured (the CLI), a warning is printed to stderr as its bare message.
log = logging.getLogger("unionmap.cluster")


class ClusterError(RuntimeError):
    """The private cluster could not be set up, started or stopped; the message says why."""


@dataclass(frozen=True)
class ClusterStatus:
    """Where the private cluster lives and whether it runs."""

    data_dir: Path
    socket_dir: Path
    initialised: bool
    running: bool


def _as_root() -> bool:
    return os.geteuid() == 0


def run_binary(settings: Settings, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary, as the unprivileged cluster owner when we are root."""
    command = [str(settings.pg_bin_dir / str(args[0])), *map(str, args[1:])]
    if _as_root():
        command = ["runuser", "-u", settings.pg_os_user, "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, cwd="/")
    if check and result.returncode != 0:
        raise ClusterError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result


def _data_dir(settings: Settings) -> Path:
    """The cluster's data folder: in ``state_dir`` when its owner can reach it, else the system one.

    A cluster already initialised in one place is used there: the choice never moves a cluster's
    data (the system folder is kept even once ``state_dir`` becomes reachable).
    """
    local = settings.pg_data_dir.resolve()
    if not _as_root() or (local / "PG_VERSION").exists():
        return local
    system = system_data_dir(settings)
    if (system / "PG_VERSION").exists() or not _reachable(settings.pg_os_user, local):
        return system
    return local


def system_data_dir(settings: Settings) -> Path:
    """The data folder kept for this checkout under ``pg_system_dir`` (named by a hash of ``state_dir``)."""
    digest = hashlib.sha1(str(settings.state_dir.resolve()).encode()).hexdigest()[:12]
    return settings.pg_system_dir / digest / "pgdata"


@lru_cache(maxsize=32)
def _reachable(user: str, path: Path) -> bool:
    """Whether ``user`` may pass through every folder down to ``path`` (its nearest existing one).

    Asked of the system as that user (``test -x``), so that ACLs and group membership count.
    """
    existing = next(folder for folder in (path, *path.parents) if folder.exists())
    probe = subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(existing)], capture_output=True)
    return probe.returncode == 0


def data_dir(settings: Settings) -> Path:
    """The private cluster's data folder (see the module's docstring for where it lives)."""
    return _data_dir(settings)


def socket_dir(settings: Settings) -> Path:
    """Directory of the cluster's Unix socket."""
    return socket_dir_for(_data_dir(settings))


def socket_dir_for(data_dir: Path) -> Path:
    """Directory of the Unix socket of the server of ``data_dir``: that folder, or one in ``/tmp``
    named by its hash when the socket's path would be too long."""
    if len(str(data_dir / f".s.PGSQL.{PORT}.lock")) <= _SOCKET_PATH_MAX:
        return data_dir
    digest = hashlib.sha1(str(data_dir).encode()).hexdigest()[:12]
    return Path("/tmp") / f"unionmap-{digest}"


def url(settings: Settings, database: str | None = None) -> str:
    """SQLAlchemy URL of a database on the private cluster (socket, trust authentication)."""
    name = database or settings.database_name
    return f"postgresql+psycopg://{SUPERUSER}@/{name}?host={socket_dir(settings)}&port={PORT}"


def make_owned_dir(settings: Settings, path: Path) -> None:
    """Create ``path`` (0700) for the cluster owner, who must be able to reach it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if _as_root():
        owner = pwd.getpwnam(settings.pg_os_user)
        os.chown(path, owner.pw_uid, owner.pw_gid)
        _check_reachable(settings, path)


def _check_reachable(settings: Settings, path: Path) -> None:
    """Fail early, and say what to do, if the cluster owner cannot reach its folder."""
    probe = subprocess.run(
        ["runuser", "-u", settings.pg_os_user, "--", "test", "-w", str(path)], capture_output=True
    )
    if probe.returncode != 0:
        raise ClusterError(
            f"用户 {settings.pg_os_user!r} 无法写入 {path} / user {settings.pg_os_user!r} cannot write {path}: "
            "a parent folder is not searchable by other users. Set UNIONMAP_PG_SYSTEM_DIR or "
            "UNIONMAP_STATE_DIR to a folder such as /var/tmp/unionmap, or DATABASE_URL to an existing server."
        )


def status(settings: Settings) -> ClusterStatus:
    """Report whether the private cluster exists and runs."""
    data_dir = _data_dir(settings)
    initialised = (data_dir / "PG_VERSION").exists()
    running = initialised and run_binary(settings, "pg_ctl", "-D", data_dir, "status", check=False).returncode == 0
    return ClusterStatus(data_dir, socket_dir(settings), initialised, running)


def start(settings: Settings) -> bool:
    """Initialise (first time) and start the private cluster; return False if it already ran."""
    if not (settings.pg_bin_dir / "initdb").exists():
        raise ClusterError(f"PostgreSQL binaries not found in {settings.pg_bin_dir}: run scripts/setup.sh")
    if status(settings).running:
        return False
    data_dir = _data_dir(settings)
    if data_dir != settings.pg_data_dir.resolve():
        log.warning("unionmap: 用户 %s 无法进入 %s，数据库保存在 %s / user %s cannot reach %s: the database "
                    "is kept in %s", settings.pg_os_user, settings.state_dir, data_dir, settings.pg_os_user,
                    settings.state_dir, data_dir)
    if not (data_dir / "PG_VERSION").exists():
        make_owned_dir(settings, data_dir)
        if data_dir == system_data_dir(settings):  # which checkout this folder is for, for whoever finds it
            (data_dir.parent / "checkout.txt").write_text(f"{settings.state_dir.resolve()}\n", encoding="utf-8")
        run_binary(settings, "initdb", "-D", data_dir, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale")
    start_server(settings, data_dir)
    return True


def start_server(settings: Settings, data_dir: Path, *options: str) -> None:
    """Start the server of ``data_dir`` on its own Unix socket (no TCP), with extra ``-c`` options;
    wait until it accepts connections."""
    sockets = socket_dir_for(data_dir)
    if sockets != data_dir:
        make_owned_dir(settings, sockets)
    command_line = " ".join([f"-c listen_addresses='' -c unix_socket_directories='{sockets}' -p {PORT}", *options])
    run_binary(settings, "pg_ctl", "-D", data_dir, "-l", data_dir / "server.log", "-o", command_line, "-w", "-t", "60",
         "start")


def stop(settings: Settings) -> bool:
    """Stop the private cluster (fast shutdown: open sessions are rolled back)."""
    if not status(settings).running:
        return False
    run_binary(settings, "pg_ctl", "-D", _data_dir(settings), "-m", "fast", "-w", "stop")
    return True


def remove(settings: Settings) -> None:
    """Stop the cluster and delete its data folder (everything in it is lost)."""
    stop(settings)
    shutil.rmtree(_data_dir(settings), ignore_errors=True)


def conninfo(settings: Settings, database: str = "postgres") -> str:
    """libpq connection string for psycopg (administrative connections)."""
    return f"host={socket_dir(settings)} port={PORT} user={SUPERUSER} dbname={database}"


def create_database(settings: Settings, name: str) -> bool:
    """Create a database with PostGIS on the private cluster; return False if it existed."""
    with psycopg.connect(conninfo(settings), autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg.connect(conninfo(settings, name), autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return not exists


def drop_database(settings: Settings, name: str) -> None:
    """Drop a database of the private cluster, closing its sessions first."""
    with psycopg.connect(conninfo(settings), autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
