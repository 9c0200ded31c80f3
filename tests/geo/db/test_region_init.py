"""``unionmap region init ADCODE``: a complete region folder for any prefecture, loaded with --load."""

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from geo.core import crs
from geo.reference import china
from geo.services.transaction import session_scope
from geo.settings import Settings, get_settings
from tests.cities import empty_data_dir, made_up_townships

pytestmark = pytest.mark.db
runner = CliRunner()
DATA = Path(__file__).resolve().parents[3] / "data"
JIUJIANG = DATA / "jiujiang"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data/ folder (with the project's service types) that the CLI writes into."""
    folder = empty_data_dir(tmp_path / "data")
    monkeypatch.setenv("UNIONMAP_DATA_DIR", str(folder))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def invoke(*args: str) -> str:
    result = runner.invoke(app, ["region", "init", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_init_and_load_a_prefecture_with_gcj02_seats(scratch_settings: Settings, data_dir: Path,
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNIONMAP_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    townships = made_up_townships("360200", tmp_path / "townships.csv")
    # one seat per county, first township: the county's inner point (WGS-84), given as Amap (GCJ-02) picks it
    counties_wgs84 = crs.convert_gdf(china.counties_of("360200").set_crs(4326), source="gcj02", target="wgs84")
    inner = shapely.point_on_surface(counties_wgs84.geometry.values)
    lon, lat = crs.convert(shapely.get_x(inner), shapely.get_y(inner), source="wgs84", target="gcj02")
    seated = townships.groupby("county_code").head(1)["code"].to_numpy()
    pd.DataFrame({"code": seated, "lon": lon, "lat": lat}).to_csv(tmp_path / "seats.csv", index=False)
    output = invoke("360200", "--townships", str(tmp_path / "townships.csv"), "--seats", str(tmp_path / "seats.csv"),
                    "--seats-crs", "gcj02", "--name-en", "Jingdezhen", "--load")
    folder = data_dir / "jingdezhen"
    assert "1,618,979" in output and "4 县级单位" in output and "12 乡级单位" in output
    assert "4 with a seat" in output and "--seats-crs gcj02" in output
    assert "unionmap load reference --region jingdezhen" in output
    for written in [output, *(path.read_text(encoding="utf-8") for path in folder.iterdir())]:
        assert "九江" not in written and "jiujiang" not in written.lower()
    assert not (folder / "demo.yaml").exists() and not (folder / "targets.yaml").exists()
    with session_scope(scratch_settings) as session:
        stored = dict(session.execute(text(
            "SELECT code, population FROM region WHERE level = 'county' ORDER BY code")).all())
        assert stored == dict(zip(*[china.census_rows(list(stored))[c] for c in ("code", "population_2020")],
                                  strict=True))
        assert sum(stored.values()) == 1_618_979
        assert session.execute(text("SELECT count(*) FROM region WHERE level = 'township'")).scalar_one() == 12
        for code, x, y in zip(seated, shapely.get_x(inner), shapely.get_y(inner), strict=True):
            holder = session.execute(text(
                "SELECT code FROM region WHERE level = 'township' "
                "AND ST_Contains(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"), {"x": x, "y": y}).scalar_one()
            assert holder == code
    # Another city: added beside this one (which stays the default); with --replace, in its place.
    made_up_townships("420500", tmp_path / "yichang.csv", per_county=2)
    arguments = ["region", "init", "420500", "--townships", str(tmp_path / "yichang.csv"), "--name-en", "Yichang",
                 "--load"]
    added = runner.invoke(app, arguments)
    assert added.exit_code == 0 and "360200" in added.output and "/r/420500/" in added.output, added.output
    with session_scope(scratch_settings) as session:
        held = session.execute(text("SELECT string_agg(code || ':' || is_default, ',' ORDER BY code) "
                                    "FROM deployment_region")).scalar_one()
        assert held == "360200:true,420500:false"
    replaced = runner.invoke(app, [*arguments, "--force", "--replace"])
    assert replaced.exit_code == 0, replaced.output
    with session_scope(scratch_settings) as session:
        counties = session.execute(text("SELECT count(*) FROM region WHERE level = 'county'")).scalar_one()
        assert counties == 13 and session.execute(text("SELECT code FROM deployment_region WHERE is_default")).scalar_one() == "420500"


def test_init_outside_jiangxi(data_dir: Path, tmp_path: Path) -> None:
    made_up_townships("420500", tmp_path / "t.csv", per_county=2)
    output = invoke("420500", "--townships", str(tmp_path / "t.csv"))
    folder = data_dir / "420500"
    population = pd.read_csv(folder / "county_population_2020.csv", dtype={"adcode": str})
    assert len(population) == 13 and population["population_2020"].sum() == 3_762_407
    counties = gpd.read_file(folder / "counties_gcj02.geojson")
    assert list(counties["adcode"]) == list(china.counties_of("420500")["code"])
    assert "3,762,407" in output and "name_en is the adcode" in output and "0 with a seat" in output
    assert "九江" not in output and "jiujiang" not in output.lower()


def test_jiujiang_rebuilt_from_its_own_lists(data_dir: Path) -> None:
    invoke("360400", "--townships", str(JIUJIANG / "townships.csv"),
           "--seats", str(JIUJIANG / "township_seats_geonames.csv"), "--seats", str(JIUJIANG / "seat_additions.csv"),
           "--places", str(JIUJIANG / "geonames_places.csv"), "--targets", str(JIUJIANG / "targets.yaml"),
           "--name-en", "Jiujiang", "--folder", "rebuilt")
    new, old = data_dir / "rebuilt", JIUJIANG
    assert json.loads((new / "counties_gcj02.geojson").read_text(encoding="utf-8")) == json.loads(
        (old / "counties_gcj02.geojson").read_text(encoding="utf-8"))
    read = lambda path: pd.read_csv(path, dtype=str)  # noqa: E731
    pd.testing.assert_frame_equal(read(new / "county_population_2020.csv"), read(old / "county_population_2020.csv"))
    columns = ["code", "county_code", "name"]
    pd.testing.assert_frame_equal(read(new / "townships.csv")[columns], read(old / "townships.csv")[columns])
    seats = read(new / "township_seats.csv").set_index("code")
    assert seats.at["360428100", "lon"] == "116.18631"  # seat_additions.csv wins, WGS-84 kept digit for digit
    assert len(seats) == 1 + (read(old / "township_seats_geonames.csv")["lon"].notna()).sum()


def write_targets(path: Path, region: str | None) -> Path:
    head = f'region: "{region}"\n' if region else ""
    path.write_text(head + "targets:\n  - {code: a, type: love_station, scope: city, kind: count, threshold: 1, "
                    "source_quote: 报告原文}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("case", "expected"), [
    ("unknown code", "unknown adcode 990100"),
    ("unknown county", "row 3, field 'county_code'"),
    ("duplicate", "row 3, field 'code': duplicate code 360202100"),
    ("other targets", "belong to region 360400, not to 360200"),
    ("targets without region", 'add a top-level line `region: "360200"`'),
    ("province", "360000 is a province"),
])
def test_bad_inputs_write_nothing(data_dir: Path, tmp_path: Path, case: str, expected: str) -> None:
    townships = tmp_path / "t.csv"
    made_up_townships("360200", townships, per_county=1)
    lines = townships.read_text(encoding="utf-8").splitlines()
    adcode, extra = "360200", []
    if case == "unknown code":
        adcode = "990100"
    elif case == "province":
        adcode = "360000"
    elif case == "unknown county":
        lines[2] = "360402100,360402,某镇"
    elif case == "duplicate":
        lines[2] = lines[1]
    elif case == "other targets":
        extra = ["--targets", str(write_targets(tmp_path / "targets.yaml", "360400"))]
    elif case == "targets without region":
        extra = ["--targets", str(write_targets(tmp_path / "targets.yaml", None))]
    townships.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["region", "init", adcode, "--townships", str(townships), *extra])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split()), result.output
    assert sorted(path.name for path in data_dir.iterdir()) == ["amenities.yaml", "service_types.yaml"]


def test_existing_folder_needs_force(data_dir: Path, tmp_path: Path) -> None:
    made_up_townships("360200", tmp_path / "t.csv", per_county=1)
    invoke("360200", "--townships", str(tmp_path / "t.csv"))
    again = runner.invoke(app, ["region", "init", "360200", "--townships", str(tmp_path / "t.csv")])
    assert again.exit_code == 2 and "--force" in again.output
    invoke("360200", "--townships", str(tmp_path / "t.csv"), "--force")
    assert sorted(p.name for p in data_dir.iterdir()) == ["360200", "amenities.yaml", "service_types.yaml"]


def test_another_citys_targets_and_settlements_are_refused(data_dir: Path, tmp_path: Path) -> None:
    """The README once said "copy the Jiujiang folder": its targets and settlements then applied to the
    new city in silence. Both are now refused, by load and by region check, naming what is wrong."""
    from geo.errors import InputError
    from geo.reference.targets import read_region_targets

    with pytest.raises(InputError) as refused:
        read_region_targets(JIUJIANG / "targets.yaml", "360200")
    assert "360400" in str(refused.value) and "360200" in str(refused.value)
    assert len(read_region_targets(JIUJIANG / "targets.yaml", "360400")) > 0

    made_up_townships("360200", tmp_path / "t.csv", per_county=2)
    invoke("360200", "--townships", str(tmp_path / "t.csv"), "--folder", "copied")
    folder = data_dir / "copied"
    shutil.copy(JIUJIANG / "geonames_places.csv", folder / "places.csv")
    shutil.copy(JIUJIANG / "targets.yaml", folder / "targets.yaml")
    with (folder / "region.yaml").open("a", encoding="utf-8") as config:
        config.write("places:\n  file: places.csv\ntargets: targets.yaml\n")
    checked = runner.invoke(app, ["region", "check", "--region", "copied"])
    assert checked.exit_code == 2
    assert "places lie outside this region's counties" in checked.output
    assert "belongs to region 360400" in checked.output and "360200" in checked.output
