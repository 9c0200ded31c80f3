"""The shipped service-type registry and the default type every map, plan and page falls back on."""

from __future__ import annotations

from geo.reference import DEFAULT_TYPE
from geo.reference.service_types import read_service_types
from tests.conftest import DATA_DIR


def test_the_default_type_is_the_first_shipped_service_type() -> None:
    codes = [spec.code for spec in read_service_types(DATA_DIR / "service_types.yaml")]
    assert codes[0] == DEFAULT_TYPE
