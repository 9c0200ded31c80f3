"""Station rows: the registry's writes (optimistic locking), history, demo rows, and the counted
stations that coverage and the gaps read.

Written with SQLAlchemy Core on the ``station`` table. Positions go in as EWKT with full float
precision (``repr``), so what a writer sends is what is stored. The database's triggers set the
county and township, bump the version and record every change in ``station_history``; these
functions only say what changes, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import pandas as pd
from sqlalchemy import BigInteger, Table, and_, func, insert, literal, select, text, union_all, update
from sqlalchemy.orm import Session

from geo.store.counting import STATION, counted, live
from geo.store.models import StationHistory
from geo.store.scope import city_of, in_scope

# The columns a writer sets (everything else is the database's: id, codes, version, times).
WRITABLE = ("type_code", "name", "address", "status", "opening_hours", "amenities", "phone",
            "managing_union", "is_demo", "source")


def point_ewkt(lon: float, lat: float) -> str:
    """A WGS-84 point as EWKT; ``repr`` keeps every digit of the floats."""
    return f"SRID=4326;POINT({float(lon)!r} {float(lat)!r})"


def insert_stations(session: Session, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert stations (``WRITABLE`` values, ``lon``, ``lat`` and an optional ``id``); their ids in order.

    Explicit ids (an export imported again) are kept, and the id sequence moved past them.
    """
    ids = []
    region = city_of(session)
    for row in rows:
        values = {name: row[name] for name in WRITABLE} | {"geom": point_ewkt(row["lon"], row["lat"]),
                                                           "region_code": region}
        if row.get("id") is not None:
            values["id"] = row["id"]
        ids.append(int(session.execute(insert(STATION).values(values).returning(STATION.c.id)).scalar_one()))
    if any(row.get("id") is not None for row in rows):
        highest = select(func.greatest(func.max(STATION.c.id), 1)).scalar_subquery()
        session.execute(select(func.setval(func.pg_get_serial_sequence("station", "id"), highest)))
    return ids


def live_station(session: Session, station_id: int) -> dict[str, Any] | None:
    """The stored station (not deleted): id, version, ``WRITABLE`` fields, lon and lat; or None."""
    row = session.execute(
        select(STATION.c.id, STATION.c.version, *(STATION.c[name] for name in WRITABLE),
               func.ST_X(STATION.c.geom).label("lon"), func.ST_Y(STATION.c.geom).label("lat"))
        .where(STATION.c.id == station_id, live(), in_scope(STATION, session))).mappings().one_or_none()
    return None if row is None else dict(row)


def live_version(session: Session, station_id: int) -> int | None:
    """The version of a live station, or None if there is none with that id."""
    version = session.scalar(select(STATION.c.version).where(STATION.c.id == station_id, live(),
                                                             in_scope(STATION, session)))
    return None if version is None else int(version)


def update_station(session: Session, station_id: int, values: Mapping[str, Any], lon: float, lat: float, *,
                   expected_version: int) -> int | None:
    """Replace a live station's ``WRITABLE`` fields and position if it is at ``expected_version``.

    The new version, or None when the station is gone or someone changed it first.
    """
    changes = {name: values[name] for name in WRITABLE} | {"geom": point_ewkt(lon, lat)}
    return _versioned(session, station_id, expected_version, changes)


def soft_delete(session: Session, station_id: int, *, expected_version: int) -> int | None:
    """Mark a live station deleted if it is at ``expected_version`` (row and history stay).

    The new version, or None when the station is gone or someone changed it first.
    """
    return _versioned(session, station_id, expected_version, {"deleted_at": func.now()})


def restore(session: Session, station_id: int, *, expected_version: int) -> int | None:
    """Bring a soft-deleted station back if it is at ``expected_version``: a new version, and a
    history row like any change (the trigger writes it, as the transaction's actor).

    The new version, or None when there is no such deleted station at that version.
    """
    return _versioned(session, station_id, expected_version, {"deleted_at": None}, deleted=True)


def put_back(session: Session, station_id: int, values: Mapping[str, Any], *, expected_version: int) -> int | None:
    """Set some of a station's columns to values read from its history, at ``expected_version``.

    ``values`` holds ``WRITABLE`` columns, ``geom`` (a GeoJSON point, as the history keeps it) and
    ``deleted_at`` (None brings the station back, anything else deletes it now). Without
    ``deleted_at`` only a live station is changed; with it, whichever state it is in.
    The new version, or None when the station is gone or at another version.
    """
    changes: dict[str, Any] = {name: values[name] for name in WRITABLE if name in values}
    if "geom" in values:
        lon, lat = values["geom"]["coordinates"][:2]
        changes["geom"] = point_ewkt(lon, lat)
    if "deleted_at" in values:
        changes["deleted_at"] = None if values["deleted_at"] is None else func.now()
    return _versioned(session, station_id, expected_version, changes, deleted=None if "deleted_at" in values else False)


def station_state(session: Session, station_id: int, *, lock: bool = False) -> tuple[int, bool] | None:
    """A station's version and whether it is deleted, live or not; None if no row has that id.

    ``lock``: hold the row until the transaction ends (a change read from the history first).
    """
    statement = select(STATION.c.version, STATION.c.deleted_at.is_not(None)).where(
        STATION.c.id == station_id, in_scope(STATION, session))
    row = session.execute(statement.with_for_update() if lock else statement).one_or_none()
    return None if row is None else (int(row[0]), bool(row[1]))


def _versioned(session: Session, station_id: int, expected_version: int, changes: dict[str, Any], *,
               deleted: bool | None = False) -> int | None:
    """Update a station at ``expected_version``: a live one (``deleted`` False), a deleted one (True), either (None)."""
    where = [STATION.c.id == station_id, in_scope(STATION, session),
             # As a bigint: a version past int4 (If-Match: "9141081016") simply matches no row.
             STATION.c.version == literal(expected_version, BigInteger)]
    if deleted is not None:
        where.append(STATION.c.deleted_at.is_not(None) if deleted else live())
    version = session.execute(update(STATION).where(*where).values(changes).returning(STATION.c.version)).scalar()
    return None if version is None else int(version)


def history_rows(session: Session, station_id: int) -> list[dict[str, Any]]:
    """Every history row of one station of the session's region, oldest first."""
    table = StationHistory.__table__
    ours = select(STATION.c.id).where(STATION.c.id == station_id, in_scope(STATION, session))
    return [dict(row) for row in session.execute(
        select(table.c.id, table.c.action, table.c.changed_by, table.c.changed_at, table.c.old_row, table.c.new_row)
        .where(table.c.station_id.in_(ours)).order_by(table.c.id)).mappings()]


def name_last_change(session: Session, station_id: int, action: str) -> None:
    """Name the kind of the station's newest history row (``undo``): the trigger only knows
    insert/update/delete, not why a change was made. Call it in the transaction that made the
    change, which holds the station's row lock, so the newest row is that change's."""
    table = cast(Table, StationHistory.__table__)
    newest = select(func.max(table.c.id)).where(table.c.station_id == station_id).scalar_subquery()
    session.execute(update(table).where(table.c.id == newest).values(action=action))


def replace_demo_stations(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Delete the region's demo rows (real rows are never touched) and insert ``rows`` (``geom`` as EWKT)."""
    session.execute(STATION.delete().where(STATION.c.is_demo.is_(True), in_scope(STATION, session)))
    if rows:
        region = city_of(session)
        session.execute(insert(STATION), [dict(row) | {"region_code": region} for row in rows])
    # Fresh statistics now, not when autovacuum gets round to it: with none, the planner may sort
    # every station for the nearest query instead of walking the GiST index.
    session.execute(text("ANALYZE station"))  # Core has no construct for ANALYZE
    return len(rows)


def count_demo(session: Session) -> int:
    """Number of demo stations (live or not) in the registry."""
    return session.scalar(select(func.count()).select_from(STATION).where(
        STATION.c.is_demo.is_(True), in_scope(STATION, session))) or 0


def counted_points(session: Session, *, include_planned: bool = False, plan_id: int | None = None) -> pd.DataFrame:
    """The stations that count (see :mod:`geo.store.counting`): type, lon, lat, county and township codes."""
    statement = (select(STATION.c.type_code, func.ST_X(STATION.c.geom).label("lon"),
                        func.ST_Y(STATION.c.geom).label("lat"), STATION.c.county_code, STATION.c.township_code)
                 .where(counted(include_planned=include_planned, plan_id=plan_id), in_scope(STATION, session))
                 .order_by(STATION.c.id))
    return pd.read_sql(statement, session.connection())


def counted_per_unit(session: Session, *, include_planned: bool = False) -> pd.DataFrame:
    """Counted stations per type and scope unit: columns type_code, scope, region_code, built.

    The city's unit is ``region_code = 'city'``; counties and townships by their codes.
    """
    where = and_(counted(include_planned=include_planned), in_scope(STATION, session))
    built = func.count().label("built")
    city = (select(STATION.c.type_code, literal("city").label("scope"), literal("city").label("region_code"), built)
            .where(where).group_by(STATION.c.type_code))
    parts = [city] + [
        select(STATION.c.type_code, literal(scope).label("scope"), column.label("region_code"), built)
        .where(where, column.is_not(None)).group_by(STATION.c.type_code, column)
        for scope, column in (("county", STATION.c.county_code), ("township", STATION.c.township_code))]
    return pd.read_sql(union_all(*parts), session.connection())


def open_counts_by_type(session: Session) -> dict[str, int]:
    """Counted (open, live) stations per type."""
    return {code: int(n) for code, n in session.execute(
        select(STATION.c.type_code, func.count()).where(counted(), in_scope(STATION, session))
        .group_by(STATION.c.type_code)).all()}


def live_demo_count(session: Session) -> int:
    """Live demo stations."""
    return session.scalar(select(func.count()).select_from(STATION).where(
        live(), STATION.c.is_demo.is_(True), in_scope(STATION, session))) or 0
