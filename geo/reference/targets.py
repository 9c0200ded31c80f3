"""Targets of the work report: data in the region's ``targets.yaml``, written to ``target`` by ``geo.store.targets``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, Field, ValidationError

from geo.errors import InputError
from geo.reference.region import cached_by_version, read_yaml


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


def read_region_targets(path: Path, region_code: str) -> list[TargetSpec]:
    """:func:`read_targets` of the region ``region_code``: a file whose ``region:`` names another
    region is refused, naming both. A folder copied from another city would otherwise apply that
    city's report to this one (its targets marked overdue). A file without the key is read as before.
    """
    owner = targets_region(path)
    if owner is not None and owner != region_code:
        raise InputError(f"目标文件属于地区 {owner}，而本地区为 {region_code}：请换成本市的目标或删去 targets / "
                         f"the targets file belongs to region {owner}, this region is {region_code}: "
                         "write this city's targets, or remove the targets key", file=str(path), field="region")
    return read_targets(path)


@cached_by_version
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


def targets_region(path: Path) -> str | None:
    """The optional top-level ``region:`` of a targets file: the adcode of the region it belongs to.

    A report's targets belong to one city; the key lets ``unionmap region init`` refuse to copy
    another city's targets into a new region folder. ``None`` when the file has no such key.
    """
    document = read_yaml(path) or {}
    region = document.get("region") if isinstance(document, dict) else None
    return None if region is None else str(region).strip()


def read_baselines(path: Path) -> pd.DataFrame:
    """Figures of the report that carry no target (type, count, year, source_quote, note)."""
    return _baselines(path).copy()


@cached_by_version
def _baselines(path: Path) -> pd.DataFrame:
    document = read_yaml(path) or {}
    return pd.DataFrame(document.get("baselines", []),
                        columns=["type", "count", "year", "source_quote", "note"])
