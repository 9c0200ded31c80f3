"""The one way a change is committed, for the API and the CLI alike.

A unit of work names who makes the change (the history trigger records it with every row it
copies), commits when the block ends, and rolls back when it raises, so a bad write changes
nothing. Store functions never commit; routers and commands never call ``commit()`` themselves:
they open a unit of work around the service calls that write.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from geo.settings import Settings
from geo.store.db import make_engine, make_session_factory, set_actor
from geo.store.scope import scope_to_named


@contextmanager
def unit_of_work(session: Session, *, actor: str) -> Iterator[Session]:
    """Make the block's writes as ``actor``; commit at its end, roll back if it raises."""
    try:
        set_actor(session, actor)  # transaction-local: it holds until the commit below
        yield session
    except BaseException:
        session.rollback()
        raise
    session.commit()


def end_reads(session: Session) -> None:
    """End the session's read transaction and give its connection back to the pool (before a
    long solve, say); the session starts a new one if used again.

    A commit, although only reads came before: it ends the transaction the same way, and unlike
    a rollback it cannot undo what an enclosing transaction (a test's fixture rows) put there.
    """
    session.commit()


def scope_as_settings(session: Session, settings: Settings) -> None:
    """Scope a command's session to the region the settings name, else to the deployment's default."""
    scope_to_named(session, settings.region if "region" in settings.model_fields_set else None)


@contextmanager
def session_scope(settings: Settings, *, actor: str = "cli") -> Iterator[Session]:
    """A command's own session in one unit of work (engine made and disposed here), scoped to the
    region the settings name (``--region``, ``UNIONMAP_REGION``), else to the deployment's default."""
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session, unit_of_work(session, actor=actor):
            scope_as_settings(session, settings)
            yield session
    finally:
        engine.dispose()
