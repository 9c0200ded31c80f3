"""OGC API - Features at /ogc, for QGIS, GDAL/OGR and OWSLib (Part 1 Core, Part 2 CRS).

JSON unless HTML is asked for (``?f=html`` or a browser's ``Accept``); errors are the standard's
``{"code", "description"}`` with status 400 or 404, never 500, and name the bad parameter.
Every route only reads, in an autocommit session (``ReadSessionDep``): no ``BEGIN``/``ROLLBACK``
round trips, no thread hops for the session, and psycopg keeps its prepared statements.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from api import hosts
from api.allow import AllowRoute
from api.deps import AreaDep, ReadSessionDep, RegionDep, SettingsDep
from api.docs_page import swagger_ui
from api.ogc import cql, features, html, openapi, params, queryables, tiles
from api.ogc.collections import all_collections, find_collection
from api.ogc.documents import (
    CONFORMANCE,
    GEOJSON,
    OPENAPI_30,
    collection_document,
    landing_title,
    link,
    paging_links,
    root_url,
    self_links,
    wants_html,
)
from api.ogc.exceptions import PREFIX, exception_response
from geo.errors import InputError, NotFound
from geo.services.coverage_features import CoverageCache
from geo.store import tiles as tile_store


class GeoJSONResponse(Response):
    """A GeoJSON body: named as the routes' response class so that the documents list this media type."""

    media_type = GEOJSON


class OpenApi30Response(Response):
    """The OGC OpenAPI 3.0 document's media type, for the same reason."""

    media_type = OPENAPI_30


class OgcRoute(AllowRoute):
    """Turns domain errors into the OGC exception body here, ahead of the app-wide 422 mapping."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler: InputError → 400, NotFound → 404, as the standard asks."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
                # JSON or HTML by the Accept header (documents.wants_html): a cache must key on it
                response.headers.append("Vary", "Accept")
                return response
            except InputError as error:
                return exception_response(400, "InvalidParameterValue", str(error), error.field)
            except NotFound as error:
                return exception_response(404, "NotFound", str(error))

        return route


router = APIRouter(prefix=PREFIX, tags=["ogc OGC API - Features"], route_class=OgcRoute)


async def coverage_cache(request: Request) -> CoverageCache:
    """The app's coverage cache, beside its model cache (made on first use, once per app).

    ``async`` only so that FastAPI calls it in the event loop, not in a worker thread: it does no I/O.
    """
    state = request.app.state
    cache = getattr(state, "ogc_coverage_cache", None)
    if cache is None:
        cache = state.ogc_coverage_cache = CoverageCache(state.model_cache)
    return cache


CoverageCacheDep = Annotated[CoverageCache, Depends(coverage_cache)]


def format_only(request: Request) -> None:
    """The landing page, conformance, the API definition and the collections take ``f`` alone."""
    params.refuse_unknown(request.query_params.multi_items(), ("f",), "this resource")


FORMAT_ONLY = [Depends(format_only)]


@router.get("", summary="OGC API 首页 / landing page", dependencies=FORMAT_ONLY, **openapi.route_docs("getLandingPage"))
@router.get("/", include_in_schema=False, dependencies=FORMAT_ONLY)
def landing(request: Request, region: AreaDep, session: ReadSessionDep) -> Response:
    """链接到 API 描述、符合性声明与数据集 / links to the API description, conformance and collections."""
    root, title = root_url(request), landing_title(region)
    description = ("爱心驿站、三师一室、职工书屋、工人文化宫、职工之家及行政区边界与覆盖率。"
                   "演示数据与近似边界在要素属性中标明。"
                   " / Service points, boundaries and coverage; demo data and approximate boundaries are flagged.")
    links = self_links(request, "application/json", title) + [
        link(f"{root}/api", "service-desc", OPENAPI_30, "API 定义（OpenAPI 3.0）/ API definition"),
        link(hosts.public_base(request) + "/docs", "service-doc", "text/html", "API 文档 / API documentation"),
        link(f"{root}/conformance", "conformance", "application/json", "符合性声明 / conformance classes"),
        link(f"{root}/collections", "data", "application/json", "数据集 / collections"),
        link(f"{root}/tileMatrixSets", tiles.REL_TILING_SCHEMES, "application/json", "瓦片矩阵集 / tiling schemes"),
    ]
    if wants_html(request):
        warnings = [notice for found in all_collections(session, county_units=region.county_units)
                    for notice in found.notices]
        return HTMLResponse(html.landing(title, description, links, warnings, root))
    return JSONResponse({"title": title, "description": description, "links": links})


@router.get("/conformance", summary="符合性声明 / conformance classes", dependencies=FORMAT_ONLY,
            **openapi.route_docs("getConformance"))
def conformance(request: Request) -> Response:
    """本服务实现的 OGC 标准类 / the conformance classes this API implements."""
    if wants_html(request):
        return HTMLResponse(html.conformance(CONFORMANCE, root_url(request)))
    return JSONResponse({"conformsTo": list(CONFORMANCE)})


@router.get("/api", summary="OpenAPI 3.0 定义 / OpenAPI 3.0 definition of /ogc", response_class=OpenApi30Response,
            dependencies=FORMAT_ONLY, **openapi.route_docs("getApi"))
def api_definition(request: Request, session: ReadSessionDep) -> Response:
    """OGC 端点的 OpenAPI 3.0 文档（FastAPI 自身输出 3.1）/ the /ogc endpoints as OpenAPI 3.0."""
    if wants_html(request):  # the offline Swagger UI of /docs, reading this document as JSON
        return swagger_ui(openapi_url=f"{root_url(request)}/api?f=json", title="OGC API - Features · API 定义")
    document = openapi.document(root_url(request), all_collections(session))
    return Response(json.dumps(document, ensure_ascii=False), media_type=OPENAPI_30)


@router.get("/collections", summary="数据集列表 / collections", dependencies=FORMAT_ONLY,
            **openapi.route_docs("getCollections"))
def collections(request: Request, session: ReadSessionDep, region: RegionDep) -> Response:
    """每类服务阵地、县、乡镇边界与覆盖率各一个数据集 / one collection per service type, plus regions."""
    root = root_url(request)
    found = all_collections(session, county_units=region.county_units)
    if wants_html(request):
        return HTMLResponse(html.collections(root, found))
    return JSONResponse({
        "links": self_links(request, "application/json", "数据集 / collections"),
        "crs": list(params.SUPPORTED_CRS),
        "collections": [collection_document(root, collection) for collection in found],
    })


@router.get("/collections/{collection_id}", summary="数据集 / one collection", dependencies=FORMAT_ONLY,
            **openapi.route_docs("describeCollection"))
def collection(collection_id: str, request: Request, session: ReadSessionDep, settings: SettingsDep,
               region: RegionDep) -> Response:
    """数据集的范围、坐标系与要素链接 / a collection's extent, CRS list and links."""
    found = find_collection(session, collection_id, county_units=region.county_units)
    if wants_html(request):
        return HTMLResponse(html.collection(root_url(request), found, html.offline_basemap(settings)))
    return JSONResponse(collection_document(root_url(request), found))


@router.get("/collections/{collection_id}/queryables", summary="可查询属性 / queryables (JSON Schema)",
            dependencies=FORMAT_ONLY, **openapi.route_docs("getQueryables"))
def collection_queryables(collection_id: str, session: ReadSessionDep, request: Request) -> Response:
    """filter（CQL2）与 sortby 可用的属性 / the properties filter (CQL2) and sortby may name (Part 3)."""
    found = find_collection(session, collection_id, counted=False)
    wants_html(request)  # checks f; the queryables are a JSON Schema in either case
    body = json.dumps(queryables.document(root_url(request), found), ensure_ascii=False)
    return Response(body, media_type=queryables.SCHEMA_MEDIA_TYPE)


@router.get("/collections/{collection_id}/items", summary="要素 / features (GeoJSON, paged)",
            response_class=GeoJSONResponse, **openapi.route_docs("getFeatures"))
def items(collection_id: str, request: Request, session: ReadSessionDep, cache: CoverageCacheDep,
          settings: SettingsDep) -> Response:
    """分页的 GeoJSON 要素；bbox、crs、limit、offset 与属性筛选 / paged GeoJSON with filters.

    `crs=http://www.opengis.net/def/crs/EPSG/0/4326`（或 4490）时坐标为（纬度，经度），3857 为米；`bbox-crs` 同理。
    """
    found = find_collection(session, collection_id, counted=False)
    as_html = wants_html(request)
    given = request.query_params.multi_items()
    query = cql.refine(params.parse_item_query(given, found.filters), given, queryables.types(found),
                       lambda: features.property_names(session, found, cache))
    # the page's map is in lon, lat whatever crs the JSON is asked in (its alternate link keeps crs)
    page = features.items(session, found, replace(query, crs=params.CRS84) if as_html else query, cache=cache)
    links = [*self_links(request, GEOJSON, found.title),
             link(f"{root_url(request)}/collections/{found.id}", "collection", "application/json", found.title),
             *paging_links(request, query, page, "text/html" if as_html else GEOJSON)]
    if as_html:
        documents = [json.loads(text) for text in page.features]
        return HTMLResponse(html.items(found, documents, page.number_matched, query.offset, links, root_url(request),
                                       html.offline_basemap(settings)))
    body = features.feature_collection_text(page.features, {
        "numberMatched": page.number_matched, "numberReturned": page.number_returned,
        "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "links": links})
    # Part 3's abstract test /conf/queryables/get-queryables-uris looks for the queryables in a Link header
    queryables_link = (f'<{root_url(request)}/collections/{found.id}/queryables>; rel="{queryables.REL}"; '
                       f'type="{queryables.SCHEMA_MEDIA_TYPE}"')
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{query.crs}>", "Link": queryables_link})


@router.get("/collections/{collection_id}/items/{feature_id}", summary="单个要素 / one feature",
            response_class=GeoJSONResponse, **openapi.route_docs("getFeature"))
def feature(collection_id: str, feature_id: str, request: Request, session: ReadSessionDep,
            cache: CoverageCacheDep, settings: SettingsDep) -> Response:
    """按 id（站点编号或行政区代码）取一个要素 / one feature by id (station id or region code)."""
    found = find_collection(session, collection_id, counted=False)
    as_html = wants_html(request)
    crs = params.parse_feature_query(request.query_params.multi_items())
    text = features.item(session, found, feature_id, crs=params.CRS84 if as_html else crs, cache=cache)
    collection_url = f"{root_url(request)}/collections/{found.id}"
    links = [*self_links(request, GEOJSON, found.title),
             link(collection_url, "collection", "application/json", found.title)]
    if as_html:
        return HTMLResponse(html.feature(found, json.loads(text), links, root_url(request),
                                         html.offline_basemap(settings)))
    body = features.append_members(text, {"links": links})
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{crs}>"})


# OGC API - Tiles (api.ogc.tiles): the tile matrix set, each collection's vector tileset, and its tiles.
class MvtResponse(Response):
    """Mapbox Vector Tile bodies, named so that the documents list the media type."""

    media_type = tiles.MVT


def json_only(request: Request) -> None:
    """The tiles' metadata documents are JSON alone: ``f=json`` or nothing."""
    params.refuse_unknown(request.query_params.multi_items(), ("f",), "this resource")
    fmt = request.query_params.get("f")
    if fmt not in (None, "json"):
        raise InputError(f"unknown format {fmt!r}; tile metadata is JSON only (f=json)", field="f")


JSON_ONLY = [Depends(json_only)]


@router.get("/tileMatrixSets", summary="瓦片矩阵集 / tile matrix sets", dependencies=JSON_ONLY,
            **openapi.tile_route_docs("getTileMatrixSetsList"))
def tile_matrix_sets(request: Request) -> Response:
    """本服务的瓦片矩阵集（WebMercatorQuad）/ the tile matrix sets of this API."""
    return JSONResponse(tiles.tile_matrix_sets(root_url(request)))


@router.get("/tileMatrixSets/{tileMatrixSetId}", summary="瓦片矩阵集定义 / tile matrix set definition",
            dependencies=JSON_ONLY, **openapi.tile_route_docs("getTileMatrixSet"))
def tile_matrix_set(tileMatrixSetId: str, request: Request) -> Response:
    """OGC 2D TMS 2.0 JSON 定义 / the OGC 2D TMS 2.0 JSON definition."""
    tiles.find_tile_matrix_set(tileMatrixSetId)
    return JSONResponse(tiles.tile_matrix_set(root_url(request)))


@router.get("/collections/{collection_id}/tiles", summary="矢量瓦片集列表 / vector tilesets",
            dependencies=JSON_ONLY, **openapi.tile_route_docs("getCollectionTileSets"))
def collection_tilesets(collection_id: str, request: Request, session: ReadSessionDep) -> Response:
    """数据集的矢量瓦片集 / the collection's vector tilesets (WebMercatorQuad)."""
    return JSONResponse(tiles.tilesets(root_url(request), find_collection(session, collection_id)))


@router.get("/collections/{collection_id}/tiles/{tileMatrixSetId}", summary="矢量瓦片集 / vector tileset",
            dependencies=JSON_ONLY, **openapi.tile_route_docs("getCollectionTileSet"))
def collection_tileset(collection_id: str, tileMatrixSetId: str, request: Request,
                       session: ReadSessionDep) -> Response:
    """瓦片集元数据：范围、图层属性与瓦片地址模板 / tileset metadata: limits, layer schema, tile URL template."""
    found = find_collection(session, collection_id)
    tiles.find_tile_matrix_set(tileMatrixSetId)
    return JSONResponse(tiles.tileset(root_url(request), found))


@router.get("/collections/{collection_id}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
            summary="矢量瓦片 / a vector tile (MVT)", response_class=MvtResponse,
            **openapi.tile_route_docs("getCollectionTile"))
def collection_tile(collection_id: str, tileMatrixSetId: str, tileMatrix: str, tileRow: str,
                    tileCol: str, request: Request, session: ReadSessionDep) -> Response:
    """PostGIS 生成的 Mapbox 矢量瓦片，无要素时为空 / a Mapbox Vector Tile from PostGIS, empty when nothing is there."""
    # f=mvt is taken (and nothing else) so that a tile's URL can end in something other than its
    # column: GDAL's MVT driver reads a /vsicurl/ path ending in digits as a tileset folder.
    params.refuse_unknown(request.query_params.multi_items(), ("f",), "a tile")
    if request.query_params.get("f", "mvt") != "mvt":
        raise InputError(f"unknown format {request.query_params['f']!r}; a tile is MVT only (f=mvt)", field="f")
    found = find_collection(session, collection_id, counted=False)
    kind = tiles.tile_kind(found)
    zoom, row, col = tiles.tile_address(tileMatrixSetId, tileMatrix, tileRow, tileCol)
    made = tile_store.tile(session, kind, found.key, layer=found.id, z=zoom, x=col, y=row)
    tiles.check_limits(replace(found, bbox=made.extent), zoom, row, col)
    return Response(made.data, media_type=tiles.MVT)
