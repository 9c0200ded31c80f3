"""The nearest stations to a point, by true distance in metres.

PostGIS's KNN operator ``<->`` walks the GiST index in planar degree order, which is fast but
not the order of distances on the ground (a degree of longitude is shorter than one of
latitude). So a batch is taken in KNN order, ranked by geodesic distance, and the batch is
widened until no station outside it could be nearer than the last one kept.
"""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
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
            limit: int = 5) -> pd.DataFrame:
    """Open stations nearest to (lon, lat) WGS-84, nearest first, with ``distance_m`` and ``open_now``.

    With ``open_at``, only stations open at that moment (by their hours, in ``timezone``) are
    kept; ``open_now`` is computed either way (None when the hours are unknown).
    """
    now = open_at or datetime.now().astimezone()
    batch = max(4 * limit, 20)
    while True:
        rows = pd.read_sql(_SQL, session.connection(), params={
            "lon": lon, "lat": lat, "type_code": type_code, "amenities": list(amenities), "batch": batch})
        rows["open_now"] = [hours.is_open_in_zone(hours.from_json(value), now, timezone)
                            for value in rows["opening_hours"]]
        kept = rows[rows["open_now"].eq(True)] if open_at is not None else rows
        kept = kept.sort_values(["distance_m", "id"]).head(limit)
        exhausted = len(rows) < batch
        if exhausted or (len(kept) == limit and kept["distance_m"].max() <= _reach_m(rows, lat)):
            return kept.drop(columns="knn_deg").reset_index(drop=True)
        batch *= 4


def _reach_m(rows: pd.DataFrame, lat: float) -> float:
    """A distance no station beyond the batch can beat: its KNN degrees times the fewest metres
    a degree can hold here (longitude near the pole side of the batch)."""
    furthest_deg = float(rows["knn_deg"].max())
    fewest = _M_PER_DEGREE * math.cos(math.radians(min(abs(lat) + furthest_deg, 89.0)))
    return furthest_deg * min(fewest, _M_PER_DEGREE)
