"""The queryables of a collection (OGC API - Features Part 3): what ``filter`` and ``sortby`` may name,
as the JSON Schema document of ``/collections/{id}/queryables``.

Which properties are queryable and their types come from the store (``geo.store.cql.COLUMNS``:
the columns a page's key scan can test); their titles, Chinese first, are said here.
"""

from __future__ import annotations

from typing import Any

from api.ogc.collections import Collection
from geo.store import cql as store_cql
from geo.store.models import STATION_STATUSES

SCHEMA_MEDIA_TYPE = "application/schema+json"
REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
TITLES = {
    "station_id": "站点编号 / station id", "type_code": "服务类型代码 / service type code", "name": "名称 / name",
    "address": "地址 / address", "status": "状态 / status", "phone": "电话 / phone",
    "managing_union": "管理工会 / managing union", "county_code": "县级代码 / county code",
    "township_code": "乡级代码 / township code", "is_demo": "演示数据 / demo data", "source": "来源 / source",
    "version": "版本 / version", "created_at": "创建时间 / created at", "updated_at": "最后修改时间 / last changed",
    "geometry": "位置或边界 / location or boundary", "code": "行政区代码 / region code",
    "parent_code": "所属县级代码 / county code", "level": "层级 / level", "kind": "类别 / kind",
    "population": "人口 / population", "urban_population": "城镇人口 / urban population",
    "population_is_modelled": "人口为模型估算 / population is modelled",
    "boundary_is_approximate": "边界为近似 / boundary is approximate",
    "position_is_unknown": "乡镇位置未知 / township position unknown (no seat given)",
}
_ENUMS: dict[str, list[str]] = {"status": list(STATION_STATUSES)}


def types(collection: Collection) -> dict[str, str]:
    """Queryable property → value type (string, integer, boolean, date-time, geometry)."""
    return store_cql.queryable_types(collection.kind)


def _schema(name: str, kind: str, collection: Collection) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": TITLES.get(name, name)}
    if kind == "geometry":
        point = collection.kind == "stations"
        return schema | {"format": "geometry-point" if point else "geometry-multipolygon",
                         "x-ogc-role": "primary-geometry"}
    if kind == "date-time":
        return schema | {"type": "string", "format": "date-time"}
    schema["type"] = kind
    if name in _ENUMS:
        schema["enum"] = _ENUMS[name]
    return schema


def document(root: str, collection: Collection) -> dict[str, Any]:
    """The queryables as a JSON Schema (draft 2020-12), as Part 3 (/req/queryables) asks."""
    url = f"{root}/collections/{collection.id}/queryables"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": url, "type": "object",
        "title": collection.title,
        "description": "可在 filter（CQL2）与 sortby 中使用的属性 / properties usable in filter (CQL2) and sortby",
        "properties": {name: _schema(name, kind, collection) for name, kind in types(collection).items()},
        "additionalProperties": False,
    }
