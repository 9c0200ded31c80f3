"""The reference geography as loaded: counts, tiling, population, flags, official boundaries."""

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import app

pytestmark = pytest.mark.db
runner = CliRunner()


def scalar(session: Session, sql: str, **params: object) -> object:
    return session.execute(text(sql), params).scalar_one()


def test_jiujiang_has_13_counties_and_204_approximate_townships(session: Session) -> None:
    rows = session.execute(text(
        "SELECT level, count(*), bool_and(boundary_is_approximate), bool_and(population_is_modelled) "
        "FROM region GROUP BY level ORDER BY level")).all()
    assert [tuple(row) for row in rows] == [("county", 13, False, False), ("township", 204, True, True)]


def test_townships_tile_each_county_within_a_tenth_of_a_percent(session: Session) -> None:
    rows = session.execute(text("""
        SELECT c.code, ST_Area(c.geom::geography) AS county_m2,
               sum(ST_Area(t.geom::geography)) AS parts_m2,
               ST_Area(ST_SymDifference(c.geom, ST_Union(t.geom))::geography) AS mismatch_m2
        FROM region c JOIN region t ON t.parent_code = c.code AND t.level = 'township'
        WHERE c.level = 'county' GROUP BY c.code, c.geom""")).all()
    assert len(rows) == 13
    for code, county_m2, parts_m2, mismatch_m2 in rows:
        assert parts_m2 == pytest.approx(county_m2, rel=1e-3), code
        assert mismatch_m2 / county_m2 < 1e-3, code


def test_township_population_sums_exactly_to_the_census(session: Session) -> None:
    rows = session.execute(text("""
        SELECT c.code, c.population, sum(t.population), c.urban_population, sum(t.urban_population)
        FROM region c JOIN region t ON t.parent_code = c.code
        WHERE c.level = 'county' GROUP BY c.code, c.population, c.urban_population""")).all()
    census = {"360403": 433122, "360424": 710620}  # county_population_2020.csv
    for code, county, townships, urban, township_urban in rows:
        assert townships == county and township_urban == urban, code
        if code in census:
            assert county == census[code]
    assert scalar(session, "SELECT sum(population) FROM region WHERE level = 'county'") == 4_600_276


def test_county_polygons_are_shifted_from_gcj02_to_wgs84(session: Session) -> None:
    # The GCJ-02 file's first vertex of 濂溪区; stored WGS-84 lies some hundreds of metres away.
    gcj = (115.929315, 29.548463)
    distance = scalar(session, """
        SELECT min(ST_Distance((dp).geom::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography))
        FROM (SELECT ST_DumpPoints(geom) AS dp FROM region WHERE code = '360402') p""", x=gcj[0], y=gcj[1])
    assert 200 < distance < 1000


def write_official(session: Session, path: Path, county: str) -> list[str]:
    """Official-looking polygons for one county's townships: the derived ones, as GCJ-02."""
    from geo.core import crs
    from geo.store.regions import regions_frame

    frame = regions_frame(session, "township")
    frame = frame[frame["county_code"] == county][["code", "name", "geometry"]]
    frame = crs.convert_gdf(frame, source="wgs84", target="gcj02")
    path.write_text(frame.to_json(), encoding="utf-8")
    return list(frame["code"])


def test_official_boundaries_clear_the_flag_through_the_cli(
        scratch_settings, tmp_path: Path) -> None:  # noqa: ANN001
    from geo.services.transaction import session_scope

    assert runner.invoke(app, ["load", "reference"]).exit_code == 0
    with session_scope(scratch_settings) as session:
        codes = write_official(session, tmp_path / "official.geojson", "360482")
        before = session.execute(text("SELECT code, ST_AsText(geom) FROM region WHERE code = :c"),
                                 {"c": codes[0]}).one()
    result = runner.invoke(app, ["load", "boundaries", str(tmp_path / "official.geojson"),
                                 "--level", "township", "--crs", "gcj02"])
    assert result.exit_code == 0, result.output
    with session_scope(scratch_settings) as session:
        flags = dict(session.execute(text(
            "SELECT code, boundary_is_approximate FROM region WHERE level = 'township' "
            "AND parent_code = '360482'")).all())
        after = session.execute(text("SELECT ST_AsText(geom), source FROM region WHERE code = :c"),
                                {"c": codes[0]}).one()
        total = scalar(session, "SELECT sum(population) FROM region WHERE parent_code = '360482'")
        others = scalar(session, "SELECT bool_and(boundary_is_approximate) FROM region "
                                 "WHERE level = 'township' AND parent_code <> '360482'")
    assert set(flags) == set(codes) and not any(flags.values())
    assert others is True
    assert "official" in after[1]
    # GCJ-02 in, WGS-84 stored: the round trip lands within a centimetre of the original.
    import shapely

    assert shapely.hausdorff_distance(shapely.from_wkt(before[1]), shapely.from_wkt(after[0])) < 1e-7
    assert total == 194689


def test_official_boundaries_with_an_unknown_code_change_nothing(
        scratch_settings, tmp_path: Path) -> None:  # noqa: ANN001
    from geo.services.transaction import session_scope

    assert runner.invoke(app, ["load", "reference"]).exit_code == 0
    with session_scope(scratch_settings) as session:
        write_official(session, tmp_path / "official.geojson", "360482")
    data = json.loads((tmp_path / "official.geojson").read_text(encoding="utf-8"))
    data["features"][1]["properties"]["code"] = "360482999"
    (tmp_path / "official.geojson").write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["load", "boundaries", str(tmp_path / "official.geojson"), "--crs", "gcj02"])
    assert result.exit_code == 2
    assert "row 2" in result.output and "360482999" in result.output and "'code'" in result.output
    with session_scope(scratch_settings) as session:
        assert scalar(session, "SELECT count(*) FROM region WHERE NOT boundary_is_approximate "
                               "AND level = 'township'") == 0
