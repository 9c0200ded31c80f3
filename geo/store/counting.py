"""Which stations count: the one statement of the rule, imported by every reader.

A station is **live** until it is (soft) deleted: lists, pages and exports show live stations.
A live station **counts** as built (coverage, gaps, the start page, the finder) when it is open;
planned stations count only in a scenario (``include_planned``), optionally only one plan's.
Closed stations never count, and are never **open now** whatever their hours say
(:func:`open_now`; planned ones neither).

Two forms of the same rule: SQLAlchemy expressions for queries built with Core, and SQL text for
the few statements written as text (the nearest search on its raw psycopg hot path, the OGC
pages that PostGIS serialises). The text forms take the table alias from an allow-list, so
nothing but these constants is ever spliced into SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, false, or_

from geo.core import hours
from geo.store.models import Station
from geo.store.sql import fragment

STATION = cast(Table, Station.__table__)
OPEN = "open"  # the one status that counts as built and can be open now


def live(table: Table = STATION) -> ColumnElement[bool]:
    """Not deleted."""
    return table.c.deleted_at.is_(None)


def counted(table: Table = STATION, *, include_planned: bool = False,
            plan_id: int | None = None) -> ColumnElement[bool]:
    """Counts as built: live and open; with ``include_planned`` also planned (of ``plan_id`` only
    when given)."""
    planned: ColumnElement[bool] = false()
    if include_planned:
        planned = table.c.status == "planned"
        if plan_id is not None:
            planned = and_(planned, table.c.plan_id == plan_id)
    return and_(live(table), or_(table.c.status == OPEN, planned))


def live_sql(alias: str) -> str:
    """:func:`live` as SQL text over the station table named ``alias``."""
    return f"{fragment(alias)}.deleted_at IS NULL"


def open_sql(alias: str) -> str:
    """:func:`counted` (no scenario) as SQL text over the station table named ``alias``."""
    return f"{live_sql(alias)} AND {fragment(alias)}.status = '{OPEN}'"


def open_now(status: str, schedule: hours.OpeningHours, local_now: datetime) -> bool | None:
    """Whether a station is open at ``local_now`` (the region's wall-clock time) as riders read it:
    by its hours when its status is open, else False — a closed or planned station with hours
    that say open must not send a rider there. None: open, but its hours are unknown."""
    return hours.is_open(schedule, local_now) if status == OPEN else False


LIVE_S = live_sql("s")  # the station table as ``s``: the aliases every text statement uses
OPEN_S = open_sql("s")
