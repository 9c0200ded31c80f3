"""Import and export from the command line: all or nothing, every bad row named, round trips."""

import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from geo.notices import export_notice
from geo.services.transaction import session_scope
from geo.settings import Settings

pytestmark = pytest.mark.db
runner = CliRunner()


def export(path: Path, *options: str) -> pd.DataFrame:
    result = runner.invoke(app, ["export", str(path), *options])
    assert result.exit_code == 0, result.output
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    notice = export_notice(options[options.index("--crs") + 1] if "--crs" in options else "wgs84")
    if path.suffix == ".geojson":
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["notice"] == notice
        return pd.DataFrame([f["properties"] | {"lon": f["geometry"]["coordinates"][0],
                                                "lat": f["geometry"]["coordinates"][1]} for f in data["features"]])
    workbook = load_workbook(path)
    assert workbook["说明 notes"]["A1"].value == notice
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def station_count(settings: Settings) -> int:
    with session_scope(settings) as session:
        return session.execute(text("SELECT count(*) FROM station")).scalar_one()


def empty_registry(settings: Settings) -> None:
    with session_scope(settings) as session:
        session.execute(text("TRUNCATE station, station_history, plan RESTART IDENTITY CASCADE"))


@pytest.mark.parametrize("suffix", [".csv", ".geojson", ".xlsx"])
def test_export_import_export_gives_the_same_rows(scratch_settings: Settings, tmp_path: Path, suffix: str) -> None:
    assert runner.invoke(app, ["load", "reference"]).exit_code == 0
    assert runner.invoke(app, ["load", "demo", "--seed", "5"]).exit_code == 0
    with session_scope(scratch_settings) as session:  # a station with a note in its hours, and one edited
        session.execute(text("""UPDATE station SET opening_hours = '{"always_open": true, "note": "节假日照常"}',
                                name = name || '（改）' WHERE id = (SELECT min(id) FROM station)"""))
    first = export(tmp_path / f"first{suffix}")
    empty_registry(scratch_settings)
    result = runner.invoke(app, ["import", str(tmp_path / f"first{suffix}")])
    assert result.exit_code == 0, result.output
    assert "imported 475" in result.output
    second = export(tmp_path / f"second{suffix}")
    version = [c for c in first.columns if "version" in str(c)]
    pd.testing.assert_frame_equal(first.drop(columns=version), second.drop(columns=version))


def test_bad_csv_names_every_bad_row_and_imports_nothing(scratch_settings: Settings, tmp_path: Path) -> None:
    assert runner.invoke(app, ["load", "reference"]).exit_code == 0
    path = tmp_path / "stations.csv"
    path.write_text(
        "id,type_code,name,lon,lat,amenities,opening_hours\n"
        "1,love_station,好的驿站,115.99,29.71,water;rest,24h\n"          # row 2: fine
        "2,night_market,夜市,115.99,29.71,,\n"                           # row 3: unknown type
        "3,love_station,坐标错,east,29.71,,\n"                           # row 4: bad lon
        "4,love_station,上海,121.47,31.23,,\n"                           # row 5: outside the region
        "1,love_station,重复,115.99,29.71,,\n"                           # row 6: duplicate id
        "6,love_station,时间错,115.99,29.71,,Mon-Fri 9-5\n"              # row 7: bad hours
        "7,love_station,设施错,115.99,29.71,water;sauna,\n",             # row 8: unknown amenity
        encoding="utf-8")
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 2
    output = result.output
    for expected in ("row 3, field 'type_code'", "row 4, field 'lon'", "row 5, field 'lon'", "outside the region",
                     "row 6, field 'id'", "duplicate id 1", "row 7, field 'opening_hours'",
                     "row 8, field 'amenities'", "sauna", "nothing imported"):
        assert expected in output, expected
    assert "row 2," not in output
    assert station_count(scratch_settings) == 0


def test_gcj02_file_is_stored_as_wgs84(scratch_settings: Settings, tmp_path: Path) -> None:
    from geo.core import crs

    assert runner.invoke(app, ["load", "reference"]).exit_code == 0
    path = tmp_path / "amap.csv"
    path.write_text("type_code,name,lon,lat\nlove_station,高德坐标,116.0,29.72\n", encoding="utf-8")
    assert runner.invoke(app, ["import", str(path), "--crs", "gcj02"]).exit_code == 0
    with session_scope(scratch_settings) as session:
        lon, lat = session.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM station")).one()
    expected = crs.gcj02_to_wgs84(116.0, 29.72)
    assert (lon, lat) == pytest.approx((float(expected[0]), float(expected[1])), abs=1e-9)


def test_an_existing_id_is_a_duplicate(scratch_settings: Settings, tmp_path: Path) -> None:
    assert runner.invoke(app, ["load", "reference"]).exit_code == 0
    path = tmp_path / "one.csv"
    path.write_text("id,type_code,name,lon,lat\n5,love_station,甲,115.99,29.71\n", encoding="utf-8")
    assert runner.invoke(app, ["import", str(path)]).exit_code == 0
    again = runner.invoke(app, ["import", str(path)])
    assert again.exit_code == 2 and "a station with this id exists" in again.output
    assert station_count(scratch_settings) == 1
    # New rows after explicit ids get fresh ids, not a clash with 5.
    path.write_text("type_code,name,lon,lat\nlove_station,乙,115.99,29.71\n", encoding="utf-8")
    assert runner.invoke(app, ["import", str(path)]).exit_code == 0
    with session_scope(scratch_settings) as session:
        assert sorted(session.execute(text("SELECT id FROM station")).scalars()) == [5, 6]


def test_cli_import_takes_chinese_names_and_names_swapped_coordinates(scratch_settings: Settings,
                                                                        tmp_path: Path) -> None:
    assert runner.invoke(app, ["load", "reference"]).exit_code == 0
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("type_code,name,lon,lat\n爱心驿站,写反了,29.71,115.99\n", encoding="utf-8")
    result = runner.invoke(app, ["import", str(swapped)])
    assert result.exit_code == 2 and "row 2, field 'lat'" in result.output and "经纬度可能写反了" in result.output
    path = tmp_path / "中文.csv"
    path.write_text("type_code,name,lon,lat,amenities\n爱心驿站,表格里的驿站,115.99,29.71,饮水、充电\n",
                    encoding="utf-8")
    assert runner.invoke(app, ["import", str(path)]).exit_code == 0
    with session_scope(scratch_settings) as session:
        assert session.execute(text("SELECT type_code, amenities FROM station")).one() == ("love_station",
                                                                                         ["water", "charging"])
