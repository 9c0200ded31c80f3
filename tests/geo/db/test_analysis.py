"""Coverage, gaps and plans on the stored data."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.analysis import planning
from geo.services import gaps as gap_analysis
from geo.services.coverage_query import ModelCache, counted_stations, coverage_report, type_radii
from geo.store import plans

pytestmark = pytest.mark.db


def test_grid_keeps_every_township_population_exactly(session: Session) -> None:
    rows = session.execute(text("""
        SELECT r.code, r.population, coalesce(sum(d.population), 0)
        FROM region r LEFT JOIN demand_cell d ON d.township_code = r.code
        WHERE r.level = 'township' GROUP BY r.code, r.population""")).all()
    assert len(rows) == 204
    assert all(abs(region - cells) < 1e-6 for _, region, cells in rows)
    info = session.execute(text("SELECT resolution, population_is_modelled, cell_count FROM demand_grid")).one()
    assert info.resolution == 9 and info.population_is_modelled is True and info.cell_count > 150_000
    urban_streets = session.execute(text("""
        SELECT bool_and(d.is_urban) FROM demand_cell d JOIN region r ON r.code = d.township_code
        WHERE r.kind = 'street'""")).scalar_one()
    assert urban_streets is True


def test_coverage_agrees_with_a_postgis_geography_join(session: Session) -> None:
    """The KD-tree in UTM metres against ST_DWithin on geography, the way a user writes it."""
    model, info = ModelCache().get(session)
    ours = coverage_report(session, model, info, level="county", type_code="love_station")
    theirs = pd.read_sql(text("""
        SELECT d.county_code AS region_code, sum(d.population) AS covered
        FROM demand_cell d
        WHERE d.county_code IN ('360403', '360429')
          AND EXISTS (SELECT 1 FROM station s WHERE s.type_code = 'love_station' AND s.status = 'open'
                      AND ST_DWithin(s.geom::geography, d.geom::geography,
                                     CASE WHEN d.is_urban THEN 1000 ELSE 3000 END))
        GROUP BY d.county_code"""), session.connection()).set_index("region_code")["covered"]
    merged = ours.set_index("region_code")["covered_population"]
    assert len(theirs) == 2
    for code, covered in theirs.items():
        assert merged[code] == pytest.approx(covered, rel=2e-3), code


def test_closed_and_planned_stations_count_only_as_asked(session: Session) -> None:
    model, info = ModelCache().get(session)

    def covered(**options: object) -> float:
        table = coverage_report(session, model, info, level="city", type_code="cultural_palace", **options)
        return float(table["covered_population"].iloc[0])

    before = covered()
    # A planned palace and a closed one in 湖口县, far from the demo's palaces.
    for status in ("planned", "closed"):
        session.execute(text("INSERT INTO station (type_code, name, status, geom) VALUES "
                             "('cultural_palace', :name, :status, ST_SetSRID(ST_MakePoint(116.25, 29.73), 4326))"),
                        {"name": f"{status} palace", "status": status})
    assert covered() == before
    assert covered(include_planned=True) > before


def test_gap_rows_for_every_scope_kind(session: Session) -> None:
    session.execute(text("DELETE FROM station"))
    session.execute(text("DELETE FROM target"))
    session.execute(text("""INSERT INTO target (code, type_code, scope, kind, threshold, deadline, source_quote)
        VALUES ('c', 'love_station', 'city', 'count', 3, '2019-12-31', '全市3家'),
               ('k', 'love_station', 'county', 'count', 1, NULL, '每县1家'),
               ('t', 'workers_home', 'township', 'count', 1, NULL, '每乡镇1家'),
               ('v', 'love_station', 'city', 'coverage', 0.5, NULL, '覆盖一半')"""))
    # Two open stations in 浔阳区 and one closed in 修水县.
    for lon, lat, status in ((115.99, 29.71, "open"), (116.0, 29.72, "open"), (114.55, 29.03, "closed")):
        session.execute(text("INSERT INTO station (type_code, name, status, geom) VALUES "
                             "('love_station', 'x', :st, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"),
                        {"x": lon, "y": lat, "st": status})
    session.execute(text("INSERT INTO station (type_code, name, geom) VALUES "
                         "('workers_home', 'h', ST_SetSRID(ST_MakePoint(115.99, 29.71), 4326))"))
    rows = gap_analysis.gaps(session, today=date(2020, 6, 1))
    city = rows[rows["target_code"] == "c"].iloc[0]
    assert (city.built, city.required, city.shortfall, city.met, city.overdue) == (2, 3, 1, False, True)
    counties = rows[rows["target_code"] == "k"]
    assert len(counties) == 13
    assert counties.loc[counties["region_code"] == "360403", "met"].item() is True
    assert counties.loc[counties["region_code"] == "360424", "built"].item() == 0  # closed: not built
    assert counties["met"].sum() == 1 and counties["shortfall"].sum() == 12
    townships = rows[rows["target_code"] == "t"]
    assert len(townships) == 204 and townships["met"].sum() == 1
    coverage = rows[rows["target_code"] == "v"].iloc[0]
    assert 0 < coverage.built < 0.5 and not coverage.met
    assert coverage.shortfall == pytest.approx(0.5 - coverage.built)
    summary = gap_analysis.summary(rows).set_index("target_code")
    assert (summary.loc["k", "units"], summary.loc["k", "units_met"]) == (13, 1)
    assert summary.loc["c", "source_quote"] == "全市3家"


def test_greedy_plan_meets_county_minimums_and_exact_is_no_worse(session: Session) -> None:
    model, info = ModelCache().get(session)
    kind = type_radii(session, "love_station")[0]
    stations = counted_stations(session)
    # Resolution-7 candidates in the two counties short of five stations in the demo registry
    # keep the exact model small enough for a test.
    candidates = planning.grid_candidates(model, info.resolution - 2)
    candidates = candidates.subset(np.isin(candidates.county_code, ["360426", "360429"]))
    greedy = planning.plan_sites(model, stations, kind, candidates, add=6, min_per_county=5)
    assert greedy.deficits  # some counties have fewer than 5 in the demo registry
    added = pd.Series(greedy.proposals["county_code"]).value_counts()
    for county, deficit in greedy.deficits.items():
        assert added.get(county, 0) >= deficit
    assert greedy.proposals["added"].is_monotonic_decreasing or len(greedy.deficits) > 0
    assert greedy.covered_after == pytest.approx(greedy.covered_before + greedy.proposals["added"].sum())
    exact = planning.plan_sites(model, stations, kind, candidates, add=6, min_per_county=5,
                                method="exact", time_limit_s=60)
    assert exact.solution.status == "optimal"
    assert exact.solution.objective >= greedy.solution.objective - 1e-6
    assert exact.solution.objective <= greedy.solution.upper_bound + 1e-6


def test_saved_plan_becomes_planned_stations_and_a_scenario(session: Session) -> None:
    model, info = ModelCache().get(session)
    kind = type_radii(session, "love_station")[0]
    result = planning.plan_sites(model, counted_stations(session), kind,
                                 planning.grid_candidates(model, info.resolution - 1), add=3)
    plan_id = plans.save_plan(session, result, actor="test", parameters={"add": 3})
    rows = session.execute(text("SELECT status, township_code FROM station WHERE plan_id = :p"),
                           {"p": plan_id}).all()
    assert len(rows) == 3 and {r.status for r in rows} == {"planned"}
    assert set(result.proposals["township_code"]) == {r.township_code for r in rows}
    base = coverage_report(session, model, info, level="city", type_code="love_station")
    scenario = coverage_report(session, model, info, level="city", type_code="love_station",
                               include_planned=True, plan_id=plan_id)
    gained = scenario["covered_population"].item() - base["covered_population"].item()
    assert gained == pytest.approx(result.solution.objective)


def test_candidates_from_a_csv_name_the_bad_row(session: Session, tmp_path) -> None:  # noqa: ANN001
    from geo.errors import InputError

    model, _ = ModelCache().get(session)
    good = tmp_path / "sites.csv"
    good.write_text("name,lon,lat\n甲,115.99,29.71\n乙,114.55,29.03\n", encoding="utf-8")
    candidates = planning.read_candidates(good, model)
    assert list(candidates.name) == ["甲", "乙"] and list(candidates.county_code) == ["360403", "360424"]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,lon,lat\n甲,115.99,29.71\n上海,121.47,31.23\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 3.*outside the region"):
        planning.read_candidates(bad, model)
    bad.write_text("name,lon,lat\n甲,east,29.71\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2, field 'lon'"):
        planning.read_candidates(bad, model)
    assert np.all(np.isfinite(candidates.lon))


def test_long_radius_types_get_coarser_candidates_not_a_memory_blow_up(session: Session) -> None:
    model, info = ModelCache().get(session)
    palace = type_radii(session, "cultural_palace")[0]  # 20 km rural radius
    rest = type_radii(session, "love_station")[0]
    candidates, resolution = planning.default_candidates(model, palace, info.resolution)
    assert resolution < info.resolution - 1
    assert planning.matrix_entries(model, palace, len(candidates.lon)) <= planning.MAX_MATRIX_ENTRIES
    _, rest_resolution = planning.default_candidates(model, rest, info.resolution)
    assert rest_resolution == info.resolution - 1
    result = planning.plan_sites(model, counted_stations(session), palace, candidates, add=2)
    assert len(result.proposals) == 2 and result.solution.objective > 0
