"""Rules that live in the database: region assignment, history, versions, spatial indexes."""

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.store.db import set_actor

pytestmark = pytest.mark.db

# A point in the middle of the old town of Jiujiang (浔阳区), WGS-84.
XUNYANG = (115.99, 29.71)


def insert_station(session: Session, lon: float, lat: float, name: str = "测试驿站") -> int:
    return session.execute(text(
        "INSERT INTO station (type_code, name, geom) "
        "VALUES ('love_station', :name, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) RETURNING id"
    ), {"name": name, "lon": lon, "lat": lat}).scalar_one()


def test_station_gets_county_and_township_by_point_in_polygon(session: Session) -> None:
    station_id = insert_station(session, *XUNYANG)
    county, township = session.execute(
        text("SELECT county_code, township_code FROM station WHERE id = :id"), {"id": station_id}).one()
    assert county == "360403"
    expected = session.execute(text(
        "SELECT code FROM region WHERE level = 'township' "
        "AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"), {"lon": XUNYANG[0], "lat": XUNYANG[1]}
    ).scalar_one()
    assert township == expected and township.startswith("360403")


def test_moving_a_station_reassigns_it_and_bumps_version(session: Session) -> None:
    station_id = insert_station(session, *XUNYANG)
    # 修水县 seat area, far to the west.
    session.execute(text("UPDATE station SET geom = ST_SetSRID(ST_MakePoint(114.55, 29.03), 4326) "
                         "WHERE id = :id"), {"id": station_id})
    county, version = session.execute(
        text("SELECT county_code, version FROM station WHERE id = :id"), {"id": station_id}).one()
    assert county == "360424"
    assert version == 2


def test_station_outside_the_region_has_no_codes(session: Session) -> None:
    station_id = insert_station(session, 121.47, 31.23)  # Shanghai
    row = session.execute(text("SELECT county_code, township_code FROM station WHERE id = :id"),
                          {"id": station_id}).one()
    assert tuple(row) == (None, None)


def test_every_change_is_kept_in_history_with_its_actor(session: Session) -> None:
    set_actor(session, "planner-li")
    station_id = insert_station(session, *XUNYANG, name="旧名")
    session.execute(text("UPDATE station SET name = '新名' WHERE id = :id"), {"id": station_id})
    session.execute(text("DELETE FROM station WHERE id = :id"), {"id": station_id})
    history = session.execute(text(
        "SELECT action, old_row->>'name', new_row->>'name', changed_by FROM station_history "
        "WHERE station_id = :id ORDER BY id"), {"id": station_id}).all()
    assert [tuple(row) for row in history] == [
        ("insert", None, "旧名", "planner-li"),
        ("update", "旧名", "新名", "planner-li"),
        ("delete", "新名", None, "planner-li"),
    ]


def test_history_is_written_in_the_same_transaction(session: Session) -> None:
    before = session.execute(text("SELECT count(*) FROM station_history")).scalar_one()
    savepoint = session.begin_nested()
    insert_station(session, *XUNYANG)
    savepoint.rollback()
    after = session.execute(text("SELECT count(*) FROM station_history")).scalar_one()
    assert after == before


def test_every_geometry_column_has_a_gist_index(session: Session) -> None:
    columns = session.execute(text(
        "SELECT f_table_name, f_geometry_column FROM geometry_columns WHERE f_table_schema = 'public'"
    )).all()
    assert {(t, c) for t, c in columns} == {
        ("region", "geom"), ("region", "seat"), ("station", "geom"), ("demand_cell", "geom")}
    for table, column in columns:
        indexed = session.execute(text(
            "SELECT count(*) FROM pg_indexes WHERE tablename = :t AND indexdef ILIKE '%USING gist%' "
            "AND indexdef LIKE '%' || :c || '%'"), {"t": table, "c": column}).scalar_one()
        assert indexed >= 1, f"{table}.{column} has no GiST index"


def test_bad_status_is_refused(session: Session) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="station_status"), session.begin_nested():
        session.execute(text("INSERT INTO station (type_code, name, geom, status) VALUES "
                             "('love_station', 'x', ST_SetSRID(ST_MakePoint(116, 29.7), 4326), 'gone')"))
