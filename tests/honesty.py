"""The township position facts of a loaded database, read with plain SQL (the tests' oracle of
``geo.store.regions.position_unknown``): which seat rules mean "placed without a seat"."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.notices import Notice, approximate_notice

# placed without a seat, and still on the derived boundary (official polygons make the position known)
UNKNOWN_SQL = "boundary_is_approximate AND seat_rule IN ('street_ring', 'farthest_point', 'kmeans')"


def township_counts(session: Session) -> tuple[int, int]:
    """(townships placed without a seat, all townships)."""
    row = session.execute(text(f"SELECT count(*) FILTER (WHERE {UNKNOWN_SQL}), count(*) FROM region "
                               "WHERE level = 'township'")).one()
    return int(row[0]), int(row[1])


def unknown_codes(session: Session) -> set[str]:
    """Codes of the townships placed without a seat."""
    return set(session.execute(text(f"SELECT code FROM region WHERE {UNKNOWN_SQL}")).scalars())


def boundary_notice(session: Session) -> Notice:
    """The boundary notice that is true of the database's townships."""
    return approximate_notice(*township_counts(session))
