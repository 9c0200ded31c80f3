"""The nearest stations to a point, by true distance in metres.

PostGIS's KNN operator ``<->`` walks the GiST index in planar degree order, which is fast but
not the order of distances on the ground (a degree of longitude is shorter than one of
latitude). So a batch is taken in KNN order, ranked by geodesic distance, and the batch is
widened until no station outside it could be nearer than the last one kept.

This is the phone finder's hot path: plain rows, hours parsed once per distinct schedule
(:func:`geo.hours.read_stored`), one statement per batch. Whether riders reported a station
closed (``reported_closed``) comes from a set the caller holds in memory
(``geo.services.reports.ReportedClosed``), not from the statement.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from psycopg.rows import dict_row
from sqlalchemy.orm import Session

from geo.core import hours
from geo.store.counting import OPEN_S
from geo.store.db import driver_connection
from geo.store.scope import scope_param

# Metres per degree along a meridian (the shortest way a degree of KNN distance can shrink to).
_M_PER_DEGREE = 110_574.0

_SELECT = f"""
    SELECT s.id, s.type_code, t.name_zh AS type_name, s.name, s.address, s.opening_hours::text AS hours_json,
           s.amenities, s.phone, s.is_demo, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
           ST_Distance(s.geom::geography, p.g::geography) AS distance_m,
           s.geom <-> p.g AS knn_deg
    FROM station s
    JOIN service_type t ON t.code = s.type_code,
         (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g) p
    WHERE {OPEN_S} AND s.region_code = ANY(%(regions)s::text[]) /* filters */
    ORDER BY s.geom <-> p.g
    LIMIT %(batch)s"""
_BY_TYPE = " AND s.type_code = %(type_code)s"
_BY_AMENITIES = " AND s.amenities @> %(amenities)s::text[]"
# One station by id, whatever the filters (a printed card's QR names it); it must still count.
# No KNN order: the primary key finds it.
_ONE = _SELECT.split("ORDER BY")[0].replace("/* filters */", " AND s.id = %(station_id)s")
# Only the filters asked for, each variant its own statement: PostgreSQL's generic plan for an
# ``x IS NULL OR …`` filter scans and sorts every station (see :func:`_fetch`).
_STATEMENTS = {
    (False, False): _SELECT,
    (True, False): _SELECT.replace("/* filters */", _BY_TYPE),
    (False, True): _SELECT.replace("/* filters */", _BY_AMENITIES),
    (True, True): _SELECT.replace("/* filters */", _BY_TYPE + _BY_AMENITIES),
}


def _fetch(session: Session, params: dict[str, Any], statement: str | None = None) -> list[dict[str, Any]]:
    """Rows as dicts, on the session's own psycopg connection (same transaction): on this hot
    path SQLAlchemy's statement machinery cost more CPU than the query itself.

    Prepared (parsed and planned once per connection) unless amenities are asked for: the
    generic plan of ``amenities @> $n`` guesses one matching row and sorts instead of walking
    the GiST index, so that variant is planned for its actual values each time.
    """
    by_amenities = bool(params["amenities"])
    statement = statement or _STATEMENTS[(params["type_code"] is not None, by_amenities)]
    driver = driver_connection(session)
    with driver.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(statement, params, prepare=not by_amenities).fetchall()


def nearest(session: Session, *, lon: float, lat: float, type_code: str | None = None,
            amenities: tuple[str, ...] = (), open_at: datetime | None = None, timezone: str = "Asia/Shanghai",
            limit: int = 5, flagged: Collection[int] = frozenset(), first: int | None = None,
            ) -> list[dict[str, Any]]:
    """Open stations nearest to (lon, lat) WGS-84, nearest first, with ``distance_m``, ``open_now``,
    ``opening_hours_text`` and ``reported_closed`` (its id is in ``flagged``).

    With ``open_at``, only stations open at that moment (by their hours, in ``timezone``) are
    kept; ``open_now`` is computed either way (None when the hours are unknown). With ``first``,
    that station comes first whatever the filters (a printed station card's QR opens the finder
    on it), when it still counts as open; the others fill the rest of ``limit``.
    """
    local_now = (open_at or datetime.now().astimezone()).astimezone(ZoneInfo(timezone))
    params = {"lon": lon, "lat": lat, "type_code": type_code, "amenities": list(amenities)} | scope_param(session)
    kept = _nearest(session, params, local_now, open_at is not None, limit)
    if first is not None:
        pinned = _fetch(session, params | {"station_id": first, "batch": 1, "amenities": []}, _ONE)
        for row in pinned:
            _read_hours(row, local_now)
        kept = (pinned + [row for row in kept if row["id"] != first])[:limit]
    for row in kept:
        row["reported_closed"] = row["id"] in flagged
    return kept


def _read_hours(row: dict[str, Any], local_now: datetime) -> None:
    schedule, row["opening_hours_text"] = hours.read_stored(row.pop("hours_json"))
    row["open_now"] = hours.is_open(schedule, local_now)


def _nearest(session: Session, params: dict[str, Any], local_now: datetime, only_open: bool,
             limit: int) -> list[dict[str, Any]]:
    """The search itself: batches in KNN order, widened until the ``limit`` nearest are certain."""
    batch = max(4 * limit, 20)
    while True:
        rows = _fetch(session, params | {"batch": batch})
        rows.sort(key=lambda row: (row["distance_m"], row["id"]))
        kept = []
        for row in rows:  # hours are looked at only as far down the list as needed
            _read_hours(row, local_now)
            if not only_open or row["open_now"] is True:
                kept.append(row)
                if len(kept) == limit:
                    break
        exhausted = len(rows) < batch
        if exhausted or (len(kept) == limit and kept[-1]["distance_m"] <= _reach_m(rows, params["lat"])):
            return kept
        batch *= 4


def _reach_m(rows: list[dict[str, Any]], lat: float) -> float:
    """A distance no station beyond the batch can beat: its KNN degrees times the fewest metres
    a degree can hold here (longitude near the pole side of the batch)."""
    furthest_deg = max(float(row["knn_deg"]) for row in rows)
    fewest = _M_PER_DEGREE * math.cos(math.radians(min(abs(lat) + furthest_deg, 89.0)))
    return furthest_deg * min(fewest, _M_PER_DEGREE)
