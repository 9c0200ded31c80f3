"""OGC API - Features queries: collections with their extents, and pages of GeoJSON features.

Features are serialised by PostGIS (``ST_AsGeoJSON`` and ``json_build_object``) and handed on as
JSON text, so a page of 10 000 features never becomes Python dicts. Output and ``bbox`` are in
CRS84 (lon, lat) or EPSG:4326 (lat, lon, as that CRS defines its axes: OGC API - Features
Part 2); storage is EPSG:4326 in lon, lat order, as everywhere in this project.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from geo import hours
from geo.coverage_query import ModelCache, coverage_report
from geo.errors import NotFound
from geo.grid_db import grid_info
from geo.models import STATION_STATUSES
from geo.ogc_params import CRS84, EPSG4326, Bbox, Filter, ItemQuery

POINT_DECIMALS = 15  # full double precision: the same coordinates as /api/v1/stations
POLYGON_DECIMALS = 9  # 0.1 mm; more digits would only make boundary pages bigger
DEMO_NOTICE = "演示数据：本图层站点为合成的演示数据，并非真实站点。/ Demo data: these stations are synthetic, not real."
APPROXIMATE_NOTICE = ("乡镇边界为推算的近似边界，并非官方界线。/ Township boundaries are approximate (derived), "
                      "not official.")
MODELLED_NOTICE = "人口为模型估算值，并非普查数据。/ Population is modelled, not census counts."

STATION_FILTERS = (
    Filter("status", "s.status", "enum", STATION_STATUSES, "状态 / status"),
    Filter("county_code", "s.county_code", description="县级代码 / county code"),
    Filter("township_code", "s.township_code", description="乡级代码 / township code"),
    Filter("is_demo", "s.is_demo", "bool", description="演示数据 / demo rows only (true) or real ones (false)"),
)
TOWNSHIP_FILTERS = (
    Filter("parent_code", "r.parent_code", description="所属县级代码 / county code"),
    Filter("kind", "r.kind", description="类别（街道、镇、乡……）/ kind of township"),
)


@dataclass(frozen=True)
class Collection:
    """One feature collection: a service type's stations, a level of regions, or coverage."""

    id: str
    title: str
    description: str
    kind: Literal["stations", "regions", "coverage"]
    key: str  # the service type code or the region level
    bbox: Bbox | None
    count: int
    notices: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()



@dataclass(frozen=True)
class ItemsPage:
    """GeoJSON texts of one page of features and how many match in all."""

    features: list[str]
    number_matched: int

    @property
    def number_returned(self) -> int:
        """Features on this page."""
        return len(self.features)


def _bbox_or_none(row: object) -> Bbox | None:
    west, south, east, north = (getattr(row, name) for name in ("west", "south", "east", "north"))
    return None if west is None else (float(west), float(south), float(east), float(north))


_EXTENT = "ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north"
_REGION_COLLECTIONS = {"counties": ("county", "县级行政区", "Counties", ()),
                       "townships": ("township", "乡级行政区", "Townships", TOWNSHIP_FILTERS)}


def _station_collections(session: Session, only: str | None) -> list[Collection]:
    rows = session.execute(text(f"""
        SELECT code, name_zh, name_en, description, n, any_demo, {_EXTENT} FROM (
            SELECT t.code, t.name_zh, t.name_en, t.description, t.sort_order, count(s.id) AS n,
                   coalesce(bool_or(s.is_demo), false) AS any_demo, ST_Extent(s.geom) AS e
            FROM service_type t LEFT JOIN station s ON s.type_code = t.code AND s.deleted_at IS NULL
            WHERE CAST(:only AS text) IS NULL OR t.code = :only
            GROUP BY t.code) AS k
        ORDER BY sort_order, code"""), {"only": only}).all()
    return [
        Collection(
            id=row.code, title=f"{row.name_zh} {row.name_en}",
            description=f"{row.name_zh}站点（{row.n} 处）。{row.description} / {row.name_en}: {row.n} points.",
            kind="stations", key=row.code, bbox=_bbox_or_none(row), count=row.n,
            notices=(DEMO_NOTICE,) if row.any_demo else (), filters=STATION_FILTERS)
        for row in rows
    ]


def _region_collections(session: Session, only: str | None) -> list[Collection]:
    wanted = [name for name in (*_REGION_COLLECTIONS, "coverage") if only in (None, name)]
    if not wanted:
        return []
    levels = {row.level: row for row in session.execute(text(f"""
        SELECT level, n, approximate, modelled, {_EXTENT} FROM (
            SELECT level, count(*) AS n, bool_or(boundary_is_approximate) AS approximate,
                   bool_or(population_is_modelled) AS modelled, ST_Extent(geom) AS e
            FROM region GROUP BY level) AS k""")).all()}
    result = []
    for collection_id in (name for name in wanted if name in _REGION_COLLECTIONS):
        level, name_zh, name_en, filters = _REGION_COLLECTIONS[collection_id]
        row = levels.get(level)
        approximate = bool(row and row.approximate)
        notices = tuple(notice for notice, flag in ((APPROXIMATE_NOTICE, approximate),
                                                   (MODELLED_NOTICE, bool(row and row.modelled))) if flag)
        title = (f"{name_zh}边界（近似）{name_en} (approximate boundaries)" if approximate
                 else f"{name_zh}边界 {name_en}")
        result.append(Collection(
            id=collection_id, title=title, description=f"{name_zh}边界与人口 / {name_en} with population. "
            + " ".join(notices), kind="regions", key=level, bbox=_bbox_or_none(row) if row else None,
            count=row.n if row else 0, notices=notices, filters=filters))
    townships = levels.get("township")
    info = grid_info(session) if "coverage" in wanted else None
    if info is not None and townships is not None:
        notices = ((MODELLED_NOTICE,) if info.population_is_modelled else ()) + (
            (APPROXIMATE_NOTICE,) if townships.approximate else ())
        result.append(Collection(
            id="coverage", title="乡镇服务覆盖率 Coverage by township",
            description="各乡镇每类服务阵地的覆盖人口与覆盖率（<类型>_covered_share 为 0–1）。/ Per township and "
            "service type: people within reach of a station, total people and the covered share. " + " ".join(notices),
            kind="coverage", key="township", bbox=_bbox_or_none(townships), count=townships.n,
            notices=notices, filters=TOWNSHIP_FILTERS[:1]))
    return result


def collections(session: Session, *, only: str | None = None) -> list[Collection]:
    """Every collection (or only the one of id ``only``), with extent (WGS-84) and notices from the data.

    The coverage collection is listed only once a demand grid exists.
    """
    return _station_collections(session, only) + _region_collections(session, only)


def find_collection(session: Session, collection_id: str) -> Collection:
    """The collection of that id; NotFound naming it otherwise."""
    found = collections(session, only=collection_id) if "\x00" not in collection_id else []
    if not found:
        raise NotFound(f"no collection {collection_id!r}")
    return found[0]


_STATION_SQL = """
    SELECT s.id::text AS id, ST_AsGeoJSON({geometry}, {decimals}) AS geometry, s.opening_hours::text AS hours,
           json_build_object(
               'station_id', s.id, 'type_code', s.type_code, 'type_name', t.name_zh, 'name', s.name,
               'address', s.address,
               'status', s.status, 'opening_hours', s.opening_hours,
               'amenities', array_to_string(s.amenities, ','), 'amenity_list', s.amenities,
               'phone', s.phone, 'managing_union', s.managing_union, 'county_code', s.county_code,
               'township_code', s.township_code, 'is_demo', s.is_demo,
               'region_is_approximate', coalesce(r.boundary_is_approximate, false), 'source', s.source,
               'version', s.version, 'created_at', s.created_at, 'updated_at', s.updated_at)::text AS properties
    FROM station s JOIN service_type t ON t.code = s.type_code LEFT JOIN region r ON r.code = s.township_code
    WHERE s.deleted_at IS NULL AND s.type_code = :key {where}
    ORDER BY s.id"""
_REGION_SQL = """
    SELECT to_json(r.code)::text AS id, ST_AsGeoJSON({geometry}, {decimals}) AS geometry,
           json_build_object(
               'code', r.code, 'name', r.name, 'level', r.level, 'parent_code', r.parent_code, 'kind', r.kind,
               'population', r.population, 'urban_population', r.urban_population,
               'population_is_modelled', r.population_is_modelled,
               'boundary_is_approximate', r.boundary_is_approximate, 'source', r.source)::text AS properties
    FROM region r WHERE r.level = :key {where}
    ORDER BY r.code"""
_COVERAGE_SQL = """
    SELECT to_json(r.code)::text AS id, ST_AsGeoJSON({geometry}, {decimals}) AS geometry, r.code,
           json_build_object('code', r.code, 'name', r.name, 'parent_code', r.parent_code,
                             'boundary_is_approximate', r.boundary_is_approximate)::text AS properties
    FROM region r WHERE r.level = :key {where}
    ORDER BY r.code"""
_COUNT_SQL = {
    "stations": "SELECT count(*) FROM station s WHERE s.deleted_at IS NULL AND s.type_code = :key {where}",
    "regions": "SELECT count(*) FROM region r WHERE r.level = :key {where}",
    "coverage": "SELECT count(*) FROM region r WHERE r.level = :key {where}",
}


def _statement(collection: Collection, query: ItemQuery, where: list[str]) -> str:
    template = {"stations": _STATION_SQL, "regions": _REGION_SQL, "coverage": _COVERAGE_SQL}[collection.kind]
    column = "s.geom" if collection.kind == "stations" else "r.geom"
    geometry = f"ST_FlipCoordinates({column})" if query.crs == EPSG4326 else column
    decimals = POINT_DECIMALS if collection.kind == "stations" else POLYGON_DECIMALS
    return template.format(geometry=geometry, decimals=decimals, where=" ".join(where))


def _conditions(collection: Collection, query: ItemQuery) -> tuple[list[str], dict[str, object]]:
    where: list[str] = []
    params: dict[str, object] = {"key": collection.key}
    for spec in collection.filters:
        if spec.name in query.filters:
            where.append(f"AND {spec.column} = :f_{spec.name}")
            params[f"f_{spec.name}"] = query.filters[spec.name]
    if query.bbox is not None:
        column = "s.geom" if collection.kind == "stations" else "r.geom"
        west, south, east, north = query.bbox
        boxes = [(west, east)] if west <= east else [(west, 180.0), (-180.0, east)]  # antimeridian
        where.append("AND (" + " OR ".join(
            f"ST_Intersects({column}, ST_MakeEnvelope(:w{i}, :south, :e{i}, :north, 4326))"
            for i in range(len(boxes))) + ")")
        params |= {"south": south, "north": north}
        for i, (box_west, box_east) in enumerate(boxes):
            params |= {f"w{i}": box_west, f"e{i}": box_east}
    return where, params


@lru_cache(maxsize=4096)
def _hours_text(hours_json: str) -> str:
    """Chinese text of one opening-hours JSON, cached: a registry repeats few distinct schedules."""
    try:
        return hours.describe_zh(hours.from_json(json.loads(hours_json)))
    except ValueError:  # malformed hours (pydantic's ValidationError is a ValueError): say unknown
        return "时间未知"


def _native(value: object) -> object:
    """numpy scalars (from pandas) as the Python numbers json can write."""
    item = getattr(value, "item", None)
    if item is None:
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")
    return item()


def append_members(document: str, extra: dict[str, object]) -> str:
    """Append members to a JSON object's text without parsing it (the text ends with ``}``)."""
    if not extra:
        return document
    members = json.dumps(extra, ensure_ascii=False, separators=(",", ":"), default=_native)[1:]
    return document[:-1] + ("," if document.rstrip()[:-1].strip() != "{" else "") + members


def _feature(identifier: str, geometry: str, properties: str) -> str:
    return f'{{"type":"Feature","id":{identifier},"geometry":{geometry},"properties":{properties}}}'


_COUNTED_STATE_SQL = """
    SELECT md5(concat(
        (SELECT string_agg(concat_ws(':', type_code, ST_X(geom), ST_Y(geom), county_code, township_code), ','
                           ORDER BY id)
         FROM station WHERE deleted_at IS NULL AND status = 'open'),
        (SELECT string_agg(concat_ws(':', code, radius_urban_m, radius_rural_m), ',' ORDER BY code)
         FROM service_type)))"""


class CoverageCache:
    """Per-township coverage properties, recomputed only when the grid or the counted stations change.

    A GDAL client reads the coverage collection ten features a page; without this every page
    would recompute coverage over the whole grid (~0.2 s). The key is the grid's version and a
    hash of exactly what coverage depends on (open stations' types, places and regions, radii),
    taken in the caller's transaction, so a stale table is never served.
    """

    def __init__(self, models: ModelCache) -> None:
        self._models = models
        self._lock = threading.Lock()
        self._key: tuple[str, str] | None = None
        self._properties: dict[str, dict[str, object]] = {}

    def get(self, session: Session) -> dict[str, dict[str, object]]:
        """Township code → population, flags and, per service type, stations, covered people and share."""
        model, info = self._models.get(session)
        key = (info.version, str(session.scalar(text(_COUNTED_STATE_SQL))))
        with self._lock:
            if key != self._key:
                self._properties = _coverage_properties(coverage_report(session, model, info, level="township"),
                                                        modelled=info.population_is_modelled)
                self._key = key
            return self._properties


def _coverage_properties(table: pd.DataFrame, *, modelled: bool) -> dict[str, dict[str, object]]:
    wide = table.pivot(index="region_code", columns="type_code",
                       values=["stations", "covered_population", "covered_share"])
    wide.columns = [f"{type_code}_{metric}" for metric, type_code in wide.columns]
    for name in wide.columns:
        wide[name] = wide[name].astype(int) if name.endswith("_stations") else wide[name].round(
            4 if name.endswith("_share") else 1)
    wide.insert(0, "population", table.groupby("region_code")["population"].first().round(1))
    wide["population_is_modelled"] = modelled
    wide = wide.astype(object).where(wide.notna(), None)  # JSON has no NaN
    return {str(code): record for code, record in zip(wide.index, wide.to_dict("records"), strict=True)}


def _rows_to_features(session: Session, collection: Collection, rows: Sequence[Row[Any]],
                      cache: CoverageCache | None) -> list[str]:
    if collection.kind == "stations":
        return [_feature(row.id, row.geometry,
                         append_members(row.properties, {"opening_hours_text": _hours_text(row.hours)}))
                for row in rows]
    if collection.kind == "coverage":
        if cache is None:
            raise ValueError("the coverage collection needs a CoverageCache")
        extra = cache.get(session) if rows else {}
        return [_feature(row.id, row.geometry, append_members(row.properties, extra.get(row.code, {})))
                for row in rows]
    return [_feature(row.id, row.geometry, row.properties) for row in rows]


def items(session: Session, collection: Collection, query: ItemQuery, *,
          cache: CoverageCache | None = None) -> ItemsPage:
    """One page of a collection's features as GeoJSON texts, in a stable order (id or code).

    ``numberMatched`` is counted in SQL unless the page itself shows the total (a short page).
    """
    where, params = _conditions(collection, query)
    statement = _statement(collection, query, where) + " LIMIT :limit OFFSET :offset"
    rows = session.execute(text(statement), params | {"limit": query.limit, "offset": query.offset}).all()
    if len(rows) < query.limit and (rows or query.offset == 0):
        matched = query.offset + len(rows)
    else:
        matched = session.scalar(text(_COUNT_SQL[collection.kind].format(where=" ".join(where))), params) or 0
    return ItemsPage(_rows_to_features(session, collection, rows, cache), matched)


def item(session: Session, collection: Collection, feature_id: str, *, crs: str = CRS84,
         cache: CoverageCache | None = None) -> str:
    """One feature's GeoJSON text; NotFound naming the id (and collection) otherwise."""
    missing = NotFound(f"no feature {feature_id!r} in collection {collection.id!r}")
    value: int | str = feature_id
    if collection.kind == "stations":
        if not (feature_id.isascii() and feature_id.isdigit()) or len(feature_id) > 18:
            raise missing
        where, value = "AND s.id = :fid", int(feature_id)
    elif "\x00" in feature_id:  # PostgreSQL text cannot hold NUL: no such feature
        raise missing
    else:
        where = "AND r.code = :fid"
    statement = _statement(collection, ItemQuery(crs=crs), [where])
    rows = session.execute(text(statement), {"key": collection.key, "fid": value}).all()
    if not rows:
        raise missing
    return _rows_to_features(session, collection, rows, cache)[0]


def feature_collection_text(features: list[str], members: dict[str, object]) -> str:
    """A GeoJSON FeatureCollection's text: ``members`` (links, counts …) first, then the features."""
    head = json.dumps({"type": "FeatureCollection", **members}, ensure_ascii=False, separators=(",", ":"))
    return head[:-1] + ',"features":[' + ",".join(features) + "]}"
