"""``unionmap db start|stop|status``: the private PostGIS cluster, or the database of ``DATABASE_URL``."""

from __future__ import annotations

import typer

from geo.cli.common import console, fail
from geo.errors import UnionmapError
from geo.settings import get_settings
from geo.store import cluster, db

db_app = typer.Typer(help="数据库 / the database (private PostGIS cluster or DATABASE_URL)", no_args_is_help=True)


@db_app.command("start")
def db_start() -> None:
    """启动私有数据库并迁移 / start the private cluster (if used), create the database, migrate."""
    settings = get_settings()
    try:
        started = False if settings.database_url else cluster.start(settings)
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
