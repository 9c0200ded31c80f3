"""Opening hours: a preview of a document before it is saved (the editor's hours widget asks it).

Public and read-only: it reads nothing from the registry and writes nothing, so it needs no key
and no CSRF token. What it answers is what a station with these hours would show: the text the
finder shows riders (``geo.core.hours.describe_zh``, the same function), the OSM text, and
"open now" in the region's time zone, which does not count public holidays (no calendar).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError

from api import responses
from api.deps import RegionDep
from api.schemas import HoursPreviewIn, HoursPreviewOut
from geo.core import hours
from geo.errors import InputError, InputErrors

router = APIRouter(prefix="/hours", tags=["hours 开放时间"])

PREVIEW_ERRORS: dict[int | str, dict[str, Any]] = {
    422: responses.invalid("开放时间有误，指明字段（如 opening_hours.weekly.mon.0.start）/ bad hours, the field named"),
    400: responses.UNREADABLE, 413: responses.TOO_LARGE}


def parsed(value: dict[str, Any] | str) -> hours.OpeningHours:
    """The hours of the request body; every problem names its place under ``opening_hours``."""
    try:
        return hours.read_any(value)
    except ValidationError as error:
        raise InputErrors([InputError(item["msg"].removeprefix("Value error, "),
                                      field=".".join(["opening_hours", *map(str, item["loc"])]))
                           for item in error.errors()]) from None
    except ValueError as error:  # compact text that cannot be parsed
        raise InputError(str(error), field="opening_hours") from None


@router.post("/preview", summary="开放时间预览 / preview opening hours", responses=PREVIEW_ERRORS)
def preview_hours(body: HoursPreviewIn, region: RegionDep) -> HoursPreviewOut:
    """规范化开放时间，给出骑手看到的文字、OSM 文本和某时刻是否开放 / normalise hours; the rider's text,
    the OSM text and whether open at `at`.

    时间按本地区时区计算；“现在营业”不计法定节假日（没有节假日日历），文档里的
    `closed_on_public_holidays` 只显示给骑手。/ Times are the region's; `closed_on_public_holidays` is
    shown to riders but not counted by `open_now`.
    """
    schedule = parsed(body.opening_hours)
    try:
        seen = hours.preview(schedule, region.timezone, body.at)
    except OverflowError:  # e.g. 9999-12-31T23:59Z is past the last representable local time
        raise InputError(f"{body.at} is out of range in {region.timezone}", field="at") from None
    notices = [hours.HOLIDAYS_NOT_COUNTED] if schedule.closed_on_public_holidays else []
    return HoursPreviewOut(opening_hours=hours.to_json(schedule), open_now=seen.open_now, text_zh=seen.text_zh,
                           osm=seen.osm, at=seen.at, timezone=region.timezone, notices=notices)
