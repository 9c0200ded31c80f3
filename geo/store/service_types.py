"""Service-type rows: written from ``service_types.yaml``, read in display order."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from geo.errors import InputError
from geo.reference.service_types import ServiceTypeSpec
from geo.store.models import ServiceType


def upsert_service_types(session: Session, specs: Sequence[ServiceTypeSpec]) -> int:
    """Insert new types and update existing ones (types in use are never deleted here)."""
    rows = [spec.model_dump() | {"sort_order": order} for order, spec in enumerate(specs)]
    if not rows:
        return 0
    statement = insert(ServiceType).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[ServiceType.code],
        set_={column: statement.excluded[column] for column in rows[0] if column != "code"},
    )
    session.execute(statement)
    return len(rows)


def service_types(session: Session) -> list[ServiceType]:
    """All service types in display order."""
    return list(session.scalars(select(ServiceType).order_by(ServiceType.sort_order, ServiceType.code)))


def type_codes(session: Session) -> list[str]:
    """The codes of every service type, in display order."""
    return list(session.scalars(select(ServiceType.code).order_by(ServiceType.sort_order, ServiceType.code)))


def check_type(session: Session, type_code: str, *, field: str = "type") -> None:
    """Raise an InputError naming ``field`` if ``type_code`` is not a known service type."""
    known = type_codes(session)
    if type_code not in known:
        raise InputError(f"unknown service type {type_code!r}; known: {', '.join(known)}", field=field)
