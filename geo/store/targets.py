"""Target rows: replaced from the region's ``targets.yaml``, read for the gaps."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Float, cast, delete, insert, select
from sqlalchemy.orm import Session

from geo.errors import InputError
from geo.reference.targets import TargetSpec
from geo.store.models import ServiceType, Target
from geo.store.scope import city_of, in_scope
from geo.store.service_types import type_codes


def replace_targets(session: Session, specs: Sequence[TargetSpec], *, file: str = "targets.yaml") -> int:
    """Replace the city's targets; every target's type must be a known service type (else nothing changes)."""
    known = set(type_codes(session))
    for number, spec in enumerate(specs, start=1):
        if spec.type not in known:
            raise InputError(f"unknown service type {spec.type!r}", file=file, row=number, field="type")
    region = city_of(session)
    session.execute(delete(Target).where(Target.region_code == region))
    if specs:
        session.execute(insert(Target), [
            spec.model_dump(exclude={"type"}) | {"type_code": spec.type, "region_code": region} for spec in specs
        ])
    return len(specs)


def targets_frame(session: Session) -> pd.DataFrame:
    """Every target with its type's name, in the types' display order.

    Columns target_code, type_code, type_name, scope, kind, required, deadline, source_quote, note.
    """
    statement = (
        select(Target.code.label("target_code"), Target.type_code, ServiceType.name_zh.label("type_name"),
               Target.scope, Target.kind, cast(Target.threshold, Float).label("required"), Target.deadline,
               Target.source_quote, Target.note)
        .join(ServiceType, ServiceType.code == Target.type_code)
        .where(in_scope(Target.__table__, session))
        .order_by(ServiceType.sort_order, Target.id))
    return pd.read_sql(statement, session.connection())
