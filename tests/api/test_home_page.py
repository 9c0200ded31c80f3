"""The start page: each target's real figures, the units that miss it, and the plan that closes it.

The demo's figures are computed here independently of the page's code path: the open stations
from the stations API, the counties below five from those stations and the county list, and
checked against the gaps API. The page's HTML is pure (``api.home_page.render``): its rules for
coverage targets, clamped plans and hostile names are tested on hand-built frames.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from api.home_page import HomeFigures, render
from geo.analysis.gaps import PLAN_MAX_ADD, PLAN_MAX_MIN_PER_COUNTY, gap_rows, summary

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

BeautifulSoup = pytest.importorskip("bs4").BeautifulSoup  # a test extra


def query(href: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(href)
    return parts.path, {key: values[0] for key, values in parse_qs(parts.query).items()}


@pytest.fixture
def home(client: TestClient) -> BeautifulSoup:
    response = client.get("/")
    assert response.status_code == 200
    return BeautifulSoup(response.text, "html.parser")


@pytest.fixture
def failing_counties(client: TestClient) -> list[dict]:
    """The gaps API's rows of the per-county 爱心驿站 target that are not met."""
    rows = client.get("/api/v1/gaps", params={"detail": True}).json()["rows"]
    return [row for row in rows if row["target_code"] == "love_station_county_2019" and not row["met"]]


def target_row(home: BeautifulSoup, code: str):  # noqa: ANN201 - a bs4 Tag
    row = home.find("tr", attrs={"data-target": code})
    assert row is not None, code
    return row


def test_city_target_shows_the_open_stations_against_200(client: TestClient, home: BeautifulSoup) -> None:
    stations = client.get("/api/v1/stations", params={"type": "love_station", "status": "open", "limit": 1000}).json()
    built = stations["numberReturned"]
    assert built == len(stations["features"]) and 0 < built < 200  # the demo misses the target
    row = target_row(home, "love_station_city_2019")
    assert row.find(class_="progress").get_text() == f"{built}/200 · 缺口 {200 - built}"
    assert row.find(class_="status").get_text() == "✗ 未达标"
    assert row.find(class_="status").find(class_="badge")["class"] == ["badge", "miss"]
    assert row.find(class_="deadline").get_text() == "2019-12-31 逾期"  # the report's 2019 has passed
    assert row.find(class_="failing").get_text() == "—"


def test_county_target_names_and_links_exactly_the_failing_counties(
        client: TestClient, home: BeautifulSoup, failing_counties: list[dict]) -> None:
    # Independently: the open stations per county against the county list.
    stations = client.get("/api/v1/stations", params={"type": "love_station", "status": "open", "limit": 1000}).json()
    per_county = Counter(feature["properties"]["county_code"] for feature in stations["features"])
    counties = client.get("/api/v1/regions", params={"level": "county"}).json()["features"]
    below = {c["properties"]["code"]: 5 - per_county[c["properties"]["code"]] for c in counties
             if per_county[c["properties"]["code"]] < 5}
    assert below and {row["region_code"]: row["shortfall"] for row in failing_counties} == below

    row = target_row(home, "love_station_county_2019")
    links = row.find(class_="failing").find_all("a")
    assert [link.get_text() for link in links] == [county["region_name"] for county in failing_counties]
    assert [query(link["href"]) for link in links] == [
        ("/maps/gaps", {"target": "love_station_county_2019", "unit": county["region_code"]})
        for county in failing_counties]
    met = len(counties) - len(failing_counties)
    shortfall = sum(below.values())
    assert row.find(class_="progress").find(class_="figure").get_text() == f"{met}/{len(counties)} 县达标"
    assert row.find(class_="totals").get_text() == f"已建合计 {stations['numberReturned']} · 缺口合计 {shortfall}"
    assert row.find(class_="status").get_text() == "✗ 未达标"

    plan = row.find("a", class_="plan")
    assert plan.get_text() == "为此规划"
    # The tests' registry (seed 7) lacks 1; the shipped demo (seed 2019) lacks 4, in 德安县 and 湖口县.
    assert query(plan["href"]) == ("/maps/plan", {"type": "love_station", "add": str(shortfall), "min_per_county": "5"})
    assert home.find("nav").find(id="next-plan")["href"] == plan["href"]  # the overdue target closed soonest


def test_city_plan_also_holds_the_counties_and_township_plan_does_not(home: BeautifulSoup) -> None:
    built = int(target_row(home, "love_station_city_2019").find(class_="progress").get_text().split("/")[0])
    city = target_row(home, "love_station_city_2019").find("a", class_="plan")
    assert query(city["href"])[1] == {"type": "love_station", "add": str(200 - built), "min_per_county": "5"}
    township = target_row(home, "love_station_township")
    assert query(township.find("a", class_="plan")["href"])[1]["min_per_county"] == "0"
    assert "不保证每个乡镇一个" in township.find(class_="action").get_text()
    legal = target_row(home, "legal_service_city").find("a", class_="plan")  # no county target of its type
    assert query(legal["href"])[1]["min_per_county"] == "0"


def test_township_target_names_a_few_and_counts_the_rest(client: TestClient, home: BeautifulSoup) -> None:
    rows = client.get("/api/v1/gaps", params={"detail": True}).json()["rows"]
    missing = [r for r in rows if r["target_code"] == "love_station_township" and not r["met"]]
    row = target_row(home, "love_station_township")
    assert row.find(class_="figure").get_text() == f"{204 - len(missing)}/204 乡镇达标"
    links = row.find(class_="failing").find_all("a")
    assert [link.get_text() for link in links[:5]] == [r["region_name"] for r in missing[:5]]
    assert links[5].get_text() == f"等 {len(missing)} 个乡镇" and len(links) == 6
    assert query(links[5]["href"]) == ("/maps/gaps", {"target": "love_station_township"})
    plan = query(row.find("a", class_="plan")["href"])[1]
    assert plan["add"] == str(len(missing))  # one short in each


def test_page_has_landmarks_and_keeps_its_notices(home: BeautifulSoup) -> None:
    assert home.find("html")["lang"] == "zh-CN"
    assert home.find("nav")["aria-label"] and home.find("main").find(id="targets") is not None
    assert home.find("header").find(id="unionmap-notice") is not None
    body_children = [child.name for child in home.find("body").find_all(recursive=False)]
    assert body_children == ["header", "nav", "main"]  # nothing outside a landmark


def test_plan_limits_are_the_plan_pages(client: TestClient) -> None:
    parameters = {p["name"]: p["schema"] for p in client.get("/openapi.json").json()["paths"]["/maps/plan"]["get"]
                  ["parameters"]}
    assert parameters["add"]["maximum"] == PLAN_MAX_ADD
    assert parameters["min_per_county"]["maximum"] == PLAN_MAX_MIN_PER_COUNTY


# Hand-built figures: the rules of the page without a database.
HOSTILE = '<img src=x onerror=alert(1)>"\''


def figures(targets: list[dict], counts: pd.DataFrame) -> HomeFigures:
    units = pd.DataFrame({"scope": ["city", "county", "county"], "region_code": ["city", "K1", "K<2>"],
                          "region_name": ["全市", HOSTILE, None]})
    rows = gap_rows(pd.DataFrame(targets), units, counts, today=date(2020, 1, 1),
                    coverage_shares=lambda frame: pd.Series(0.25, index=frame.index).to_numpy())
    return HomeFigures(region_name_zh=HOSTILE, region_name_en="x", notices=[HOSTILE], summary=summary(rows),
                       gap_rows=rows, types=[("rest", HOSTILE)], open_by_type={"rest": 3})


def target(code: str, scope: str, kind: str, required: float, deadline: str | None = None) -> dict:
    return {"target_code": code, "type_code": "rest", "type_name": HOSTILE, "scope": scope, "kind": kind,
            "required": required, "deadline": deadline, "source_quote": HOSTILE, "note": HOSTILE}


COUNTS = pd.DataFrame({"type_code": ["rest"] * 3, "scope": ["city", "county", "county"],
                       "region_code": ["city", "K1", "K<2>"], "built": [3, 1, 2]})


def test_coverage_target_gets_no_plan_button_but_the_coverage_map() -> None:
    page = BeautifulSoup(render(figures([target("share", "county", "coverage", 0.9)], COUNTS)), "html.parser")
    row = target_row(page, "share")
    assert row.find("a", class_="plan") is None
    assert "不按站点数规划" in row.find(class_="action").get_text()
    assert query(row.find(class_="action").find("a")["href"]) == ("/maps/coverage", {"type": "rest"})
    assert row.find(class_="figure").get_text() == "0/2 县达标"
    assert page.find(id="next-plan")["href"] == "/maps/plan"  # nothing to plan: the plain page


def test_clamped_plan_says_so_and_met_target_shows_pass() -> None:
    page = BeautifulSoup(render(figures([target("big", "city", "count", 250), target("met", "city", "count", 3,
                                                                                      "2019-12-31")], COUNTS)),
                         "html.parser")
    big = target_row(page, "big")
    assert query(big.find("a", class_="plan")["href"])[1] == {"type": "rest", "add": str(PLAN_MAX_ADD),
                                                             "min_per_county": "0"}
    assert f"方案页一次最多新增 {PLAN_MAX_ADD} 个，本目标需新增 247 个" in big.get_text()
    assert "每县至少最多" not in big.get_text()  # only the limit that was hit
    strict = target_row(BeautifulSoup(render(figures([target("k80", "county", "count", 80)], COUNTS)), "html.parser"),
                        "k80")
    assert query(strict.find("a", class_="plan")["href"])[1] == {"type": "rest", "add": "157",
                                                                "min_per_county": str(PLAN_MAX_MIN_PER_COUNTY)}
    assert f"每县至少最多设 {PLAN_MAX_MIN_PER_COUNTY} 个，本目标要求每县 80 个" in strict.get_text()
    assert big.find(class_="deadline").get_text() == "报告未定期限"
    met = target_row(page, "met")
    assert met.find(class_="status").get_text() == "✓ 达标" and met.find("a", class_="plan") is None
    assert met.find(class_="deadline").get_text() == "2019-12-31"  # met: not overdue


def test_every_given_text_is_escaped() -> None:
    html = render(figures([target("k", "county", "count", 5)], COUNTS))
    page = BeautifulSoup(html, "html.parser")
    assert page.find("img") is None and page.find("script") is None
    assert page.title.get_text() == f"unionmap · {HOSTILE}"
    names = [link.get_text() for link in target_row(page, "k").find(class_="failing").find_all("a")]
    assert names == [HOSTILE, "K<2>"]  # a unit without a name shows its code
    assert query(target_row(page, "k").find(class_="failing").find_all("a")[1]["href"])[1]["unit"] == "K<2>"
    assert page.find(id="unionmap-notice").get_text() == f"⚠ {HOSTILE}"
