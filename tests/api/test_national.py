"""The national simulation's steps (``scripts/bench/bench_national.py``), reduced to two small
prefectures of Jiangxi (新余 360500, 鹰潭 360600) at a coarse grid (H3 res 7): the love stations
each city gets are its census share of 186 000, the country row 100000 groups the province row
360000 which groups both cities, and ``/r/100000/`` answers nearest-station questions over both
cities (the nearest of the two cities' own answers). Coverage and greedy siting run for both.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from geo.settings import Settings

pytestmark = pytest.mark.db
BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench"
CITIES = ("360500", "360600")
TOTAL = 186_000


def bench() -> ModuleType:
    sys.path.insert(0, str(BENCH))  # bench_national imports its neighbours (loadgen, bench_nearest) by name
    spec = importlib.util.spec_from_file_location("bench_national", BENCH / "bench_national.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def nation(databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, Settings, list]]:  # noqa: ANN001
    module = bench()
    name = f"unionmap_national_{os.getpid()}"
    url = databases.create(name)
    try:
        settings = module.scratch_settings(url, tmp_path_factory.mktemp("national"))
        drafts, refused = module.draft_nation(["360000"], resolution=7, total=TOTAL,
                                              national=module.national_population(), only=list(CITIES))
        assert refused == {}
        module.build(settings, drafts, 3)
        yield module, settings.model_copy(update={"trusted_hosts": ["testserver"], "solver_warm_at_start": False}), \
            drafts
    finally:
        databases.drop(name)


def test_love_stations_are_each_citys_population_share(nation) -> None:  # noqa: ANN001
    module, settings, drafts = nation
    people = {d.code: int(d.population["population_2020"].sum()) for d in drafts[0].drafts}
    national = module.national_population()
    assert national > 1_400_000_000  # the census total, not the two cities'
    expected = {code: round(TOTAL * people[code] / national) for code in CITIES}
    assert expected == module.love_station_counts(people, total=TOTAL, national=national)
    assert 100 < expected["360500"] < 250 and 100 < expected["360600"] < 250
    folder = settings.state_dir / "regions" / "360500"
    written = yaml.safe_load((folder / "demo.yaml").read_text(encoding="utf-8"))
    assert list(written["stations"]) == ["love_station"]
    assert written["stations"]["love_station"]["count"] == expected["360500"]
    assert yaml.safe_load((folder / "region.yaml").read_text(encoding="utf-8"))["demand_grid"] == {"resolution": 7}
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        held = dict(connection.execute(text("SELECT region_code, count(*) FROM station WHERE is_demo "
                                            "AND type_code = 'love_station' GROUP BY region_code")).all())
        other = connection.execute(text("SELECT count(*) FROM station WHERE type_code <> 'love_station'")).scalar()
        resolutions = set(connection.execute(text("SELECT DISTINCT resolution FROM demand_grid")).scalars())
    engine.dispose()
    assert held == expected and other == 0 and resolutions == {7}


def test_country_row_groups_the_province_which_groups_the_cities(nation) -> None:  # noqa: ANN001
    _, settings, _ = nation
    with TestClient(create_app(settings)) as client:
        held = {row["code"]: row for row in client.get("/api/v1/deployment").json()["regions"]}
    assert set(held) == {"100000", "360000", *CITIES}
    assert held["100000"]["level"] == "country" and held["100000"]["parent_code"] is None
    assert held["100000"]["name_zh"] == "全国"
    assert held["360000"]["level"] == "province" and held["360000"]["parent_code"] == "100000"
    assert all(held[code]["parent_code"] == "360000" and held[code]["level"] == "city" for code in CITIES)
    assert held["100000"]["demo_stations"] == held["360500"]["demo_stations"] + held["360600"]["demo_stations"]


def test_national_nearest_is_the_nearest_of_the_cities(nation) -> None:  # noqa: ANN001
    module, settings, _ = nation
    paths = module.weighted_paths(settings.database_url, None, 20, 7)
    assert len(paths) == 20
    with TestClient(create_app(settings)) as client:
        for path in paths[:8]:
            national = client.get("/r/100000" + path)
            assert national.status_code == 200, national.text
            found = national.json()["stations"]
            assert len(found) == 5
            per_city = [s for code in CITIES for s in client.get(f"/r/{code}" + path).json()["stations"]]
            best = sorted(per_city, key=lambda s: s["distance_m"])[:5]
            assert [s["distance_m"] for s in found] == [s["distance_m"] for s in best]


def test_coverage_and_siting_of_every_prefecture(nation) -> None:  # noqa: ANN001
    from geo.services import city_plans

    module, settings, _ = nation
    seconds, rows = module.coverage_all(settings, list(CITIES), 1)
    assert [row[0] for row in rows] == list(CITIES)
    for _, _, population, covered, model_bytes, cells in rows:
        assert 1_000_000 < population < 1_400_000 and 0 < covered < population
        assert model_bytes > 0 and cells > 100
    plans = city_plans.plan_cities(settings, list(CITIES), type_code="love_station", add=3, processes=1)
    assert [plan.city for plan in plans] == list(CITIES)
    assert all(plan.added == 3 and 0 < plan.bound_share <= 1 + 1e-9 for plan in plans)
    assert all(plan.covered_after >= plan.covered_before for plan in plans)
