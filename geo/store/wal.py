"""Positions in the write-ahead log: where the primary is, and whether a standby has replayed a point.

A client that has just written carries the primary's WAL position after its commit (an LSN such
as ``0/3000148``); a standby that has replayed up to it shows that write to every query.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.orm import Session

# pg_lsn's text form: two hexadecimal numbers of up to 32 bits each.
_LSN = re.compile(r"[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")


def parse_lsn(value: str | None) -> str | None:
    """``value`` as an LSN when it is one (from a cookie or header: anything else is ignored)."""
    if value is None:
        return None
    value = value.strip()
    return value.upper() if _LSN.fullmatch(value) else None


def insert_position(session: Session) -> str:
    """The primary's current WAL insert position: at or after the end of every commit made so far."""
    return str(session.execute(text("SELECT pg_current_wal_insert_lsn()::text")).scalar_one())


def has_replayed(session: Session, lsn: str) -> bool:
    """Whether the server of this session shows everything up to ``lsn``: a standby that has
    replayed it, or a primary (a promoted standby included: it has everything it will ever have)."""
    replayed = text("SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)")
    return bool(session.execute(replayed, {"lsn": lsn}).scalar_one())


def cancel_synchronous_waits(session: Session, *, application: str, older_than_s: float) -> int:
    """Cancel the commits of ``application``'s sessions that have waited longer than ``older_than_s``
    for a synchronous standby; return how many.

    PostgreSQL's statement time-out is switched off before a commit begins, so nothing else ends
    such a wait while the standby is down. A cancelled commit stays committed on the primary
    alone, and its session receives the warning "canceling wait for synchronous replication".
    """
    cancelled = text("SELECT count(*) FILTER (WHERE pg_cancel_backend(pid)) FROM pg_stat_activity "
                     "WHERE wait_event = 'SyncRep' AND application_name = :application "
                     "AND now() - state_change > make_interval(secs => :seconds)")
    return int(session.execute(cancelled, {"application": application, "seconds": older_than_s}).scalar_one())
