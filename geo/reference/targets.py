"""Targets of the work report: data in the region's ``targets.yaml``, loaded into ``target``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from geo.errors import InputError
from geo.reference.region import read_yaml
from geo.store.models import ServiceType, Target


class TargetSpec(BaseModel):
    """One target as written in ``targets.yaml``."""

    code: str
    type: str
    scope: Literal["city", "county", "township"]
    kind: Literal["count", "coverage"]
    threshold: float = Field(ge=0)
    deadline: date | None = None
    source_quote: str = Field(min_length=1)
    note: str = ""


def read_targets(path: Path) -> list[TargetSpec]:
    """Parse and check the targets of a region; errors name the entry and field."""
    document = read_yaml(path) or {}
    specs = []
    for number, entry in enumerate(document.get("targets", []), start=1):
        try:
            spec = TargetSpec.model_validate(entry)
        except ValidationError as error:
            first = error.errors()[0]
            raise InputError(first["msg"], file=str(path), row=number,
                             field=".".join(map(str, first["loc"]))) from error
        if spec.kind == "coverage" and spec.threshold > 1:
            raise InputError("a coverage threshold is a share between 0 and 1", file=str(path),
                             row=number, field="threshold")
        specs.append(spec)
    return specs


def replace_targets(session: Session, specs: list[TargetSpec], *, file: str = "targets.yaml") -> int:
    """Replace all targets; every target's type must be a known service type."""
    known = set(session.scalars(select(ServiceType.code)))
    for number, spec in enumerate(specs, start=1):
        if spec.type not in known:
            raise InputError(f"unknown service type {spec.type!r}", file=file, row=number, field="type")
    session.execute(delete(Target))
    if specs:
        session.execute(insert(Target), [
            spec.model_dump(exclude={"type"}) | {"type_code": spec.type} for spec in specs
        ])
    return len(specs)
