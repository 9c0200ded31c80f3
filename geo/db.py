"""Engines, sessions and the database's life cycle (private cluster or ``DATABASE_URL``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from geo import cluster
from geo.settings import Settings


def database_url(settings: Settings) -> str:
    """URL of the database to use: ``DATABASE_URL`` if set, else the private cluster's."""
    if settings.database_url:
        url = settings.database_url
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url
    return cluster.url(settings)


def make_engine(settings: Settings, url: str | None = None) -> Engine:
    """Engine for the configured database (no connection is opened yet).

    No ping before each checkout (it costs every request a round trip): a connection the
    server dropped fails one statement, SQLAlchemy then discards the whole pool and the next
    request reconnects; idle connections are renewed after half an hour. A fixed pool, no
    overflow (see ``Settings.db_pool_size``).
    """
    return create_engine(url or database_url(settings), pool_recycle=1800, pool_size=settings.db_pool_size,
                         max_overflow=0)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Session factory; sessions do not expire objects on commit (API responses read them)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reads only, in autocommit: no BEGIN and no ROLLBACK round trip per request,
    and psycopg keeps its prepared statements (a rollback would clear them)."""
    return sessionmaker(bind=engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)


def migrate(connection: Connection) -> None:
    """Bring the schema to the newest Alembic revision on this connection."""
    config = Config()
    config.set_main_option("script_location", "geo:migrations")
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


def set_actor(session: Session, actor: str) -> None:
    """Name who makes the changes of this transaction (read by the history trigger)."""
    session.execute(text("SELECT set_config('unionmap.actor', :actor, true)"), {"actor": actor})


@contextmanager
def session_scope(settings: Settings, *, actor: str = "cli") -> Iterator[Session]:
    """One transaction for a CLI command: commit on success, roll back on any error."""
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session, session.begin():
            set_actor(session, actor)
            yield session
    finally:
        engine.dispose()
