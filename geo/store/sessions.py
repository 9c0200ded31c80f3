"""Editor sessions: an editor key exchanged once for a cookie that expires.

The browser editor must not ask for the key on every page, nor keep it where a script could
read it. Signing in checks the key (``geo.store.keys.authenticate``) and stores a session: a
random token (the cookie; only its SHA-256 is kept, like a key's) and a CSRF token every write
must echo in a header. A session is live while it has not expired, has not been ended by
signing out, and its key has not been revoked: revoking a key signs out its browsers at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from geo.store.keys import Caller
from geo.store.models import ApiKey, EditorSession


@dataclass(frozen=True)
class LiveSession:
    """A signed-in editor: who (as a key's caller), the CSRF token, and when the session ends."""

    caller: Caller
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class NewSession:
    """A session just made: the cookie's token is seen only here."""

    token: str
    live: LiveSession


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, caller: Caller, *, hours: float) -> NewSession:
    """A new session for ``caller`` (already authenticated), ending ``hours`` from now."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = session.execute(select(func.now() + timedelta(hours=hours))).scalar_one()
    session.add(EditorSession(token_hash=_digest(token), csrf_token=csrf, key_id=caller.key_id,
                              expires_at=expires_at))
    session.flush()
    return NewSession(token, LiveSession(caller, csrf, expires_at))


def live(session: Session, token: str) -> LiveSession | None:
    """The live session of a cookie's token, or None (unknown, expired, signed out, key revoked)."""
    row = session.execute(
        select(ApiKey.id, ApiKey.name, ApiKey.role, EditorSession.csrf_token, EditorSession.expires_at)
        .join(ApiKey, ApiKey.id == EditorSession.key_id)
        .where(EditorSession.token_hash == _digest(token), EditorSession.ended_at.is_(None),
               EditorSession.expires_at > func.now(), ApiKey.revoked_at.is_(None))
    ).one_or_none()
    if row is None:
        return None
    return LiveSession(Caller(row.id, row.name, row.role), row.csrf_token, row.expires_at)


def end(session: Session, token: str) -> bool:
    """Sign out: end the session of this token; False if it was not live."""
    ended = session.execute(update(_table()).where(
        EditorSession.token_hash == _digest(token), EditorSession.ended_at.is_(None))
        .values(ended_at=func.now()).returning(EditorSession.id)).first()
    return ended is not None


def _table() -> Table:
    return EditorSession.__table__  # type: ignore[return-value]
