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

from api.ogc.params import CRS84, EPSG4326, Bbox, Filter, ItemQuery
from geo.core import hours
from geo.errors import NotFound
from geo.services.coverage_query import ModelCache, coverage_report
from geo.store.grid_db import grid_info
from geo.store.models import STATION_STATUSES

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
    count: int | None  # None: not counted (``find_collection(..., counted=False)``)
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
    return [_station_collection(row, row.n, _bbox_or_none(row)) for row in rows]


def _station_type(session: Session, code: str) -> Collection | None:
    """A station collection without its count and extent: one primary-key read (and an EXISTS for
    the demo notice) instead of an aggregate over every station of the type."""
    row = session.execute(text("""
        SELECT t.code, t.name_zh, t.name_en, t.description,
               EXISTS (SELECT FROM station s WHERE s.type_code = t.code AND s.deleted_at IS NULL AND s.is_demo)
               AS any_demo
        FROM service_type t WHERE t.code = :code"""), {"code": code}).one_or_none()
    return None if row is None else _station_collection(row, None, None)


def _station_collection(row: Row[Any], count: int | None, bbox: Bbox | None) -> Collection:
    zh, en = ("", "") if count is None else (f"（{count} 处）", f": {count} points")
    return Collection(
        id=row.code, title=f"{row.name_zh} {row.name_en}",
        description=f"{row.name_zh}站点{zh}。{row.description} / {row.name_en}{en}.",
        kind="stations", key=row.code, bbox=bbox, count=count,
        notices=(DEMO_NOTICE,) if row.any_demo else (), filters=STATION_FILTERS)


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


def find_collection(session: Session, collection_id: str, *, counted: bool = True) -> Collection:
    """The collection of that id; NotFound naming it otherwise.

    ``counted=False`` leaves a station collection's ``count`` and ``bbox`` out (None): they take a
    scan of every station of the type, which a page of items (it counts its own matches) or a single
    feature does not need. Region collections are small and always counted.
    """
    found: Collection | None
    if "\x00" in collection_id:
        found = None
    elif counted or collection_id in (*_REGION_COLLECTIONS, "coverage"):
        found = next(iter(collections(session, only=collection_id)), None)
    else:
        found = _station_type(session, collection_id)
    if found is None:
        raise NotFound(f"no collection {collection_id!r}")
    return found


# A page's keys are chosen first, in the key's order, over only the key column (and the filters'),
# with the count of all matches from the same scan; JSON is then built for the page's rows alone.
# Building it in the same SELECT as ORDER BY … OFFSET built it for every skipped row too.
_MATCHES = {  # kind: (key, the rows a collection's features come from)
    "stations": ("s.id", "station s WHERE s.deleted_at IS NULL AND s.type_code = :key"),
    "regions": ("r.code", "region r WHERE r.level = :key"),
    "coverage": ("r.code", "region r WHERE r.level = :key"),
}
_PAGE_SQL = ("SELECT {key} AS key, count(*) OVER () AS matched FROM {rows} {where} ORDER BY {key} "
             "LIMIT :limit OFFSET :offset")
_COUNT_SQL = "SELECT count(*) FROM {rows} {where}"
_STATION_SQL = """
    SELECT page.matched, s.id::text AS id, ST_AsGeoJSON({geometry}, {decimals}) AS geometry,
           s.opening_hours::text AS hours,
           json_build_object(
               'station_id', s.id, 'type_code', s.type_code, 'type_name', t.name_zh, 'name', s.name,
               'address', s.address,
               'status', s.status, 'opening_hours', s.opening_hours,
               'amenities', array_to_string(s.amenities, ','), 'amenity_list', s.amenities,
               'phone', s.phone, 'managing_union', s.managing_union, 'county_code', s.county_code,
               'township_code', s.township_code, 'is_demo', s.is_demo,
               'region_is_approximate', coalesce(r.boundary_is_approximate, false), 'source', s.source,
               'version', s.version, 'created_at', s.created_at, 'updated_at', s.updated_at)::text AS properties
    FROM ({page}) AS page JOIN station s ON s.id = page.key JOIN service_type t ON t.code = s.type_code
         LEFT JOIN region r ON r.code = s.township_code
    ORDER BY page.key"""
_REGION_SQL = """
    SELECT page.matched, to_json(r.code)::text AS id, ST_AsGeoJSON({geometry}, {decimals}) AS geometry,
           json_build_object(
               'code', r.code, 'name', r.name, 'level', r.level, 'parent_code', r.parent_code, 'kind', r.kind,
               'population', r.population, 'urban_population', r.urban_population,
               'population_is_modelled', r.population_is_modelled,
               'boundary_is_approximate', r.boundary_is_approximate, 'source', r.source)::text AS properties
    FROM ({page}) AS page JOIN region r ON r.code = page.key
    ORDER BY page.key"""
_COVERAGE_SQL = """
    SELECT page.matched, to_json(r.code)::text AS id, ST_AsGeoJSON({geometry}, {decimals}) AS geometry, r.code,
           json_build_object('code', r.code, 'name', r.name, 'parent_code', r.parent_code,
                             'boundary_is_approximate', r.boundary_is_approximate)::text AS properties
    FROM ({page}) AS page JOIN region r ON r.code = page.key
    ORDER BY page.key"""


def _statement(collection: Collection, query: ItemQuery, where: list[str]) -> str:
    """SQL of one page (``:limit`` rows from ``:offset``) of features and the count of all matches."""
    template = {"stations": _STATION_SQL, "regions": _REGION_SQL, "coverage": _COVERAGE_SQL}[collection.kind]
    key, rows = _MATCHES[collection.kind]
    column = "s.geom" if collection.kind == "stations" else "r.geom"
    geometry = f"ST_FlipCoordinates({column})" if query.crs == EPSG4326 else column
    decimals = POINT_DECIMALS if collection.kind == "stations" else POLYGON_DECIMALS
    page = _PAGE_SQL.format(key=key, rows=rows, where=" ".join(where))
    return template.format(geometry=geometry, decimals=decimals, page=page)


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
def _hours_member(hours_json: str) -> str:
    """``,"opening_hours_text":"…"`` for one opening-hours JSON, to append to a station's properties.

    Cached: a registry repeats few distinct schedules, so a page parses each once and serialises
    nothing per feature.
    """
    try:
        described = hours.read_stored(hours_json)[1]
    except ValueError:  # malformed hours (pydantic's ValidationError is a ValueError): say unknown
        described = "时间未知"
    return "," + json.dumps({"opening_hours_text": described}, ensure_ascii=False)[1:-1]


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
    read before the table is computed: a table is never older than its key (a change in between,
    as in an autocommit session, only makes the next request compute it again).
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
    if collection.kind == "stations":  # properties are a non-empty JSON object: its text ends with "}"
        return [_feature(row.id, row.geometry, row.properties[:-1] + _hours_member(row.hours) + "}")
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

    ``numberMatched`` comes with the page from one statement; it is counted apart only when the
    page is empty past the first one (no row to carry it).
    """
    where, params = _conditions(collection, query)
    rows = session.execute(text(_statement(collection, query, where)),
                           params | {"limit": query.limit, "offset": query.offset}).all()
    if rows:
        matched = rows[0].matched
    elif query.offset == 0:
        matched = 0
    else:
        _, matches = _MATCHES[collection.kind]
        matched = session.scalar(text(_COUNT_SQL.format(rows=matches, where=" ".join(where))), params) or 0
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
    rows = session.execute(text(statement), {"key": collection.key, "fid": value, "limit": 1, "offset": 0}).all()
    if not rows:
        raise missing
    return _rows_to_features(session, collection, rows, cache)[0]


def feature_collection_text(features: list[str], members: dict[str, object]) -> str:
    """A GeoJSON FeatureCollection's text: ``members`` (links, counts …) first, then the features."""
    head = json.dumps({"type": "FeatureCollection", **members}, ensure_ascii=False, separators=(",", ":"))
    return head[:-1] + ',"features":[' + ",".join(features) + "]}"
