"""The siting question behind each 为此规划 link, on hand-built targets whose answer is obvious."""

from datetime import date

import pandas as pd
import pytest

from geo.analysis.gaps import PlanQuestion, gap_rows, plan_question

# Three counties with 4, 6 and 2 rest stations (12 in all); three townships, one without any.
UNITS = pd.DataFrame({"scope": ["city", "county", "county", "county", "township", "township", "township"],
                      "region_code": ["city", "K1", "K2", "K3", "T1", "T2", "T3"],
                      "region_name": ["全市", "甲县", "乙县", "丙县", "一镇", "二镇", "三镇"]})
COUNTS = pd.DataFrame({"type_code": ["rest"] * 6 + ["home"], "scope": ["city", "county", "county", "county",
                                                                        "township", "township", "city"],
                       "region_code": ["city", "K1", "K2", "K3", "T1", "T2", "city"],
                       "built": [12, 4, 6, 2, 7, 5, 3]})


def target(code: str, type_code: str, scope: str, required: float, kind: str = "count") -> dict:
    return {"target_code": code, "type_code": type_code, "type_name": type_code, "scope": scope, "kind": kind,
            "required": required, "deadline": "2019-12-31", "source_quote": "原文", "note": ""}


def rows(*targets: dict) -> pd.DataFrame:
    return gap_rows(pd.DataFrame(list(targets)), UNITS, COUNTS, today=date(2020, 1, 1),
                    coverage_shares=lambda frame: pd.Series(0.5, index=frame.index).to_numpy())


def test_per_county_target_adds_the_summed_shortfall_with_the_required_minimum() -> None:
    # 甲县 lacks 1, 丙县 lacks 3 to reach 5; 乙县 is over and does not offset them.
    question = plan_question("county5", rows(target("county5", "rest", "county", 5)))
    assert question == PlanQuestion("rest", add=4, min_per_county=5, wanted_add=4, wanted_min_per_county=5)
    assert not question.clamped


def test_city_target_holds_the_counties_to_the_same_types_county_target() -> None:
    frame = rows(target("city20", "rest", "city", 20), target("county5", "rest", "county", 5),
                 target("home_county", "home", "county", 9))
    assert plan_question("city20", frame) == PlanQuestion("rest", 8, 5, 8, 5)


def test_city_target_adds_at_least_what_the_counties_lack() -> None:
    # The city needs 1 more, the counties 4 more: a plan of 1 with a minimum of 5 could not exist.
    frame = rows(target("city13", "rest", "city", 13), target("county5", "rest", "county", 5))
    assert plan_question("city13", frame) == PlanQuestion("rest", 4, 5, 4, 5)


def test_city_target_without_a_county_target_has_no_minimum() -> None:
    assert plan_question("home10", rows(target("home10", "home", "city", 10))) == PlanQuestion("home", 7, 0, 7, 0)


def test_township_target_adds_the_shortfall_with_no_minimum() -> None:
    # 一镇 and 二镇 hold 7 and 5, 三镇 none: 2 short of 2 in 三镇 only.
    frame = rows(target("town2", "rest", "township", 2), target("county5", "rest", "county", 5))
    assert plan_question("town2", frame) == PlanQuestion("rest", 2, 0, 2, 0)


def test_fractional_figures_round_up_to_whole_stations() -> None:
    assert plan_question("county", rows(target("county", "rest", "county", 4.5))) == PlanQuestion("rest", 3, 5, 3, 5)


def test_coverage_and_met_targets_have_no_question() -> None:
    frame = rows(target("share", "rest", "county", 0.9, kind="coverage"), target("met", "rest", "city", 12))
    assert frame.loc[frame["target_code"] == "share", "shortfall"].sum() == pytest.approx(1.2)  # unmet, still none
    assert plan_question("share", frame) is None
    assert plan_question("met", frame) is None


def test_clamped_to_the_plan_pages_limits() -> None:
    frame = rows(target("city300", "rest", "city", 300), target("county80", "rest", "county", 80))
    question = plan_question("city300", frame, max_add=200, max_min_per_county=50)
    # 288 short city-wide; the counties lack 76 + 74 + 78 = 228 to reach 80
    assert question == PlanQuestion("rest", add=200, min_per_county=50, wanted_add=288, wanted_min_per_county=80)
    assert question.clamped
    assert plan_question("city300", frame, max_add=288, max_min_per_county=80).clamped is False


def test_unknown_target_names_the_argument() -> None:
    with pytest.raises(ValueError, match="target_code"):
        plan_question("nope", rows(target("county5", "rest", "county", 5)))


def test_targets_without_any_deadline_are_never_overdue() -> None:
    frame = gap_rows(pd.DataFrame([target("county5", "rest", "county", 5) | {"deadline": None}]), UNITS, COUNTS,
                     today=date(2020, 1, 1))
    assert frame["overdue"].tolist() == [False, False, False] and frame["deadline"].isna().all()
    assert plan_question("county5", frame) == PlanQuestion("rest", 4, 5, 4, 5)
