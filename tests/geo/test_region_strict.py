"""Strict region.yaml and ``unionmap region check`` (issue 16): every mistake named with what to write."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from geo.errors import InputError, InputErrors
from geo.reference.layers import read_reference
from geo.reference.region import config_hash, county_prefix, load_config
from geo.settings import get_settings
from tests.conftest import DATA_DIR


def edit(folder: Path, name: str, old: str, new: str) -> None:
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text, (name, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def check(folder: Path) -> tuple[int, str]:
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["region", "check", "--region", folder.name],
                                    env={"UNIONMAP_DATA_DIR": str(folder.parent)}, terminal_width=400)
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_an_unknown_key_says_which_keys_are_allowed_and_the_likely_one(synthetic_region: Path) -> None:
    folder = synthetic_region / "synthetic"
    edit(folder, "region.yaml", "name_en: Synthetic", "name_en: Synthetic\ntmezone: Asia/Shanghai")
    with pytest.raises(InputError) as caught:
        load_config(folder)
    message = str(caught.value)
    assert caught.value.field == "tmezone" and "region.yaml" in message
    assert "did you mean 'timezone'" in message and "allowed keys here: code, name_zh, name_en, timezone" in message
    assert "folder" not in message.split("allowed keys here:")[1]  # set by the software, not a key to write


def test_every_config_problem_is_reported_at_once_and_nested_keys_too(synthetic_region: Path) -> None:
    folder = synthetic_region / "synthetic"
    edit(folder, "region.yaml", "code_field: dm", "code_fild: dm")
    edit(folder, "region.yaml", "derivation: {street_ring_radius_m: 1000}",
         "derivation: {street_ring_radius_m: 1000}\ndemand_grid: {resolutoin: 8}")
    with pytest.raises(InputErrors) as caught:
        load_config(folder)
    by_field = {error.field: error.reason for error in caught.value.errors}
    assert set(by_field) == {"counties.code_fild", "demand_grid.resolutoin"}
    assert "did you mean 'code_field'" in by_field["counties.code_fild"]
    assert "did you mean 'resolution'" in by_field["demand_grid.resolutoin"]


def test_a_missing_file_is_named_with_its_path_and_key(synthetic_region: Path) -> None:
    folder = synthetic_region / "synthetic"
    (folder / "seats.csv").unlink()
    with pytest.raises(InputError) as caught:
        load_config(folder)
    assert caught.value.file == str(folder / "seats.csv") and caught.value.field == "seats.files[0]"


def test_county_codes_outside_the_region_code_stop_the_load(synthetic_region: Path) -> None:
    folder = synthetic_region / "synthetic"
    edit(folder, "region.yaml", 'code: "990000"', 'code: "980000"')
    with pytest.raises(InputError, match="990001, 990002.*980000") as caught:
        read_reference(load_config(folder))
    assert caught.value.field == "dm" and caught.value.file == str(folder / "counties.geojson")
    assert (county_prefix("360400"), county_prefix("110000"), county_prefix("441900"), county_prefix("x")) == (
        "3604", "11", "4419", None)


def test_the_hash_covers_the_files_named(synthetic_region: Path) -> None:
    folder = synthetic_region / "synthetic"
    before = config_hash(load_config(folder))
    assert before == config_hash(load_config(folder))
    edit(folder, "population.csv", "990002,50000", "990002,50001")
    assert config_hash(load_config(folder)) != before


def test_region_check_of_jiujiang_counts_what_it_read() -> None:
    code, output = check(DATA_DIR / "jiujiang")
    assert code == 0, output
    counts = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in output.splitlines()
              if line.count("│") == 3}
    assert counts["counties 县级"] == "13" and counts["townships 乡级"] == "204"
    assert counts["townships derived 派生乡级多边形"] == "204" and "no problems found" in output


def test_region_check_of_a_broken_copy_lists_every_problem(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(DATA_DIR / "jiujiang", folder)
    shutil.copy(DATA_DIR / "service_types.yaml", tmp_path / "service_types.yaml")
    edit(folder, "region.yaml", "demo: demo.yaml", "demo: demoo.yaml")
    edit(folder, "county_population_2020.csv", "\n360403,", "\n369403,")
    edit(folder, "townships.csv", "360402001,360402,", "360402001,360499,")
    edit(folder, "township_seats_geonames.csv", "\n360402001,", "\n360402999,")
    code, output = check(folder)
    assert code == 2
    text = " ".join(output.split())
    assert "5 处问题 / problem(s)" in text
    for expected in ("demoo.yaml, field 'demo'", "row 3, field 'adcode': 未知县级代码 / unknown county code 369403",
                     "no population for county 360403", "row 2, field 'county_code'",
                     "unknown township code 360402999"):
        assert expected in text, expected
    config_broken = tmp_path / "worse"
    shutil.copytree(folder, config_broken)
    edit(config_broken, "region.yaml", "timezone: Asia/Shanghai", "timezone: Asia/Shangai\ntmezone: x")
    code, output = check(config_broken)
    text = " ".join(output.split())
    assert code == 2 and "2 处问题" in text and "Asia/Shangai" in text and "did you mean 'timezone'" in text
