"""Riders' reports: file one from the finder (no account, nothing personal), and the planners' inbox.

A rider tells the union that a station is closed, has no water, is not where the map says, or
something else, with an optional short text. What is kept: the station, the kind, the text, the
time, and the client's address only as an HMAC-SHA256 keyed with a random secret of this
database (``app_secret``), so that rate limits can tell clients apart while the address itself
is never stored and cannot be recovered by trying every address without the key.

Planners settle reports: resolved (the station was checked, perhaps edited) or dismissed, each
with who and when. Open "closed" reports from several different clients mark a station as
needing a check, and riders are told so in the finder (``geo.notices.REPORTED_CLOSED``).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from geo.errors import InputError, NotFound, RateLimited, StateConflict
from geo.store import keys, reports
from geo.store.models import REPORT_KINDS, REPORT_NOTE_MAX, REPORT_RESOLUTIONS

# The four choices a rider has, in the finder's order (codes: geo.store.models.REPORT_KINDS).
KIND_LABELS: dict[str, str] = {"closed": "已关闭", "no_water": "没有饮水", "wrong_place": "位置不对", "other": "其他"}
RESOLUTION_LABELS: dict[str, str] = {"resolved": "已处理", "dismissed": "已忽略"}
# Honest: the union will look at it; no promise of when.
RECEIVED = "已收到，工会工作人员会核实"
WINDOW_S = 3600  # the limits are per hour (settings.reports_per_client_hour, reports_per_station_hour)
STATUSES = ("open", *REPORT_RESOLUTIONS)
NOTES_SHOWN = 5  # the newest texts of a station the inbox shows
ACTOR = "rider"  # the unit of work's actor of a report (it writes no station row)

assert tuple(KIND_LABELS) == REPORT_KINDS and tuple(RESOLUTION_LABELS) == REPORT_RESOLUTIONS


class ClientHasher:
    """HMAC-SHA256 of a client's address, keyed with the database's ``report_client`` secret.

    One per app (process): the key is read on first use and kept, not read per report.
    """

    def __init__(self) -> None:
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def digest(self, session: Session, address: str) -> str:
        """The hex digest (64 characters) that stands for ``address``."""
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = reports.client_key(session)
        return hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()


class ReportedClosed:
    """The stations riders reported closed (``geo.store.reports.flagged_stations``), as the
    finder's nearest search reads them: from memory, re-read at most every ``refresh_s`` seconds.

    The nearest statement stays as it was (no per-row look at the reports on the hot path); the
    price is that a flag set or cleared through another server process shows here within
    ``refresh_s``. A report or a decision made through this process calls :meth:`forget`.
    """

    def __init__(self, *, refresh_s: float) -> None:
        self.refresh_s = refresh_s
        self._ids: frozenset[int] | None = None
        self._read_at = 0.0
        self._flag_clients = 0
        self._lock = threading.Lock()

    def ids(self, session: Session, *, flag_clients: int) -> frozenset[int]:
        """The flagged stations' ids, re-read when older than ``refresh_s`` or forgotten."""
        with self._lock:
            now = time.monotonic()
            if self._ids is None or flag_clients != self._flag_clients or now - self._read_at >= self.refresh_s:
                self._ids = reports.flagged_stations(session, flag_clients=flag_clients)
                self._read_at, self._flag_clients = now, flag_clients
            return self._ids

    def forget(self) -> None:
        """Read the set anew at the next search (after a report or a decision here)."""
        with self._lock:
            self._ids = None


@dataclass(frozen=True)
class Limits:
    """Reports allowed per hour: from one client, and about one station."""

    per_client: int
    per_station: int


def clean_note(note: str | None) -> str:
    """The rider's text, trimmed; InputError (field ``note``) when too long or not plain text."""
    text = (note or "").strip()
    if len(text) > REPORT_NOTE_MAX:
        raise InputError(f"说明最多 {REPORT_NOTE_MAX} 个字，现有 {len(text)} 个 / at most {REPORT_NOTE_MAX} "
                         f"characters, got {len(text)}", field="note")
    if any(ord(character) < 32 and character not in "\t\n" for character in text):
        raise InputError("说明含有控制字符 / the text holds control characters", field="note")
    return text


def _minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def file_report(session: Session, *, station_id: int, kind: str, note: str | None, client_hash: str,
                limits: Limits) -> int:
    """Store a rider's report about a live station; its id.

    Raises:
        InputError: an unknown kind, or a text too long (the field is named).
        NotFound: no such station, or it was deleted.
        RateLimited: the client, or the station, has had its reports for this hour.
    """
    if kind not in REPORT_KINDS:
        raise InputError(f"问题类型须为 {' / '.join(REPORT_KINDS)} 之一 / kind must be one of "
                         f"{', '.join(REPORT_KINDS)}", field="kind")
    text = clean_note(note)
    if not reports.station_is_live(session, station_id):
        raise NotFound(f"站点 {station_id} 不存在或已删除 / station {station_id} does not exist")
    reports.lock_limits(session, station_id=station_id, client_hash=client_hash)
    wait = reports.seconds_until_below(session, allowed=limits.per_client, window_s=WINDOW_S, client_hash=client_hash)
    if wait:
        raise RateLimited(f"你这一小时的报告已达 {limits.per_client} 条，请 {_minutes(wait)} 分钟后再试 / "
                          f"too many reports from this client in the last hour; retry in {wait} s",
                          retry_after_s=wait)
    wait = reports.seconds_until_below(session, allowed=limits.per_station, window_s=WINDOW_S, station_id=station_id)
    if wait:
        raise RateLimited(f"这个站点这一小时已收到 {limits.per_station} 条报告，工作人员会核实；"
                          f"请 {_minutes(wait)} 分钟后再试 / this station has had its reports for this hour; "
                          f"retry in {wait} s", retry_after_s=wait)
    return reports.add(session, station_id=station_id, kind=kind, note=text, client_hash=client_hash)


@dataclass(frozen=True)
class StationReports:
    """One station's reports in the inbox: counts by kind, the newest texts, and whether the
    "closed" reports come from enough different clients to call for a check."""

    station_id: int
    name: str
    counts: dict[str, int]
    total: int
    needs_check: bool
    closed_clients: int
    newest_id: int
    first_at: datetime
    last_at: datetime
    notes: list[reports.ReportRow]


def inbox(session: Session, *, status: str = "open", flag_clients: int) -> list[StationReports]:
    """Reports in ``status`` (open, resolved, dismissed) grouped per station, newest first; only
    open groups can need a check."""
    if status not in STATUSES:
        raise InputError(f"status 须为 {' / '.join(STATUSES)} 之一 / status must be one of {', '.join(STATUSES)}",
                         field="status")
    found = reports.groups(session, status=status)
    notes = reports.latest(session, [group.station_id for group in found], status=status, per_station=NOTES_SHOWN)
    return [StationReports(station_id=group.station_id, name=group.name, counts=group.counts,
                           total=sum(group.counts.values()),
                           needs_check=status == "open" and group.closed_clients >= flag_clients,
                           closed_clients=group.closed_clients, newest_id=group.newest_id, first_at=group.first_at,
                           last_at=group.last_at, notes=notes.get(group.station_id, [])) for group in found]


@dataclass(frozen=True)
class Settled:
    """What a planner's resolve or dismiss changed."""

    ids: list[int]
    station_id: int
    resolution: str
    resolved_by: str
    resolved_at: datetime
    open_left: int


def settle(session: Session, report_id: int, *, resolution: str, actor: str, note: str | None = None,
           whole_station: bool = False) -> Settled:
    """Resolve or dismiss a report as ``actor``; with ``whole_station``, also every older open
    report of its station (newer ones, which the planner may not have seen, stay open).

    Raises:
        NotFound: no such report.
        StateConflict: it was settled already (by whom and when is said).
        InputError: a note too long (field ``note``).
    """
    if resolution not in REPORT_RESOLUTIONS:
        raise ValueError(f"not a resolution: {resolution!r}")
    text = clean_note(note) or None
    report = reports.report_for_update(session, report_id)
    if report is None:
        raise NotFound(f"报告 {report_id} 不存在 / report {report_id} does not exist")
    if report.resolution is not None:
        when = report.resolved_at.isoformat(timespec="seconds") if report.resolved_at else "?"
        raise StateConflict(f"报告 {report_id} 已由 {report.resolved_by} 于 {when} 标为"
                            f"{RESOLUTION_LABELS[report.resolution]} / report {report_id} was already "
                            f"{report.resolution} by {report.resolved_by} at {when}")
    ids, at = reports.settle(session, report, resolution=resolution, actor=actor, note=text,
                             whole_station=whole_station)
    return Settled(ids=ids, station_id=report.station_id, resolution=resolution, resolved_by=actor, resolved_at=at,
                   open_left=reports.open_of_station(session, report.station_id))


def open_count(session: Session) -> int:
    """Open reports of live stations (the start page's and the inbox's figure)."""
    return reports.open_count(session)


# The history page lists at most this many of a station's reports (a station with more says so).
HISTORY_SHOWN = 200
OPEN_LABEL = "待处理"


@dataclass(frozen=True)
class ReportEntry:
    """One report of a station as its history page shows it: the rider's kind and text (shown
    literally, escaped by the template), and the outcome with who and when."""

    id: int
    kind: str
    kind_zh: str
    note: str
    created_at: datetime
    resolution: str | None
    outcome_zh: str  # 待处理 / 已处理 / 已忽略
    resolved_by: str | None  # the key's name, without ``key:``
    resolved_at: datetime | None
    resolution_note: str | None


@dataclass(frozen=True)
class StationReportList:
    """A station's reports, newest first; ``more`` when older ones were left off."""

    entries: list[ReportEntry]
    more: bool


def entry(row: reports.ReportRow) -> ReportEntry:
    """One stored report, in the planner's words."""
    return ReportEntry(id=row.id, kind=row.kind, kind_zh=KIND_LABELS.get(row.kind, row.kind), note=row.note,
                       created_at=row.created_at, resolution=row.resolution,
                       outcome_zh=RESOLUTION_LABELS[row.resolution] if row.resolution else OPEN_LABEL,
                       resolved_by=keys.actor_name(row.resolved_by) if row.resolved_by else None,
                       resolved_at=row.resolved_at, resolution_note=row.resolution_note)


def of_station(session: Session, station_id: int, *, limit: int = HISTORY_SHOWN) -> StationReportList:
    """The newest ``limit`` reports of one station, open and settled."""
    rows = reports.station_reports(session, station_id, limit=limit + 1)
    return StationReportList(entries=[entry(row) for row in rows[:limit]], more=len(rows) > limit)


@dataclass(frozen=True)
class Standing:
    """What a station's edit form says of its reports: how many are open, and whether riders'
    "closed" reports flag it (``geo.store.reports.flagged_stations``)."""

    open: int
    needs_check: bool


def standing(session: Session, station_id: int, *, flag_clients: int) -> Standing:
    """The open reports of one station and its 需核实 flag."""
    flagged = station_id in reports.flagged_stations(session, flag_clients=flag_clients, station_id=station_id)
    return Standing(open=reports.open_of_station(session, station_id), needs_check=flagged)
