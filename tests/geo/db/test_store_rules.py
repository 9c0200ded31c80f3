"""The store's shared rules: which stations count (one rule, every reader), and the one unit of work."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geo.services.transaction import unit_of_work
from geo.store import catalogue, nearest, stations
from geo.store.counting import LIVE_S, OPEN_S, counted, live
from geo.store.models import Plan, StationHistory
from geo.store.regions import points_outside
from geo.store.sql import fragment

pytestmark = pytest.mark.db

# A point in 浔阳区 (Jiujiang's old town), far from no county.
LON, LAT = 115.99, 29.71
TYPE = "worker_library"


def _station(name: str, status: str = "open", *, lon: float = LON, lat: float = LAT) -> dict[str, object]:
    return {"type_code": TYPE, "name": name, "address": "", "status": status, "opening_hours": {},
            "amenities": [], "phone": None, "managing_union": None, "is_demo": False, "source": "test",
            "lon": lon, "lat": lat}


def _plan(session: Session) -> int:
    plan = Plan(type_code=TYPE, method="greedy", added=1, objective=0, upper_bound=0, covered_before=0,
                covered_after=0, population=0, created_by="test")
    session.add(plan)
    session.flush()
    return plan.id


def _township_of(session: Session, station_id: int) -> str:
    return str(catalogue.station_rows(session, catalogue.StationFilter(ids=(station_id,)))[0]["township_code"])


def test_one_rule_decides_which_stations_count_for_every_reader(session: Session) -> None:
    before_points = len(stations.counted_points(session))
    before_planned = len(stations.counted_points(session, include_planned=True))
    before_home = catalogue.home_counts(session).open_by_type.get(TYPE, 0)
    plan_a, plan_b = _plan(session), _plan(session)

    open_id, closed_id, gone_id = stations.insert_stations(
        session, [_station("开放（测试）"), _station("已关闭（测试）", "closed"), _station("已删除（测试）")])
    planned = stations.insert_stations(session, [_station("规划（测试）", "planned")])
    session.execute(stations.STATION.update().where(stations.STATION.c.id == planned[0]).values(plan_id=plan_a))
    other = stations.insert_stations(session, [_station("别的方案（测试）", "planned")])
    session.execute(stations.STATION.update().where(stations.STATION.c.id == other[0]).values(plan_id=plan_b))
    assert stations.soft_delete(session, gone_id, expected_version=1) == 2

    # Coverage: only the open, live one counts; planned ones only in a scenario, one plan's when asked.
    assert len(stations.counted_points(session)) == before_points + 1
    assert len(stations.counted_points(session, include_planned=True)) == before_planned + 3
    assert len(stations.counted_points(session, include_planned=True, plan_id=plan_a)) == before_points + 2
    # The start page counts the same.
    assert catalogue.home_counts(session).open_by_type[TYPE] == before_home + 1
    # The gaps count per unit the same: the township of the point gained exactly one.
    township = _township_of(session, open_id)
    per_unit = stations.counted_per_unit(session).set_index(["type_code", "scope", "region_code"])["built"]
    scenario = stations.counted_per_unit(session, include_planned=True).set_index(
        ["type_code", "scope", "region_code"])["built"]
    assert scenario[(TYPE, "township", township)] == per_unit[(TYPE, "township", township)] + 2
    # The finder: the open station is found at its own point; closed and deleted ones never are.
    found = [row["id"] for row in nearest.nearest(session, lon=LON, lat=LAT, type_code=TYPE, limit=20)]
    assert open_id in found and closed_id not in found and gone_id not in found
    assert not set(planned + other) & set(found)
    # Lists show live stations whatever their status; the deleted one is gone.
    listed = {row["id"] for row in catalogue.station_rows(session, catalogue.StationFilter(type_code=TYPE))}
    assert {open_id, closed_id, *planned, *other} <= listed and gone_id not in listed


def test_the_rule_as_sql_text_and_as_an_expression_agree(session: Session) -> None:
    stations.insert_stations(session, [_station("a"), _station("b", "closed"), _station("c", "planned")])
    table = stations.STATION
    by_expression = set(session.scalars(select(table.c.id).where(counted())))
    by_text = set(session.scalars(text(f"SELECT s.id FROM station s WHERE {OPEN_S}")))
    assert by_expression and by_expression == by_text
    assert set(session.scalars(text(f"SELECT s.id FROM station s WHERE {LIVE_S}"))) \
        == set(session.scalars(select(table.c.id).where(live()))) > by_expression


def test_sql_fragments_come_only_from_the_allow_list() -> None:
    assert fragment("s") == "s"
    for hostile in ("s; DROP TABLE station", "x", "", "S"):
        with pytest.raises(ValueError, match="not an allowed SQL fragment"):
            fragment(hostile)


def test_a_unit_of_work_commits_as_its_actor_and_rolls_back_on_error(session: Session) -> None:
    with pytest.raises(RuntimeError), unit_of_work(session, actor="测试员 tester"):
        failed = stations.insert_stations(session, [_station("回滚（测试）")])[0]
        raise RuntimeError("stop")
    assert stations.live_station(session, failed) is None
    assert not session.scalars(select(StationHistory.id).where(StationHistory.station_id == failed)).all()

    with unit_of_work(session, actor="测试员 tester"):
        kept = stations.insert_stations(session, [_station("保存（测试）")])[0]
    assert stations.live_station(session, kept) is not None
    assert session.scalars(select(StationHistory.changed_by).where(StationHistory.station_id == kept)).all() \
        == ["测试员 tester"]


def test_points_outside_the_region_are_named_by_index(session: Session) -> None:
    import numpy as np

    outside = points_outside(session, np.array([LON, 0.0, 116.0]), np.array([LAT, 0.0, 60.0]))
    assert outside.tolist() == [1, 2]


def test_a_version_past_int4_is_stale_not_an_error(session: Session) -> None:
    station = stations.insert_stations(session, [_station("版本（测试）")])[0]
    assert stations.soft_delete(session, station, expected_version=9_141_081_016) is None
    assert stations.update_station(session, station, _station("x"), LON, LAT, expected_version=2**40) is None
    assert stations.live_version(session, station) == 1
