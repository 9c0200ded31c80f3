"""Tests for the holiday flag of geo.core.hours, reading either form, and the planner's preview."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from geo.core.hours import (
    HOLIDAYS_CLOSED_ZH,
    OpeningHours,
    describe_zh,
    format_simple,
    from_json,
    is_open,
    parse_simple,
    preview,
    read_any,
    read_stored,
    to_json,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = {"always_open": False, "weekly": {d: [{"start": "09:00", "end": "17:00"}]
                                           for d in ("mon", "tue", "wed", "thu", "fri")}}


def test_old_documents_stay_valid_and_serialise_unchanged() -> None:
    parsed = from_json(OFFICE)
    assert parsed.closed_on_public_holidays is False
    assert to_json(parsed) == OFFICE  # no new key written for documents that do not use it
    assert read_stored("{}")[1] == "时间未知"


def test_the_flag_is_stored_and_read_back() -> None:
    data = to_json(from_json(OFFICE | {"closed_on_public_holidays": True}))
    assert data == OFFICE | {"closed_on_public_holidays": True}
    assert from_json(data).closed_on_public_holidays is True


def test_riders_read_that_it_closes_on_public_holidays() -> None:
    hours = from_json(OFFICE | {"closed_on_public_holidays": True, "note": "午休 12:00-13:00"})
    assert describe_zh(hours) == "周一至周五 09:00-17:00；法定节假日休息（午休 12:00-13:00）"
    assert describe_zh(OpeningHours(always_open=True, closed_on_public_holidays=True)) == "24小时开放；法定节假日休息"
    assert HOLIDAYS_CLOSED_ZH == "法定节假日休息"


@pytest.mark.parametrize(("text", "osm"), [
    ("Mo-Fr 09:00-17:00; PH off", "Mo-Fr 09:00-17:00; PH off"),
    ("Mo-Fr 09:00-17:00; ph closed", "Mo-Fr 09:00-17:00; PH off"),
    ("Mo-Fr 09:00-17:00; 法定节假日休息", "Mo-Fr 09:00-17:00; PH off"),
    ("24/7; PH off", "24/7; PH off"),
    ("24小时", "24/7"),
    ("PH off", "PH off"),
])
def test_osm_text_round_trips_the_flag(text: str, osm: str) -> None:
    parsed = parse_simple(text)
    assert format_simple(parsed) == osm
    assert parse_simple(osm) == parsed


def test_24_7_with_day_rules_is_refused() -> None:
    with pytest.raises(ValueError, match="24/7 and day rules"):
        parse_simple("24/7; Sa 10:00-12:00")


def test_open_now_does_not_count_holidays() -> None:
    """2024-10-01 (National Day, a Tuesday) at 10:00: open by the weekly hours; no calendar is
    known, so the flag changes nothing (the text and docs say so)."""
    national_day = datetime(2024, 10, 1, 10, tzinfo=SHANGHAI)
    flagged = from_json(OFFICE | {"closed_on_public_holidays": True})
    assert is_open(flagged, national_day) is True
    assert is_open(from_json(OFFICE), national_day) is True


def test_read_any_takes_a_document_or_text() -> None:
    assert read_any(OFFICE) == read_any("Mo-Fr 09:00-17:00")
    assert read_any("  ") == OpeningHours()
    with pytest.raises(ValidationError) as caught:
        read_any({"weekly": {"mon": [{"start": "9:00", "end": "17:00"}]}})
    assert caught.value.errors()[0]["loc"] == ("weekly", "mon", 0, "start")
    with pytest.raises(ValueError, match="'Xx'"):
        read_any("Mo-Xx 09:00-17:00")


def test_preview_in_the_region_zone() -> None:
    hours = from_json(OFFICE)
    tuesday = preview(hours, "Asia/Shanghai", datetime(2024, 6, 4, 10, 0))  # naive: the region's wall clock
    assert (tuesday.open_now, tuesday.at.isoformat()) == (True, "2024-06-04T10:00:00+08:00")
    assert tuesday.text_zh == "周一至周五 09:00-17:00" and tuesday.osm == "Mo-Fr 09:00-17:00"
    # 10:00 UTC on a Tuesday is 18:00 in Jiujiang: closed.
    assert preview(hours, "Asia/Shanghai", datetime(2024, 6, 4, 10, 0, tzinfo=UTC)).open_now is False
    assert preview(hours, "Asia/Shanghai", datetime(2024, 6, 9, 10, 0)).open_now is False  # Sunday
    assert preview(OpeningHours(), "Asia/Shanghai").open_now is None
