"""OpenAPI 3.0 definition of the /ogc endpoints (the ``oas30`` conformance class).

FastAPI's own document is OpenAPI 3.1, which the OGC class and its clients do not expect. This
one is built by hand and kept small. Each collection gets its own items path listing its
property filters: GDAL and QGIS read them there and then send matching filters to the server.
"""

from __future__ import annotations

from typing import Any

from geo.ogc import Collection
from geo.ogc_params import DEFAULT_LIMIT, MAX_LIMIT, SUPPORTED_CRS, Filter

GEOJSON = "application/geo+json"


def _parameter(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


PARAMETERS: dict[str, dict[str, Any]] = {
    "f": _parameter("f", "输出格式 / output format", {"type": "string", "enum": ["json", "html", "geojson"]}),
    "limit": _parameter("limit", "每页要素数，超过上限按上限 / page size (larger values are served as the maximum)",
                        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                        style="form", explode=False),
    "offset": _parameter("offset", "跳过的要素数 / features to skip", {"type": "integer", "minimum": 0, "default": 0}),
    "bbox": _parameter("bbox", "范围 minx,miny,maxx,maxy（bbox-crs 的轴序）/ bounding box in bbox-crs axis order",
                       {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
                       style="form", explode=False),
    "bbox-crs": _parameter("bbox-crs", "bbox 的坐标系 / CRS of bbox", {"type": "string", "format": "uri",
                                                                     "enum": list(SUPPORTED_CRS)}),
    "crs": _parameter("crs", "输出坐标系（EPSG:4326 为纬度、经度）/ output CRS (EPSG:4326 is lat, lon)",
                      {"type": "string", "format": "uri", "enum": list(SUPPORTED_CRS)}),
    "datetime": _parameter("datetime", "无时间数据，忽略 / accepted and ignored (no temporal data)",
                           {"type": "string"}),
    "collectionId": {"name": "collectionId", "in": "path", "required": True, "schema": {"type": "string"}},
    "featureId": {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}},
}
ITEM_PARAMETERS = ("f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _response(description: str, media_type: str = "application/json") -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "object"}},
                                                    "text/html": {"schema": {"type": "string"}}}}


ERRORS = {"400": {"$ref": "#/components/responses/InvalidParameter"},
          "404": {"$ref": "#/components/responses/NotFound"}}


def _filter_parameter(spec: Filter) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "boolean"} if spec.kind == "bool" else {"type": "string"}
    if spec.kind == "enum":
        schema["enum"] = list(spec.values)
    # style form / explode false is what QGIS looks for before it sends a filter to the server
    return _parameter(spec.name, spec.description or spec.name, schema, style="form", explode=False)


def _get(summary: str, operation_id: str, parameters: list[dict[str, Any]], response: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "operationId": operation_id, "tags": ["OGC API - Features"],
                    "parameters": parameters, "responses": {"200": response, **ERRORS}}}


def document(root: str, collections: list[Collection]) -> dict[str, Any]:
    """The OpenAPI 3.0.3 document of the API whose landing page is ``root``."""
    items = [_ref(name) for name in ITEM_PARAMETERS]
    paths: dict[str, Any] = {
        "/": _get("首页 / landing page", "getLandingPage", [_ref("f")], _response("links")),
        "/conformance": _get("符合性声明 / conformance", "getConformance", [_ref("f")], _response("classes")),
        "/api": _get("本文档 / this document", "getApi", [], {
            "description": "OpenAPI 3.0", "content": {"application/vnd.oai.openapi+json;version=3.0": {
                "schema": {"type": "object"}}}}),
        "/collections": _get("数据集 / collections", "getCollections", [_ref("f")], _response("collections")),
        "/collections/{collectionId}": _get("数据集 / collection", "describeCollection",
                                            [_ref("collectionId"), _ref("f")], _response("collection")),
        "/collections/{collectionId}/items": _get("要素 / features", "getFeatures",
                                                  [_ref("collectionId"), *items], _response("features", GEOJSON)),
        "/collections/{collectionId}/items/{featureId}": _get(
            "单个要素 / feature", "getFeature", [_ref("collectionId"), _ref("featureId"), _ref("f"), _ref("crs")],
            _response("feature", GEOJSON)),
    }
    for collection in collections:
        paths[f"/collections/{collection.id}/items"] = _get(
            f"{collection.title}", f"getFeatures_{collection.id}",
            [*items, *(_filter_parameter(spec) for spec in collection.filters)],
            _response(collection.description, GEOJSON))
    exception = {"type": "object", "required": ["code"], "properties": {
        "code": {"type": "string"}, "description": {"type": "string"}, "parameter": {"type": "string"}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "unionmap OGC API - Features 工会服务阵地", "version": "1.0.0",
                 "description": "工会服务阵地与行政区的 OGC API - Features（第 1、2 部分）/ OGC API - Features "
                                "Part 1 and 2 of trade-union service points, regions and coverage."},
        "servers": [{"url": root}],
        "paths": paths,
        "components": {
            "parameters": PARAMETERS,
            "schemas": {"exception": exception},
            "responses": {
                "InvalidParameter": {"description": "参数错误 / invalid parameter", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/exception"}}}},
                "NotFound": {"description": "不存在 / not found", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/exception"}}}},
            },
        },
    }
