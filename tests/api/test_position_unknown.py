"""A city that gave no seats, no settlements and no targets: every answer says what is not known.

The synthetic region's five townships are loaded without any seat, so every one is placed by rule
(k-means, farthest point): each must carry ``position_unknown`` in REST, OGC and the maps, the
boundary notice must not claim seat points, and ``gaps`` must say that no targets are configured
for this region, by its own (hostile) name, never Jiujiang's.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from geo.notices import APPROXIMATE, NO_PLACES, POSITION_UNKNOWN, no_targets
from geo.services.transaction import session_scope
from geo.settings import Settings, get_settings
from tests.honesty import UNKNOWN_SQL

BeautifulSoup = pytest.importorskip("bs4").BeautifulSoup  # a test extra

pytestmark = pytest.mark.db
runner = CliRunner()
NAME = "无座<b>市"  # region names are config text: escaped wherever a page shows them


@pytest.fixture
def unseated(scratch_settings: Settings, synthetic_region: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The synthetic region with no seats, no places, no targets, loaded into the scratch database."""
    folder = synthetic_region / "synthetic"
    config = (folder / "region.yaml").read_text(encoding="utf-8")
    config = re.sub(r"^(seats|targets|places):.*\n", "", config, flags=re.MULTILINE)
    (folder / "region.yaml").write_text(config.replace("name_zh: 示例市", f'name_zh: "{NAME}"'), encoding="utf-8")
    (folder / "seats.csv").unlink()
    (folder / "targets.yaml").unlink()
    monkeypatch.setenv("UNIONMAP_DATA_DIR", str(synthetic_region))
    monkeypatch.setenv("UNIONMAP_REGION", "synthetic")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    for command in (["load", "reference"], ["load", "demo", "--seed", "3"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
    return get_settings()


def not_jiujiang(text_: str) -> None:
    assert "九江" not in text_ and "jiujiang" not in text_.lower()


def test_every_township_says_its_position_is_unknown(unseated: Settings) -> None:
    from fastapi.testclient import TestClient

    with session_scope(unseated) as session:  # the oracle: the stored seat rules, plain SQL
        rules = dict(session.execute(text("SELECT code, seat_rule FROM region WHERE level = 'township'")).all())
        unknown = set(session.execute(text(f"SELECT code FROM region WHERE {UNKNOWN_SQL}")).scalars())
    assert len(rules) == 5 and unknown == set(rules)  # no seats: none is "seat" or "snapped"
    settings = unseated.model_copy(update={"trusted_hosts": ["testserver"], "solver_warm_at_start": False})
    with TestClient(create_app(settings)) as client:
        townships = client.get("/api/v1/regions?level=township").json()["features"]
        assert {f["properties"]["code"]: f["properties"]["position_unknown"] for f in townships} == dict.fromkeys(
            rules, True)
        counties = client.get("/api/v1/regions?level=county").json()["features"]
        assert [f["properties"]["position_unknown"] for f in counties] == [False, False]

        items = client.get("/ogc/collections/townships/items").json()
        assert [f["properties"]["position_is_unknown"] for f in items["features"]] == [True] * 5
        coverage = client.get("/ogc/collections/coverage/items").json()["features"]
        assert [f["properties"]["position_is_unknown"] for f in coverage] == [True] * 5
        filtered = client.get("/ogc/collections/townships/items",
                              params={"filter": "position_is_unknown = false"}).json()
        assert filtered["numberMatched"] == 0
        sorted_ = client.get("/ogc/collections/townships/items", params={"sortby": "-position_is_unknown"})
        assert sorted_.status_code == 200
        collection = client.get("/ogc/collections/townships").json()
        described = collection["description"]
        assert POSITION_UNKNOWN.text in described and APPROXIMATE.text not in described
        assert "derived from seat points" not in described and "驻地点推算" not in described

        at = client.get("/api/v1/regions/at", params={"lon": 116.05, "lat": 30.05}).json()
        assert at["township"]["position_unknown"] is True

        gaps = client.get("/api/v1/gaps")
        assert gaps.status_code == 200
        body = gaps.json()
        assert body["targets"] == [] and body["notice"] == no_targets(NAME)
        not_jiujiang(gaps.text)

        page = client.get("/maps/gaps")
        assert page.status_code == 200
        soup = BeautifulSoup(page.text, "html.parser")
        notice = soup.find(id="unionmap-notice").get_text()
        assert no_targets(NAME) in notice and POSITION_UNKNOWN.text in notice and NO_PLACES.text in notice
        assert "derived from seat points" not in notice and APPROXIMATE.text not in notice
        assert soup.find(id="unionmap-no-targets").get_text() == no_targets(NAME)
        assert NAME not in page.text and html.escape(NAME, quote=False) in page.text  # escaped, never markup
        not_jiujiang(page.text)
        stations = client.get("/maps/stations").text
        assert POSITION_UNKNOWN.detail_zh in stations  # the township tooltip's position column
        not_jiujiang(stations)


def test_gaps_cli_says_no_targets_for_this_region(unseated: Settings) -> None:
    for args in (["gaps"], ["gaps", "--detail"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        flat = " ".join(result.output.split())
        assert no_targets(NAME) in flat and "Empty DataFrame" not in result.output
        not_jiujiang(result.output)
    coverage = runner.invoke(app, ["coverage", "--level", "township", "--type", "love_station"])
    assert coverage.exit_code == 0, coverage.output
    flat = " ".join(coverage.output.split())
    assert flat.count("（位置未知）") >= 5 and POSITION_UNKNOWN.detail_zh in flat and NO_PLACES.detail_zh in flat


def test_jiujiang_flags_only_the_townships_placed_without_a_seat(client, session) -> None:  # noqa: ANN001
    unknown = set(session.execute(text(f"SELECT code FROM region WHERE {UNKNOWN_SQL}")).scalars())
    rest = client.get("/api/v1/regions?level=township").json()["features"]
    assert {f["properties"]["code"] for f in rest if f["properties"]["position_unknown"]} == unknown
    assert 0 < len(unknown) < len(rest)  # seated units are false, the street_ring / farthest_point / kmeans ones true
    ogc = client.get("/ogc/collections/townships/items", params={"filter": "position_is_unknown = true",
                                                                  "limit": 1000}).json()
    assert {f["id"] for f in ogc["features"]} == unknown


def test_an_official_boundary_makes_the_position_known(unseated: Settings, tmp_path: Path) -> None:
    """Loading a township's official polygon (here: its derived one, given back as official) clears its
    flag and only its flag: the rule is "placed without a seat and still on the derived boundary"."""
    import geopandas as gpd
    from fastapi.testclient import TestClient

    with session_scope(unseated) as session:
        code, name, wkt = session.execute(text(
            "SELECT code, name, ST_AsText(geom) FROM region WHERE level = 'township' ORDER BY code LIMIT 1")).one()
    official = gpd.GeoDataFrame({"code": [code], "name": [name]}, geometry=gpd.GeoSeries.from_wkt([wkt]), crs=4326)
    official.to_file(tmp_path / "official.geojson", driver="GeoJSON")
    loaded = runner.invoke(app, ["load", "boundaries", str(tmp_path / "official.geojson"), "--level", "township"])
    assert loaded.exit_code == 0, loaded.output
    settings = unseated.model_copy(update={"trusted_hosts": ["testserver"], "solver_warm_at_start": False})
    with TestClient(create_app(settings)) as client:
        flags = {f["properties"]["code"]: f["properties"]["position_unknown"]
                 for f in client.get("/api/v1/regions?level=township").json()["features"]}
    assert flags[code] is False and sum(flags.values()) == len(flags) - 1 == 4
    with session_scope(unseated) as session:  # the oracle agrees
        assert session.execute(text(f"SELECT count(*) FROM region WHERE {UNKNOWN_SQL}")).scalar_one() == 4
