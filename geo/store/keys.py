"""API keys: created once and shown once; only a SHA-256 of the key is stored.

A key looks like ``um_<prefix>_<secret>``; the prefix (not secret) identifies it in lists
and logs. Roles: ``reader`` (may not write), ``editor`` (edits the registry), ``admin``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from geo.errors import InputError
from geo.store.models import KEY_ROLES, ApiKey

WRITE_ROLES = ("editor", "admin")
# How the history and the reports name a change or a decision made with a key: ``key:<name>``.
ACTOR_PREFIX = "key:"


def actor_name(actor: str) -> str:
    """The name a planner reads for a stored actor: the key's name without ``key:``, else the actor as is."""
    return actor.removeprefix(ACTOR_PREFIX)


@dataclass(frozen=True)
class Caller:
    """Who sent a request with a valid key."""

    key_id: int
    name: str
    role: str

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES

    @property
    def actor(self) -> str:
        """How the history names this caller."""
        return f"{ACTOR_PREFIX}{self.name}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, *, name: str, role: str) -> str:
    """Store a new key and return it: the only time the whole key is ever seen."""
    if role not in KEY_ROLES:
        raise InputError(f"role must be one of {', '.join(KEY_ROLES)}, not {role!r}", field="role")
    if not name.strip():
        raise InputError("a key needs a name (who or what uses it)", field="name")
    prefix = secrets.token_hex(4)
    key = f"um_{prefix}_{secrets.token_urlsafe(32)}"
    session.add(ApiKey(name=name.strip(), role=role, prefix=prefix, key_hash=_digest(key)))
    session.flush()
    return key


def authenticate(session: Session, key: str) -> Caller | None:
    """The caller a key belongs to, or None if the key is unknown or revoked."""
    row = session.execute(
        select(ApiKey.id, ApiKey.name, ApiKey.role)
        .where(ApiKey.key_hash == _digest(key), ApiKey.revoked_at.is_(None))
    ).one_or_none()
    return Caller(row.id, row.name, row.role) if row else None


def list_keys(session: Session) -> list[ApiKey]:
    """All keys, newest first (hashes are not secrets, but are never shown)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id.desc())))


def revoke_key(session: Session, prefix: str) -> bool:
    """Revoke the key with this prefix; False if there is no such live key."""
    revoked = session.execute(update(cast(Table, ApiKey.__table__)).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
                              .values(revoked_at=func.now()).returning(ApiKey.id)).first()
    return revoked is not None
