"""Two cities in one database: 九江 (the default, at ``/``) and 景德镇 (at ``/r/360200/``).

Nothing of one city shows under the other's prefix: not its stations by list, by id, by nearest
or by tile, not its counties, townships, grid, targets or plans; a station of one city cannot be
read, changed or deleted through the other's URLs; a point in one city cannot be written as a
station of the other. Commands take ``--region`` and work on the default without it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from geo.settings import Settings, get_settings
from tests.cities import DATA, empty_data_dir, environment, made_up_townships

pytestmark = pytest.mark.db
runner = CliRunner()
OTHER = "/r/360200"
JIUJIANG_POINT = (115.99, 29.71)  # 九江 centre
JINGDEZHEN_POINT = (117.18, 29.27)  # 景德镇 centre
PAGES = ["/", "/maps/stations", "/maps/coverage", "/maps/gaps", "/finder", "/api/v1/regions?level=county",
         "/api/v1/regions?level=township", "/api/v1/gaps", "/api/v1/coverage?level=township",
         "/api/v1/stations", "/ogc/collections", "/ogc/collections/townships/items?limit=200",
         "/ogc/collections/love_station/items?limit=500", "/ogc/collections/coverage/items?limit=200"]


@pytest.fixture(scope="module")
def two_cities(databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:  # noqa: ANN001
    """A database holding 九江 (default, demo registry) and 景德镇 (made-up townships, demo registry)."""
    folder = tmp_path_factory.mktemp("two")
    data = empty_data_dir(folder / "data")
    shutil.copytree(DATA / "jiujiang", data / "jiujiang")
    made_up_townships("360200", folder / "townships.csv")
    name = f"unionmap_two_{os.getpid()}"
    url = databases.create(name)
    env = {"DATABASE_URL": url, "UNIONMAP_DATA_DIR": str(data), "COLUMNS": "200"}
    try:
        with environment(**env):
            for command in (["load", "reference", "--region", "jiujiang"], ["load", "demo", "--seed", "7"],
                            ["region", "init", "360200", "--townships", str(folder / "townships.csv"),
                             "--name-en", "Jingdezhen", "--load"]):
                result = runner.invoke(app, command)
                assert result.exit_code == 0, (command, result.output)
            yield Settings(database_url=url, data_dir=data, trusted_hosts=["testserver"], solver_warm_at_start=False)
    finally:
        databases.drop(name)


@pytest.fixture(scope="module")
def client(two_cities: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(two_cities)) as test_client:
        yield test_client


def scalar(settings: Settings, sql: str) -> object:
    engine = create_engine(settings.database_url or "")
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def test_the_database_holds_both_and_jiujiang_stays_default(two_cities: Settings) -> None:
    assert scalar(two_cities, "SELECT string_agg(code || ':' || is_default, ',' ORDER BY code) "
                              "FROM deployment_region") == "360200:false,360400:true"
    assert scalar(two_cities, "SELECT count(*) FROM station WHERE region_code = '360200'") == 0
    assert scalar(two_cities, "SELECT count(*) FROM station WHERE region_code = '360400'") == 475
    assert scalar(two_cities, "SELECT count(DISTINCT region_code) FROM demand_cell") == 2


def without_the_list_of_regions(page: str) -> str:
    """A start page without its list of the deployment's regions (which names every city on purpose)."""
    start = page.find('<h2 id="regions-title">')
    return page if start < 0 else page[:start] + page[page.index("</table>", start):]


def test_every_page_of_the_other_city_shows_none_of_jiujiang(client: TestClient) -> None:
    for path in PAGES:
        mine, other = client.get(path), client.get(OTHER + path)
        assert mine.status_code == 200 and other.status_code == 200, (path, other.text[:300])
        theirs, ours = without_the_list_of_regions(other.text), without_the_list_of_regions(mine.text)
        assert "九江" not in theirs and "jiujiang" not in theirs.lower(), path
        assert "景德镇" not in ours, path
    assert "景德镇市" in client.get(OTHER + "/").text


def test_lists_and_features_hold_only_their_city(client: TestClient) -> None:
    counties = {f["properties"]["code"] for f in client.get(OTHER + "/api/v1/regions?level=county").json()["features"]}
    assert counties == {"360202", "360203", "360222", "360281"}
    mine = {f["properties"]["code"] for f in client.get("/api/v1/regions?level=county").json()["features"]}
    assert len(mine) == 13 and not mine & counties
    assert client.get(OTHER + "/api/v1/stations").json()["features"] == []
    assert len(client.get("/api/v1/stations?limit=1000").json()["features"]) > 100
    townships = client.get(OTHER + "/ogc/collections/townships/items?limit=200").json()
    assert townships["numberMatched"] == 12 and all(
        f["id"].startswith("3602") for f in townships["features"])
    assert client.get(OTHER + "/ogc/collections/love_station/items").json()["numberMatched"] == 0


def test_a_station_of_one_city_cannot_be_reached_through_the_other(client: TestClient) -> None:
    sid = client.get("/api/v1/stations?limit=1").json()["features"][0]["id"]
    assert client.get(f"/api/v1/stations/{sid}").status_code == 200
    assert client.get(f"{OTHER}/api/v1/stations/{sid}").status_code == 404
    assert client.get(f"{OTHER}/ogc/collections/love_station/items/{sid}").status_code == 404
    assert client.get(f"{OTHER}/api/v1/stations/{sid}/history").status_code == 404


def test_nearest_in_the_other_city_never_answers_a_jiujiang_station(client: TestClient) -> None:
    lon, lat = JIUJIANG_POINT
    near = client.get(f"/api/v1/stations/nearest?lon={lon}&lat={lat}&limit=3").json()["stations"]
    assert len(near) == 3 and all(row["is_demo"] for row in near)
    other = client.get(f"{OTHER}/api/v1/stations/nearest?lon={lon}&lat={lat}&limit=3").json()["stations"]
    assert other == []


def test_an_unknown_region_prefix_is_a_404_naming_those_held(client: TestClient) -> None:
    answer = client.get("/r/999900/api/v1/stations")
    assert answer.status_code == 404 and "360200" in answer.text and "360400" in answer.text


def test_links_of_the_other_city_stay_under_its_prefix(client: TestClient) -> None:
    landing = client.get(OTHER + "/ogc").json()
    hrefs = [link["href"] for link in landing["links"]]
    assert hrefs and all("/r/360200/" in href for href in hrefs), hrefs


def test_commands_take_the_region_and_default_to_jiujiang(two_cities: Settings,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", two_cities.database_url or "")
    monkeypatch.setenv("UNIONMAP_DATA_DIR", str(two_cities.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("UNIONMAP_REGION", raising=False)
    get_settings.cache_clear()
    default = runner.invoke(app, ["coverage", "--level", "county"])
    assert default.exit_code == 0 and "浔阳区" in default.output and "珠山区" not in default.output, default.output
    monkeypatch.setenv("UNIONMAP_REGION", "360200")
    get_settings.cache_clear()
    other = runner.invoke(app, ["coverage", "--level", "county"])
    assert other.exit_code == 0 and "珠山区" in other.output and "浔阳区" not in other.output, other.output
    monkeypatch.setenv("UNIONMAP_REGION", "nowhere")
    get_settings.cache_clear()
    wrong = runner.invoke(app, ["coverage", "--level", "county"])
    assert wrong.exit_code != 0 and "nowhere" in wrong.output and "360200" in wrong.output, wrong.output
    monkeypatch.delenv("UNIONMAP_REGION")  # the root option says the same (and monkeypatch restores it)
    named = runner.invoke(app, ["--region", "jingdezhen", "coverage", "--level", "county"])
    assert named.exit_code == 0 and "珠山区" in named.output and "浔阳区" not in named.output, named.output
    get_settings.cache_clear()


def test_writes_land_in_the_city_of_the_url_and_never_across(client: TestClient, two_cities: Settings) -> None:
    from sqlalchemy.orm import Session

    from geo.store.keys import create_key

    engine = create_engine(two_cities.database_url or "")
    with Session(engine) as session:
        headers = {"Authorization": f"Bearer {create_key(session, name='两市规划员', role='editor')}"}
        session.commit()
    engine.dispose()

    def feature(lon: float, lat: float) -> dict:
        return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"type_code": "love_station", "name": "两市测试站", "status": "open"}}

    across = client.post(f"{OTHER}/api/v1/stations", json=feature(*JIUJIANG_POINT), headers=headers)
    assert across.status_code == 422 and across.json()["field"] == "geometry.coordinates", across.text
    made = client.post(f"{OTHER}/api/v1/stations", json=feature(*JINGDEZHEN_POINT), headers=headers)
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    assert scalar(two_cities, f"SELECT region_code || ':' || county_code FROM station WHERE id = {sid}") == \
        "360200:360202"
    assert client.get(f"/api/v1/stations/{sid}").status_code == 404
    assert client.delete(f"/api/v1/stations/{sid}", headers=headers | {"If-Match": '"1"'}).status_code == 404
    assert client.get(f"{OTHER}/api/v1/stations/{sid}").status_code == 200
    assert client.delete(f"{OTHER}/api/v1/stations/{sid}", headers=headers | {"If-Match": '"1"'}).status_code == 204


def test_the_start_page_and_the_deployment_api_list_both_cities(client: TestClient) -> None:
    held = client.get("/api/v1/deployment").json()
    assert held["default"] == "360400"
    by_code = {row["code"]: row for row in held["regions"]}
    assert by_code["360200"]["url"] == "/r/360200/" and by_code["360200"]["counties"] == 4
    assert by_code["360200"]["townships"] == 12 and by_code["360200"]["open_stations"] == 0
    assert by_code["360400"]["open_stations"] > 100 and by_code["360400"]["demo_stations"] > 100
    assert client.get(OTHER + "/api/v1/deployment").json() == held  # the same wherever it is asked
    page = client.get(OTHER + "/").text
    assert 'href=\'/r/360400/\'' in page and 'href=\'/r/360200/\'' in page
    assert 'href="/r/360200/maps/stations"' in page  # the page's own links stay in its city
    assert 'href="/maps/stations"' in client.get("/").text


def test_links_under_a_public_url_keep_the_region(two_cities: Settings) -> None:
    settings = two_cities.model_copy(update={"public_url": "https://map.example.org/unionmap"})
    with TestClient(create_app(settings)) as behind_a_proxy:
        hrefs = [link["href"] for link in behind_a_proxy.get(OTHER + "/ogc").json()["links"]]
        assert hrefs and all(href.startswith("https://map.example.org/unionmap/r/360200/") for href in hrefs), hrefs
        mine = [link["href"] for link in behind_a_proxy.get("/ogc").json()["links"]]
        assert all(href.startswith("https://map.example.org/unionmap/ogc") or "/r/" not in href for href in mine)
