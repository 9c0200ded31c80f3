"""region.yaml is checked when it is read: a mistyped time zone stops the CLI and the app at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.app import create_app
from geo.errors import InputError
from geo.reference.region import load_config
from geo.settings import Settings, get_settings


def with_timezone(data_dir: Path, zone: str) -> Path:
    """The synthetic region's folder, its region.yaml now naming ``zone``."""
    folder = data_dir / "synthetic"
    path = folder / "region.yaml"
    path.write_text(path.read_text(encoding="utf-8") + f"timezone: {zone!r}\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("zone", ["Asia/Shangai", "Asia/Shanghai ", "GMT+8", "../../etc/passwd", ""])
def test_an_unknown_zone_names_the_file_and_field(synthetic_region: Path, zone: str) -> None:
    folder = with_timezone(synthetic_region, zone)
    with pytest.raises(InputError) as caught:
        load_config(folder)
    error = caught.value
    assert (error.file, error.field) == (str(folder / "region.yaml"), "timezone")
    assert error.reason.startswith(f"未知时区 {zone!r}，") and f"unknown time zone {zone!r}" in error.reason


def test_a_known_zone_is_kept(synthetic_region: Path) -> None:
    assert load_config(synthetic_region / "synthetic").timezone == "Asia/Shanghai"  # the default
    assert load_config(with_timezone(synthetic_region, "Asia/Urumqi")).timezone == "Asia/Urumqi"


def test_the_app_does_not_start(synthetic_region: Path) -> None:
    with_timezone(synthetic_region, "Asia/Shangai")
    with pytest.raises(InputError, match="timezone.*未知时区 'Asia/Shangai'"):
        create_app(Settings(database_url="postgresql+psycopg://nobody@/none", data_dir=synthetic_region,
                            region="synthetic"))


def test_the_cli_says_so_and_exits_2(synthetic_region: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.cli import app

    folder = with_timezone(synthetic_region, "Asia/Shangai")
    monkeypatch.setenv("UNIONMAP_DATA_DIR", str(synthetic_region))
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@/none")  # never reached
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["load", "reference", "--region", "synthetic"], terminal_width=400)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert f"file {folder / 'region.yaml'}, field 'timezone': 未知时区 'Asia/Shangai'" in output
    assert "Traceback" not in output


def test_data_files_are_parsed_once_per_version(tmp_path: Path) -> None:
    """Amenities (and the other data files) are wanted on many request paths: parsed once, and
    again only when the file changes."""
    import os

    from geo.reference.service_types import read_amenities

    path = tmp_path / "amenities.yaml"
    path.write_text("water: {name_zh: 饮水, name_en: water}\n", encoding="utf-8")
    first = read_amenities(path)
    assert read_amenities(path) is first and list(first) == ["water"]
    path.write_text("water: {name_zh: 饮水, name_en: water}\nrest: {name_zh: 休息, name_en: rest}\n",
                    encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a new version even where the clock's step is coarse
    assert list(read_amenities(path)) == ["water", "rest"]
    path.write_text("[not, a, mapping]\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a mapping"):
        read_amenities(path)
