"""What an import file would do to the registry, checked in full before anything is written.

:func:`plan_import` reads a file (:mod:`geo.services.transfer`) and sorts every row into *add*,
*change* or *unchanged*, or names what is wrong with it (row, field, reason); it writes nothing,
so a dry run is the plan itself. :func:`apply` writes a plan with no errors, all in the caller's
transaction: one bad row and nothing is written.

Two modes. ``insert`` (the default of the API and CLI, as before): every row is a new station; a
row whose ``id`` a station already has is an error. ``upsert``: a row whose ``id`` is a live
station changes that station; rows without an id (or with an id no station ever had, such as an
export from another database) are added.

Changing a station needs the ``version`` the file was made from (an export carries it), the
same optimistic lock as ``If-Match`` on ``PUT /stations/{id}``: a row without a version, or with
one that is not the stored version (someone changed the station since the export), is an error
naming the row and field ``version``: re-export and edit again, never a silent overwrite. A
deleted station is not written over (restore it first). Columns the file does not have keep the
station's stored values; a column that is there replaces them, an empty cell included (as in an
export). A position counts as unchanged within :data:`POSITION_TOLERANCE_M` (an export in GCJ-02
or BD-09, rounded to 8 decimals, reads back within 1 cm), so exporting and importing a file
unedited changes nothing and writes no history.

A row whose ``id`` cell says ``示例`` / ``example`` (the template's example row) is skipped and
reported as skipped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sqlalchemy.orm import Session

from geo.core import crs, hours
from geo.core.crs import CoordSystem
from geo.errors import InputError, InputErrors
from geo.reference.service_types import Amenity
from geo.services import registry, registry_messages, transfer
from geo.store import station_batch
from geo.store.stations import WRITABLE

Mode = Literal["insert", "upsert"]
MODES: tuple[Mode, ...] = ("insert", "upsert")
POSITION_TOLERANCE_M = 0.05
EXAMPLE_MARKS = frozenset({"示例", "example", "示例 example", "示例example"})
# A report lists this many errors and changes at most (and says how many in all): a page shows a
# 50 000-row file's report without shipping 50 000 rows back.
REPORT_ERRORS = 500
REPORT_CHANGES = 200
TEXT_FIELDS = ("type_code", "name", "address", "phone", "managing_union", "source")


@dataclass(frozen=True)
class Change:
    """A row that changes a stored station: which fields, from which stored version."""

    row: int
    station_id: int
    fields: tuple[str, ...]
    write: registry.StationWrite
    version: int


@dataclass(frozen=True)
class Plan:
    """What a file would do, row by row (rows numbered as :class:`~geo.errors.InputError` counts them)."""

    file: str
    mode: Mode
    rows: int
    adds: tuple[tuple[int, registry.StationWrite], ...] = ()
    changes: tuple[Change, ...] = ()
    unchanged: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()
    errors: tuple[InputError, ...] = ()


@dataclass(frozen=True)
class Applied:
    """Ids of the stations a plan added and changed."""

    added: tuple[int, ...] = ()
    changed: tuple[int, ...] = field(default=())


def plan_import(session: Session, content: bytes, *, file: str, file_format: transfer.Format,
                source_crs: CoordSystem, amenities: Mapping[str, Amenity], mode: Mode = "insert") -> Plan:
    """Read and check the whole file; a file that cannot be read is a plan with that one error."""
    try:
        rows = transfer.read_rows(content, file_format, file=file)
    except InputError as error:
        return Plan(file=file, mode=mode, rows=0, errors=(error,))
    if not rows:
        empty = InputError("文件中没有站点 / the file holds no stations", file=file)
        return Plan(file=file, mode=mode, rows=0, errors=(empty,))
    vocabulary = registry.Vocabulary.load(session, amenities)
    return plan_rows(session, rows, vocabulary, source_crs=source_crs, file=file, mode=mode)


def apply(session: Session, plan: Plan) -> Applied:
    """Write the plan in the caller's transaction; InputErrors (nothing written) if it has any error.

    A station changed between the plan and the write (another writer, in the same moment) raises
    VersionConflict, and the caller's transaction rolls back with everything else.
    """
    if plan.errors:
        if len(plan.errors) == 1 and plan.errors[0].row is None:
            raise plan.errors[0]  # the file as a whole (unreadable, empty): said as itself
        raise InputErrors(list(plan.errors), file=plan.file)
    added = registry.insert(session, [write for _, write in plan.adds])
    changed = [change.station_id for change in plan.changes
               if registry.update(session, change.station_id, change.write, expected_version=change.version)]
    return Applied(added=tuple(added), changed=tuple(changed))


def import_stations(session: Session, content: bytes, *, file: str, file_format: transfer.Format,
                    source_crs: CoordSystem, amenities: Mapping[str, Amenity], mode: Mode = "insert") -> Applied:
    """Check the whole file, then write it (all or nothing) in the caller's transaction."""
    plan = plan_import(session, content, file=file, file_format=file_format, source_crs=source_crs,
                       amenities=amenities, mode=mode)
    return apply(session, plan)


# ---- checking rows ----------------------------------------------------------------------

@dataclass(frozen=True)
class _Row:
    """One row that passed the checks, before it is sorted into add / change / unchanged."""

    number: int
    values: dict[str, Any]
    lon: float
    lat: float
    station_id: int | None
    stored: dict[str, Any] | None  # the station it changes (upsert), or None for a new one


def plan_rows(session: Session, rows: list[tuple[int, dict[str, Any]]], vocabulary: registry.Vocabulary, *,
              source_crs: CoordSystem, file: str, mode: Mode = "insert") -> Plan:
    """Check every row (reading the stations the rows name in one query) and sort them."""
    skipped = tuple(number for number, cells in rows if _is_example(cells.get("id")))
    rows = [(number, cells) for number, cells in rows if number not in skipped]
    errors: list[InputError] = []
    ids: list[tuple[int, int | None]] = []
    for number, cells in rows:
        station_id, id_error = _whole_number(_cell(cells.get("id")))
        if id_error:
            errors.append(InputError(id_error, file=file, row=number, field="id"))
        ids.append((number, station_id))
    errors += _duplicate_ids(ids, file)
    stored = station_batch.stored_by_id(session, [i for _, i in ids if i is not None])
    checked: list[_Row] = []
    for (number, cells), (_, station_id) in zip(rows, ids, strict=True):
        target = stored.get(station_id) if station_id is not None else None
        row_errors = _target_errors(number, cells, station_id, target, mode, file)
        if target is not None and not row_errors:  # an update: the file's columns over the stored values
            cells = {name: target[name] or None for name in WRITABLE if name not in cells} | cells
        good, more = _check_row(number, cells, vocabulary, file)
        errors += row_errors + more
        if good is not None and not row_errors:
            checked.append(_Row(number, good[0], good[1], good[2], station_id, target))
    lon, lat = registry.to_wgs84([r.lon for r in checked], [r.lat for r in checked], source_crs)
    for index in registry.outside_region(session, lon, lat) if checked else []:
        errors.append(InputError(registry_messages.OUTSIDE_REGION, file=file, row=checked[index].number,
                                 field="lon"))
    bad_rows = {error.row for error in errors}
    adds, changes, unchanged = [], [], []
    for row, x, y in zip(checked, lon, lat, strict=True):
        if row.number in bad_rows:
            continue
        if row.stored is None:
            adds.append((row.number, registry.StationWrite(row.values, float(x), float(y), row.station_id)))
            continue
        change = _change(row, float(x), float(y))
        if change is None:
            unchanged.append(row.number)
        else:
            changes.append(change)
    errors.sort(key=lambda error: (error.row or 0, error.field or ""))
    return Plan(file=file, mode=mode, rows=len(rows) + len(skipped), adds=tuple(adds), changes=tuple(changes),
                unchanged=tuple(unchanged), skipped=skipped, errors=tuple(errors))


def _is_example(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in EXAMPLE_MARKS


def _cell(value: Any) -> Any:
    return None if value is None or (isinstance(value, str) and value.strip() == "") else value


def _boolean(value: Any) -> Any:
    if isinstance(value, str):
        return {"true": True, "false": False, "1": True, "0": False, "是": True, "否": False}.get(
            value.strip().lower(), value)
    return value


def _text(value: Any) -> Any:
    """A spreadsheet's number in a text column (a phone typed as 07921234567 → 7921234567.0) as text."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _whole_number(value: Any) -> tuple[int | None, str | None]:
    if value is None:
        return None, None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, f"应为整数，收到 {value!r} / {value!r} is not a whole number"
    if not number.is_integer() or number < 1:
        return None, f"应为正整数，收到 {value!r} / {value!r} is not a positive whole number"
    return int(number), None


def _duplicate_ids(ids: list[tuple[int, int | None]], file: str) -> list[InputError]:
    seen: dict[int, int] = {}  # station id -> first row naming it
    errors = []
    for number, station_id in ids:
        if station_id is None:
            continue
        if station_id in seen:
            first = seen[station_id]
            errors.append(InputError(f"编号 {station_id} 重复（另见第 {first} 行）/ duplicate id {station_id} "
                                     f"(also row {first})", file=file,
                                     row=number, field="id"))
        seen.setdefault(station_id, number)
    return errors


def _target_errors(number: int, cells: dict[str, Any], station_id: int | None, target: dict[str, Any] | None,
                   mode: Mode, file: str) -> list[InputError]:
    """Why this row may not write the station its id names (an existing id in insert mode, a
    deleted station, a missing or stale version)."""
    if target is None or station_id is None:
        return []
    if mode == "insert":
        return [InputError(f"duplicate id {station_id}: a station with this id exists (to change it, "
                           "import with mode=upsert)", file=file, row=number, field="id")]
    if target["deleted"]:
        return [InputError(f"站点 {station_id} 已删除，请先恢复 / station {station_id} is deleted: restore it first",
                           file=file, row=number, field="id")]
    version, error = _whole_number(_cell(cells.get("version")))
    stored = int(target["version"])
    if error:
        return [InputError(error, file=file, row=number, field="version")]
    if version is None:
        return [InputError(f"修改站点 {station_id} 需要版本号（导出文件的 version 列）/ changing station {station_id} "
                           "needs the version it was exported at (column version)", file=file, row=number,
                           field="version")]
    if version != stored:
        older = "旧于" if version < stored else "不同于"
        return [InputError(f"站点 {station_id} 已被他人修改：文件中版本 {version} {older}当前版本 {stored}，"
                           f"请重新导出后再改 / station {station_id} is at version {stored}, the file has {version}: "
                           "someone changed it since the export; export again and redo the edit", file=file, row=number,
                           field="version")]
    return []


def _check_row(number: int, cells: dict[str, Any], vocabulary: registry.Vocabulary,
               file: str) -> tuple[tuple[dict[str, Any], float, float] | None, list[InputError]]:
    """One row's values (as the registry stores them) and position as given, or its errors."""
    cells = {key: _cell(value) for key, value in cells.items() if key not in ("id", "version")}
    errors = []
    if "_geometry_error" in cells:
        errors.append(InputError(cells.pop("_geometry_error"), file=file, row=number, field="geometry"))
    lon, lat = cells.pop("lon", None), cells.pop("lat", None)
    coordinate_errors = registry.check_coordinates(lon, lat, row=number, file=file)
    properties = {k: _text(v) if k in TEXT_FIELDS else v for k, v in cells.items() if v is not None}
    if "is_demo" in properties:
        properties["is_demo"] = _boolean(properties["is_demo"])
    if isinstance(properties.get("opening_hours"), str) and properties["opening_hours"].lstrip().startswith("{"):
        try:
            properties["opening_hours"] = json.loads(properties["opening_hours"])
        except json.JSONDecodeError:
            return None, errors + coordinate_errors + [
                InputError("开放时间不是有效的 JSON / opening hours: not valid JSON", file=file, row=number,
                           field="opening_hours")]
    values, property_errors = registry.check_properties(properties, vocabulary, row=number, file=file)
    errors += coordinate_errors + property_errors
    if values is None or errors:
        return None, errors
    return (values, float(lon), float(lat)), []


def _comparable(name: str, value: Any) -> Any:
    """Unknown hours are stored as ``{}`` or as their empty model: the same to a reader."""
    if name == "opening_hours":
        return hours.to_json(hours.from_json(value or {}))
    return value


def _change(row: _Row, lon: float, lat: float) -> Change | None:
    """The change a row makes to its stored station, or None when it would change nothing."""
    stored = row.stored
    assert stored is not None and row.station_id is not None
    fields = [name for name in WRITABLE if _comparable(name, row.values[name]) != _comparable(name, stored[name])]
    moved = float(crs.distance_m(np.float64(lon), np.float64(lat), stored["lon"], stored["lat"])) \
        > POSITION_TOLERANCE_M
    if moved:
        fields.append("position")
    else:  # keep the stored digits: a GCJ-02 round trip must not creep the point by millimetres
        lon, lat = float(stored["lon"]), float(stored["lat"])
    if not fields:
        return None
    write = registry.StationWrite(row.values, lon, lat, row.station_id)
    return Change(row.number, row.station_id, tuple(fields), write, int(stored["version"]))
