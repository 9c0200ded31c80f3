"""The registry's validation messages, Chinese first and English after ("名称不能为空 / ...").

Every write path (API 422s, the editor's form, the bulk dry-run report, the CLI import) shows
these texts next to a field or in a row of a report, so they are written once, here, and kept
short enough to sit under a form field. Pydantic's errors are translated by their ``type``;
an error this module does not know keeps pydantic's English, so nothing is ever lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic_core import ErrorDetails

OUTSIDE_REGION = "不在本地区范围内 / the point lies outside the region"
_AXIS = {"lon": ("经度", 180), "lat": ("纬度", 90)}


def shown(value: Any, limit: int = 30) -> str:
    """A bad value as quoted in a message: its repr, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _choices(expected: str) -> list[str]:
    """pydantic's ``expected`` ("'open', 'closed' or 'planned'") as its values."""
    return re.findall(r"'([^']*)'", expected) or [part.strip() for part in re.split(r",| or ", expected)]


def _phrase(item: ErrorDetails) -> str | None:
    """The Chinese / English text for one pydantic error, or None for a type not translated."""
    kind, ctx, given = item["type"], item.get("ctx") or {}, item.get("input")
    if kind == "string_too_short":
        count = ctx.get("min_length", 1)
        return "不能为空 / must not be empty" if count == 1 else f"至少 {count} 个字符 / at least {count} characters"
    if kind == "string_too_long":
        count = ctx.get("max_length")
        return f"最多 {count} 个字符 / at most {count} characters"
    if kind == "too_long":
        count = ctx.get("max_length")
        return f"最多 {count} 项 / at most {count} items"
    if kind == "missing":
        return "必填 / required"
    if kind in ("literal_error", "enum"):
        values = _choices(str(ctx.get("expected", "")))
        return (f"应为 {'、'.join(values)} 之一，收到 {shown(given)} / must be one of {', '.join(values)}, "
                f"got {shown(given)}")
    if kind in ("bool_parsing", "bool_type"):
        return f"应为 是/否（true/false），收到 {shown(given)} / {shown(given)} is not true or false"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"应为整数，收到 {shown(given)} / {shown(given)} is not a whole number"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return f"应为数字，收到 {shown(given)} / {shown(given)} is not a number"
    if kind == "string_type":
        return f"应为文字，收到 {shown(given)} / must be text, got {shown(given)}"
    if kind == "list_type":
        return f"应为列表，收到 {shown(given)} / must be a list, got {shown(given)}"
    if kind == "string_pattern_mismatch":
        if item["loc"][:1] == ("phone",):
            return f"只能含数字、空格和 + - ( )，收到 {shown(given)} / digits, spaces and + - ( ) only"
        return f"格式不对：{shown(given)} / {shown(given)} does not match {ctx.get('pattern')}"
    if kind == "extra_forbidden":
        return "不认识的字段 / unknown field"
    if kind == "value_error":  # our own validators already write both languages
        return str(ctx.get("error", item["msg"]))
    return None


def pydantic_message(item: ErrorDetails) -> str:
    """One pydantic error as shown to a planner; pydantic's English when its type is not known here."""
    return _phrase(item) or item["msg"]


def unknown_type(value: str, names: Mapping[str, str]) -> str:
    """A type that is neither a code nor a Chinese name; lists every type with both."""
    known = "、".join(f"{name} {code}" if name else code for code, name in names.items())
    return f"未知的服务类型 {shown(value)}，可选：{known} / unknown service type {shown(value)}"


def unknown_amenities(values: list[str], names: Mapping[str, str]) -> str:
    """Amenities neither codes nor Chinese names; lists every amenity with both."""
    bad = ", ".join(shown(value) for value in values)
    known = "、".join(f"{name} {code}" if name else code for code, name in names.items())
    return f"未知的设施 {bad}，可选：{known} / unknown amenity {bad}"


def not_a_number(name: str, value: Any) -> str:
    """A coordinate that does not read as a number."""
    return f"{_AXIS[name][0]}应为数字，收到 {shown(value)} / {shown(value)} is not a number"


def out_of_range(name: str, value: Any, *, swapped: bool = False) -> str:
    """A coordinate beyond ±180 (lon) or ±90 (lat); ``swapped`` adds the hint that the two look swapped."""
    label, limit = _AXIS[name]
    chinese, english = f"{label}超出 ±{limit}：{shown(value)}", f"{shown(value)} is not a {name} in degrees (±{limit})"
    if swapped:
        chinese, english = f"{chinese}，经纬度可能写反了", f"{english}; longitude and latitude may be swapped"
    return f"{chinese} / {english}"


def looks_swapped(lon: float, lat: float) -> bool:
    """A latitude past ±90 that would be a valid longitude, with a longitude that would be a
    valid latitude: the two numbers were most likely entered the wrong way round."""
    return 90 < abs(lat) <= 180 and abs(lon) <= 90
