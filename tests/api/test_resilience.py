"""The app under abuse and faults: plan limits, key guessing, an absent database, dead connections."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import get_read_session, get_session
from geo.settings import Settings
from geo.store import db
from geo.store.keys import create_key

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

NEAREST = "/api/v1/stations/nearest?lon=115.99&lat=29.71&type=love_station"


@contextmanager
def app_client(settings: Settings, session: Session | None = None) -> Iterator[TestClient]:
    """The app for ``settings``; on the test's session when given (as the ``client`` fixture)."""
    from fastapi.testclient import TestClient  # needs httpx, a test extra

    app = create_app(settings)
    if session is not None:
        app.dependency_overrides[get_session] = lambda: session
        app.dependency_overrides[get_read_session] = lambda: session
    with TestClient(app) as client:
        yield client


def test_exact_plans_need_a_key_and_keyless_plans_are_limited(test_settings: Settings, session: Session) -> None:
    settings = test_settings.model_copy(update={"anonymous_plans_allowed": 2})
    key = {"Authorization": f"Bearer {create_key(session, name='规划', role='reader')}"}
    with app_client(settings, session) as client:
        exact = client.post("/api/v1/plans", json={"add": 2, "method": "exact", "time_limit_s": 5})
        assert exact.status_code == 401 and "exact solver needs an API key" in exact.json()["detail"]
        assert [client.post("/api/v1/plans", json={"add": 2}).status_code for _ in range(3)] == [200, 200, 429]
        refused = client.post("/api/v1/plans", json={"add": 2})
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        keyed = client.post("/api/v1/plans", json={"add": 2}, headers=key)  # a key is not counted
        assert keyed.status_code == 200 and len(keyed.json()["proposals"]) == 2


def test_a_plan_past_its_wall_clock_limit_is_stopped(test_settings: Settings, session: Session) -> None:
    # A plan at full size takes seconds (building the matrix); allow it a fraction of one.
    settings = test_settings.model_copy(update={"plan_time_limit_s": 0.3, "solver_grace_s": 0.0})
    key = {"Authorization": f"Bearer {create_key(session, name='规划', role='reader')}"}
    with app_client(settings, session) as client:
        begun = time.monotonic()
        greedy = client.post("/api/v1/plans", json={"add": 30})
        exact = client.post("/api/v1/plans", json={"add": 30, "method": "exact", "time_limit_s": 0.3}, headers=key)
        plan_map = client.get("/maps/plan", params={"add": 30})
        elapsed = time.monotonic() - begun
    assert plan_map.status_code == 503 and plan_map.headers["Retry-After"]  # the map has no limit of its own
    # The server's own limit (greedy): busy, come back later. An exact plan is a job (its limit holds in
    # the job runner, tests/api/test_plan_jobs.py): queued at once, whatever its limit.
    assert greedy.status_code == 503 and greedy.headers["Retry-After"] and "0.3 s" in greedy.json()["detail"]
    assert exact.status_code == 202, exact.text
    assert elapsed < 10


def test_guessing_keys_is_cut_off_with_one_log_line(test_settings: Settings, session: Session,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    settings = test_settings.model_copy(update={"key_failures_allowed": 3})
    good = {"Authorization": f"Bearer {create_key(session, name='编辑', role='editor')}"}
    with app_client(settings, session) as client, caplog.at_level(logging.WARNING, logger="unionmap.quota"):
        statuses = [client.delete("/api/v1/stations/1", headers={"Authorization": f"Bearer um_x_{n}",
                                                                 "If-Match": '"1"'}).status_code for n in range(5)]
        assert statuses == [401, 401, 401, 429, 429]
        # Even the right key waits out the window: the guesser cannot tell a hit from a miss.
        assert client.delete("/api/v1/stations/1", headers=good | {"If-Match": '"1"'}).status_code == 429
    assert sum("wrong API keys" in record.getMessage() for record in caplog.records) == 1


def test_no_database_means_503_with_retry_after_and_one_log_line(caplog: pytest.LogCaptureFixture,
                                                                 tmp_path) -> None:  # noqa: ANN001
    settings = Settings(database_url=f"postgresql://postgres@/none?host={tmp_path}&port=5432",
                        solver_warm_at_start=False, retry_after_s=7, trusted_hosts=["testserver"])
    with app_client(settings) as client, caplog.at_level(logging.WARNING, logger="unionmap.database"):
        answers = [client.get(NEAREST) for _ in range(5)]
        ogc = client.get("/ogc/collections/love_station/items")
        health = client.get("/api/v1/health")
    assert [answer.status_code for answer in answers] == [503] * 5
    assert all(answer.headers["Retry-After"] == "7" for answer in answers)
    assert "database is unavailable" in answers[0].json()["detail"]
    assert ogc.status_code == 503 and ogc.json()["code"] == "ServiceUnavailable"
    assert health.status_code == 503
    lines = [record.getMessage() for record in caplog.records if record.name == "unionmap.database"]
    assert len(lines) == 1 and "database unreachable" in lines[0], lines


def test_a_connection_the_server_closed_is_never_handed_to_a_request(test_settings: Settings) -> None:
    engine = db.make_engine(test_settings.model_copy(update={"db_pool_size": 1}), server=True)
    admin = db.make_engine(test_settings)
    try:
        with engine.connect() as connection:
            first = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with admin.connect() as connection:  # as a database restart or an administrator would
            assert connection.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first}).scalar_one()
        time.sleep(0.2)
        with engine.connect() as connection:  # the pooled connection is dead: a new one, no error
            second = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second != first
    finally:
        engine.dispose()
        admin.dispose()


def test_the_servers_connections_carry_the_safety_nets(test_settings: Settings) -> None:
    settings = test_settings.model_copy(update={"db_idle_in_transaction_timeout_s": 0.5,
                                                "db_statement_timeout_s": 0.5})
    engine, plain = db.make_engine(settings, server=True), db.make_engine(settings)
    try:
        with engine.connect() as connection:
            shown = connection.execute(text(
                "SELECT current_setting('statement_timeout'), current_setting('application_name')")).one()
            assert tuple(shown) == ("500ms", db.SERVER_APPLICATION)
            with pytest.raises(OperationalError, match="statement timeout"):
                connection.execute(text("SELECT pg_sleep(2)"))
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))  # a transaction is open now ...
            time.sleep(1.0)  # ... and left idle: the server ends the session
            with pytest.raises(DBAPIError, match="idle-in-transaction timeout"):
                connection.execute(text("SELECT 1"))
        with plain.connect() as connection:  # commands and loaders run without them
            assert connection.execute(text("SELECT current_setting('statement_timeout')")).scalar_one() == "0"
    finally:
        engine.dispose()
        plain.dispose()
