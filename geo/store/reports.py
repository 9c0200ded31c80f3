"""Riders' reports on stations: every SQL statement about them.

A report is open until a planner resolves or dismisses it. Nothing personal is stored: the
client only as a keyed hash (``client_hash``, keyed with the ``report_client`` row of
``app_secret``), which is all the rate limits need. The limits are counted here, in the
database, so that every server process sees the same counts (``api.quota`` counts per process).

The rule "a station riders say is closed" (open ``closed`` reports from at least N different
clients) is written once below (:func:`closed_clients`), for the planners' inbox and for the set
of flagged stations the finder's nearest search marks (:func:`flagged_stations`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, distinct, func, insert, select, update
from sqlalchemy.orm import Session

from geo.store.scope import in_scope
from geo.store.counting import STATION, live
from geo.store.models import REPORT_KINDS, AppSecret, StationReport

REPORT = cast(Table, StationReport.__table__)
SECRET = cast(Table, AppSecret.__table__)
CLIENT_SECRET = "report_client"
CLOSED = "closed"
# The advisory-lock namespaces of the two limits ("umreport" in ASCII, then the kind of key): a
# client's and a station's reports are counted and added one request at a time, so two requests
# at once cannot both slip under a limit.
_LOCK_CLIENT = "umreport:client:"
_LOCK_STATION = "umreport:station:"


def closed_clients() -> ColumnElement[int]:
    """Per group of open reports: how many different clients said the station is closed."""
    return func.count(distinct(REPORT.c.client_hash)).filter(REPORT.c.kind == CLOSED)


def flagged_stations(session: Session, *, flag_clients: int, station_id: int | None = None) -> frozenset[int]:
    """Ids of the stations with open "closed" reports from at least ``flag_clients`` different
    clients (only ``station_id`` asked about, when given: one station's edit form).

    Of every region: station ids are the deployment's, and the set only ever marks stations a
    region's own query found."""
    where = [REPORT.c.resolution.is_(None), REPORT.c.kind == CLOSED]
    if station_id is not None:
        where.append(REPORT.c.station_id == station_id)
    return frozenset(session.execute(
        select(REPORT.c.station_id).where(*where)
        .group_by(REPORT.c.station_id).having(closed_clients() >= flag_clients)).scalars())


def client_key(session: Session) -> bytes:
    """The key of the client hash, made once per database by migration 0007.

    Only read here: a key made on the fly in a request that then fails would be rolled back
    while a process had already hashed with it.
    """
    value = session.execute(select(SECRET.c.value).where(SECRET.c.name == CLIENT_SECRET)).scalar_one_or_none()
    if value is None:
        raise RuntimeError(f"app_secret has no {CLIENT_SECRET!r} row: run the migrations (unionmap db start)")
    return str(value).encode()


def station_is_live(session: Session, station_id: int) -> bool:
    """Whether the station exists in the session's region and is not deleted."""
    found = session.execute(select(STATION.c.id).where(STATION.c.id == station_id, live(),
                                                       in_scope(STATION, session))).first()
    return found is not None


def lock_limits(session: Session, *, station_id: int, client_hash: str) -> None:
    """Take the station's, then the client's, lock until the transaction ends (always this order)."""
    for key in (f"{_LOCK_STATION}{station_id}", f"{_LOCK_CLIENT}{client_hash}"):
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


def seconds_until_below(session: Session, *, allowed: int, window_s: int, client_hash: str | None = None,
                        station_id: int | None = None) -> int:
    """Seconds until fewer than ``allowed`` reports of the client (or of the station) lie in the
    last ``window_s`` seconds; 0 when that is so now.

    The ``allowed``-th newest report of the window is the one that must leave it.
    """
    window = func.make_interval(0, 0, 0, 0, 0, 0, window_s)
    where = [REPORT.c.created_at > func.now() - window]
    where.append(REPORT.c.client_hash == client_hash if client_hash is not None
                 else REPORT.c.station_id == station_id)
    leaves = session.execute(
        select(func.extract("epoch", REPORT.c.created_at + window - func.now()))
        .where(*where).order_by(REPORT.c.created_at.desc()).offset(allowed - 1).limit(1)).scalar_one_or_none()
    return 0 if leaves is None else max(1, int(-(-float(leaves) // 1)))


def add(session: Session, *, station_id: int, kind: str, note: str, client_hash: str) -> int:
    """Store a report; its id."""
    if kind not in REPORT_KINDS:
        raise ValueError(f"not a report kind: {kind!r}")
    return int(session.execute(insert(REPORT).values(station_id=station_id, kind=kind, note=note,
                                                     client_hash=client_hash).returning(REPORT.c.id)).scalar_one())


@dataclass(frozen=True)
class ReportRow:
    """One report as the inbox shows it."""

    id: int
    station_id: int
    kind: str
    note: str
    created_at: datetime
    resolution: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str | None


@dataclass(frozen=True)
class StationGroup:
    """The reports of one station in one state: counts by kind, and the clients behind "closed"."""

    station_id: int
    name: str
    counts: dict[str, int]
    closed_clients: int
    newest_id: int
    first_at: datetime
    last_at: datetime


def _state(status: str) -> ColumnElement[bool]:
    """``open``: not yet settled; ``resolved`` / ``dismissed``: settled that way."""
    return REPORT.c.resolution.is_(None) if status == "open" else REPORT.c.resolution == status


def groups(session: Session, *, status: str = "open") -> list[StationGroup]:
    """Reports in ``status`` of live stations, grouped per station, the most recently reported first.

    A deleted station's reports are left out (there is nothing left to check); they go with it
    when it is removed for good.
    """
    kinds = [func.count().filter(REPORT.c.kind == kind).label(kind) for kind in REPORT_KINDS]
    rows = session.execute(
        select(REPORT.c.station_id, STATION.c.name, *kinds,
               closed_clients().label("closed_clients"), func.max(REPORT.c.id).label("newest_id"),
               func.min(REPORT.c.created_at).label("first_at"), func.max(REPORT.c.created_at).label("last_at"))
        .join(STATION, STATION.c.id == REPORT.c.station_id)
        .where(_state(status), live(), in_scope(STATION, session))
        .group_by(REPORT.c.station_id, STATION.c.name)
        .order_by(func.max(REPORT.c.created_at).desc(), REPORT.c.station_id)).all()
    return [StationGroup(station_id=row.station_id, name=row.name,
                         counts={kind: getattr(row, kind) for kind in REPORT_KINDS},
                         closed_clients=row.closed_clients, newest_id=row.newest_id, first_at=row.first_at,
                         last_at=row.last_at) for row in rows]


def latest(session: Session, station_ids: list[int], *, status: str = "open", per_station: int = 5,
           with_note: bool = True) -> dict[int, list[ReportRow]]:
    """The newest ``per_station`` reports in ``status`` of each station (only those with a text
    when ``with_note``), newest first."""
    if not station_ids:
        return {}
    where = [_state(status), REPORT.c.station_id.in_(station_ids)]
    if with_note:
        where.append(REPORT.c.note != "")
    rank = func.row_number().over(partition_by=REPORT.c.station_id, order_by=REPORT.c.id.desc()).label("rank")
    ranked = select(REPORT, rank).where(*where).subquery()
    rows = session.execute(select(ranked).where(ranked.c.rank <= per_station)
                           .order_by(ranked.c.station_id, ranked.c.id.desc())).mappings().all()
    found: dict[int, list[ReportRow]] = {}
    for row in rows:
        found.setdefault(row["station_id"], []).append(_report(row))
    return found


def _report(row: Any) -> ReportRow:
    return ReportRow(id=row["id"], station_id=row["station_id"], kind=row["kind"], note=row["note"],
                     created_at=row["created_at"], resolution=row["resolution"], resolved_by=row["resolved_by"],
                     resolved_at=row["resolved_at"], resolution_note=row["resolution_note"])


def report_for_update(session: Session, report_id: int) -> ReportRow | None:
    """One report of a station of the session's region, locked until the transaction ends (two
    planners settle it one after the other)."""
    ours = select(STATION.c.id).where(in_scope(STATION, session))
    row = session.execute(select(REPORT).where(REPORT.c.id == report_id, REPORT.c.station_id.in_(ours))
                          .with_for_update()).mappings().first()
    return None if row is None else _report(row)


def settle(session: Session, report: ReportRow, *, resolution: str, actor: str, note: str | None,
           whole_station: bool) -> tuple[list[int], datetime]:
    """Mark ``report`` (and, with ``whole_station``, every older open report of its station) as
    ``resolution`` by ``actor``; the ids settled (ascending) and when."""
    which = REPORT.c.id == report.id
    if whole_station:
        which = (REPORT.c.station_id == report.station_id) & (REPORT.c.id <= report.id)
    rows = session.execute(
        update(REPORT).where(which, REPORT.c.resolution.is_(None))
        .values(resolution=resolution, resolution_note=note, resolved_by=actor, resolved_at=func.now())
        .returning(REPORT.c.id, REPORT.c.resolved_at)).all()
    ids = sorted(row.id for row in rows)
    return ids, rows[0].resolved_at if rows else session.execute(select(func.now())).scalar_one()


def open_count(session: Session) -> int:
    """Open reports of live stations (the partial index of open reports answers it)."""
    return int(session.execute(
        select(func.count()).select_from(REPORT).join(STATION, STATION.c.id == REPORT.c.station_id)
        .where(REPORT.c.resolution.is_(None), live(), in_scope(STATION, session))).scalar_one())


def open_of_station(session: Session, station_id: int) -> int:
    """How many reports of the station are still open."""
    return int(session.execute(select(func.count()).select_from(REPORT).where(
        REPORT.c.station_id == station_id, REPORT.c.resolution.is_(None))).scalar_one())


def station_reports(session: Session, station_id: int, *, limit: int = 200) -> list[ReportRow]:
    """The newest ``limit`` reports of one station (open and settled, live or deleted station),
    newest first: what its history page lists."""
    rows = session.execute(select(REPORT).where(REPORT.c.station_id == station_id)
                           .order_by(REPORT.c.created_at.desc(), REPORT.c.id.desc()).limit(limit)).mappings().all()
    return [_report(row) for row in rows]
