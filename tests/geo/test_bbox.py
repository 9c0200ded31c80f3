"""The one bbox parser: the numbers, the latitude order, the REST rule, clamping; errors name bbox."""

from __future__ import annotations

import pytest

from geo.core.bbox import check_latitudes, clamped, numbers, parse_bbox
from geo.errors import InputError


def test_four_numbers_on_the_globe_are_west_south_east_north() -> None:
    assert parse_bbox("115.9,29.6,116.1,29.8") == (115.9, 29.6, 116.1, 29.8)
    assert parse_bbox(" -180, -90, 180, 90") == (-180.0, -90.0, 180.0, 90.0)


@pytest.mark.parametrize("text", ["1,2,3", "1,2,3,4,5,6", "a,b,c,d", "", "nan,1,2,3", "inf,29,117,30",
                                  "116,30,115,31", "115,30,116,29", "-181,29,116,30", "115,29,116,91"])
def test_the_rest_rule_refuses_naming_bbox(text: str) -> None:
    with pytest.raises(InputError) as error:
        parse_bbox(text)
    assert error.value.field == "bbox" and "bbox" in str(error.value)


def test_six_numbers_only_where_asked_for() -> None:
    assert numbers("1,2,3,4,5,6", counts=(4, 6)) == [1, 2, 3, 4, 5, 6]
    with pytest.raises(InputError, match=r"4 \(or 6\)"):
        numbers("1,2,3,4,5", counts=(4, 6))
    with pytest.raises(InputError, match="expected 4 comma"):
        numbers("1,2,3,4,5,6")


def test_latitudes_in_order_and_values_clamped_to_the_globe() -> None:
    check_latitudes(29.0, 29.0)
    with pytest.raises(InputError, match="latitude"):
        check_latitudes(30.0, 29.0)
    assert clamped(-200.0, -95.0, 170.0, 100.0) == (-180.0, -90.0, 170.0, 90.0)
