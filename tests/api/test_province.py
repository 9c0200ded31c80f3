"""A province in one deployment, reduced to two small prefectures of Jiangxi (新余 360500, 鹰潭 360600):
``load province`` loads both with demo registries and records the province; ``/r/360000/`` is its
roll-up, whose totals are the sums of the cities' own figures; the province's station reads span
both cities and nothing else; a city's analysis asked of the province is a 409 naming its cities;
``rollup`` and ``plan-cities`` work from the command line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from geo.settings import Settings, get_settings
from tests.cities import DATA, empty_data_dir, environment

pytestmark = pytest.mark.db
runner = CliRunner()
MEMBERS = {"360500": "新余市", "360600": "鹰潭市"}


@pytest.fixture(scope="module")
def province(databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:  # noqa: ANN001
    """A database holding the two cities (county units, demo registries) and the province 360000."""
    folder = tmp_path_factory.mktemp("province")
    data = empty_data_dir(folder / "data")
    (data / "jiujiang").symlink_to(DATA / "jiujiang")  # the seed of the demo registries' scale
    state = folder / "state"
    name = f"unionmap_province_{os.getpid()}"
    url = databases.create(name)
    env = {"DATABASE_URL": url, "UNIONMAP_DATA_DIR": str(data), "UNIONMAP_STATE_DIR": str(state), "COLUMNS": "200"}
    try:
        with environment(**env):
            for code in MEMBERS:
                made = runner.invoke(app, ["region", "init", code, "--folder", f"c{code}"])
                assert made.exit_code == 0, made.output
            descriptor = state / "regions" / "360000" / "province.yaml"
            descriptor.parent.mkdir(parents=True)
            descriptor.write_text(yaml.safe_dump({
                "code": "360000", "name_zh": "江西省", "name_en": "Jiangxi", "timezone": "Asia/Shanghai",
                "members": [{"code": code, "name_zh": zh, "folder": f"c{code}", "generated": False}
                            for code, zh in MEMBERS.items()]}, allow_unicode=True), encoding="utf-8")
            loaded = runner.invoke(app, ["load", "province", "360000", "--seed", "3"])
            assert loaded.exit_code == 0, loaded.output
            assert "/r/360000/" in loaded.output
            yield Settings(database_url=url, data_dir=data, state_dir=state, trusted_hosts=["testserver"],
                           solver_warm_at_start=False)
    finally:
        databases.drop(name)


@pytest.fixture(scope="module")
def client(province: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(province)) as test_client:
        yield test_client


def test_the_deployment_holds_two_cities_under_the_province(client: TestClient) -> None:
    held = {row["code"]: row for row in client.get("/api/v1/deployment").json()["regions"]}
    assert set(held) == {"360000", *MEMBERS}
    assert held["360000"]["level"] == "province" and not held["360000"]["is_default"]
    assert all(held[code]["parent_code"] == "360000" for code in MEMBERS)
    # the province's counts are its cities' sums
    for figure in ("counties", "townships", "open_stations", "demo_stations"):
        assert held["360000"][figure] == sum(held[code][figure] for code in MEMBERS) > 0, figure


def test_the_rollup_totals_are_the_sums_of_the_cities(client: TestClient) -> None:
    rollup = client.get("/r/360000/api/v1/rollup").json()
    assert rollup["region"] == "360000" and rollup["cities"] == sorted(MEMBERS)
    rows = rollup["coverage"]
    for type_code in {row["type_code"] for row in rows}:
        cities = [row for row in rows if row["type_code"] == type_code and row["city_code"] != "province"]
        total = next(row for row in rows if row["type_code"] == type_code and row["city_code"] == "province")
        assert len(cities) == 2
        for figure in ("stations", "population", "covered_population"):
            assert total[figure] == pytest.approx(sum(row[figure] for row in cities)), (type_code, figure)
        assert total["covered_share"] == pytest.approx(total["covered_population"] / total["population"])
    # each city's row is what the city's own coverage says
    own = client.get("/r/360500/api/v1/coverage?level=city&type=love_station").json()
    mine = next(row for row in rows if row["city_code"] == "360500" and row["type_code"] == "love_station")
    city_row = own["rows"][0] if "rows" in own else own[0] if isinstance(own, list) else own["features"][0]["properties"]
    assert mine["covered_population"] == pytest.approx(city_row["covered_population"])


def test_the_province_page_shows_every_city_and_the_total(client: TestClient) -> None:
    page = client.get("/r/360000/")
    assert page.status_code == 200
    assert "江西省" in page.text and "全省合计" in page.text
    assert all(f"href='/r/{code}/'" in page.text and name in page.text for code, name in MEMBERS.items())
    assert "以区县为分析单元" in page.text  # both cities gave no township list
    assert "演示数据" in page.text


def test_the_provinces_station_reads_span_its_cities_and_nothing_else(client: TestClient) -> None:
    def total(prefix: str) -> int:
        return client.get(f"{prefix}/ogc/collections/love_station/items?limit=1").json()["numberMatched"]

    assert total("/r/360000") == total("/r/360500") + total("/r/360600") > 0
    listed = client.get("/r/360000/api/v1/stations?limit=1000").json()["features"]
    counties = {feature["properties"]["county_code"][:4] for feature in listed}
    assert counties == {"3605", "3606"}
    near = client.get("/r/360000/api/v1/stations/nearest?lon=117.07&lat=28.26&limit=3").json()["stations"]
    assert len(near) == 3  # 鹰潭's centre: found through the province


def test_a_citys_analysis_asked_of_the_province_is_a_409_naming_its_cities(client: TestClient) -> None:
    for path in ("/maps/gaps", "/api/v1/gaps", "/maps/stations", "/finder"):
        answer = client.get("/r/360000" + path)
        assert answer.status_code == 409 and "360500" in answer.text and "360600" in answer.text, (path, answer.text)


def test_rollup_and_plan_cities_from_the_command_line(province: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"DATABASE_URL": province.database_url or "", "UNIONMAP_DATA_DIR": str(province.data_dir),
                       "UNIONMAP_STATE_DIR": str(province.state_dir), "COLUMNS": "240"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("UNIONMAP_REGION", raising=False)
    get_settings.cache_clear()
    rolled = runner.invoke(app, ["rollup", "--region", "360000"])
    assert rolled.exit_code == 0 and "全省合计" in rolled.output and "新余市" in rolled.output, rolled.output
    planned = runner.invoke(app, ["plan-cities", "--region", "360000", "--add", "2", "--processes", "2",
                                  "--bound-steps", "20"])
    assert planned.exit_code == 0, planned.output
    assert "新余市" in planned.output and "鹰潭市" in planned.output and "2 个进程 processes" in planned.output
    wrong = runner.invoke(app, ["rollup", "--region", "nowhere"])
    assert wrong.exit_code == 2 and "'nowhere'" in wrong.output and "360000" in wrong.output, wrong.output
    get_settings.cache_clear()


def test_a_missing_descriptor_is_named(province: Settings, monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", province.database_url or "")
    monkeypatch.setenv("UNIONMAP_STATE_DIR", str(tmp_path))
    get_settings.cache_clear()
    missing = runner.invoke(app, ["load", "province", "430000"])
    assert missing.exit_code == 2 and "init-province 430000" in missing.output, missing.output
    get_settings.cache_clear()
