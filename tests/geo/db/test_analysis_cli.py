"""``unionmap coverage``, ``gaps``, ``plan`` and ``load population`` as a planner runs them."""

from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from geo.notices import MODELLED, POSITION_UNKNOWN
from geo.services.transaction import session_scope
from geo.settings import Settings, get_settings
from tests.honesty import unknown_codes

pytestmark = pytest.mark.db
runner = CliRunner()


@pytest.fixture
def on_test_database(test_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the CLI at the session's database (read-only commands only)."""
    monkeypatch.setenv("DATABASE_URL", test_settings.database_url or "")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield test_settings
    get_settings.cache_clear()


def test_coverage_table_in_chinese(on_test_database: Settings) -> None:
    result = runner.invoke(app, ["coverage", "--type", "love_station", "--level", "county"])
    assert result.exit_code == 0, result.output
    assert "爱心驿站 · county" in result.output and "浔阳区" in result.output and "覆盖率" in result.output
    assert MODELLED.text in result.output


def unknown_codes_of(settings: Settings) -> set[str]:
    with session_scope(settings) as session:
        return unknown_codes(session)


def test_coverage_xlsx_opens_with_a_frozen_header(on_test_database: Settings, tmp_path: Path) -> None:
    path = tmp_path / "coverage.xlsx"
    result = runner.invoke(app, ["coverage", "--level", "township", "--format", "xlsx", "-o", str(path)])
    assert result.exit_code == 0, result.output
    sheet = load_workbook(path).worksheets[0]
    assert sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["类型 type name", "区划代码 code", "名称 name"]
    assert sheet.max_row == 1 + 5 * 204  # five types × 204 townships
    share_column = header.index("覆盖率 share") + 1
    assert sheet.cell(row=2, column=share_column).number_format == "0.0%"
    notes = load_workbook(path)["说明 notes"]["A1"].value
    assert MODELLED.text in notes and POSITION_UNKNOWN.text in notes  # Jiujiang has townships without a seat
    marked = header.index("乡镇位置未知 position unknown")
    names, flags = header.index("名称 name"), [row for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert {row[1] for row in flags if row[marked]} == unknown_codes_of(on_test_database)
    assert all(row[names].endswith("（位置未知）") == bool(row[marked]) for row in flags)


def test_coverage_csv_and_bad_options(on_test_database: Settings, tmp_path: Path) -> None:
    path = tmp_path / "coverage.csv"
    assert runner.invoke(app, ["coverage", "--level", "city", "--format", "csv", "-o", str(path)]).exit_code == 0
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("类型 type name,区划代码 code") and len([line for line in lines if "全市" in line]) == 5
    bad_type = runner.invoke(app, ["coverage", "--type", "night_market"])
    assert bad_type.exit_code == 2 and "night_market" in bad_type.output and "'type'" in bad_type.output
    assert runner.invoke(app, ["coverage", "--level", "village"]).exit_code == 2


def test_gaps_lists_every_target_with_its_source(on_test_database: Settings, tmp_path: Path) -> None:
    result = runner.invoke(app, ["gaps"])
    assert result.exit_code == 0, result.output
    for text_ in ("工人文化宫", "每个县（市、区）", "全市打造100家标准化", "逾期", "职工书屋", "234"):
        assert text_ in result.output, text_
    path = tmp_path / "gaps.xlsx"
    assert runner.invoke(app, ["gaps", "--detail", "--format", "xlsx", "-o", str(path)]).exit_code == 0
    sheet = load_workbook(path).worksheets[0]
    assert sheet.max_row == 1 + 1 + 13 + 204 + 1 + 13 + 204  # city, county, township targets


def test_plan_prints_proposals_and_a_bound(on_test_database: Settings) -> None:
    result = runner.invoke(app, ["plan", "--type", "love_station", "--add", "3"])
    assert result.exit_code == 0, result.output
    assert "新增 3 处" in result.output and "proven upper bound" in result.output
    too_many = runner.invoke(app, ["plan", "--add", "0"])
    assert too_many.exit_code == 2 and "'add'" in too_many.output


def test_plan_save_then_scenario(scratch_settings: Settings, synthetic_region: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNIONMAP_DATA_DIR", str(synthetic_region))
    monkeypatch.setenv("UNIONMAP_REGION", "synthetic")
    get_settings.cache_clear()
    assert runner.invoke(app, ["load", "reference"]).exit_code == 0
    result = runner.invoke(app, ["plan", "--type", "love_station", "--add", "2", "--save"])
    assert result.exit_code == 0, result.output
    assert "saved as plan 1" in result.output
    with session_scope(scratch_settings) as session:
        rows = session.execute(text("SELECT status, plan_id FROM station")).all()
        plan = session.execute(text("SELECT added, method, covered_after >= covered_before FROM plan")).one()
    assert [tuple(r) for r in rows] == [("planned", 1), ("planned", 1)]
    assert tuple(plan) == (2, "greedy", True)
    before = runner.invoke(app, ["coverage", "--level", "city", "--type", "love_station"]).output
    after = runner.invoke(app, ["coverage", "--level", "city", "--type", "love_station", "--plan", "1"]).output
    assert "0.0%" in before and "0.0%" not in after


def test_load_population_raster_keeps_totals_and_clears_the_flag(
        scratch_settings: Settings, synthetic_region: Path, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin

    from geo.reference.raster import aggregate_to_h3

    monkeypatch.setenv("UNIONMAP_DATA_DIR", str(synthetic_region))
    monkeypatch.setenv("UNIONMAP_REGION", "synthetic")
    get_settings.cache_clear()
    assert runner.invoke(app, ["load", "reference"]).exit_code == 0
    # A 0.002° raster over the synthetic counties (116.0–116.2, 30.0–30.1) and a margin.
    values = np.random.default_rng(5).integers(0, 40, size=(60, 110)).astype("float32")
    values[0, 0] = -9999
    path = tmp_path / "people.tif"
    with rasterio.open(path, "w", driver="GTiff", width=110, height=60, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(115.99, 30.11, 0.002, 0.002),
                       nodata=-9999) as raster:
        raster.write(values, 1)
    result = runner.invoke(app, ["load", "population", str(path)])
    assert result.exit_code == 0, result.output
    with session_scope(scratch_settings) as session:
        cells = np.array(session.execute(text("SELECT cell FROM demand_cell")).scalars().all(), dtype=np.int64)
        total = session.execute(text("SELECT sum(population) FROM demand_cell")).scalar_one()
        grid = session.execute(text("SELECT population_is_modelled, total_population, source FROM demand_grid")).one()
    expected = aggregate_to_h3(path, resolution=9, cells_of_interest=cells.astype(np.uint64))
    assert total == pytest.approx(expected.assigned_total)
    assert expected.assigned_total > 0.9 * values[values > 0].sum() * (0.2 * 0.1) / (0.22 * 0.12)
    assert grid.population_is_modelled is False and grid.total_population == pytest.approx(total)
    assert "people.tif" in grid.source
    coverage = runner.invoke(app, ["coverage", "--level", "city"])
    assert MODELLED.label_zh not in coverage.output


def test_load_population_bad_file_changes_nothing(scratch_settings: Settings, synthetic_region: Path,
                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("UNIONMAP_DATA_DIR", str(synthetic_region))
    monkeypatch.setenv("UNIONMAP_REGION", "synthetic")
    get_settings.cache_clear()
    assert runner.invoke(app, ["load", "reference"]).exit_code == 0
    bad = tmp_path / "not-a-raster.tif"
    bad.write_text("hello", encoding="utf-8")
    result = runner.invoke(app, ["load", "population", str(bad)])
    assert result.exit_code == 2 and "not-a-raster.tif" in result.output
    with session_scope(scratch_settings) as session:
        assert session.execute(text("SELECT population_is_modelled FROM demand_grid")).scalar_one() is True


def test_a_solver_failure_is_one_line_naming_the_status(on_test_database: Settings,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import highspy

    monkeypatch.setattr(highspy.Highs, "run", lambda self: highspy.HighsStatus.kOk)  # HiGHS never solves
    # No bound steps: otherwise the Lagrangian bound proves the answer and HiGHS is not started.
    result = runner.invoke(app, ["plan", "--type", "love_station", "--add", "3", "--method", "exact",
                                 "--bound-steps", "0"])
    assert result.exit_code == 2, result.output
    assert "HiGHS stopped with status 'Not Set'" in result.output and "Traceback" not in result.output
    # One line for the error; any other line is the exact solver's progress (printed when not on a terminal).
    lines = result.output.strip().splitlines()
    assert isinstance(result.exception, SystemExit) and lines[-1].startswith("错误 / error:")
    assert all(line.startswith("精确求解 / exact") for line in lines[:-1])
