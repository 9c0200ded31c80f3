"""Structured opening hours for service points, and "open now" from them.

Stations keep their hours as a small JSON document (a JSONB column) rather than free
text, so the phone finder can answer "is it open now?" from the real hours instead of
guessing. Times are the region's local wall-clock times; the caller names the zone
(e.g. ``Asia/Shanghai``) and none is ever assumed.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Weekday, ...] = get_args(Weekday)  # ISO order, index == datetime.weekday()

_ZH_DAYS = {day: f"周{zh}" for day, zh in zip(DAYS, "一二三四五六日", strict=True)}
_OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")  # same order as DAYS
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def _minutes(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be timezone-aware; a naive time has no zone (never guessed)")


class Interval(BaseModel):
    """One opening span of a day, in local "HH:MM" 24-hour time.

    ``end <= start`` means the span runs past midnight into the next day, which
    is how overnight shifts (e.g. sanitation workers' 22:00-06:00) are written.
    ``end`` may be "24:00" so that "until midnight" and "all day" (00:00-24:00)
    can be stated without pretending to be overnight.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _check_time(cls, value: str, info: ValidationInfo) -> str:
        is_end = info.field_name == "end"
        if not (_HHMM.fullmatch(value) or (is_end and value == "24:00")):
            raise ValueError(f"{value!r} is not HH:MM in 00:00-23:59 (24:00 allowed as end)")
        if is_end and value == info.data.get("start"):
            raise ValueError(f"end equals start ({value}); use 00:00-24:00 for all day")
        return value

    @property
    def overnight(self) -> bool:
        """True when the interval ends on the following day."""
        return _minutes(self.end) <= _minutes(self.start)

    def zh(self) -> str:
        """Chinese rendering, marking the next-day end as 次日."""
        return f"{self.start}-{'次日' if self.overnight else ''}{self.end}"


class OpeningHours(BaseModel):
    """A station's weekly hours, or the fact that it is always open.

    Neither ``always_open`` nor any interval means the hours are *unknown*; that
    is allowed (many imported stations lack hours) but must not read as closed.
    Days with no intervals are closed and are dropped from ``weekly`` so that
    equal hours always serialise to the same JSON.
    """

    model_config = ConfigDict(extra="forbid")

    always_open: bool = False
    weekly: dict[Weekday, list[Interval]] = {}
    note: str | None = None

    @field_validator("weekly")
    @classmethod
    def _normalise_weekly(
        cls, value: dict[Weekday, list[Interval]], info: ValidationInfo
    ) -> dict[Weekday, list[Interval]]:
        weekly = {d: sorted(value[d], key=lambda iv: iv.start) for d in DAYS if value.get(d)}
        if weekly and info.data.get("always_open"):
            raise ValueError("must be empty when always_open is true")
        return weekly


def is_open(hours: OpeningHours, at: datetime) -> bool | None:
    """Tell whether the station is open at ``at``, read as local wall-clock time.

    ``at`` must already be in the region's zone (see :func:`is_open_in_zone`);
    naive datetimes are refused because guessing a zone gives wrong answers.
    Intervals are half-open: a station closing at 17:00 is closed at 17:00.

    Returns:
        True or False, or None when the hours are unknown (never a guessed False).

    Raises:
        ValueError: If ``at`` is naive.
    """
    _require_aware(at)
    if hours.always_open:
        return True
    if not hours.weekly:
        return None
    now = at.hour * 60 + at.minute
    weekday = at.weekday()
    for interval in hours.weekly.get(DAYS[weekday], []):
        end = 24 * 60 if interval.overnight else _minutes(interval.end)
        if _minutes(interval.start) <= now < end:
            return True
    for interval in hours.weekly.get(DAYS[(weekday - 1) % 7], []):
        if interval.overnight and now < _minutes(interval.end):
            return True
    return False


def is_open_in_zone(hours: OpeningHours, at: datetime, tz_name: str) -> bool | None:
    """Like :func:`is_open`, after converting ``at`` (any zone, e.g. server UTC) to ``tz_name``.

    Raises:
        ValueError: If ``at`` is naive.
        zoneinfo.ZoneInfoNotFoundError: If ``tz_name`` is not a known zone.
    """
    _require_aware(at)
    return is_open(hours, at.astimezone(ZoneInfo(tz_name)))


def _day_groups(hours: OpeningHours) -> list[tuple[list[Weekday], list[Interval]]]:
    """Runs of consecutive open days (Monday first) that share the same intervals."""
    groups: list[tuple[list[Weekday], list[Interval]]] = []
    for i, day in enumerate(DAYS):
        intervals = hours.weekly.get(day)
        if intervals and i and hours.weekly.get(DAYS[i - 1]) == intervals:
            groups[-1][0].append(day)
        elif intervals:
            groups.append(([day], intervals))
    return groups


def _zh_days(days: list[Weekday]) -> str:
    if len(days) == 7:
        return "每天"
    if len(days) >= 3:
        return f"{_ZH_DAYS[days[0]]}至{_ZH_DAYS[days[-1]]}"
    return "、".join(_ZH_DAYS[day] for day in days)


def describe_zh(hours: OpeningHours) -> str:
    """Compact Chinese text for the finder, e.g. "周一至周五 09:30-17:00；周六 10:00-14:00".

    Closed days are simply not mentioned; a note, if any, follows in brackets.
    """
    if hours.always_open:
        text = "24小时开放"
    elif not hours.weekly:
        text = "时间未知"
    else:
        text = "；".join(
            f"{_zh_days(days)} {'，'.join(iv.zh() for iv in intervals)}"
            for days, intervals in _day_groups(hours)
        )
    return f"{text}（{hours.note}）" if hours.note else text


def format_simple(hours: OpeningHours) -> str:
    """The compact OSM-style text that :func:`parse_simple` reads back: "Mo-Fr 09:00-17:00; Sa 10:00-12:00".

    "24/7" when always open, "" when unknown; the free-text note is not part of it.
    """
    if hours.always_open:
        return "24/7"

    def days_text(days: list[Weekday]) -> str:
        first, last = _OSM_DAYS[DAYS.index(days[0])], _OSM_DAYS[DAYS.index(days[-1])]
        return first if len(days) == 1 else f"{first}-{last}"

    return "; ".join(f"{days_text(days)} {','.join(f'{iv.start}-{iv.end}' for iv in intervals)}"
                     for days, intervals in _day_groups(hours))


_RULE = re.compile(r"(?P<days>\D*?)\s*(?P<times>\d.*|off|closed)", re.IGNORECASE)
_DAY_ITEM = re.compile(r"([A-Za-z]{2})(?:\s*-\s*([A-Za-z]{2}))?")
_TIME_RANGE = re.compile(r"(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})")


def _osm_day(token: str, rule: str) -> int:
    if token.capitalize() not in _OSM_DAYS:
        raise ValueError(f"unknown day {token!r} in rule {rule!r}; use Mo Tu We Th Fr Sa Su")
    return _OSM_DAYS.index(token.capitalize())


def _parse_days(text: str, rule: str) -> list[Weekday]:
    if not text:  # OSM: a rule without days applies to every day
        return list(DAYS)
    days: list[Weekday] = []
    for item in (part.strip() for part in text.split(",")):
        match = _DAY_ITEM.fullmatch(item)
        if not match:
            raise ValueError(f"bad day selector {item!r} in rule {rule!r}")
        first = _osm_day(match[1], rule)
        last = _osm_day(match[2], rule) if match[2] else first
        days += [DAYS[(first + i) % 7] for i in range((last - first) % 7 + 1)]  # Fr-Mo wraps
    return days


def _parse_times(text: str, rule: str) -> list[Interval]:
    if text.lower() in ("off", "closed"):
        return []
    intervals = []
    for part in (piece.strip() for piece in text.split(",")):
        match = _TIME_RANGE.fullmatch(part)
        if not match:
            raise ValueError(f"bad time range {part!r} in rule {rule!r}; expected HH:MM-HH:MM")
        start, end = (value.zfill(5) for value in match.groups())
        try:
            intervals.append(Interval(start=start, end=end))
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise ValueError(f"bad time range {part!r} in rule {rule!r}: {reason}") from None
    return intervals


def parse_simple(text: str) -> OpeningHours:
    """Parse the compact strings a CSV import carries (a subset of OSM opening_hours).

    Accepted: "24h", "24小时", "24/7", and ';'-separated rules such as
    "Mo-Fr 09:30-17:00", "Mo,We 08:00-12:00,14:00-18:00", "Sa off". As in OSM, a
    later rule replaces the hours of the days it names. Anything else is
    rejected rather than guessed, so bad rows surface at import time.

    Raises:
        ValueError: Naming the part of ``text`` that could not be understood.
    """
    if re.sub(r"\s+", "", text).lower() in ("24h", "24小时", "24/7"):
        return OpeningHours(always_open=True)
    rules = [rule.strip() for rule in text.split(";") if rule.strip()]
    if not rules:
        raise ValueError(f"no opening hours in {text!r}")
    weekly: dict[Weekday, list[Interval]] = {}
    for rule in rules:
        match = _RULE.fullmatch(rule)
        if not match:
            raise ValueError(f"cannot parse rule {rule!r}; expected e.g. 'Mo-Fr 09:30-17:00'")
        intervals = _parse_times(match["times"], rule)
        for day in _parse_days(match["days"].strip(), rule):
            weekly[day] = list(intervals)
    return OpeningHours(weekly=weekly)


def to_json(hours: OpeningHours) -> dict[str, Any]:
    """Plain dict for the JSONB column."""
    return hours.model_dump(mode="json", exclude_none=True)


def from_json(data: dict[str, Any]) -> OpeningHours:
    """Validate a dict read from the JSONB column (pydantic.ValidationError if malformed)."""
    return OpeningHours.model_validate(data)


@lru_cache(maxsize=4096)
def read_stored(text: str | None) -> tuple[OpeningHours, str]:
    """Hours and their Chinese text from the JSONB column's *text*, parsed once per distinct value.

    Stations share a handful of schedules and the phone finder reads them on every request, so
    validating the same JSON again each time is waste. The cached model is shared: read it only.
    """
    parsed = from_json(json.loads(text) if text else {})
    return parsed, describe_zh(parsed)
