"""``unionmap region init`` without a township list and ``region init-province``: folders written from the
installed county package and census table alone (no database), and bad input refused with nothing written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from api.cli import app
from geo.errors import InputError
from geo.reference import china
from geo.reference.layers import county_unit_code
from geo.reference.province import read_province
from geo.reference.region import load_config, parse_config, region_folder
from geo.settings import Settings, get_settings
from tests.cities import DATA, empty_data_dir

runner = CliRunner()
JIANGXI_OTHERS = ["360100", "360200", "360300", "360500", "360600", "360700", "360800", "360900", "361000", "361100"]


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A data folder holding the committed Jiujiang (the demo seed) and an empty state folder."""
    data = empty_data_dir(tmp_path / "data")
    (data / "jiujiang").symlink_to(DATA / "jiujiang")
    state = tmp_path / "state"
    monkeypatch.setenv("UNIONMAP_DATA_DIR", str(data))
    monkeypatch.setenv("UNIONMAP_STATE_DIR", str(state))
    monkeypatch.delenv("UNIONMAP_REGION", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield data, state
    get_settings.cache_clear()


def written(data: Path, state: Path) -> list[str]:
    """Every path under the data and state folders except the fixture's own, relative."""
    return sorted([str(p.relative_to(data)) for p in data.rglob("*") if not str(p.relative_to(data)).startswith(
        ("jiujiang", "service_types.yaml", "amenities.yaml"))] + [str(p.relative_to(state)) for p in state.rglob("*")])


def test_init_without_townships_writes_county_units_and_a_scaled_demo(folders: tuple[Path, Path]) -> None:
    data, _ = folders
    result = runner.invoke(app, ["region", "init", "360300", "--name-en", "Pingxiang"])
    assert result.exit_code == 0, result.output
    assert "以区县为分析单元" in result.output and "5 county units" in result.output
    config = load_config(data / "pingxiang")
    assert config.county_units and config.townships.file is None and not config.seats.files
    assert "township figures modelled" not in config.population.source
    spec = yaml.safe_load((data / "pingxiang" / "demo.yaml").read_text(encoding="utf-8"))["stations"]
    people, seed = 1_804_805, 4_600_276  # 萍乡's census total; Jiujiang's, whose demo.yaml is the seed
    assert spec["love_station"]["count"] == round(136 * people / seed) == 53
    assert spec["cultural_palace"] == {"count": 2, "placement": "per_county", "basis": spec["cultural_palace"]["basis"]}
    assert round(5 * 5 / 13) == 2 and "5/13" in spec["cultural_palace"]["basis"]
    # 职工之家 is one per township: with counties as units it is drawn by population, and says so
    workers_home = spec["workers_home"]
    assert workers_home["placement"] == "population" and workers_home["count"] == round(60 * people / seed)
    assert "no township list" in spec["workers_home"]["basis"]
    assert [county_unit_code(code) for code in china.counties_of("360300")["code"]] == [
        "360302000", "360313000", "360321000", "360322000", "360323000"]


def test_init_province_writes_every_other_prefecture(folders: tuple[Path, Path]) -> None:
    data, state = folders
    result = runner.invoke(app, ["region", "init-province", "360000", "--name-en", "Jiangxi"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (state / "regions").iterdir()) == sorted([*JIANGXI_OTHERS, "360000"])
    assert "360400 九江市: kept" in result.output
    province = read_province(state / "regions" / "360000" / "province.yaml")
    assert (province.code, province.name_zh, province.name_en) == ("360000", "江西省", "Jiangxi")
    assert [(m.code, m.folder, m.generated) for m in province.members if not m.generated] == [
        ("360400", "jiujiang", False)]
    assert len(province.members) == 11
    settings = Settings()
    census = china.read_census().set_index("code")["population_2020"]
    for member in province.members:
        folder = region_folder(settings, member.folder)
        config = load_config(folder)
        assert config.code == member.code
        assert folder.parent == (state / "regions" if member.generated else data)
        if member.generated:
            assert config.county_units and (folder / "demo.yaml").is_file()
            population = pd.read_csv(folder / "county_population_2020.csv", dtype={"adcode": str})
            assert population["population_2020"].tolist() == census[population["adcode"]].tolist()
    again = runner.invoke(app, ["region", "init-province", "360000"])
    assert again.exit_code == 2 and "--force" in again.output
    assert runner.invoke(app, ["region", "init-province", "360000", "--force"]).exit_code == 0


@pytest.mark.parametrize(("arguments", "expected"), [
    (["region", "init-province", "990000"], "unknown adcode 990000"),
    (["region", "init-province", "360502"], "360502 渝水区 is not a province"),
    (["region", "init-province", "360500"], "360500 新余市 is not a province"),
    (["region", "init-province", "810000"], "810000 香港特别行政区 has no prefecture-level units"),
    (["region", "init-province", "36"], "an adcode is six digits"),
    (["region", "init", "360500", "--seats", "seats.csv"], "--seats are township seats"),
    (["region", "init", "360500", "--targets", "TARGETS"], "target t1 is scoped per township"),
    (["region", "init", "360500", "--grid-resolution", "4"], "grid resolution must be 5–11, not 4"),
    (["region", "init-province", "360000", "--grid-resolution", "12"], "grid resolution must be 5–11, not 12"),
])
def test_bad_input_names_it_and_writes_nothing(folders: tuple[Path, Path], tmp_path: Path, arguments: list[str],
                                                expected: str) -> None:
    data, state = folders
    targets = tmp_path / "targets.yaml"
    targets.write_text('region: "360500"\ntargets:\n  - {code: t1, type: workers_home, scope: township, kind: count, '
                       "threshold: 1, source_quote: 每个乡镇一个}\n", encoding="utf-8")
    result = runner.invoke(app, [str(targets) if a == "TARGETS" else a for a in arguments])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()), result.output
    assert written(data, state) == []


@pytest.mark.parametrize(("townships", "expected"), [
    ({"units": "county", "file": "townships.csv"}, "`units: county` means no township list"),
    ({"source": "x"}, "no township list: name it with `file:`"),
    ({"units": "village"}, "'township' or 'county'"),
    ({"units": "county", "filee": "x"}, "unknown key 'filee'"),
])
def test_townships_key_is_strict(tmp_path: Path, townships: dict[str, str], expected: str) -> None:
    document = {"code": "360500", "name_zh": "新余市", "name_en": "Xinyu", "counties": {"file": "c.geojson"},
                "townships": townships, "population": {"file": "p.csv"}}
    (tmp_path / "region.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError) as error:
        parse_config(tmp_path)
    assert expected in str(error.value) and "townships" in str(error.value)


def test_seats_need_a_township_list(tmp_path: Path) -> None:
    document = {"code": "360500", "name_zh": "新余市", "name_en": "Xinyu", "counties": {"file": "c.geojson"},
                "townships": {"units": "county"}, "seats": {"files": ["s.csv"]}, "population": {"file": "p.csv"}}
    (tmp_path / "region.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match="township seats need a township list"):
        parse_config(tmp_path)


def test_region_check_of_county_units(folders: tuple[Path, Path], tmp_path: Path) -> None:
    """``region check`` reads a folder without a township list, and refuses a per-township target in it."""
    data, _ = folders
    assert runner.invoke(app, ["region", "init", "360500", "--name-en", "Xinyu"]).exit_code == 0
    checked = runner.invoke(app, ["region", "check", "--region", "xinyu"])
    assert checked.exit_code == 0 and "county units 以区县为分析单元" in checked.output, checked.output
    (data / "xinyu" / "targets.yaml").write_text(
        'region: "360500"\ntargets:\n  - {code: homes, type: workers_home, scope: township, kind: count, threshold: 1, '
        "source_quote: 每个乡镇一个}\n", encoding="utf-8")
    with (data / "xinyu" / "region.yaml").open("a", encoding="utf-8") as config:
        config.write("targets: targets.yaml\n")
    refused = runner.invoke(app, ["region", "check", "--region", "xinyu"])
    assert refused.exit_code == 2 and "target homes is scoped per township" in " ".join(refused.output.split())


def test_grid_resolution_is_written_and_read_back(folders: tuple[Path, Path]) -> None:
    """``--grid-resolution`` lands in region.yaml as ``demand_grid.resolution`` and the strict parser takes it."""
    _, state = folders
    result = runner.invoke(app, ["region", "init-province", "360000", "--grid-resolution", "7"])
    assert result.exit_code == 0, result.output
    folder = state / "regions" / "360500"
    assert yaml.safe_load((folder / "region.yaml").read_text(encoding="utf-8"))["demand_grid"] == {"resolution": 7}
    assert parse_config(folder).demand_grid.resolution == 7


def test_skip_refused_leaves_a_changed_prefecture_out_and_names_it() -> None:
    """Zhejiang: 杭州 (330100) changed its districts after the census; skipped and named, not half-written."""
    from geo.services.province_init import draft_province

    with pytest.raises(InputError, match="330100 杭州市"):
        draft_province("330000", data_dir=DATA)
    draft = draft_province("330000", data_dir=DATA, skip_refused=True, grid_resolution=7)
    assert list(draft.refused) == ["330100"] and "330102" in draft.refused["330100"]
    assert "330100" not in [m.code for m in draft.config.members]
    assert len(draft.drafts) == len(draft.config.members) == 10
    assert all(d.grid_resolution == 7 for d in draft.drafts)


def test_a_city_given_no_stations_draws_none() -> None:
    """A count of 0 (三沙's share of 186 000) draws an empty registry instead of failing."""
    import geopandas as gpd
    from pyproj import CRS
    from shapely.geometry import Point, box

    from geo.reference.demo import DemoSpec, DemoTypeSpec, TypeNames, generate

    townships = gpd.GeoDataFrame({"code": ["1"], "county_code": ["c"], "name": ["t"], "population": [10.0],
                                  "urban_population": [0.0], "seat": [Point(116.0, 29.0)]},
                                 geometry=[box(115.9, 28.9, 116.1, 29.1)], crs=4326)
    spec = DemoSpec(stations={"love_station": DemoTypeSpec(count=0)})
    drawn = generate(townships, pd.DataFrame({"code": ["c"], "name": ["县"]}), spec,
                     [TypeNames("love_station", "爱心驿站")], metric_crs=CRS.from_epsg(32650), seed=1)
    assert len(drawn) == 0 and drawn.crs.to_epsg() == 4326 and list(drawn["type_code"]) == []
