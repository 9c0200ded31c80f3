"""``unionmap db start|stop|status``: the private PostGIS cluster, or the database of ``DATABASE_URL``;
``unionmap db replica start|stop|status|remove`` and ``db promote``: its local hot standby."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer

from geo.cli.common import console, fail
from geo.errors import UnionmapError
from geo.settings import Settings, get_settings
from geo.store import cluster, db, replica

db_app = typer.Typer(help="数据库 / the database (private PostGIS cluster or DATABASE_URL)", no_args_is_help=True)
T = TypeVar("T")
replica_app = typer.Typer(help="本地热备库 / a local hot standby of the private cluster (streaming replication)",
                          no_args_is_help=True)
db_app.add_typer(replica_app, name="replica")


@db_app.command("start")
def db_start() -> None:
    """启动私有数据库并迁移 / start the private cluster (if used), create the database, migrate."""
    settings = get_settings()
    try:
        started = False
        if not settings.database_url:
            replica.check_primary_may_start(settings)
            started = cluster.start(settings)
            if warning := replica.reconcile_after_primary_start(settings):
                console.print(f"[yellow]{warning}[/]")
        db.prepare(settings).dispose()
    except (cluster.ClusterError, UnionmapError) as error:
        raise fail(error) from error
    where = "DATABASE_URL" if settings.database_url else str(cluster.status(settings).data_dir)
    console.print(f"数据库就绪 / database ready ({where}){'，已启动 / started' if started else ''}")


@db_app.command("stop")
def db_stop() -> None:
    """停止私有数据库 / stop the private cluster (nothing to do with DATABASE_URL)."""
    settings = get_settings()
    if settings.database_url:
        console.print("使用 DATABASE_URL，不需要停止 / using DATABASE_URL: nothing to stop")
        return
    stopped = cluster.stop(settings)
    console.print("已停止 / stopped" if stopped else "未在运行 / was not running")


@db_app.command("status")
def db_status() -> None:
    """数据库状态 / where the database is and whether it runs."""
    settings = get_settings()
    if settings.database_url:
        console.print(f"DATABASE_URL: {db.database_url(settings).split('@')[-1]}")
        return
    status = cluster.status(settings)
    console.print(f"data: {status.data_dir}\nsocket: {status.socket_dir}\n"
                  f"initialised: {status.initialised}\nrunning: {status.running}")
    raise typer.Exit(code=0 if status.running else 3)


def _private_cluster_only(what: str) -> Settings:
    """The settings, when the private cluster is in use; with DATABASE_URL replication is that server's."""
    settings = get_settings()
    if settings.database_url:
        raise fail(UnionmapError(f"{what} 只用于私有数据库；使用 DATABASE_URL 时请在该服务器上配置复制 / {what} is for "
                                 "the private cluster: with DATABASE_URL, set up replication on that server"))
    return settings


def _on_private_cluster(what: str, action: Callable[[Settings], T]) -> tuple[Settings, T]:
    """``action`` on the private cluster's settings; a ClusterError becomes the one-line error exit."""
    settings = _private_cluster_only(what)
    try:
        return settings, action(settings)
    except cluster.ClusterError as error:
        raise fail(error) from error


@replica_app.command("start")
def replica_start(
    asynchronous: Annotated[bool, typer.Option("--async", help=(
        "异步复制：备库宕机时写入不等待，但主库故障可能丢失最近已确认的写入 / asynchronous: writes never wait for "
        "the standby, but the primary's loss may lose the last acknowledged writes"))] = False,
) -> None:
    """启动热备库（首次用 pg_basebackup 复制主库）/ start the hot standby (copied with pg_basebackup the first time)."""
    settings, started = _on_private_cluster("db replica", lambda given: replica.start(
        given, synchronous=not asynchronous))
    write_url, read_url = replica.urls(settings)
    mode = ("异步 / asynchronous" if asynchronous else
            "同步：提交等待备库落盘 / synchronous: every commit waits until the standby has it on disk")
    console.print(f"备库{'已启动' if started else '已在运行'} / standby {'started' if started else 'already running'} "
                  f"({replica.data_dir(settings)}); {mode}\n"
                  f"export DATABASE_URL='{write_url}'\nexport UNIONMAP_READ_DATABASE_URL='{read_url}'", soft_wrap=True)


@replica_app.command("stop")
def replica_stop() -> None:
    """停止热备库（先关闭同步复制，写入不再等待）/ stop the standby (synchronous replication off first)."""
    _, stopped = _on_private_cluster("db replica", replica.stop)
    console.print("备库已停止 / standby stopped" if stopped else "备库未在运行 / the standby was not running")


@replica_app.command("remove")
def replica_remove() -> None:
    """删除热备库及其复制槽 / stop the standby, drop its replication slot, delete its data folder."""
    settings, _ = _on_private_cluster("db replica", replica.remove)
    console.print(f"已删除 / removed {replica.data_dir(settings)}")


@replica_app.command("status")
def replica_status() -> None:
    """热备库状态：是否流复制、回放延迟 / whether the standby streams, and how far behind it is."""
    settings = _private_cluster_only("db replica")
    status = replica.status(settings)
    lag = "?" if status.lag_bytes is None else f"{status.lag_bytes} bytes"
    seconds = "" if status.replay_lag_s is None else f", replay_lag {status.replay_lag_s:.3f} s"
    role = {None: "-", True: "standby (in recovery)", False: "primary (promoted)"}[status.in_recovery]
    console.print(f"data: {status.data_dir}\nsocket: {status.socket_dir}\nrunning: {status.running}\nrole: {role}\n"
                  f"streaming: {status.streaming} (sync_state: {status.sync_state or '-'})\n"
                  f"primary_lsn: {status.primary_lsn or '-'}  received_lsn: {status.received_lsn or '-'}  "
                  f"replay_lsn: {status.replay_lsn or '-'}\nlag: {lag}{seconds}")
    raise typer.Exit(code=0 if status.running else 3)


@db_app.command("promote")
def db_promote() -> None:
    """提升热备库为主库（主库须已停止）/ promote the standby to primary (the primary must be stopped)."""
    settings, promoted = _on_private_cluster("db promote", replica.promote)
    console.print(f"已提升为主库 / promoted: {replica.data_dir(settings)} takes writes now" if promoted
                  else "已是主库 / it is a primary already")
