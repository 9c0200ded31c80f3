"""Stations read by id in one statement, for a bulk import that changes the ones a file names.

A file of 10 000 rows must not mean 10 000 round trips to learn which rows change which
station: :func:`stored_by_id` reads them all at once, deleted ones included (an import may not
write over a deleted station; it has to be restored first, with its history).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.store.counting import STATION
from geo.store.scope import in_scope
from geo.store.stations import WRITABLE


def stored_by_id(session: Session, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """id → the stored station: ``version``, ``deleted`` (bool), the ``WRITABLE`` fields, ``lon``, ``lat`` (WGS-84).

    Ids with no station of the session's region are absent from the result.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    statement = (select(STATION.c.id, STATION.c.version, STATION.c.deleted_at.is_not(None).label("deleted"),
                        *(STATION.c[name] for name in WRITABLE),
                        func.ST_X(STATION.c.geom).label("lon"), func.ST_Y(STATION.c.geom).label("lat"))
                 .where(STATION.c.id.in_(wanted), in_scope(STATION, session)))
    return {int(row["id"]): dict(row) for row in session.execute(statement).mappings()}
