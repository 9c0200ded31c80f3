"""Engines and sessions as the server uses them: a fixed pool, and reads without a transaction."""

from __future__ import annotations

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from geo.settings import Settings
from geo.store import db

pytestmark = pytest.mark.db


def test_read_sessions_leave_no_transaction_open(test_settings: Settings) -> None:
    engine = db.make_engine(test_settings)
    try:
        with db.make_read_session_factory(engine)() as session:
            assert session.execute(text("SELECT count(*) FROM station")).scalar_one() > 0
            driver = session.connection().connection.driver_connection
            assert driver.info.transaction_status == TransactionStatus.IDLE  # no BEGIN was sent
        with db.make_session_factory(engine)() as session:  # the write path still opens one
            session.execute(text("SELECT 1"))
            driver = session.connection().connection.driver_connection
            assert driver.info.transaction_status == TransactionStatus.INTRANS
    finally:
        engine.dispose()


def test_pool_is_fixed_without_overflow(test_settings: Settings) -> None:
    engine = db.make_engine(test_settings.model_copy(update={"db_pool_size": 2}))
    engine.pool._timeout = 0.2  # type: ignore[attr-defined]  # wait briefly, not 30 s
    try:
        held = [engine.connect() for _ in range(2)]
        with pytest.raises(PoolTimeout):  # a third request waits for one of the two, none is opened
            engine.connect()
        held.pop().close()
        with engine.connect() as connection:  # the returned connection is reused
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
        assert engine.pool.checkedin() == 1 and engine.pool.size() == 2
        held.pop().close()
    finally:
        engine.dispose()
