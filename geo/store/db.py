"""Engines, sessions and the database's life cycle (private cluster or ``DATABASE_URL``)."""

from __future__ import annotations

import re
import select
from typing import TYPE_CHECKING, Any, cast

import psycopg
from sqlalchemy import Connection, Engine, Executable, create_engine, event, make_url, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from geo.settings import Settings
from geo.store import cluster

if TYPE_CHECKING:
    import geopandas as gpd


def database_url(settings: Settings) -> str:
    """URL of the database to use: ``DATABASE_URL`` if set, else the private cluster's."""
    if settings.database_url:
        return _with_driver(settings.database_url)
    return cluster.url(settings)


def _with_driver(url: str) -> str:
    """A PostgreSQL URL as SQLAlchemy's psycopg 3 dialect reads it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# Where one read URL ends and the next begins: a comma followed by a scheme (a libpq multi-host URL
# holds commas of its own, host=a,b).
_NEXT_URL = re.compile(r",\s*(?=postgres(?:ql)?(?:\+\w+)?://)")


def read_database_urls(settings: Settings) -> list[str]:
    """The read URLs of ``UNIONMAP_READ_DATABASE_URL`` (none: reads use the primary)."""
    text = (settings.read_database_url or "").strip()
    return [_with_driver(url.strip()) for url in _NEXT_URL.split(text) if url.strip()] if text else []


def make_read_engines(settings: Settings) -> list[Engine]:
    """One server engine per read URL (hot standbys), with the pool and safety nets of the primary's."""
    return [make_engine(settings, url, server=True) for url in read_database_urls(settings)]


# ``application_name`` of the web server's connections (drills and benchmarks look them up by it).
SERVER_APPLICATION = "unionmap-web"


def make_engine(settings: Settings, url: str | None = None, *, server: bool = False) -> Engine:
    """Engine for the configured database (no connection is opened yet).

    A fixed pool, no overflow (see ``Settings.db_pool_size``); a checkout waits at most
    ``db_pool_timeout_s`` (then ``sqlalchemy.exc.TimeoutError``, which the API answers with 503).
    No ping round trip before each checkout: ``_drop_if_closed`` asks the kernel instead whether
    the server has closed the socket (a restart, an administrator's kill, a time-out), so no
    request ever runs on a connection that a database restart left behind.

    ``server=True`` (the web app) adds the server-side safety nets: PostgreSQL ends a statement
    after ``db_statement_timeout_s`` and a session left idle inside a transaction after
    ``db_idle_in_transaction_timeout_s``, whatever happens to the Python side. Commands and
    loaders run without them: loading a region may rightly take minutes.
    """
    url = url or database_url(settings)
    connect_args: dict[str, Any] = {"connect_timeout": settings.db_connect_timeout_s}
    if server:
        connect_args["application_name"] = SERVER_APPLICATION  # how pg_stat_activity shows our sessions
        given = make_url(url).query.get("options", "")  # a DATABASE_URL's own options are kept
        safety_nets = (f"-c statement_timeout={int(settings.db_statement_timeout_s * 1000)} -c "
                       f"idle_in_transaction_session_timeout={int(settings.db_idle_in_transaction_timeout_s * 1000)}")
        connect_args["options"] = f"{given if isinstance(given, str) else ' '.join(given)} {safety_nets}".strip()
    engine = create_engine(url, pool_recycle=1800, pool_size=settings.db_pool_size,
                           max_overflow=0, pool_timeout=settings.db_pool_timeout_s, connect_args=connect_args)
    event.listen(engine, "checkout", _drop_if_closed)
    return engine


def _drop_if_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Refuse a pooled connection whose socket the server has closed; the pool then opens a new one.

    An idle connection has nothing to read: PostgreSQL sends nothing between queries unless it
    is ending the session (a FATAL message, then EOF). A readable socket therefore means the
    connection is dead. ``poll`` with a zero timeout costs microseconds, not a round trip.
    """
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise DisconnectionError("the database closed this connection (restart or time-out)")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Session factory; sessions do not expire objects on commit (API responses read them)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reads only, in autocommit: no BEGIN and no ROLLBACK round trip per request,
    and psycopg keeps its prepared statements (a rollback would clear them)."""
    return sessionmaker(bind=engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)


def migrate(connection: Connection) -> None:
    """Bring the schema to the newest Alembic revision on this connection."""
    # Imported here: alembic and geopandas cost ~0.3 s to import, which every command would pay
    # (``unionmap plan`` needs neither once the schema is current).
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "geo.store:migrations")
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def prepare(settings: Settings) -> Engine:
    """Start the private cluster if needed, create the database and migrate; return an engine.

    Safe to call again: every step checks before it acts.
    """
    if not settings.database_url:
        cluster.start(settings)
        cluster.create_database(settings, settings.database_name)
    engine = make_engine(settings)
    with engine.begin() as connection:
        migrate(connection)
    return engine


def read_geoframe(session: Session, statement: Executable, *, geom_col: str = "geom",
                  params: dict[str, Any] | None = None) -> gpd.GeoDataFrame:
    """A GeoDataFrame of a Core statement or SQL text, read on the session's connection.

    types-geopandas types ``sql`` as ``str`` only; geopandas hands a statement on to
    ``pandas.read_sql``, which takes any SQLAlchemy selectable: the one place that says so.
    """
    import geopandas as gpd

    return gpd.read_postgis(statement, session.connection(), geom_col=geom_col,  # type: ignore[call-overload,no-any-return]
                            params=params)


def allow_idle(session: Session, seconds: float) -> None:
    """Let this transaction idle up to ``seconds`` between statements (an import validating a
    20 MB file in Python between its queries), beyond the server's usual safety net."""
    session.execute(text("SELECT set_config('idle_in_transaction_session_timeout', :ms, true)"),
                    {"ms": str(int(seconds * 1000))})


def set_actor(session: Session, actor: str) -> None:
    """Name who makes the changes of this transaction (read by the history trigger)."""
    session.execute(text("SELECT set_config('unionmap.actor', :actor, true)"), {"actor": actor})


def driver_connection(session: Session) -> psycopg.Connection[Any]:
    """The session's own psycopg connection, in the session's transaction (COPY, the nearest hot path)."""
    return cast("psycopg.Connection[Any]", session.connection().connection.driver_connection)  # the engine is psycopg 3
