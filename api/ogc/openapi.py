"""OpenAPI descriptions of the /ogc endpoints: the 3.0 document (``oas30``) and FastAPI's own.

FastAPI's own document is OpenAPI 3.1, which the OGC class and its clients do not expect, so
``document`` builds a 3.0 one by hand. Each collection gets its own items path listing its
property filters: GDAL and QGIS read them there and then send matching filters to the server.
``route_docs`` gives the FastAPI routes the same parameters, media types, errors and body
schemas, so that both documents say one thing, and say what the server does (schemathesis
checks both against the server in tests/api/test_schemathesis.py).
"""

from __future__ import annotations

from typing import Any

from api.ogc.collections import Collection
from api.ogc.cql import FILTER_CRS, LANGUAGES
from api.ogc.documents import GEOJSON, OPENAPI_30
from api.ogc.params import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, SUPPORTED_CRS, Filter
from api.ogc.queryables import SCHEMA_MEDIA_TYPE
from api.responses import RETRY_AFTER

HTML = "text/html"


def _parameter(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


PARAMETERS: dict[str, dict[str, Any]] = {
    "f": _parameter("f", "输出格式 / output format (default: JSON, or HTML when the Accept header prefers it)",
                    {"type": "string", "enum": ["json", "html", "geojson"]}),
    # The maximum stays in the schema although a larger limit is no error: 17-069r4 asks for
    # both (/req/core/fc-limit-definition, /req/core/fc-limit-response-1 C), and GDAL sizes its
    # pages from this maximum.
    "limit": _parameter("limit", "每页要素数，超过上限按上限 / page size (larger values are served as the maximum)",
                        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                        style="form", explode=False),
    "offset": _parameter("offset", "跳过的要素数 / features to skip",
                         {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
    # Four or six numbers, nothing in between: the server refuses five (400).
    "bbox": _parameter("bbox", "范围 minx,miny,maxx,maxy（bbox-crs 的轴序），或带高度的 6 个数 / bounding box "
                       "in bbox-crs axis order (4 numbers, or 6 with heights); the lower latitude first",
                       {"type": "array", "oneOf": [{"minItems": 4, "maxItems": 4}, {"minItems": 6, "maxItems": 6}],
                        "items": {"type": "number"}},
                       style="form", explode=False),
    "bbox-crs": _parameter("bbox-crs", "bbox 的坐标系（轴序同 crs）/ CRS of bbox (axis order as for crs)",
                           {"type": "string", "format": "uri", "enum": list(SUPPORTED_CRS)}),
    "crs": _parameter("crs", "输出坐标系（EPSG:4326、EPSG:4490 为纬度、经度；EPSG:3857 为米）/ output CRS "
                      "(EPSG:4326 and EPSG:4490 are lat, lon; EPSG:3857 is x, y in metres)",
                      {"type": "string", "format": "uri", "enum": list(SUPPORTED_CRS)}),
    "datetime": _parameter("datetime", "站点的最后修改时间（updated_at）在此时刻或区间内，RFC 3339；行政区无时间属性 / "
                           "stations whose updated_at is this instant or in this interval (RFC 3339: a/b, ../b, a/..); "
                           "regions have no temporal property", {"type": "string"}, style="form", explode=False),
    # OGC API - Features Part 3 (filter), sorting and property selection: api/ogc/cql.py
    "filter": _parameter("filter", "CQL2 筛选表达式，属性见 /collections/{collectionId}/queryables / CQL2 filter "
                         "(=, <>, <, <=, >, >=, LIKE, IN, BETWEEN, IS NULL, AND, OR, NOT, S_INTERSECTS) over the "
                         "collection's queryables", {"type": "string"}),
    # GDAL 3.6 sends -where to the server as CQL text only when it finds "cql-text" in this enum
    "filter-lang": _parameter("filter-lang", "filter 的语言（默认 cql2-text；cql-text 同 cql2-text）/ language of "
                              "filter (cql-text is read as cql2-text)",
                              {"type": "string", "enum": list(LANGUAGES), "default": "cql2-text"}),
    "filter-crs": _parameter("filter-crs", "filter 中几何的坐标系（EPSG:4326 为纬度、经度）/ CRS of the filter's "
                             "geometries (EPSG:4326 is lat, lon)",
                             {"type": "string", "format": "uri", "enum": list(FILTER_CRS)}),
    "sortby": _parameter("sortby", "排序：逗号分隔的可查询属性，前缀 - 为降序 / sort keys: queryables, "
                         "comma-separated, '-' for descending (ties by id)",
                         {"type": "array", "items": {"type": "string"}},
                         style="form", explode=False),
    "properties": _parameter("properties", "只返回这些属性（逗号分隔；空值为不返回属性）/ only these properties "
                             "(comma-separated; empty: none)", {"type": "array", "items": {"type": "string"}},
                             style="form", explode=False),
    "collectionId": {"name": "collectionId", "in": "path", "required": True, "schema": {"type": "string"}},
    "featureId": {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}},
}
ITEM_PARAMETERS = ("f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "filter", "filter-lang",
                   "filter-crs", "sortby", "properties")

LINK: dict[str, Any] = {"type": "object", "required": ["href", "rel"], "properties": {
    "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"}, "title": {"type": "string"}}}
LINKS: dict[str, Any] = {"type": "array", "items": LINK}
EXCEPTION: dict[str, Any] = {"type": "object", "required": ["code", "description"], "properties": {
    "code": {"type": "string"}, "description": {"type": "string"}, "parameter": {"type": "string"}}}
COLLECTION: dict[str, Any] = {"type": "object", "required": ["id", "links"], "properties": {
    "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"}, "links": LINKS,
    "extent": {"type": "object"}, "itemType": {"type": "string"}, "crs": {"type": "array", "items": {"type": "string"}},
    "storageCrs": {"type": "string"}}}
FEATURE: dict[str, Any] = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
    "type": {"type": "string", "enum": ["Feature"]},
    "id": {"anyOf": [{"type": "string"}, {"type": "integer"}]},  # station id or region code
    "geometry": {"type": "object", "required": ["type", "coordinates"]},
    "properties": {"type": "object"}, "links": LINKS}}
SCHEMAS: dict[str, dict[str, Any]] = {
    "landingPage": {"type": "object", "required": ["links"], "properties": {
        "title": {"type": "string"}, "description": {"type": "string"}, "links": LINKS}},
    "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
        "conformsTo": {"type": "array", "items": {"type": "string"}}}},
    "collections": {"type": "object", "required": ["links", "collections"], "properties": {
        "links": LINKS, "crs": {"type": "array", "items": {"type": "string"}},
        "collections": {"type": "array", "items": COLLECTION}}},
    "collection": COLLECTION,
    "featureCollectionGeoJSON": {"type": "object", "required": ["type", "features"], "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]}, "features": {"type": "array", "items": FEATURE},
        "links": LINKS, "numberMatched": {"type": "integer", "minimum": 0},
        "numberReturned": {"type": "integer", "minimum": 0}, "timeStamp": {"type": "string", "format": "date-time"}}},
    "featureGeoJSON": FEATURE,
    "queryables": {"type": "object", "required": ["type", "properties"], "properties": {
        "$schema": {"type": "string"}, "$id": {"type": "string"}, "type": {"type": "string"},
        "properties": {"type": "object"}, "additionalProperties": {"type": "boolean"}}},
    "exception": EXCEPTION,
}
CONTENT_CRS = {"Content-Crs": {"description": "坐标系（GeoJSON 时）/ CRS of the coordinates, as <URI> (GeoJSON only)",
                               "schema": {"type": "string"}}}


def _body(schema: str, media_type: str = "application/json") -> dict[str, Any]:
    """The content of a JSON (or GeoJSON) answer and of its HTML alternative (``f=html``)."""
    return {media_type: {"schema": SCHEMAS[schema]}, HTML: {"schema": {"type": "string"}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": EXCEPTION}}}


INVALID = _error("参数错误（指明参数）/ invalid parameter, named in `parameter`")
NOT_FOUND = _error("不存在 / no such collection or feature")
# api.admission and api.unavailable answer in the OGC shape under /ogc.
UNAVAILABLE = _error("服务繁忙或数据库暂时不可用，稍后重试 / server busy or the database unavailable: retry later") | {
    "headers": RETRY_AFTER}

# operationId: (path, summary, query parameters, 200 description, body schema, media type, errors, headers)
OPERATIONS: dict[str, tuple[str, str, tuple[str, ...], str, str, str, tuple[int, ...], bool]] = {
    "getLandingPage": ("/", "首页 / landing page", ("f",), "links", "landingPage", "application/json", (400,), False),
    "getConformance": ("/conformance", "符合性声明 / conformance", ("f",), "classes", "confClasses",
                       "application/json", (400,), False),
    "getCollections": ("/collections", "数据集 / collections", ("f",), "collections", "collections",
                       "application/json", (400,), False),
    "describeCollection": ("/collections/{collectionId}", "数据集 / collection", ("f",), "collection", "collection",
                           "application/json", (400, 404), False),
    "getFeatures": ("/collections/{collectionId}/items", "要素 / features", ITEM_PARAMETERS, "features",
                    "featureCollectionGeoJSON", GEOJSON, (400, 404), True),
    "getQueryables": ("/collections/{collectionId}/queryables", "可查询属性 / queryables", ("f",), "queryables",
                      "queryables", SCHEMA_MEDIA_TYPE, (400, 404), False),
    "getFeature": ("/collections/{collectionId}/items/{featureId}", "单个要素 / feature", ("f", "crs"), "feature",
                   "featureGeoJSON", GEOJSON, (400, 404), True),
}
# api.etags: every JSON answer under /ogc carries a weak ETag, and a matching If-None-Match gets a 304.
NOT_MODIFIED: dict[str, Any] = {"description": "未修改：If-None-Match 与 ETag 相符 / not modified: the client's copy "
                                               "(If-None-Match) is current"}
ERRORS = {304: NOT_MODIFIED, 400: INVALID, 404: NOT_FOUND, 503: UNAVAILABLE}


def _responses(operation_id: str, description: str | None = None) -> dict[int, dict[str, Any]]:
    _, _, _, default_description, schema, media_type, errors, crs_header = OPERATIONS[operation_id]
    ok: dict[str, Any] = {"description": description or default_description, "content": _body(schema, media_type)}
    if crs_header:
        ok["headers"] = CONTENT_CRS
    return {200: ok} | {status: ERRORS[status] for status in (304, *errors, 503)}


# the document, or with f=html the Swagger UI page that reads it; f alone is taken (400 otherwise)
API_RESPONSES: dict[int, dict[str, Any]] = {200: {"description": "OpenAPI 3.0", "content": {
    OPENAPI_30: {"schema": {"type": "object", "required": ["openapi", "paths"]}},
    HTML: {"schema": {"type": "string"}}}},
    304: NOT_MODIFIED, 400: INVALID, 503: UNAVAILABLE}


def route_docs(operation_id: str) -> dict[str, Any]:
    """Keyword arguments of a FastAPI route decorator that document an OGC operation as above.

    Parameters are inlined (FastAPI's document holds none of our components); path parameters
    are left to FastAPI, which documents them from the handler's signature.
    """
    if operation_id == "getApi":
        return {"responses": API_RESPONSES, "openapi_extra": {"parameters": [PARAMETERS["f"]]}}
    _, _, parameters, *_ = OPERATIONS[operation_id]
    return {"responses": _responses(operation_id),
            "openapi_extra": {"parameters": [PARAMETERS[name] for name in parameters]}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _filter_parameter(spec: Filter) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "boolean"} if spec.kind == "bool" else {"type": "string", "maxLength": 200}
    if spec.kind == "enum":
        schema = {"type": "string", "enum": list(spec.values)}
    # style form / explode false is what QGIS looks for before it sends a filter to the server
    return _parameter(spec.name, spec.description or spec.name, schema, style="form", explode=False)


def _get(operation_id: str, parameters: list[dict[str, Any]], *, summary: str | None = None,
         description: str | None = None) -> dict[str, Any]:
    path, default_summary, *_ = OPERATIONS[operation_id]
    path_parameters = [_ref(name) for name in ("collectionId", "featureId") if "{" + name + "}" in path]
    return {"get": {"summary": summary or default_summary, "operationId": operation_id,
                    "tags": ["OGC API - Features"], "parameters": path_parameters + parameters,
                    "responses": {str(status): response for status, response in
                                  _responses(operation_id, description).items()}}}


def document(root: str, collections: list[Collection]) -> dict[str, Any]:
    """The OpenAPI 3.0.3 document of the API whose landing page is ``root``."""
    paths: dict[str, Any] = {
        path: _get(operation_id, [_ref(name) for name in parameters])
        for operation_id, (path, _, parameters, *_) in OPERATIONS.items()
    }
    paths["/api"] = {"get": {"summary": "本文档 / this document", "operationId": "getApi",
                             "tags": ["OGC API - Features"], "parameters": [_ref("f")],
                             "responses": {str(status): response for status, response in API_RESPONSES.items()}}}
    for collection in collections:
        get = _get("getFeatures", [_ref(name) for name in ITEM_PARAMETERS]
                   + [_filter_parameter(spec) for spec in collection.filters],
                   summary=collection.title, description=collection.description)["get"]
        # The collection is part of this path: no collectionId parameter, and no unknown-collection 404.
        get["parameters"] = [item for item in get["parameters"] if item != _ref("collectionId")]
        get["operationId"] = f"getFeatures_{collection.id}"
        get["responses"].pop("404")
        paths[f"/collections/{collection.id}/items"] = {"get": get}
    paths |= tile_paths()
    return {
        "openapi": "3.0.3",
        "info": {"title": "unionmap OGC API - Features 工会服务阵地", "version": "1.0.0",
                 "description": "工会服务阵地与行政区的 OGC API - Features（第 1、2 部分）/ OGC API - Features "
                                "Part 1 and 2 of trade-union service points, regions and coverage."},
        "servers": [{"url": root}],
        "paths": paths,
        "components": {"parameters": PARAMETERS, "schemas": SCHEMAS},
    }


# OGC API - Tiles (api.ogc.tiles): JSON metadata (no HTML alternative) and MVT tiles.
MVT = "application/vnd.mapbox-vector-tile"
TILE_PARAMETERS: dict[str, dict[str, Any]] = {
    "tileMatrixSetId": {"name": "tileMatrixSetId", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": ["WebMercatorQuad"]}},
    "tileMatrix": {"name": "tileMatrix", "in": "path", "required": True, "description": "缩放级别 / zoom level",
                   "schema": {"type": "string", "pattern": "^[0-9]+$"}},
    "tileRow": {"name": "tileRow", "in": "path", "required": True, "description": "行（自北）/ row from the north",
                "schema": {"type": "string", "pattern": "^[0-9]+$"}},
    "tileCol": {"name": "tileCol", "in": "path", "required": True, "description": "列（自西）/ column from the west",
                "schema": {"type": "string", "pattern": "^[0-9]+$"}},
    "f-json": _parameter("f", "输出格式（仅 JSON）/ output format (JSON only)", {"type": "string", "enum": ["json"]}),
    # GDAL 3.6 reads a /vsicurl/ path ending in digits as a tileset folder: ?f=mvt lets it open one tile
    "f-mvt": _parameter("f", "输出格式（仅 MVT）/ output format (Mapbox Vector Tile only)",
                        {"type": "string", "enum": ["mvt"]}),
}
TILE_DOCUMENT: dict[str, Any] = {"type": "object", "required": ["links"], "properties": {"links": LINKS}}
TILE_SCHEMAS: dict[str, dict[str, Any]] = {
    "tileMatrixSets": {"type": "object", "required": ["tileMatrixSets"], "properties": {
        "tileMatrixSets": {"type": "array", "items": {"type": "object", "required": ["links"]}}, "links": LINKS}},
    "tileMatrixSet": {"type": "object", "required": ["crs", "tileMatrices"], "properties": {
        "id": {"type": "string"}, "uri": {"type": "string"}, "crs": {"type": "string"},
        "tileMatrices": {"type": "array", "items": {"type": "object"}}}},
    "tileSets": {"type": "object", "required": ["tilesets"], "properties": {
        "tilesets": {"type": "array", "items": {"type": "object", "required": ["dataType", "crs", "links"]}},
        "links": LINKS}},
    "tileSet": {"type": "object", "required": ["dataType", "crs", "links"], "properties": {
        "dataType": {"type": "string", "enum": ["vector"]}, "crs": {"type": "string"},
        "tileMatrixSetURI": {"type": "string"}, "links": LINKS,
        "tileMatrixSetLimits": {"type": "array", "items": {"type": "object"}},
        "layers": {"type": "array", "items": {"type": "object", "required": ["id", "dataType"]}}}},
}
# operationId: (path, summary, path parameters, 200 description, schema or None for a tile, errors)
TILE_OPERATIONS: dict[str, tuple[str, str, tuple[str, ...], str, str | None, tuple[int, ...]]] = {
    "getTileMatrixSetsList": ("/tileMatrixSets", "瓦片矩阵集 / tile matrix sets", (), "tile matrix sets",
                              "tileMatrixSets", (400,)),
    "getTileMatrixSet": ("/tileMatrixSets/{tileMatrixSetId}", "瓦片矩阵集定义 / tile matrix set",
                         ("tileMatrixSetId",), "2D TMS 2.0 definition", "tileMatrixSet", (400, 404)),
    "getCollectionTileSets": ("/collections/{collectionId}/tiles", "矢量瓦片集列表 / vector tilesets",
                              ("collectionId",), "tilesets", "tileSets", (400, 404)),
    "getCollectionTileSet": ("/collections/{collectionId}/tiles/{tileMatrixSetId}", "矢量瓦片集 / vector tileset",
                             ("collectionId", "tileMatrixSetId"), "tileset metadata", "tileSet", (400, 404)),
    "getCollectionTile": ("/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
                          "矢量瓦片 / vector tile", ("collectionId", "tileMatrixSetId", "tileMatrix", "tileRow",
                                                   "tileCol"),
                          "Mapbox 矢量瓦片（无要素时为空）/ a Mapbox Vector Tile (empty body when nothing is there)",
                          None, (400, 404)),
}


def _tile_responses(operation_id: str) -> dict[int, dict[str, Any]]:
    _, _, _, description, schema, errors = TILE_OPERATIONS[operation_id]
    content = ({MVT: {"schema": {"type": "string", "format": "binary"}}} if schema is None
               else {"application/json": {"schema": TILE_SCHEMAS[schema]}})
    return {200: {"description": description, "content": content}} | {
        status: ERRORS[status] for status in (304, *errors, 503)}  # 304: tiles and metadata carry ETags too


def tile_route_docs(operation_id: str) -> dict[str, Any]:
    """:func:`route_docs` for the tiles' operations (path parameters are FastAPI's, from the handler)."""
    query = [TILE_PARAMETERS["f-mvt" if TILE_OPERATIONS[operation_id][4] is None else "f-json"]]
    return {"responses": _tile_responses(operation_id), "openapi_extra": {"parameters": query}}


def tile_paths() -> dict[str, Any]:
    """The tiles' paths of the 3.0 document."""
    paths: dict[str, Any] = {}
    for operation_id, (path, summary, path_parameters, _, schema, _) in TILE_OPERATIONS.items():
        parameters = [PARAMETERS["collectionId"] if name == "collectionId" else TILE_PARAMETERS[name]
                      for name in path_parameters] + [TILE_PARAMETERS["f-mvt" if schema is None else "f-json"]]
        paths[path] = {"get": {"summary": summary, "operationId": operation_id, "tags": ["OGC API - Tiles"],
                               "parameters": parameters,
                               "responses": {str(status): response for status, response in
                                             _tile_responses(operation_id).items()}}}
    return paths
