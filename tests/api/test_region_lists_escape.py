"""Names of regions come from files a union edits (region.yaml, province.yaml): the deployment's list on the
start page and a province's roll-up show them as text, never as markup."""

import pandas as pd

from api.province_page import ProvinceFigures, render
from geo.services.rollup import ProvinceArea

HOSTILE = '"><img src=x onerror=alert(1)>'


def test_a_hostile_city_and_province_name_stays_text() -> None:
    area = ProvinceArea("360000", HOSTILE, HOSTILE, "Asia/Shanghai", ("360100",))
    coverage = pd.DataFrame([{"city_code": "360100", "city_name": HOSTILE, "type_code": "love_station",
                              "type_name": HOSTILE, "stations": 1, "population": 10.0, "covered_population": 5.0,
                              "covered_share": 0.5, "population_is_modelled": True}])
    targets = pd.DataFrame([{"city_code": "360100", "city_name": HOSTILE, "target_code": "t", "type_code": "x",
                             "type_name": HOSTILE, "scope": HOSTILE, "kind": "count", "required": 1.0, "units": 1,
                             "units_met": 0, "built": 0.0, "shortfall": 1.0, "overdue": False,
                             "cities_with_target": 1}])
    page = render(ProvinceFigures(area, {"360100": HOSTILE}, coverage, targets, [HOSTILE], ""))
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
