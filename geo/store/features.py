"""SQL of the feature pages (OGC API - Features): service types and region levels with their
counts and extents, and pages of features that PostGIS serialises.

Features are serialised by PostGIS (``ST_AsGeoJSON`` and ``json_build_object``) and handed on as
JSON text, so a page of 10 000 features never becomes Python dicts. Storage is EPSG:4326 in
lon, lat order, as everywhere in this project; ``srid`` names the CRS PostGIS transforms the
geometry to (``ST_Transform``, PROJ's default operation) and ``swap_axes`` gives (lat, lon) order.

Plain parameters in, plain data out. What a collection is called, which notices it carries,
which CRS URI means which axis order, the limit rule and how a page is framed as a document
are the protocol's (``api.ogc``); the coverage figures come from ``geo.services``.

Statements are SQL text made of module constants only (the rule of live stations from
``geo.store.counting``); values are bound parameters. A page's conditions are written out
here, one constant per filterable column and per kind of box, and put at the statement's
``/* conditions */`` marker: each set of conditions is its own statement, so PostgreSQL plans
the unfiltered page as an index-only scan (index 0004) and keeps the prepared statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from geo.core.bbox import Bbox
from geo.store import cql
from geo.store.counting import live_sql, open_sql
from geo.store.regions import position_unknown_sql
from geo.store.scope import scope_param

Kind = Literal["stations", "regions", "coverage"]

POINT_DECIMALS = 15  # full double precision: the same coordinates as /api/v1/stations
POLYGON_DECIMALS = 9  # 0.1 mm; more digits would only make boundary pages bigger
METRE_DECIMALS = 3  # points and polygons in a projected CRS (metres): 1 mm, finer than any survey of ours

_SCOPE = "region_code = ANY(CAST(:regions AS text[]))"  # geo.store.scope: the session's cities
_LIVE = f"{live_sql('s')} AND s.{_SCOPE}"
_OPEN = f"{open_sql('station')} AND station.{_SCOPE}"
_WHERE = "/* conditions */"

# The columns a page may be filtered on (equality), and the condition each adds.
_EQUALS: dict[str, dict[str, str]] = {
    "s": {"status": " AND s.status = :f_status", "county_code": " AND s.county_code = :f_county_code",
          "township_code": " AND s.township_code = :f_township_code", "is_demo": " AND s.is_demo = :f_is_demo"},
    "r": {"parent_code": " AND r.parent_code = :f_parent_code", "kind": " AND r.kind = :f_kind"},
}
# One box, or two for a box across the antimeridian (west > east).
_BOXES: dict[str, tuple[str, str]] = {
    "s": (" AND ST_Intersects(s.geom, ST_MakeEnvelope(:w0, :south, :e0, :north, 4326))",
          " AND (ST_Intersects(s.geom, ST_MakeEnvelope(:w0, :south, :e0, :north, 4326))"
          " OR ST_Intersects(s.geom, ST_MakeEnvelope(:w1, :south, :e1, :north, 4326)))"),
    "r": (" AND ST_Intersects(r.geom, ST_MakeEnvelope(:w0, :south, :e0, :north, 4326))",
          " AND (ST_Intersects(r.geom, ST_MakeEnvelope(:w0, :south, :e0, :north, 4326))"
          " OR ST_Intersects(r.geom, ST_MakeEnvelope(:w1, :south, :e1, :north, 4326)))"),
}
_BY_ID = {"s": " AND s.id = :fid", "r": " AND r.code = :fid"}
_ALIAS: dict[Kind, str] = {"stations": "s", "regions": "r", "coverage": "r"}
FILTERABLE: dict[Kind, tuple[str, ...]] = {kind: tuple(_EQUALS[alias]) for kind, alias in _ALIAS.items()}


@dataclass(frozen=True)
class TypeSummary:
    """A service type with its live stations: whether any is demo data, how many, and where."""

    code: str
    name_zh: str
    name_en: str
    description: str
    any_demo: bool
    count: int | None = None  # None: not counted (:func:`type_summary`)
    extent: Bbox | None = None  # lon, lat degrees; None when it has no station or is not counted
    updated: tuple[datetime, datetime] | None = None  # the first and last updated_at; None as extent


@dataclass(frozen=True)
class LevelSummary:
    """The regions of one level: how many, where, and whether any boundary is derived or any
    population modelled."""

    level: str
    count: int
    approximate: bool
    modelled: bool
    extent: Bbox | None
    unknown: int = 0  # townships placed without a seat (geo.store.regions.position_unknown)


@dataclass(frozen=True)
class PageQuery:
    """One page of features of a kind: plain values, checked by the caller."""

    kind: Kind
    key: str  # the service type (stations) or the region level (regions, coverage)
    limit: int
    offset: int = 0
    bbox: Bbox | None = None  # lon, lat degrees; west > east crosses the antimeridian
    swap_axes: bool = False  # coordinates as (lat, lon)
    srid: int = 4326  # the CRS of the coordinates (EPSG code), transformed from the stored EPSG:4326
    metres: bool = False  # that CRS is projected (metres): METRE_DECIMALS
    equals: Mapping[str, str | bool] = field(default_factory=dict)  # column (FILTERABLE[kind]) → value
    # stations changed within (start, end), either end open; regions have no time and ignore it
    updated: tuple[datetime | None, datetime | None] | None = None
    # a CQL2 filter as a pygeofilter tree checked against ``cql.COLUMNS[kind]`` (api.ogc.cql), or None
    where: Any = None
    # (property, descending) pairs to sort on before the key (``sortby``); () keeps the key's order
    order: tuple[tuple[str, bool], ...] = ()


class FeatureText(NamedTuple):
    """The JSON texts of one feature as PostGIS wrote them, and what the caller adds to them."""

    id: str
    geometry: str
    properties: str  # a non-empty JSON object
    hours: str | None  # stations: the stored opening hours (JSON)
    code: str | None  # coverage: the region code, to join the coverage figures on


@dataclass(frozen=True)
class FeaturePage:
    """One page of features and how many match in all."""

    features: list[FeatureText]
    matched: int


def _extent(row: Any) -> Bbox | None:
    return None if row.west is None else (float(row.west), float(row.south), float(row.east), float(row.north))


_TYPES_SQL = text(f"""
    SELECT code, name_zh, name_en, description, n, any_demo, first_update, last_update,
           ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north FROM (
        SELECT t.code, t.name_zh, t.name_en, t.description, t.sort_order, count(s.id) AS n,
               coalesce(bool_or(s.is_demo), false) AS any_demo, ST_Extent(s.geom) AS e,
               min(s.updated_at) AS first_update, max(s.updated_at) AS last_update
        FROM service_type t LEFT JOIN station s ON s.type_code = t.code AND {_LIVE}
        WHERE CAST(:only AS text) IS NULL OR t.code = :only
        GROUP BY t.code) AS k
    ORDER BY sort_order, code""")
_TYPE_SQL = text(f"""
    SELECT t.code, t.name_zh, t.name_en, t.description,
           EXISTS (SELECT FROM station s WHERE s.type_code = t.code AND {_LIVE} AND s.is_demo) AS any_demo
    FROM service_type t WHERE t.code = :code""")
_UNKNOWN_REGION = position_unknown_sql("region")
_UNKNOWN_R = position_unknown_sql("r")
_LEVELS_SQL = text(f"""
    SELECT level, n, approximate, modelled, unknown,
           ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north FROM (
        SELECT level, count(*) AS n, bool_or(boundary_is_approximate) AS approximate,
               bool_or(population_is_modelled) AS modelled, count(*) FILTER (WHERE {_UNKNOWN_REGION}) AS unknown,
               ST_Extent(geom) AS e
        FROM region WHERE {_SCOPE} GROUP BY level) AS k""")


def type_summaries(session: Session, *, only: str | None = None) -> list[TypeSummary]:
    """Every service type (or only the one of code ``only``) in display order, counted, with the
    extent of its live stations in space and in time (their updated_at)."""
    return [TypeSummary(row.code, row.name_zh, row.name_en, row.description, row.any_demo, row.n, _extent(row),
                        None if row.first_update is None else (row.first_update, row.last_update))
            for row in session.execute(_TYPES_SQL, {"only": only} | scope_param(session))]


def type_summary(session: Session, code: str) -> TypeSummary | None:
    """One service type, not counted: a primary-key read (and an EXISTS for the demo flag) instead
    of an aggregate over every station of the type."""
    row = session.execute(_TYPE_SQL, {"code": code} | scope_param(session)).one_or_none()
    return None if row is None else TypeSummary(row.code, row.name_zh, row.name_en, row.description, row.any_demo)


def level_summaries(session: Session) -> dict[str, LevelSummary]:
    """Region level → its summary (levels without regions are absent)."""
    return {row.level: LevelSummary(row.level, row.n, bool(row.approximate), bool(row.modelled), _extent(row),
                                    int(row.unknown))
            for row in session.execute(_LEVELS_SQL, scope_param(session))}


# A page's keys are chosen first, in the key's order, over only the key column (and the filters'),
# with the count of all matches from the same scan; JSON is then built for the page's rows alone.
# Building it in the same SELECT as ORDER BY … OFFSET built it for every skipped row too.
# Every property is a scalar (text, number, boolean, time): GIS clients save layers to GeoPackage,
# Shapefile and CSV, which have no field type for a JSON object or an array. So amenities are one
# comma-separated text, and opening hours leave as JSON (``hours``) for the caller to put in words.
_STATION_SQL = f"""
    SELECT page.matched, s.id::text AS id,
           ST_AsGeoJSON(CASE WHEN :swap THEN ST_FlipCoordinates(ST_Transform(s.geom, CAST(:srid AS integer)))
                        ELSE ST_Transform(s.geom, CAST(:srid AS integer)) END, CAST(:decimals AS integer), 0)
           AS geometry,
           json_build_object(
               'station_id', s.id, 'type_code', s.type_code, 'type_name', t.name_zh, 'name', s.name,
               'address', s.address,
               'status', s.status, 'amenities', array_to_string(s.amenities, ','),
               'phone', s.phone, 'managing_union', s.managing_union, 'county_code', s.county_code,
               'township_code', s.township_code, 'is_demo', s.is_demo,
               'region_is_approximate', coalesce(r.boundary_is_approximate, false), 'source', s.source,
               'version', s.version, 'created_at', s.created_at, 'updated_at', s.updated_at)::text AS properties,
           s.opening_hours::text AS hours, NULL AS code
    FROM (SELECT s.id AS key, count(*) OVER () AS matched FROM station s
          WHERE {_LIVE} AND s.type_code = :key {_WHERE}
          ORDER BY s.id LIMIT :limit OFFSET :offset) AS page
         JOIN station s ON s.id = page.key JOIN service_type t ON t.code = s.type_code
         LEFT JOIN region r ON r.code = s.township_code
    ORDER BY page.key"""
_REGION_PAGE = f"""
    FROM (SELECT r.code AS key, count(*) OVER () AS matched FROM region r
          WHERE r.level = :key AND r.{_SCOPE} {_WHERE}
          ORDER BY r.code LIMIT :limit OFFSET :offset) AS page
         JOIN region r ON r.code = page.key
    ORDER BY page.key"""
# RFC 7946 §3.1.6: exterior rings counterclockwise, holes clockwise, as seen with east to the right and
# north up: forced after the projection (in the target's x east, y north), and a flip to a (lat, lon) axis
# order comes after that, so the rings keep their turn on the ground. ST_AsGeoJSON's options 0: no "crs"
# member (PostGIS adds one for any SRID but 4326 by default; the response's Content-Crs says it).
_PROJECTED = "ST_ForcePolygonCCW(ST_Transform(r.geom, CAST(:srid AS integer)))"
_REGION_GEOMETRY = (f"ST_AsGeoJSON(CASE WHEN :swap THEN ST_FlipCoordinates({_PROJECTED}) ELSE {_PROJECTED} END, "
                    "CAST(:decimals AS integer), 0) AS geometry")
_REGIONS_SQL = f"""
    SELECT page.matched, to_json(r.code)::text AS id, {_REGION_GEOMETRY},
           json_build_object(
               'code', r.code, 'name', r.name, 'level', r.level, 'parent_code', r.parent_code, 'kind', r.kind,
               'population', r.population, 'urban_population', r.urban_population,
               'population_is_modelled', r.population_is_modelled,
               'boundary_is_approximate', r.boundary_is_approximate, 'position_is_unknown', {_UNKNOWN_R},
               'source', r.source)::text AS properties,
           NULL AS hours, NULL AS code {_REGION_PAGE}"""
_COVERAGE_SQL = f"""
    SELECT page.matched, to_json(r.code)::text AS id, {_REGION_GEOMETRY},
           json_build_object('code', r.code, 'name', r.name, 'parent_code', r.parent_code,
                             'boundary_is_approximate', r.boundary_is_approximate,
                             'position_is_unknown', {_UNKNOWN_R})::text AS properties,
           NULL AS hours, r.code {_REGION_PAGE}"""
# The properties each kind's statement writes, in its order (``properties=`` picks among them)
PROPERTIES: dict[Kind, tuple[str, ...]] = {
    "stations": ("station_id", "type_code", "type_name", "name", "address", "status", "amenities", "phone",
                 "managing_union", "county_code", "township_code", "is_demo", "region_is_approximate", "source",
                 "version", "created_at", "updated_at"),
    "regions": ("code", "name", "level", "parent_code", "kind", "population", "urban_population",
                "population_is_modelled", "boundary_is_approximate", "position_is_unknown", "source"),
    "coverage": ("code", "name", "parent_code", "boundary_is_approximate", "position_is_unknown"),
}
_PAGES: dict[Kind, str] = {"stations": _STATION_SQL, "regions": _REGIONS_SQL, "coverage": _COVERAGE_SQL}
_COUNTS: dict[str, str] = {
    "s": f"SELECT count(*) FROM station s WHERE {_LIVE} AND s.type_code = :key {_WHERE}",
    "r": f"SELECT count(*) FROM region r WHERE r.level = :key AND r.{_SCOPE} {_WHERE}",
}


@lru_cache(maxsize=512)
def _statement(template: str, conditions: tuple[str, ...], order: str | None = None) -> TextClause:
    """``template`` with ``conditions`` (constants of this module, or a CQL2 filter's SQL from
    ``cql.condition``) at its marker; one object per variant, so SQLAlchemy and psycopg see the same
    statement every time. ``order`` (``cql.order_by``) replaces the key order of a page, inside and out."""
    if order is not None:
        template = template.replace(_KEY_ORDERS[0], f"{order} LIMIT").replace(_KEY_ORDERS[1], f"{order} LIMIT")
        template = template.replace(_PAGE_ORDER, order)
    return text(template.replace(_WHERE, "".join(conditions)))


# What ``sortby`` replaces: the key order of the page's key scan and of the page's rows
_KEY_ORDERS = ("ORDER BY s.id LIMIT", "ORDER BY r.code LIMIT")
_PAGE_ORDER = "ORDER BY page.key"


def _conditions(query: PageQuery) -> tuple[tuple[str, ...], dict[str, object]]:
    """The page's conditions (constants) and their bound values; ValueError for a column that
    cannot be filtered on."""
    alias = _ALIAS[query.kind]
    unknown = set(query.equals) - set(_EQUALS[alias])
    if unknown:
        raise ValueError(f"cannot filter {query.kind} on {', '.join(sorted(unknown))}")
    conditions = [condition for column, condition in _EQUALS[alias].items() if column in query.equals]
    params: dict[str, object] = {"key": query.key} | {f"f_{column}": value for column, value in query.equals.items()}
    if query.updated is not None and alias == "s":
        start, end = query.updated
        if start is not None:
            conditions.append(" AND s.updated_at >= :t_start")
            params["t_start"] = start
        if end is not None:
            conditions.append(" AND s.updated_at <= :t_end")
            params["t_end"] = end
    if query.bbox is not None:
        west, south, east, north = query.bbox
        boxes = [(west, east)] if west <= east else [(west, 180.0), (-180.0, east)]
        conditions.append(_BOXES[alias][len(boxes) - 1])
        params |= {"south": south, "north": north}
        for index, (box_west, box_east) in enumerate(boxes):
            params |= {f"w{index}": box_west, f"e{index}": box_east}
    if query.where is not None:
        sql, values = cql.condition(query.kind, query.where)
        conditions.append(sql)
        params |= values
    return tuple(conditions), params


def _output(kind: Kind, *, swap_axes: bool, srid: int, metres: bool) -> dict[str, object]:
    """The bound values that say how geometries are written: axis order, CRS and decimals."""
    decimals = METRE_DECIMALS if metres else POINT_DECIMALS if kind == "stations" else POLYGON_DECIMALS
    return {"swap": swap_axes, "srid": srid, "decimals": decimals}


def _texts(rows: Any) -> list[FeatureText]:
    return [FeatureText(row.id, row.geometry, row.properties, row.hours, row.code) for row in rows]


def feature_page(session: Session, query: PageQuery) -> FeaturePage:
    """One page of features as JSON texts, in a stable order (station id or region code).

    The count of all matches comes with the page from one statement; it is counted apart only
    when the page is empty past the first one (no row to carry it).
    """
    conditions, params = _conditions(query)
    params |= scope_param(session)
    order = cql.order_by(query.kind, query.order) if query.order else None
    rows = session.execute(_statement(_PAGES[query.kind], conditions, order),
                           params | {"limit": query.limit, "offset": query.offset}
                           | _output(query.kind, swap_axes=query.swap_axes, srid=query.srid, metres=query.metres)).all()
    if rows:
        matched = rows[0].matched
    elif query.offset == 0:
        matched = 0
    else:
        matched = session.scalar(_statement(_COUNTS[_ALIAS[query.kind]], conditions), params) or 0
    return FeaturePage(_texts(rows), matched)


def feature(session: Session, kind: Kind, key: str, feature_id: int | str, *,
            swap_axes: bool = False, srid: int = 4326, metres: bool = False) -> FeatureText | None:
    """One feature of a kind and key by station id (int) or region code (str); None if none.
    ``swap_axes``, ``srid`` and ``metres`` as in :class:`PageQuery`."""
    statement = _statement(_PAGES[kind], (_BY_ID[_ALIAS[kind]],))
    rows = session.execute(statement, {"key": key, "fid": feature_id, "limit": 1, "offset": 0} | scope_param(session)
                           | _output(kind, swap_axes=swap_axes, srid=srid, metres=metres)).all()
    return _texts(rows)[0] if rows else None


_COUNTED_STATE_SQL = text(f"""
    SELECT md5(concat(
        (SELECT string_agg(concat_ws(':', type_code, ST_X(geom), ST_Y(geom), county_code, township_code), ','
                           ORDER BY id)
         FROM station WHERE {_OPEN}),
        (SELECT string_agg(concat_ws(':', code, radius_urban_m, radius_rural_m), ',' ORDER BY code)
         FROM service_type)))""")


def counted_state(session: Session) -> str:
    """A digest of exactly what coverage depends on: the counted stations' types, places and
    regions, and every type's radii (a cache key for coverage figures)."""
    return str(session.scalar(_COUNTED_STATE_SQL, scope_param(session)))
