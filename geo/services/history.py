"""A station's history as a planner reads it: who, when, what kind of change, and per field the
value before and after, in the words riders see.

The ``station_history`` rows hold whole rows before and after each change (JSONB, written by the
database's trigger). This module turns a pair of them into the fields that changed, each with
a Chinese label and both values as text: hours as the finder's sentence ("周一至周五
09:00-17:00"), amenities and the service type by their Chinese names, the position as lon/lat
rounded to about a metre with the geodesic distance it moved. Pure functions of the rows and
the labels, except :func:`changes`, which reads them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy.orm import Session

from geo.core import crs, hours
from geo.errors import NotFound
from geo.reference import service_types as reference_types
from geo.store import keys, service_types, stations

Action = Literal["insert", "update", "delete", "restore", "undo"]
ACTION_ZH: dict[str, str] = {"insert": "新建", "update": "修改", "delete": "删除", "restore": "恢复", "undo": "撤销"}
# The fields a planner sets, in the order the page lists them; county and township follow the
# position (the database assigns them), version and times are the database's own.
FIELD_LABELS: dict[str, str] = {
    "name": "名称", "type_code": "类型", "status": "状态", "address": "地址", "geom": "位置",
    "opening_hours": "开放时间", "amenities": "设施", "phone": "电话", "managing_union": "主管工会",
    "source": "数据来源", "is_demo": "演示数据", "deleted_at": "已删除"}
STATUS_ZH: dict[str, str] = {"open": "开放", "closed": "关闭", "planned": "规划中"}
# Columns every update changes, so they never count as what a change was about.
BOOKKEEPING = frozenset({"version", "updated_at"})
# About a metre: what a planner can check on a map; the distance moved says the rest.
POSITION_DECIMALS = 5


@dataclass(frozen=True)
class Labels:
    """Chinese names of the codes a station stores: service types and amenities."""

    types: Mapping[str, str] = field(default_factory=dict)
    amenities: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldChange:
    """One field of one change: its label and both values as text ("" when empty)."""

    field: str
    label: str
    before: str
    after: str
    moved_m: float | None = None  # the position only: geodesic metres between before and after


@dataclass(frozen=True)
class Change:
    """One history row, readable."""

    id: int
    action: Action
    changed_by: str
    changed_at: datetime
    changed_fields: list[str]  # raw column names (updates only), as the API has always listed them
    fields: tuple[FieldChange, ...]
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @property
    def who(self) -> str:
        """The key's name for a change made with a key (the actor ``key:<name>``), else the actor."""
        return keys.actor_name(self.changed_by)

    @property
    def action_zh(self) -> str:
        """新建 / 修改 / 删除 / 恢复 / 撤销."""
        return ACTION_ZH[self.action]


def changed_columns(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    """Every column whose value differs between two rows, bookkeeping aside, sorted."""
    before, after = old or {}, new or {}
    return sorted(k for k in set(before) | set(after) if k not in BOOKKEEPING and before.get(k) != after.get(k))


def action_of(stored: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Action:
    """What a history row did: the trigger's insert/update/delete, an ``undo`` named so by
    :mod:`geo.services.undo`, and soft delete and restore read from ``deleted_at``."""
    if stored in ("insert", "delete", "undo"):
        return stored  # type: ignore[return-value]
    was_deleted, is_deleted = bool((old or {}).get("deleted_at")), bool((new or {}).get("deleted_at"))
    if is_deleted and not was_deleted:
        return "delete"
    if was_deleted and not is_deleted:
        return "restore"
    return "update"


def _point(value: Any) -> tuple[float, float] | None:
    try:
        lon, lat = value["coordinates"][:2]
        return float(lon), float(lat)
    except (TypeError, KeyError, ValueError):
        return None


def _hours_text(value: Any) -> str:
    if not value:
        return "时间未知"
    try:
        return hours.describe_zh(hours.from_json(value))
    except (ValidationError, TypeError):
        return json.dumps(value, ensure_ascii=False)  # not hours the finder can read: shown as stored


def as_text(name: str, value: Any, labels: Labels) -> str:
    """One stored value as the page shows it ("" for nothing)."""
    if value is None:
        return ""
    if name == "geom":
        point = _point(value)
        return f"{point[0]:.{POSITION_DECIMALS}f}, {point[1]:.{POSITION_DECIMALS}f}" if point else str(value)
    if name == "opening_hours":
        return _hours_text(value)
    if name == "amenities":
        return "、".join(labels.amenities.get(code, code) for code in value)
    if name == "type_code":
        return str(labels.types.get(value, value))
    if name == "status":
        return str(STATUS_ZH.get(value, value))
    if name == "is_demo":
        return "是" if value else "否"
    if name == "deleted_at":
        return "是"  # a time: deleted (None, not deleted, is "" above)
    return str(value)


def _moved_m(old: Any, new: Any) -> float | None:
    start, end = _point(old), _point(new)
    if start is None or end is None:
        return None
    return round(float(crs.distance_m(start[0], start[1], end[0], end[1])), 1)


def diff(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, labels: Labels) -> tuple[FieldChange, ...]:
    """The planner's fields that differ between two rows (a create: every field it set), in
    ``FIELD_LABELS`` order. "Deleted" reads 否 → 是 and back."""
    before, after = old or {}, new or {}
    result = []
    for name, label in FIELD_LABELS.items():
        if before.get(name) == after.get(name):
            continue
        old_text, new_text = as_text(name, before.get(name), labels), as_text(name, after.get(name), labels)
        if name == "deleted_at":
            old_text, new_text = old_text or "否", new_text or "否"
        if old is None and not new_text:
            continue  # a create that left the field empty
        moved = _moved_m(before.get(name), after.get(name)) if name == "geom" and old is not None else None
        result.append(FieldChange(name, label, old_text, new_text, moved))
    return tuple(result)


def describe(row: Mapping[str, Any], labels: Labels) -> Change:
    """One ``station_history`` row (id, action, changed_by, changed_at, old_row, new_row), readable."""
    old, new = row["old_row"], row["new_row"]
    action = action_of(row["action"], old, new)
    return Change(id=row["id"], action=action, changed_by=row["changed_by"], changed_at=row["changed_at"],
                  changed_fields=changed_columns(old, new) if row["action"] in ("update", "undo") else [],
                  fields=diff(old, new, labels) if new is not None else (),  # a row removed by SQL: gone
                  old=old, new=new)


def changes(session: Session, station_id: int, *, data_dir: Path) -> list[Change]:
    """Every change of one station (live or deleted), oldest first, with the names of the types
    (database) and amenities (``data_dir/amenities.yaml``); NotFound when it has none."""
    rows = stations.history_rows(session, station_id)
    if not rows:
        raise NotFound(f"station {station_id} has no history")
    amenities = reference_types.read_amenities(data_dir / "amenities.yaml")
    labels = Labels(types={kind.code: kind.name_zh for kind in service_types.service_types(session)},
                    amenities={code: amenity.name_zh for code, amenity in amenities.items()})
    return [describe(row, labels) for row in rows]


@dataclass(frozen=True)
class StationChanges:
    """What the editor's history page shows of one station: where it stands and its changes."""

    station_id: int
    name: str
    version: int
    deleted: bool
    changes: list[Change]  # newest first, as a planner reads them


def for_page(session: Session, station_id: int, *, data_dir: Path) -> StationChanges | None:
    """A station's state and changes (newest first), deleted or not; None when there is no such station."""
    state = stations.station_state(session, station_id)
    if state is None:
        return None
    entries = changes(session, station_id, data_dir=data_dir)
    newest = entries[-1].new or entries[-1].old or {}
    return StationChanges(station_id, str(newest.get("name", "")), state[0], state[1], entries[::-1])
