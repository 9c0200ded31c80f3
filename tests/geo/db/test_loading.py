"""Loading commands end to end: another region, the demo registry, and bad input."""

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from geo.services.transaction import session_scope
from geo.settings import Settings, get_settings

pytestmark = pytest.mark.db
runner = CliRunner()


def counts(settings: Settings) -> dict[str, int]:
    with session_scope(settings) as session:
        return {table: session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("region", "station", "station_history", "target", "service_type")}


def use_data_dir(monkeypatch: pytest.MonkeyPatch, data_dir: Path, region: str) -> Settings:
    monkeypatch.setenv("UNIONMAP_DATA_DIR", str(data_dir))
    monkeypatch.setenv("UNIONMAP_REGION", region)
    get_settings.cache_clear()
    return get_settings()


def test_a_second_region_loads_with_the_same_command(scratch_settings, synthetic_region, monkeypatch) -> None:  # noqa: ANN001
    settings = use_data_dir(monkeypatch, synthetic_region, "synthetic")
    result = runner.invoke(app, ["load", "reference"])
    assert result.exit_code == 0, result.output
    assert "示例市" in result.output
    with session_scope(settings) as session:
        rows = session.execute(text(
            "SELECT code, parent_code, kind, population, seat_rule FROM region ORDER BY code")).all()
        tiles = session.execute(text("""
            SELECT c.code, abs(ST_Area(c.geom::geography) - sum(ST_Area(t.geom::geography)))
                   / ST_Area(c.geom::geography)
            FROM region c JOIN region t ON t.parent_code = c.code GROUP BY c.code, c.geom""")).all()
        target = session.execute(text("SELECT scope, threshold, source_quote FROM target")).one()
    by_code = {row.code: row for row in rows}
    assert set(by_code) == {"990001", "990002", "990001001", "990001100", "990001200",
                            "990002100", "990002500"}
    assert sum(by_code[c].population for c in ("990001001", "990001100", "990001200")) == 100_000
    assert by_code["990002100"].population + by_code["990002500"].population == 50_000
    assert by_code["990001001"].seat_rule == "street_ring" and by_code["990001001"].kind == "street"
    assert by_code["990002500"].seat_rule == "farthest_point"
    assert all(share < 1e-3 for _, share in tiles)
    assert (target.scope, float(target.threshold), target.source_quote) == ("county", 2.0, "每县至少两家")

    result = runner.invoke(app, ["load", "demo", "--seed", "3"])
    assert result.exit_code == 0, result.output
    with session_scope(settings) as session:
        per_type = dict(session.execute(text(
            "SELECT type_code, count(*) FROM station WHERE is_demo AND township_code IS NOT NULL "
            "GROUP BY type_code")).all())
    assert per_type == {"love_station": 6, "workers_home": 3}


def test_demo_registry_follows_the_report_and_is_reproducible(scratch_settings) -> None:  # noqa: ANN001
    assert runner.invoke(app, ["load", "reference"]).exit_code == 0

    def snapshot() -> list[tuple]:
        with session_scope(scratch_settings) as session:
            return [tuple(row) for row in session.execute(text(
                "SELECT type_code, name, ST_AsText(geom), status, is_demo, township_code IS NOT NULL "
                "FROM station ORDER BY type_code, name, ST_X(geom)")).all()]

    with session_scope(scratch_settings) as session:  # a real row must survive demo reloads
        session.execute(text("INSERT INTO station (type_code, name, geom) VALUES "
                             "('love_station', '真实驿站', ST_SetSRID(ST_MakePoint(116.0, 29.7), 4326))"))
    assert runner.invoke(app, ["load", "demo", "--seed", "11"]).exit_code == 0
    first = snapshot()
    assert runner.invoke(app, ["load", "demo", "--seed", "11"]).exit_code == 0
    assert snapshot() == first
    assert runner.invoke(app, ["load", "demo", "--seed", "12"]).exit_code == 0
    assert snapshot() != first

    demo = [row for row in first if row[4]]
    per_type: dict[str, int] = {}
    for row in demo:
        per_type[row[0]] = per_type.get(row[0], 0) + 1
    assert per_type == {"love_station": 136, "worker_library": 234, "legal_service": 40,
                        "cultural_palace": 5, "workers_home": 60}
    assert all(row[5] for row in demo), "every demo station lies in a township"
    assert all("演示" in row[1] for row in demo)
    assert [row[1] for row in first if not row[4]] == ["真实驿站"]
    with session_scope(scratch_settings) as session:
        one_per = session.execute(text("""
            SELECT max(n) FROM (SELECT count(*) n FROM station WHERE type_code = 'workers_home'
                                GROUP BY township_code) x""")).scalar_one()
        palaces = session.execute(text("""
            SELECT count(DISTINCT county_code) FROM station WHERE type_code = 'cultural_palace'""")).scalar_one()
    assert one_per == 1 and palaces == 5


def broken_copy(tmp_path: Path, edit) -> Path:  # noqa: ANN001
    data_dir = tmp_path / "data"
    shutil.copytree(Path(__file__).resolve().parents[3] / "data", data_dir)
    edit(data_dir / "jiujiang")
    return data_dir


def drop_column(folder: Path) -> None:
    lines = (folder / "townships.csv").read_text(encoding="utf-8").splitlines()
    (folder / "townships.csv").write_text(
        "\n".join(",".join(line.split(",")[:1] + line.split(",")[2:]) for line in lines), encoding="utf-8")


def unknown_county(folder: Path) -> None:
    lines = (folder / "townships.csv").read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace(",360402,", ",369999,")
    (folder / "townships.csv").write_text("\n".join(lines), encoding="utf-8")


def bowtie(folder: Path) -> None:
    data = json.loads((folder / "counties_gcj02.geojson").read_text(encoding="utf-8"))
    data["features"][2]["geometry"] = {"type": "Polygon", "coordinates": [
        [[115.0, 29.0], [115.1, 29.1], [115.1, 29.0], [115.0, 29.1], [115.0, 29.0]]]}
    (folder / "counties_gcj02.geojson").write_text(json.dumps(data), encoding="utf-8")


def bad_population(folder: Path) -> None:
    text_ = (folder / "county_population_2020.csv").read_text(encoding="utf-8")
    (folder / "county_population_2020.csv").write_text(text_.replace("312807", "lots"), encoding="utf-8")


@pytest.mark.parametrize(("edit", "expected"), [
    (drop_column, ["townships.csv", "missing column", "county_code"]),
    (unknown_county, ["townships.csv", "row 6", "'county_code'", "369999"]),
    (bowtie, ["counties_gcj02.geojson", "row 3", "'geometry'", "invalid geometry"]),
    (bad_population, ["county_population_2020.csv", "row 4", "'population_2020'", "lots"]),
])
def test_bad_reference_files_are_named_and_change_nothing(
        scratch_settings, tmp_path, monkeypatch, edit, expected) -> None:  # noqa: ANN001
    assert runner.invoke(app, ["load", "reference"]).exit_code == 0
    assert runner.invoke(app, ["load", "demo"]).exit_code == 0
    before = counts(scratch_settings)
    use_data_dir(monkeypatch, broken_copy(tmp_path, edit), "jiujiang")
    result = runner.invoke(app, ["load", "reference"])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    for part in expected:
        assert part in output, output
    assert counts(scratch_settings) == before


def test_failure_inside_the_write_rolls_everything_back(scratch_settings, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """Targets naming an unknown type fail after the regions were rewritten: all is rolled back."""
    assert runner.invoke(app, ["load", "reference"]).exit_code == 0

    def population_sum() -> int:
        with session_scope(scratch_settings) as session:
            return session.execute(text("SELECT sum(population) FROM region")).scalar_one()

    before = counts(scratch_settings), population_sum()

    def unknown_type(folder: Path) -> None:
        text_ = (folder / "targets.yaml").read_text(encoding="utf-8")
        (folder / "targets.yaml").write_text(text_.replace("type: legal_service", "type: night_market"),
                                             encoding="utf-8")
        text_ = (folder / "county_population_2020.csv").read_text(encoding="utf-8")
        (folder / "county_population_2020.csv").write_text(text_.replace("418339", "500000"),
                                                            encoding="utf-8")

    use_data_dir(monkeypatch, broken_copy(tmp_path, unknown_type), "jiujiang")
    result = runner.invoke(app, ["load", "reference"])
    assert result.exit_code == 2 and "night_market" in result.output and "'type'" in result.output
    assert (counts(scratch_settings), population_sum()) == before
