"""Read URLs and LSNs as the replica routing reads them (no database)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api.cli import app
from geo.settings import Settings, get_settings
from geo.store import db, wal


def test_read_urls_split_between_urls_not_inside_a_multi_host_one() -> None:
    given = ("postgresql://u@/d?host=/a,/b&port=5432,5432&target_session_attrs=prefer-standby, "
             "postgres://u@replica2:5432/d")
    assert db.read_database_urls(Settings(read_database_url=given)) == [
        "postgresql+psycopg://u@/d?host=/a,/b&port=5432,5432&target_session_attrs=prefer-standby",
        "postgresql+psycopg://u@replica2:5432/d"]
    assert db.read_database_urls(Settings(read_database_url=None)) == []
    assert db.read_database_urls(Settings(read_database_url="  ")) == []


def test_a_multi_host_url_reaches_libpq_with_every_host_and_port() -> None:
    from sqlalchemy import create_engine

    url = "postgresql+psycopg://u@/d?host=/a,/b&port=5432,5433&target_session_attrs=read-write"
    engine = create_engine(url)
    _, params = engine.dialect.create_connect_args(engine.url)
    assert (params["host"], params["port"], params["target_session_attrs"]) == ("/a,/b", "5432,5433", "read-write")


@pytest.mark.parametrize(("given", "expected"), [
    ("0/3000148", "0/3000148"), (" 16/b374d848 ", "16/B374D848"), ("FFFFFFFF/FFFFFFFF", "FFFFFFFF/FFFFFFFF"),
    (None, None), ("", None), ("0/", None), ("1/2/3", None), ("123456789/0", None), ("0/1; DROP", None)])
def test_only_an_lsn_is_taken_from_a_cookie_or_header(given: str | None, expected: str | None) -> None:
    assert wal.parse_lsn(given) == expected


def test_replica_commands_refuse_with_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/x")
    get_settings.cache_clear()
    try:
        answer = CliRunner().invoke(app, ["db", "replica", "start"])
    finally:
        get_settings.cache_clear()
    assert answer.exit_code == 2 and "DATABASE_URL" in answer.output
