"""The nearest-station query's plan: the variants that run prepared may get PostgreSQL's generic
plan, which must still walk the GiST index in KNN order, not scan and sort every station."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.store.nearest import _STATEMENTS

pytestmark = pytest.mark.db

ARGUMENTS = {"lon": "116.0", "lat": "29.6", "type_code": "'love_station'", "batch": "20",
             "regions": "'{360400}'"}


@pytest.mark.parametrize("by_type", [False, True])
def test_generic_plan_walks_the_gist_index(session: Session, by_type: bool) -> None:
    names: list[str] = []

    def number(match: re.Match[str]) -> str:  # psycopg's %(name)s → PREPARE's $n
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    statement = re.sub(r"%\((\w+)\)s", number, _STATEMENTS[(by_type, False)])
    session.execute(text("ANALYZE station"))  # as autovacuum (or the loaders) leave it: the demo's 475 rows
    session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    session.execute(text(f"PREPARE nearest_probe AS {statement}"))
    try:
        plan = "\n".join(session.execute(text(
            f"EXPLAIN EXECUTE nearest_probe({', '.join(ARGUMENTS[name] for name in names)})")).scalars())
    finally:
        session.execute(text("DEALLOCATE nearest_probe"))
    assert "Index Scan using ix_station_geom on station" in plan, plan
    assert "Order By: (geom <->" in plan and "Seq Scan on station" not in plan, plan
