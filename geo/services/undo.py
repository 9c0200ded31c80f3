"""Undo a change of the registry, and restore a soft-deleted station, as new changes.

Nothing in the history is rewritten: an undo writes a new version that puts back, for the
fields one change changed, the values that change replaced, and the history records it (by
the caller, named ``undo``). It never overwrites a later change silently: when any of those
fields has changed again since, it refuses (409) and names them, and the planner edits by
hand. Undoing a create deletes the station (softly); undoing a delete restores it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from geo.errors import InputError, NotFound, StateConflict, VersionConflict
from geo.services import registry
from geo.services.history import FIELD_LABELS
from geo.store import stations
from geo.store.stations import WRITABLE

# What an undo may put back: the planner's fields, the position and the deleted state.
UNDOABLE = (*WRITABLE, "geom", "deleted_at")


class ChangedSince(StateConflict):
    """Some fields a change changed have changed again since: undoing it would overwrite that."""

    def __init__(self, change_id: int, fields: Sequence[str]) -> None:
        self.change_id, self.fields = change_id, list(fields)
        named = "、".join(f"{FIELD_LABELS.get(name, name)}（{name}）" for name in self.fields)
        super().__init__(f"{named} 在修改 #{change_id} 之后又被改过，不能自动撤销，请手动修改 / changed again "
                         f"since change {change_id}: {', '.join(self.fields)}; edit them by hand")


def _differs(row: Mapping[str, Any], name: str) -> bool:
    return bool((row["old_row"] or {}).get(name) != (row["new_row"] or {}).get(name))


def values_to_put_back(rows: Sequence[Mapping[str, Any]], change_id: int) -> dict[str, Any]:
    """The columns and values that undo change ``change_id``, from a station's history (oldest first).

    A create is undone by deleting the station (``deleted_at`` true: "now"); any other change by
    its ``old_row`` values of the fields it changed.

    Raises:
        InputError: ``change_id`` is not a change of this station.
        StateConflict: the change cannot be undone (a row removed by SQL, nothing of the planner's
            changed), or ``ChangedSince`` when a later change touched any of its fields.
    """
    index = next((i for i, row in enumerate(rows) if row["id"] == change_id), None)
    if index is None:
        raise InputError(f"修改 #{change_id} 不是这个站点的修改 / change {change_id} is not in this station's "
                         "history", field="change_id")
    target = rows[index]
    if target["new_row"] is None:
        raise StateConflict(f"change {change_id} removed the row from the database; it cannot be undone here")
    if target["old_row"] is None:  # a create: every field it set, and undone by a (soft) delete
        fields = [name for name in UNDOABLE if name in target["new_row"]]
        values: dict[str, Any] = {"deleted_at": True}
    else:
        fields = [name for name in UNDOABLE if _differs(target, name)]
        values = {name: target["old_row"].get(name) for name in fields}
    if not fields:
        raise StateConflict(f"修改 #{change_id} 没有改动可撤销的字段 / change {change_id} changed none of the "
                            "station's fields: nothing to undo")
    later = [name for name in fields if any(_differs(row, name) for row in rows[index + 1:])]
    if later:
        raise ChangedSince(change_id, later)
    return values


def _check(values: Mapping[str, Any], current: Mapping[str, Any], vocabulary: registry.Vocabulary) -> None:
    """The values put back must still be valid (a service type or amenity may have gone since)."""
    properties = {name: current.get(name) for name in WRITABLE} | {k: v for k, v in values.items() if k in WRITABLE}
    _, errors = registry.check_properties({k: v for k, v in properties.items() if v is not None}, vocabulary)
    registry.raise_if_errors([error for error in errors if (error.field or "").split(".")[0] in values])


def undo(session: Session, station_id: int, change_id: int, *, expected_version: int,
         vocabulary: registry.Vocabulary) -> int:
    """Undo change ``change_id`` of a station at ``expected_version`` as a new change; the new version.

    Raises:
        NotFound: no such station. VersionConflict: it is at another version.
        InputError: not a change of this station, or a value no longer valid.
        StateConflict: the station is deleted (restore it first) or the change cannot be undone;
            ChangedSince (a StateConflict) naming the fields changed again since.
    """
    version, deleted = _state(session, station_id, lock=True)
    if version != expected_version:
        raise VersionConflict(station_id, expected_version, version)
    rows = stations.history_rows(session, station_id)
    values = values_to_put_back(rows, change_id)
    if deleted and "deleted_at" not in values:
        raise StateConflict(f"站点 {station_id} 已删除，请先恢复 / station {station_id} is deleted: restore it first")
    _check(values, rows[-1]["new_row"] or {}, vocabulary)
    new_version = stations.put_back(session, station_id, values, expected_version=expected_version)
    if new_version is None:  # cannot happen while the row is locked; said plainly if it ever does
        raise VersionConflict(station_id, expected_version, _state(session, station_id)[0])
    stations.name_last_change(session, station_id, "undo")
    return new_version


def restore(session: Session, station_id: int, *, expected_version: int) -> int:
    """Bring back a soft-deleted station at ``expected_version`` (a new version); the new version.

    Raises:
        NotFound: no such station. StateConflict: it is not deleted. VersionConflict: another version.
    """
    version = stations.restore(session, station_id, expected_version=expected_version)
    if version is not None:
        return version
    current, deleted = _state(session, station_id)
    if not deleted:
        raise StateConflict(f"站点 {station_id} 没有被删除，无需恢复 / station {station_id} is not deleted")
    raise VersionConflict(station_id, expected_version, current)


def _state(session: Session, station_id: int, *, lock: bool = False) -> tuple[int, bool]:
    state = stations.station_state(session, station_id, lock=lock)
    if state is None:
        raise NotFound(f"station {station_id} does not exist")
    return state
