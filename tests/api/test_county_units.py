"""A prefecture with no township list (新余 360500, two counties), made by ``region init`` and loaded:
its township-level units are its counties (official polygons, census figures, codes county + 000),
its demo registry is scaled from the default region's, and every page, map, API answer and command
that names townships says that they are counties."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from geo.notices import COUNTY_UNITS
from geo.reference import china
from geo.services.transaction import session_scope
from geo.settings import Settings, get_settings
from tests.cities import DATA, empty_data_dir

pytestmark = pytest.mark.db
runner = CliRunner()
MAPS = ["/maps/stations", "/maps/coverage", "/maps/gaps"]


@pytest.fixture
def xinyu(scratch_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    data = empty_data_dir(tmp_path / "data")
    (data / "jiujiang").symlink_to(DATA / "jiujiang")  # the default region: the demo registry's seed
    monkeypatch.setenv("UNIONMAP_DATA_DIR", str(data))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    made = runner.invoke(app, ["region", "init", "360500", "--name-en", "Xinyu", "--load"])
    assert made.exit_code == 0, made.output
    assert "2 个区县单元 county units" in made.output and "边界为推算" not in made.output
    demo = runner.invoke(app, ["load", "demo", "--seed", "3"])
    assert demo.exit_code == 0, demo.output
    get_settings.cache_clear()
    return get_settings()


def test_counties_are_the_units_and_every_page_says_so(xinyu: Settings) -> None:
    census = china.census_rows(["360502", "360521"]).set_index("code")
    with session_scope(xinyu) as session:
        units = session.execute(text(
            "SELECT u.code, u.parent_code, u.name, u.population, u.population_is_modelled, u.boundary_is_approximate, "
            "ST_Equals(u.geom, c.geom) FROM region u JOIN region c ON c.code = u.parent_code AND c.level = 'county' "
            "WHERE u.level = 'township' ORDER BY u.code")).all()
        demo = dict(session.execute(text(
            "SELECT type_code, count(*) FROM station WHERE is_demo GROUP BY type_code")).all())
        real = session.execute(text("SELECT count(*) FROM station WHERE NOT is_demo")).scalar_one()
    assert units == [("360502000", "360502", "渝水区", int(census.at["360502", "population_2020"]), False, False, True),
                     ("360521000", "360521", "分宜县", int(census.at["360521", "population_2020"]), False, False, True)]
    # love_station: Jiujiang's 136 × 1 202 499 / 4 600 276 people; cultural_palace: 5 × 2/13 counties, at least 1
    assert demo["love_station"] == round(136 * 1_202_499 / 4_600_276) == 36 and demo["cultural_palace"] == 1
    assert real == 0

    coverage = runner.invoke(app, ["coverage", "--level", "township", "--type", "love_station"])
    assert coverage.exit_code == 0 and COUNTY_UNITS.label_zh in coverage.output, coverage.output
    county_level = runner.invoke(app, ["coverage", "--level", "county", "--type", "love_station"])
    assert county_level.exit_code == 0 and COUNTY_UNITS.label_zh not in county_level.output
    settings = xinyu.model_copy(update={"trusted_hosts": ["testserver"], "solver_warm_at_start": False})
    with TestClient(create_app(settings)) as client:
        for path in ["/", *MAPS]:
            page = client.get(path)
            assert page.status_code == 200 and COUNTY_UNITS.detail_zh in page.text, path
        assert "townships: counties are the units" in client.get("/maps/stations").text  # the layer says so too
        township = client.get("/api/v1/coverage?level=township&type=love_station").json()
        assert township["notice"] == COUNTY_UNITS.text
        assert sorted(row["region_code"] for row in township["rows"]) == ["360502000", "360521000"]
        assert client.get("/api/v1/coverage?level=county").json()["notice"] is None
        collections = {c["id"]: c for c in client.get("/ogc/collections").json()["collections"]}
        assert COUNTY_UNITS.text in collections["townships"]["description"]
        assert COUNTY_UNITS.text in collections["coverage"]["description"]
        assert COUNTY_UNITS.text not in collections["counties"]["description"]
        assert COUNTY_UNITS.text in client.get("/ogc/collections/townships").json()["description"]
        assert COUNTY_UNITS.detail_zh in client.get("/ogc?f=html").text


def test_official_county_polygons_move_their_units_too(xinyu: Settings, tmp_path: Path) -> None:
    """``load boundaries --level county`` on such a region: each county's unit takes the new polygon."""
    counties = china.counties_of("360500").set_crs(4326)
    counties["geometry"] = counties.geometry.simplify(0.01)  # "official", and visibly not the old outline
    counties.rename(columns={"code": "adcode"}).to_file(tmp_path / "official.geojson", driver="GeoJSON")
    loaded = runner.invoke(app, ["load", "boundaries", str(tmp_path / "official.geojson"), "--level", "county",
                                 "--code-field", "adcode"])
    assert loaded.exit_code == 0, loaded.output
    with session_scope(xinyu) as session:
        same = session.execute(text(
            "SELECT u.code, ST_Equals(u.geom, c.geom), ST_NPoints(u.geom) FROM region u JOIN region c "
            "ON c.code = u.parent_code AND c.level = 'county' WHERE u.level = 'township' ORDER BY u.code")).all()
    assert [(code, equal) for code, equal, _ in same] == [("360502000", True), ("360521000", True)]
    assert [points for *_, points in same] == [len(shapely.get_coordinates(g)) for g in counties.geometry]
