"""Options every command checks the same way, before it opens a database: the coordinate systems."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from geo.core.crs import COORD_SYSTEMS

runner = CliRunner()


def commands(tmp_path: Path) -> list[tuple[list[str], str]]:
    """Each command with a coordinate-system option, and that option's name."""
    existing = tmp_path / "stations.csv"
    existing.write_text("type_code,name,lon,lat\n", encoding="utf-8")
    return [(["import", str(existing), "--crs"], "--crs"), (["export", str(tmp_path / "out.csv"), "--crs"], "--crs"),
            (["load", "boundaries", str(existing), "--crs"], "--crs"),
            (["plan", "--candidates-crs"], "--candidates-crs")]


def test_every_coordinate_option_refuses_an_unknown_system_in_one_line(tmp_path: Path) -> None:
    for command, option in commands(tmp_path):
        result = runner.invoke(app, [*command, "utm50"], terminal_width=400)
        assert result.exit_code == 2, (command, result.output)
        assert f"{option} must be wgs84, gcj02 or bd09, not 'utm50'" in result.output, result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["import", "export", "plan", "load boundaries"])
def test_the_help_names_every_system(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # rich wraps the help at the terminal's width
    result = runner.invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0 and " | ".join(COORD_SYSTEMS) in result.output
