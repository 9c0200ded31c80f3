"""Structured opening hours for service points, and "open now" from them.

Stations keep their hours as a small JSON document (a JSONB column) rather than free
text, so the phone finder can answer "is it open now?" from the real hours instead of
guessing. Times are the region's local wall-clock times; the caller names the zone
(e.g. ``Asia/Shanghai``) and none is ever assumed.

Public holidays: a document may say the station is closed on them
(``closed_on_public_holidays``, "法定节假日休息", OSM ``PH off``). Riders are told so in the
text, but "open now" does not honour it: the region has no holiday calendar (China's holidays
and the make-up working days are announced each year), and none is invented here. See
:data:`HOLIDAYS_NOT_COUNTED`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
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
HOLIDAYS_CLOSED_ZH = "法定节假日休息"
# Said wherever "open now" is computed for a document that closes on public holidays.
HOLIDAYS_NOT_COUNTED = ("“现在营业”未计入法定节假日（本地区没有节假日日历）/ open now does not count public "
                        "holidays: the region has no holiday calendar")
_ALWAYS = ("24h", "24小时", "24/7")
_HOLIDAYS_OFF = ("phoff", "phclosed", HOLIDAYS_CLOSED_ZH)


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
    # Shown to riders ("法定节假日休息"); not used by is_open (no holiday calendar, see module doc).
    closed_on_public_holidays: bool = False

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
    Intervals are half-open: a station closing at 17:00 is closed at 17:00. Public holidays
    are not known here, so ``closed_on_public_holidays`` does not change the answer.

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

    Closed days are simply not mentioned; "法定节假日休息" follows when the station closes on
    public holidays, then a note, if any, in brackets.
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
    if hours.closed_on_public_holidays:
        text += f"；{HOLIDAYS_CLOSED_ZH}"
    return f"{text}（{hours.note}）" if hours.note else text


def format_simple(hours: OpeningHours) -> str:
    """The compact OSM-style text that :func:`parse_simple` reads back: "Mo-Fr 09:00-17:00; Sa 10:00-12:00".

    "24/7" when always open, "" when unknown; "PH off" last when closed on public holidays. The
    free-text note is not part of it.
    """

    def days_text(days: list[Weekday]) -> str:
        first, last = _OSM_DAYS[DAYS.index(days[0])], _OSM_DAYS[DAYS.index(days[-1])]
        return first if len(days) == 1 else f"{first}-{last}"

    rules = ["24/7"] if hours.always_open else [
        f"{days_text(days)} {','.join(f'{iv.start}-{iv.end}' for iv in intervals)}"
        for days, intervals in _day_groups(hours)]
    return "; ".join(rules + (["PH off"] if hours.closed_on_public_holidays else []))


_RULE = re.compile(r"(?P<days>\D*?)\s*(?P<times>\d.*|off|closed)", re.IGNORECASE)
_DAY_ITEM = re.compile(r"([A-Za-z]{2})(?:\s*-\s*([A-Za-z]{2}))?")
_TIME_RANGE = re.compile(r"(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})")


def _osm_day(token: str, rule: str) -> int:
    if token.upper() == "PH":
        raise ValueError(f"{token!r} (public holidays) only as a rule of its own, 'PH off', not in {rule!r}")
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
    "Mo-Fr 09:30-17:00", "Mo,We 08:00-12:00,14:00-18:00", "Sa off", and "PH off" (or
    "法定节假日休息": closed on public holidays). As in OSM, a later rule replaces the hours of
    the days it names. Anything else is rejected rather than guessed, so bad rows surface at
    import time.

    Raises:
        ValueError: Naming the part of ``text`` that could not be understood.
    """
    rules = [rule.strip() for rule in text.split(";") if rule.strip()]
    if not rules:
        raise ValueError(f"no opening hours in {text!r}")
    weekly: dict[Weekday, list[Interval]] = {}
    always_open = holidays_off = False
    for rule in rules:
        compact = re.sub(r"\s+", "", rule).lower()
        if compact in _HOLIDAYS_OFF or compact in _ALWAYS:
            holidays_off |= compact in _HOLIDAYS_OFF
            always_open |= compact in _ALWAYS
            continue
        match = _RULE.fullmatch(rule)
        if not match:
            raise ValueError(f"cannot parse rule {rule!r}; expected e.g. 'Mo-Fr 09:30-17:00'")
        intervals = _parse_times(match["times"], rule)
        for day in _parse_days(match["days"].strip(), rule):
            weekly[day] = list(intervals)
    if always_open and weekly:
        raise ValueError(f"24/7 and day rules together in {text!r}; give one or the other")
    return OpeningHours(always_open=always_open, weekly=weekly, closed_on_public_holidays=holidays_off)


def to_json(hours: OpeningHours) -> dict[str, Any]:
    """Plain dict for the JSONB column.

    The holiday flag is written only when set, so documents stored before it existed and the
    same hours saved today are the same JSON; unknown hours are ``{}`` (as imports store them),
    so saving a form with no hours does not write a change.
    """
    if hours == OpeningHours():
        return {}  # unknown hours are stored as {} however they were sent (an empty form, say)
    data = hours.model_dump(mode="json", exclude_none=True)
    if not hours.closed_on_public_holidays:
        del data["closed_on_public_holidays"]
    return data


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


def read_any(value: dict[str, Any] | str) -> OpeningHours:
    """Hours from a stored document (dict) or from the compact text of :func:`parse_simple`.

    Blank text means unknown hours, as it does in an imported row.

    Raises:
        pydantic.ValidationError: For a malformed document (its ``loc`` names the member).
        ValueError: For text that cannot be parsed.
    """
    if isinstance(value, str):
        return parse_simple(value) if value.strip() else OpeningHours()
    return from_json(value)


@dataclass(frozen=True)
class Preview:
    """What a planner sees before saving hours: the normalised document, the rider's text, the
    OSM text, and whether it is open at ``at`` (the region's local time)."""

    hours: OpeningHours
    at: datetime
    open_now: bool | None
    text_zh: str
    osm: str


def preview(hours: OpeningHours, tz_name: str, at: datetime | None = None) -> Preview:
    """The preview of ``hours`` at ``at`` (default: now) in the zone ``tz_name``.

    A naive ``at`` is read as wall-clock time in ``tz_name`` — what a planner types when asking
    "open on Tuesday at 10:00?" — never as the server's zone; an aware one is converted.
    """
    zone = ZoneInfo(tz_name)
    local = datetime.now(zone) if at is None else at.replace(tzinfo=zone) if at.tzinfo is None else at.astimezone(zone)
    return Preview(hours=hours, at=local, open_now=is_open(hours, local), text_zh=describe_zh(hours),
                   osm=format_simple(hours))
