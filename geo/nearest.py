"""The nearest stations to a point, by true distance in metres.

PostGIS's KNN operator ``<->`` walks the GiST index in planar degree order, which is fast but
not the order of distances on the ground (a degree of longitude is shorter than one of
latitude). So a batch is taken in KNN order, ranked by geodesic distance, and the batch is
widened until no station outside it could be nearer than the last one kept.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo import hours

# Metres per degree along a meridian (the shortest way a degree of KNN distance can shrink to).
_M_PER_DEGREE = 110_574.0

_SQL = text("""
    SELECT s.id, s.type_code, t.name_zh AS type_name, s.name, s.address, s.opening_hours,
           s.amenities, s.phone, s.is_demo, s.township_code, s.county_code,
           ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
           ST_Distance(s.geom::geography, p.g::geography) AS distance_m,
           s.geom <-> p.g AS knn_deg
    FROM station s
    JOIN service_type t ON t.code = s.type_code,
         (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g) p
    WHERE s.deleted_at IS NULL AND s.status = 'open'
      AND (CAST(:type_code AS text) IS NULL OR s.type_code = :type_code)
      AND s.amenities @> CAST(:amenities AS text[])
    ORDER BY s.geom <-> p.g
    LIMIT :batch""")


def nearest(session: Session, *, lon: float, lat: float, type_code: str | None = None,
            amenities: tuple[str, ...] = (), open_at: datetime | None = None, timezone: str = "Asia/Shanghai",
            limit: int = 5) -> list[dict[str, Any]]:
    """Open stations nearest to (lon, lat) WGS-84, nearest first, with ``distance_m`` and ``open_now``.

    With ``open_at``, only stations open at that moment (by their hours, in ``timezone``) are
    kept; ``open_now`` is computed either way (None when the hours are unknown). Plain rows, no
    DataFrame: this is the phone finder's hot path.
    """
    now = open_at or datetime.now().astimezone()
    batch = max(4 * limit, 20)
    while True:
        rows = [dict(row) for row in session.execute(_SQL, {
            "lon": lon, "lat": lat, "type_code": type_code, "amenities": list(amenities), "batch": batch,
        }).mappings()]
        rows.sort(key=lambda row: (row["distance_m"], row["id"]))
        kept = []
        for row in rows:  # hours are parsed only as far down the list as needed
            row["open_now"] = hours.is_open_in_zone(hours.from_json(row["opening_hours"]), now, timezone)
            if open_at is None or row["open_now"] is True:
                kept.append(row)
                if len(kept) == limit:
                    break
        exhausted = len(rows) < batch
        if exhausted or (len(kept) == limit and kept[-1]["distance_m"] <= _reach_m(rows, lat)):
            return kept
        batch *= 4


def _reach_m(rows: list[dict[str, Any]], lat: float) -> float:
    """A distance no station beyond the batch can beat: its KNN degrees times the fewest metres
    a degree can hold here (longitude near the pole side of the batch)."""
    furthest_deg = max(float(row["knn_deg"]) for row in rows)
    fewest = _M_PER_DEGREE * math.cos(math.radians(min(abs(lat) + furthest_deg, 89.0)))
    return furthest_deg * min(fewest, _M_PER_DEGREE)
