"""The readable diff of history rows, and which values an undo puts back (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyproj
import pytest

from geo.errors import InputError, StateConflict
from geo.services.history import Labels, action_of, as_text, describe, diff
from geo.services.undo import ChangedSince, values_to_put_back

LABELS = Labels(types={"love_station": "爱心驿站"}, amenities={"water": "饮水", "charging": "充电"})
HOURS = {"always_open": False, "weekly": {d: [{"start": "09:00", "end": "17:00"}] for d in ("mon", "tue", "wed")}}


def row(**values: object) -> dict:
    base = {"id": 7, "name": "甘棠驿站", "type_code": "love_station", "status": "open", "address": "",
            "geom": {"type": "Point", "coordinates": [115.99, 29.71]}, "opening_hours": HOURS,
            "amenities": ["water"], "phone": None, "managing_union": None, "source": "", "is_demo": False,
            "deleted_at": None, "version": 1, "updated_at": "t1", "county_code": "360403"}
    return base | values


def test_each_field_reads_as_riders_see_it() -> None:
    before = row()
    after = row(name="甘棠驿站（新）", opening_hours={"always_open": True}, amenities=["water", "charging", "wifi"],
                status="closed", phone="0792-1", version=2, updated_at="t2")
    changes = {c.field: (c.label, c.before, c.after) for c in diff(before, after, LABELS)}
    assert changes == {
        "name": ("名称", "甘棠驿站", "甘棠驿站（新）"),
        "status": ("状态", "开放", "关闭"),
        "opening_hours": ("开放时间", "周一至周三 09:00-17:00", "24小时开放"),
        "amenities": ("设施", "饮水", "饮水、充电、wifi"),  # an unknown code shows as itself
        "phone": ("电话", "", "0792-1")}


def test_a_move_is_rounded_and_measured_on_the_ellipsoid() -> None:
    moved = diff(row(), row(geom={"type": "Point", "coordinates": [115.9912345, 29.7101]}, county_code="360402"),
                 LABELS)
    assert len(moved) == 1  # the county follows the position; it is not a field of its own
    change = moved[0]
    assert (change.label, change.before, change.after) == ("位置", "115.99000, 29.71000", "115.99123, 29.71010")
    _, _, metres = pyproj.Geod(ellps="WGS84").inv(115.99, 29.71, 115.9912345, 29.7101)
    assert change.moved_m == pytest.approx(metres, abs=0.05) and 119 < metres < 121


def test_a_create_lists_the_fields_it_set_and_a_delete_one_line() -> None:
    created = diff(None, row(), LABELS)
    assert [c.field for c in created] == ["name", "type_code", "status", "geom", "opening_hours", "amenities",
                                          "is_demo"]
    assert {c.before for c in created} == {""} and created[1].after == "爱心驿站" and created[3].moved_m is None
    deleted = diff(row(), row(deleted_at="2026-12-05T10:00:00+00:00"), LABELS)
    assert [(c.label, c.before, c.after) for c in deleted] == [("已删除", "否", "是")]


def test_hours_the_finder_cannot_read_are_shown_as_stored() -> None:
    assert as_text("opening_hours", {"weekly": {"mon": "always"}}, LABELS) == '{"weekly": {"mon": "always"}}'
    assert as_text("opening_hours", {}, LABELS) == "时间未知"


def test_the_kind_of_change_is_read_from_the_rows() -> None:
    gone = row(deleted_at="2026-12-05T10:00:00+00:00")
    assert action_of("update", row(), gone) == "delete"
    assert action_of("update", gone, row()) == "restore"
    assert action_of("update", row(), row(name="x")) == "update"
    assert action_of("undo", gone, row()) == "undo" and action_of("insert", None, row()) == "insert"
    entry = describe({"id": 3, "action": "update", "changed_by": "key:规划员甲", "changed_at": datetime.now(UTC),
                      "old_row": row(), "new_row": row(name="x", version=2)}, LABELS)
    assert (entry.who, entry.action_zh, entry.changed_fields) == ("规划员甲", "修改", ["name"])


def history(*changes: dict) -> list[dict]:
    """History rows, ids 1.. in order: the first a create of ``row()``, then each change applied."""
    rows, current = [{"id": 1, "old_row": None, "new_row": row()}], row()
    for number, values in enumerate(changes, start=2):
        new = current | values
        rows.append({"id": number, "old_row": current, "new_row": new})
        current = new
    return rows


def test_undo_puts_back_the_old_values_of_the_fields_changed() -> None:
    rows = history({"name": "二", "phone": "1"}, {"status": "closed"})
    assert values_to_put_back(rows, 2) == {"name": "甘棠驿站", "phone": None}
    assert values_to_put_back(rows, 3) == {"status": "open"}
    assert values_to_put_back(history(), 1) == {"deleted_at": True}  # a create is undone by a delete
    deleted = history({"deleted_at": "2026-12-05T10:00:00+00:00"})
    assert values_to_put_back(deleted, 2) == {"deleted_at": None}


def test_undo_refuses_when_a_field_changed_again_and_names_it() -> None:
    rows = history({"name": "二", "phone": "1"}, {"name": "三"}, {"name": "二"})
    with pytest.raises(ChangedSince) as refused:
        values_to_put_back(rows, 2)  # back to "二" now, but it was changed in between: still refused
    assert refused.value.fields == ["name"] and "名称（name）" in str(refused.value)
    with pytest.raises(ChangedSince) as create:
        values_to_put_back(rows, 1)
    assert create.value.fields == ["name", "phone"]
    with pytest.raises(InputError) as foreign:
        values_to_put_back(rows, 99)
    assert foreign.value.field == "change_id"
    with pytest.raises(StateConflict):
        values_to_put_back(history({"version": 5}), 2)  # nothing of the planner's changed
