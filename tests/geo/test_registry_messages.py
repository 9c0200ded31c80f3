"""The registry's validation messages: Chinese first, English after, each on the right field."""

from __future__ import annotations

import pytest

from geo.services import registry

VOCABULARY = registry.Vocabulary(
    types=frozenset({"love_station", "workers_home"}), amenities=frozenset({"water", "charging"}),
    type_names={"love_station": "爱心驿站", "workers_home": "职工之家"},
    amenity_names={"water": "饮水", "charging": "充电"})


def errors_of(**properties: object) -> dict[str | None, str]:
    values, errors = registry.check_properties({"type_code": "love_station", "name": "驿站"} | properties, VOCABULARY)
    assert values is None
    return {error.field: error.reason for error in errors}


@pytest.mark.parametrize(("properties", "field", "message"), [
    ({"name": "  "}, "name", "不能为空 / must not be empty"),
    ({"name": "长" * 201}, "name", "最多 200 个字符 / at most 200 characters"),
    ({"status": "gone"}, "status",
     "应为 open、closed、planned 之一，收到 'gone' / must be one of open, closed, planned, got 'gone'"),
    ({"is_demo": "maybe"}, "is_demo", "应为 是/否（true/false），收到 'maybe' / 'maybe' is not true or false"),
    ({"colour": "red"}, "colour", "不认识的字段 / unknown field"),
    ({"phone": "call me"}, "phone", "只能含数字、空格和 + - ( )，收到 'call me' / digits, spaces and + - ( ) only"),
    ({"amenities": ["water"] * 31}, "amenities", "最多 30 项 / at most 30 items"),
])
def test_pydantic_errors_read_chinese_first_on_their_field(properties: dict[str, object], field: str,
                                                             message: str) -> None:
    assert errors_of(**properties) == {field: message}


def test_a_missing_type_is_required() -> None:
    values, errors = registry.check_properties({"name": "驿站"}, VOCABULARY)
    assert values is None and [(e.field, e.reason) for e in errors] == [("type_code", "必填 / required")]


def test_a_long_bad_value_is_shortened_in_the_message() -> None:
    message = errors_of(status="x" * 100)["status"]
    assert "'" + "x" * 28 + "…" in message and "x" * 40 not in message


def test_unknown_type_lists_the_types_with_their_chinese_names() -> None:
    assert errors_of(type_code="夜市") == {"type_code": "未知的服务类型 '夜市'，可选：爱心驿站 love_station、职工之家 "
                                                      "workers_home / unknown service type '夜市'"}


def test_unknown_amenity_lists_the_amenities_with_their_chinese_names() -> None:
    assert errors_of(amenities="饮水;sauna") == {"amenities": "未知的设施 'sauna'，可选：饮水 water、充电 charging / "
                                                             "unknown amenity 'sauna'"}


def test_chinese_type_and_amenity_names_are_stored_as_codes() -> None:
    values, errors = registry.check_properties(
        {"type_code": " 职工之家 ", "name": "驿站", "amenities": "饮水、充电；water"}, VOCABULARY)
    assert errors == [] and values is not None
    assert (values["type_code"], values["amenities"]) == ("workers_home", ["water", "charging"])


def test_coordinates_name_the_axis_in_chinese() -> None:
    assert [(e.field, e.reason) for e in registry.check_coordinates("east", 999)] == [
        ("lon", "经度应为数字，收到 'east' / 'east' is not a number"),
        ("lat", "纬度超出 ±90：999 / 999 is not a lat in degrees (±90)")]


def test_a_latitude_that_reads_as_a_longitude_suggests_they_are_swapped() -> None:
    assert [(e.field, e.reason) for e in registry.check_coordinates(29.7, 116.0, field_prefix="geometry.")] == [
        ("geometry.lat", "纬度超出 ±90：116.0，经纬度可能写反了 / 116.0 is not a lat in degrees (±90); "
                         "longitude and latitude may be swapped")]


@pytest.mark.parametrize(("lon", "lat"), [(120.0, 116.0), (29.7, 200.0), (29.7, 45.0)])
def test_no_swap_hint_when_swapping_would_not_help(lon: float, lat: float) -> None:
    assert not any("写反" in e.reason for e in registry.check_coordinates(lon, lat))
