"""Tests for geo.hours: validation, "open now", Chinese descriptions and parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from geo.core.hours import (
    Interval,
    OpeningHours,
    describe_zh,
    from_json,
    is_open,
    is_open_in_zone,
    parse_simple,
    to_json,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def at(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """A Shanghai time in the week of Monday 2024-06-03 (day 0 = Monday, 6 = Sunday)."""
    return datetime(2024, 6, 3 + day, hh, mm, ss, tzinfo=SHANGHAI)


def office() -> OpeningHours:
    """Mo-Fr 09:30-17:00, Sa-Su 10:00-16:00."""
    weekly = {d: [Interval(start="09:30", end="17:00")] for d in WEEKDAYS}
    weekly |= {d: [Interval(start="10:00", end="16:00")] for d in ("sat", "sun")}
    return OpeningHours(weekly=weekly)


def test_calendar_anchor() -> None:
    assert at(0, 0).weekday() == 0 and at(6, 0).weekday() == 6


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(0, 9, 29, 59), False),
        (at(0, 9, 30), True),
        (at(0, 16, 59, 59), True),
        (at(0, 17, 0), False),
        (at(4, 12), True),  # Friday
        (at(5, 9, 59), False),  # Saturday before weekend opening
        (at(5, 10), True),
        (at(6, 15, 59), True),
        (at(6, 16), False),
        (at(2, 3), False),
    ],
)
def test_weekday_weekend_boundaries(moment: datetime, expected: bool) -> None:
    assert is_open(office(), moment) is expected


def test_closed_day_is_false_not_unknown() -> None:
    hours = parse_simple("Mo-Fr 09:30-17:00")
    assert is_open(hours, at(5, 12)) is False


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(0, 21, 59), False),
        (at(0, 22, 0), True),
        (at(0, 23, 59), True),
        (at(1, 0, 0), True),  # Tuesday, spill-over from Monday
        (at(1, 3, 0), True),
        (at(1, 5, 59), True),
        (at(1, 6, 0), False),
        (at(1, 22, 30), False),  # no Tuesday shift
        (at(0, 3, 0), False),  # nothing spills from Sunday
    ],
)
def test_overnight_monday(moment: datetime, expected: bool) -> None:
    hours = OpeningHours(weekly={"mon": [Interval(start="22:00", end="06:00")]})
    assert is_open(hours, moment) is expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(6, 23), True),  # Sunday night
        (at(0, 0, 30), True),  # Monday early morning, from Sunday's shift
        (at(0, 5, 59), True),
        (at(0, 6), False),
        (at(5, 23), False),
    ],
)
def test_overnight_sunday_into_monday(moment: datetime, expected: bool) -> None:
    hours = OpeningHours(weekly={"sun": [Interval(start="20:00", end="06:00")]})
    assert is_open(hours, moment) is expected


def test_end_of_day_and_all_day_intervals() -> None:
    until_midnight = OpeningHours(weekly={"mon": [Interval(start="18:00", end="24:00")]})
    assert is_open(until_midnight, at(0, 23, 59)) is True
    assert is_open(until_midnight, at(1, 0, 0)) is False
    all_day = OpeningHours(weekly={"wed": [Interval(start="00:00", end="24:00")]})
    assert is_open(all_day, at(2, 0, 0)) is True
    assert is_open(all_day, at(2, 23, 59)) is True
    assert is_open(all_day, at(3, 0, 0)) is False


def test_split_day() -> None:
    hours = parse_simple("Mo 08:00-12:00,14:00-18:00")
    assert [is_open(hours, at(0, h)) for h in (8, 12, 13, 14, 18)] == [
        True, False, False, True, False,
    ]


@pytest.mark.parametrize("moment", [at(0, 0), at(3, 12), at(6, 23, 59)])
def test_always_open(moment: datetime) -> None:
    assert is_open(OpeningHours(always_open=True), moment) is True


@pytest.mark.parametrize(
    "hours",
    [OpeningHours(), OpeningHours(note="电话咨询"), OpeningHours(weekly={"mon": []})],
)
def test_unknown_hours_give_none(hours: OpeningHours) -> None:
    assert is_open(hours, at(0, 12)) is None
    assert is_open_in_zone(hours, datetime(2024, 6, 3, 4, tzinfo=UTC), "Asia/Shanghai") is None


def test_naive_datetime_rejected() -> None:
    naive = datetime(2024, 6, 3, 12)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(office(), naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open_in_zone(office(), naive, "Asia/Shanghai")
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(OpeningHours(), naive)  # rejected even when the answer would be None


def test_zone_conversion() -> None:
    # 2024-06-03 01:00 UTC is Monday 09:00 in Shanghai (UTC+8), but Sunday 18:00 in New York.
    utc = datetime(2024, 6, 3, 1, 0, tzinfo=UTC)
    hours = parse_simple("Mo-Fr 09:00-17:00")
    assert is_open_in_zone(hours, utc, "Asia/Shanghai") is True
    assert is_open_in_zone(hours, utc - timedelta(minutes=1), "Asia/Shanghai") is False
    assert is_open_in_zone(hours, utc, "America/New_York") is False
    # is_open reads the wall clock it is given: the same instant in UTC is Monday 01:00.
    assert is_open(hours, utc) is False
    assert is_open(hours, utc.astimezone(timezone(timedelta(hours=8)))) is True


def test_unknown_zone_rejected() -> None:
    with pytest.raises(KeyError):  # ZoneInfoNotFoundError subclasses KeyError
        is_open_in_zone(office(), datetime(2024, 6, 3, tzinfo=UTC), "Mars/Olympus")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", "24小时开放"),
        (
            "Mo-Fr 09:30-17:00; Sa,Su 10:00-16:00",
            "周一至周五 09:30-17:00；周六、周日 10:00-16:00",
        ),
        ("Mo-Su 08:00-20:00", "每天 08:00-20:00"),
        ("Mo 22:00-06:00", "周一 22:00-次日06:00"),
        ("Mo-Su 22:00-06:00", "每天 22:00-次日06:00"),
        ("Mo-Fr 08:00-12:00,14:00-18:00", "周一至周五 08:00-12:00，14:00-18:00"),
        (
            "Mo-Sa 08:00-20:00; We 08:00-12:00",
            "周一、周二 08:00-20:00；周三 08:00-12:00；周四至周六 08:00-20:00",
        ),
        ("Mo,We,Fr 09:00-11:00", "周一 09:00-11:00；周三 09:00-11:00；周五 09:00-11:00"),
        ("Sa-Su 00:00-24:00", "周六、周日 00:00-24:00"),
    ],
)
def test_describe_zh(text: str, expected: str) -> None:
    assert describe_zh(parse_simple(text)) == expected


def test_describe_zh_unknown_and_note() -> None:
    assert describe_zh(OpeningHours()) == "时间未知"
    holidays = OpeningHours(always_open=True, note="节假日照常")
    assert describe_zh(holidays) == "24小时开放（节假日照常）"
    assert describe_zh(office()) == "周一至周五 09:30-17:00；周六、周日 10:00-16:00"


@pytest.mark.parametrize("text", ["24h", "24H", "24小时", "24 小时", "24/7"])
def test_parse_always_open(text: str) -> None:
    assert parse_simple(text) == OpeningHours(always_open=True)


def test_parse_builds_expected_model() -> None:
    hours = parse_simple("Mo-Su 08:00-20:00; Sa 10:00-14:00")
    assert hours.weekly["sat"] == [Interval(start="10:00", end="14:00")]
    assert hours.weekly["sun"] == [Interval(start="08:00", end="20:00")]
    assert list(hours.weekly) == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert is_open(hours, at(5, 15)) is False and is_open(hours, at(6, 15)) is True


@pytest.mark.parametrize(
    ("text", "closed", "open_days"),
    [
        ("Mo-Su 08:00-20:00; Su off", {"sun"}, 6),
        ("Fr-Mo 10:00-16:00", {"tue", "wed", "thu"}, 4),  # wrapping day range
        ("mo-fr 9:30-17:00", {"sat", "sun"}, 5),  # lenient case and one-digit hour
        ("08:00-20:00", set(), 7),  # no day selector means every day
        (" Mo - Fr 09:00-17:00 , 18:00-20:00 ; ", {"sat", "sun"}, 5),
    ],
)
def test_parse_variants(text: str, closed: set[str], open_days: int) -> None:
    hours = parse_simple(text)
    assert len(hours.weekly) == open_days
    assert closed.isdisjoint(hours.weekly)


@pytest.mark.parametrize(
    "text",
    [
        "24h",
        "Mo-Fr 09:30-17:00",
        "Mo-Su 08:00-20:00; Sa 10:00-14:00",
        "Mo-Fr 08:00-12:00,14:00-18:00; Sa 22:00-06:00",
    ],
)
def test_json_round_trip(text: str) -> None:
    hours = parse_simple(text).model_copy(update={"note": "节假日照常"})
    data = to_json(hours)
    assert from_json(data) == hours
    assert to_json(from_json(data)) == data


def test_to_json_shape() -> None:
    assert to_json(parse_simple("Sa 10:00-14:00")) == {
        "always_open": False,
        "weekly": {"sat": [{"start": "10:00", "end": "14:00"}]},
    }
    assert to_json(OpeningHours(always_open=True, note="x")) == {
        "always_open": True, "weekly": {}, "note": "x",
    }


@pytest.mark.parametrize(
    ("text", "bad_part"),
    [
        ("Mon-Fri 09:00-17:00", "'Mon-Fri'"),
        ("Mo-Xx 09:00-17:00", "'Xx'"),
        ("PH 09:00-12:00", "'PH'"),
        ("Mo-Fr 9-17", "'9-17'"),
        ("Mo-Fr 09:00-17:00 weekdays", "'09:00-17:00 weekdays'"),
        ("Mo-Fr 25:00-26:00", "'25:00-26:00'"),
        ("Mo-Fr 09:60-17:00", "'09:60-17:00'"),
        ("Mo 09:00-09:00", "'09:00-09:00'"),
        ("Mo-Fr", "'Mo-Fr'"),
        ("open daily", "'open daily'"),
        ("Mo-Fr 09:00-17:00; sometimes", "'sometimes'"),
        ("", "''"),
        (" ; ", "' ; '"),
    ],
)
def test_parse_errors_quote_bad_part(text: str, bad_part: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_simple(text)
    assert bad_part in str(info.value)
    assert not isinstance(info.value, ValidationError)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("25:00", "06:00", "start"),
        ("09:00", "25:00", "end"),
        ("24:00", "06:00", "start"),  # 24:00 is only an end
        ("9:3", "17:00", "start"),
        ("9:30", "17:00", "start"),
        ("09:30", "9:3", "end"),
        ("09:30", "17:60", "end"),
        ("09:30", "24:01", "end"),
        ("09:00", "09:00", "end"),
        ("00:00", "00:00", "end"),
    ],
)
def test_interval_validation_names_field(start: str, end: str, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Interval(start=start, end=end)
    assert [err["loc"] for err in info.value.errors()] == [(field,)]


@pytest.mark.parametrize(
    ("start", "end", "overnight"),
    [("00:00", "24:00", False), ("09:30", "17:00", False), ("22:00", "06:00", True),
     ("18:00", "00:00", True), ("23:59", "24:00", False)],
)
def test_interval_valid(start: str, end: str, overnight: bool) -> None:
    assert Interval(start=start, end=end).overnight is overnight


def test_always_open_with_weekly_is_error_on_weekly() -> None:
    with pytest.raises(ValidationError) as info:
        from_json({"always_open": True, "weekly": {"mon": [{"start": "09:00", "end": "17:00"}]}})
    assert info.value.errors()[0]["loc"] == ("weekly",)


def test_from_json_errors_name_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        from_json({"weekly": {"mon": [{"start": "09:00", "end": "25:00"}]}})
    assert info.value.errors()[0]["loc"] == ("weekly", "mon", 0, "end")
    with pytest.raises(ValidationError) as info:
        from_json({"weekly": {"monday": []}})
    assert info.value.errors()[0]["loc"][:2] == ("weekly", "monday")
    with pytest.raises(ValidationError) as info:
        from_json({"always_open": False, "hours": "9-5"})
    assert info.value.errors()[0]["loc"] == ("hours",)


def test_weekly_is_normalised() -> None:
    hours = from_json({"weekly": {
        "sun": [{"start": "14:00", "end": "18:00"}, {"start": "08:00", "end": "12:00"}],
        "mon": [{"start": "09:00", "end": "17:00"}],
        "tue": [],
    }})
    assert list(hours.weekly) == ["mon", "sun"]
    assert [iv.start for iv in hours.weekly["sun"]] == ["08:00", "14:00"]


def test_read_stored_parses_each_distinct_text_once() -> None:
    from geo.core.hours import read_stored

    text = '{"weekly": {"mon": [{"start": "09:00", "end": "17:00"}]}}'
    parsed, description = read_stored(text)
    assert parsed == from_json({"weekly": {"mon": [{"start": "09:00", "end": "17:00"}]}})
    assert description == "周一 09:00-17:00"
    assert read_stored(text)[0] is parsed  # cached: the same object, not parsed again
    assert read_stored(None)[1] == "时间未知" and read_stored("{}")[0].always_open is False


def test_unknown_hours_are_stored_as_an_empty_document() -> None:
    # The editor's widget sends {"always_open": false, "weekly": {}} for a station without hours;
    # it must store as the {} an import stores, or every save of such a station writes a change.
    assert to_json(from_json({"always_open": False, "weekly": {}})) == {}
    assert to_json(from_json({"weekly": {"mon": []}})) == {}
    assert to_json(from_json({"note": "电话预约"})) == {"always_open": False, "weekly": {},
                                                                       "note": "电话预约"}
