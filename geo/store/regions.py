"""Region rows (counties and townships): replaced from the reference layers, official polygons,
modelled population, and the reads of names, units and polygons.

The store only writes what it is given: building the layers, deciding which flag a row carries
and remodelling population is done in ``geo.reference`` and ``geo.services.loading``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd
import shapely
from geoalchemy2.shape import from_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, false, func, insert, literal, select, text, update
from sqlalchemy.orm import Session

from geo.notices import marked_name
from geo.reference.boundaries import POSITION_UNKNOWN_RULES
from geo.store.db import read_geoframe
from geo.store.models import Region
from geo.store.scope import IN_SCOPE_R, city_of, in_scope, scope_param
from geo.store.sql import fragment

if TYPE_CHECKING:
    import geopandas as gpd

REGION = cast(Table, Region.__table__)
CITY_NAME = "全市"
_UNKNOWN_RULES = ", ".join(f"'{rule}'" for rule in POSITION_UNKNOWN_RULES)  # constants of geo.reference


def position_unknown(table: Table = REGION) -> ColumnElement[bool]:
    """The one rule of ``position_unknown``: the township was placed without a seat of its own
    (its ``seat_rule`` is one of ``POSITION_UNKNOWN_RULES``) and its boundary is still the derived
    one; false for counties, seated units and units whose official boundary was loaded."""
    return func.coalesce(and_(table.c.boundary_is_approximate, table.c.seat_rule.in_(POSITION_UNKNOWN_RULES)),
                         false())


def position_unknown_sql(alias: str) -> str:
    """:func:`position_unknown` as SQL text over the region table named ``alias``."""
    return (f"coalesce({fragment(alias)}.boundary_is_approximate AND {fragment(alias)}.seat_rule "
            f"IN ({_UNKNOWN_RULES}), false)")


_UNKNOWN_T = position_unknown_sql("t")


def region_rows(frame: gpd.GeoDataFrame, **fixed: object) -> list[dict[str, object]]:
    """Rows for ``region`` from a layer (code, name, kind, population, urban_population, seat_rule,
    geometry, optional seat), with the ``fixed`` values (level, flags, source …) on every row."""
    rows = []
    seats = frame["seat"] if "seat" in frame else pd.Series([None] * len(frame), index=frame.index)
    for record, geometry, seat in zip(frame.to_dict("records"), frame.geometry, seats, strict=True):
        row = {key: record.get(key) for key in
               ("code", "name", "kind", "population", "urban_population", "seat_rule")}
        row["population"] = int(row["population"]) if row["population"] is not None else None
        row["urban_population"] = int(row["urban_population"]) if row["urban_population"] is not None else None
        row["geom"] = from_shape(geometry, srid=4326)
        row["seat"] = from_shape(seat, srid=4326) if seat is not None else None
        rows.append(row | fixed)
    return rows


def replace_regions(session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Delete the session's city's counties and townships and insert ``rows`` (see :func:`region_rows`).

    A code another city already holds is refused by the primary key: unit codes are national
    (adcodes), so two cities claiming one means a wrong folder, not a case to merge.
    """
    region = city_of(session)
    session.execute(delete(Region).where(Region.region_code == region))
    if rows:
        session.execute(insert(Region), [row | {"region_code": region} for row in rows])


def remove_reference(session: Session) -> None:
    """Delete the session's city's counties, townships, demand grid and targets (its stations and
    plans are the registry's, and stay)."""
    region = city_of(session)
    for table in ("demand_cell", "demand_grid", "target", "region"):
        session.execute(text(f"DELETE FROM {fragment(table)} WHERE region_code = :region"), {"region": region})


def reassign_stations(session: Session) -> int:
    """Re-run point-in-polygon for the session's stations whose county or township changed; return how many.

    The update fires the station trigger, which assigns the codes (within the station's own
    region) and records history.
    """
    result = session.execute(text("""
        UPDATE station s SET geom = s.geom
        WHERE s.region_code = ANY(CAST(:regions AS text[])) AND (
              s.county_code IS DISTINCT FROM (
                SELECT code FROM region r WHERE r.region_code = s.region_code AND r.level = 'county'
                AND ST_Covers(r.geom, s.geom) ORDER BY code LIMIT 1)
           OR s.township_code IS DISTINCT FROM (
                SELECT code FROM region r WHERE r.region_code = s.region_code AND r.level = 'township'
                AND ST_Covers(r.geom, s.geom) ORDER BY code LIMIT 1))
    """), scope_param(session))
    return int(result.rowcount)  # type: ignore[attr-defined]


def codes_of_other_regions(session: Session, codes: Sequence[str] | None, region: str) -> list[str]:
    """Which of ``codes`` (None: any) units of a region other than ``region`` hold, by code."""
    where = [REGION.c.region_code != region]
    if codes is not None:
        where.append(REGION.c.code.in_(list(codes)))
    return list(session.scalars(select(REGION.c.code).where(*where).order_by(REGION.c.code).limit(20)))


def region_parents(session: Session, level: str) -> dict[str, str | None]:
    """Code → parent code of every region of ``level``."""
    return {code: parent for code, parent in
            session.execute(select(Region.code, Region.parent_code).where(
                Region.level == level, in_scope(REGION, session))).all()}


def set_official_boundaries(session: Session, polygons: Iterable[tuple[str, BaseGeometry]], *, source: str) -> None:
    """Replace the polygons of regions by code and clear their approximate flag."""
    for code, geometry in polygons:
        session.execute(update(REGION).where(REGION.c.code == code, in_scope(REGION, session)).values(
            geom=from_shape(geometry, srid=4326), boundary_is_approximate=False, source=source))


def set_population(session: Session, population: pd.DataFrame) -> None:
    """Set ``population`` and ``urban_population`` of regions by ``code`` (columns of that name)."""
    session.execute(
        update(REGION).where(REGION.c.code == bindparam("b_code"), in_scope(REGION, session)).values(
            population=bindparam("b_population"), urban_population=bindparam("b_urban")),
        [{"b_code": c, "b_population": int(p), "b_urban": int(u)} for c, p, u in
         population[["code", "population", "urban_population"]].itertuples(index=False)],
    )


def population_frame(session: Session) -> gpd.GeoDataFrame:
    """Every region's code, county (``county_code``: the parent), kind, level, population and polygon."""
    return read_geoframe(session, select(
        REGION.c.code, REGION.c.parent_code.label("county_code"), REGION.c.kind, REGION.c.level,
        REGION.c.population, REGION.c.urban_population, REGION.c.geom).where(in_scope(REGION, session)))


def regions_frame(session: Session, level: str) -> gpd.GeoDataFrame:
    """Regions of one level as a WGS-84 GeoDataFrame (geometry column ``geometry``, ``seat``)."""
    frame = read_geoframe(session, select(
        REGION.c.code, REGION.c.name, REGION.c.level, REGION.c.parent_code.label("county_code"),
               REGION.c.kind, REGION.c.population, REGION.c.urban_population, REGION.c.population_is_modelled,
               REGION.c.boundary_is_approximate, position_unknown().label("position_unknown"), REGION.c.source,
               REGION.c.seat_rule, func.ST_AsBinary(REGION.c.seat).label("seat_wkb"), REGION.c.geom)
        .where(REGION.c.level == level, in_scope(REGION, session)).order_by(REGION.c.code)).rename_geometry("geometry")
    frame["seat"] = shapely.from_wkb(frame.pop("seat_wkb").to_numpy())
    return frame


def region_names(session: Session) -> dict[str, str]:
    """Code -> name of every county and township (for tables that show names, not codes); a
    township whose position is unknown is marked (``geo.notices.marked_name``)."""
    return {code: marked_name(name, unknown) for code, name, unknown in
            session.execute(select(REGION.c.code, REGION.c.name, position_unknown())
                            .where(in_scope(REGION, session))).all()}


def unknown_codes(session: Session) -> set[str]:
    """Codes of the townships whose position is unknown."""
    return set(session.scalars(select(REGION.c.code).where(position_unknown(), in_scope(REGION, session))))


def position_counts(session: Session) -> tuple[int, int]:
    """(townships whose position is unknown, all townships)."""
    row = session.execute(select(func.count().filter(position_unknown()), func.count())
                          .where(REGION.c.level == "township", in_scope(REGION, session))).one()
    return int(row[0]), int(row[1])


def scope_units(session: Session) -> pd.DataFrame:
    """Every unit a target can apply to: the city, each county, each township.

    Columns scope (``city``/``county``/``township``), region_code (``city`` for the city), region_name.
    """
    city = select(literal("city").label("scope"), literal("city").label("region_code"),
                  literal(CITY_NAME).label("region_name"))
    regions = select(REGION.c.level.label("scope"), REGION.c.code.label("region_code"),
                     REGION.c.name.label("region_name")).where(in_scope(REGION, session))
    frame = pd.read_sql(city.union_all(regions), session.connection())
    names = region_names(session)
    frame["region_name"] = [names.get(code, name) for code, name in
                            zip(frame["region_code"], frame["region_name"], strict=True)]
    return frame


def approximate_count(session: Session) -> int:
    """Regions whose boundary is derived, not official."""
    return session.scalar(select(func.count()).select_from(REGION).where(
        REGION.c.boundary_is_approximate, in_scope(REGION, session))) or 0


def points_outside(session: Session, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Indices of the points that no county polygon of the session's region covers (one query for all points)."""
    if len(lon) == 0:
        return np.zeros(0, dtype=int)
    rows = session.execute(text("""
        SELECT p.i - 1 FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[])) WITH ORDINALITY AS p(lon, lat, i)
        WHERE NOT EXISTS (SELECT 1 FROM region r WHERE r.level = 'county' AND r.region_code = ANY(CAST(:regions AS text[]))
                          AND ST_Covers(r.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)))
        ORDER BY p.i"""), {"lon": [float(x) for x in lon], "lat": [float(y) for y in lat]} | scope_param(session)).scalars()
    return np.fromiter(rows, dtype=int)


def regions_at(session: Session, lon: float, lat: float) -> dict[str, object] | None:
    """The county and township of the session's region covering a WGS-84 point, chosen as the
    station trigger chooses (``ST_Covers``, lowest code first), so the answer is where a station
    saved there lands.

    None when no county covers the point; the township keys are None when only a county does.
    Keys: county_code, county_name, township_code, township_name, township_is_approximate,
    township_position_unknown.
    """
    row = session.execute(text(f"""
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom)
        SELECT c.code AS county_code, c.name AS county_name, t.code AS township_code,
               t.name AS township_name, t.boundary_is_approximate AS township_is_approximate,
               {_UNKNOWN_T} AS township_position_unknown
        FROM p
        JOIN LATERAL (SELECT code, name FROM region r WHERE r.level = 'county' AND {IN_SCOPE_R}
                      AND ST_Covers(r.geom, p.geom) ORDER BY code LIMIT 1) c ON true
        LEFT JOIN LATERAL (SELECT code, name, boundary_is_approximate, seat_rule FROM region r
                           WHERE r.level = 'township' AND {IN_SCOPE_R} AND ST_Covers(r.geom, p.geom)
                           ORDER BY code LIMIT 1) t ON true"""),
        {"lon": float(lon), "lat": float(lat)} | scope_param(session)).mappings().one_or_none()
    return None if row is None else dict(row)
