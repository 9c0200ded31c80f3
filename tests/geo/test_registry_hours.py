"""Opening hours given as anything but text or a schedule are the writer's error, never a crash."""

from __future__ import annotations

from geo.services import registry

VOCABULARY = registry.Vocabulary(types=frozenset({"love_station"}), amenities=frozenset())


def test_opening_hours_as_bytes_name_the_field_instead_of_crashing() -> None:
    # pydantic turns bytes into str after the text parser has run: before the fix, that str
    # reached hours.to_json and raised AttributeError (a 500 on the API).
    values, errors = registry.check_properties(
        {"type_code": "love_station", "name": "驿站", "opening_hours": b"Mo-Fr 09:00-17:00"}, VOCABULARY)
    assert values is None and [error.field for error in errors] == ["opening_hours"]


def test_opening_hours_as_text_still_parse() -> None:
    values, errors = registry.check_properties(
        {"type_code": "love_station", "name": "驿站", "opening_hours": "Mo-Fr 09:00-17:00"}, VOCABULARY)
    assert errors == [] and values is not None
    assert values["opening_hours"]["weekly"]["mon"] == [{"start": "09:00", "end": "17:00"}]
