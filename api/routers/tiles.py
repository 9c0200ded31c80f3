"""The offline basemap's file, ``GET``/``HEAD /tiles/basemap.pmtiles``, read by HTTP Range.

protomaps-leaflet reads a PMTiles archive a few kilobytes at a time (the header, a directory,
each tile) with ``Range`` requests; Starlette's ``FileResponse`` answers them with 206 and the
bytes asked for (416 outside the file), and sets ``ETag`` and ``Last-Modified``, which the
plug-in compares to notice a replaced file. ``no-cache``: the browser may keep the bytes but asks
again, so a replaced file is never mixed with the old one. The tiles inside are compressed
already: ``application/vnd.pmtiles`` is excluded from gzip (``api.compression``), and so is
every 206. No database, no admission slot (``api.admission.FREE_PREFIXES``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.allow import AllowRoute
from api.deps import SettingsDep
from geo.errors import NotFound

# GET and HEAD are two routes (two operations in the API document): a 405 names both.
router = APIRouter(prefix="/tiles", tags=["tiles 底图"], route_class=AllowRoute)

MEDIA_TYPE = "application/vnd.pmtiles"
CACHE_CONTROL = "no-cache"


ROUTE: dict[str, Any] = {
    "summary": "离线底图文件 / the offline basemap file", "response_class": FileResponse,
    "responses": {200: {"content": {MEDIA_TYPE: {}}}, 206: {"description": "请求的字节范围 / the range asked for"},
                  404: {"description": "未配置底图文件 / no basemap file configured"}}}


@router.get("/basemap.pmtiles", operation_id="basemap_file", **ROUTE)
@router.head("/basemap.pmtiles", operation_id="basemap_file_head", **ROUTE)
def basemap_file(settings: SettingsDep) -> FileResponse:
    """配置的 PMTiles 文件，支持 Range / the configured PMTiles file (UNIONMAP_BASEMAP_PMTILES), with Range."""
    path = settings.basemap_pmtiles
    if path is None:
        raise NotFound("未配置离线底图 / no basemap file configured: set UNIONMAP_BASEMAP_PMTILES to a .pmtiles file")
    if not path.is_file():
        raise NotFound("离线底图文件不存在 / the configured basemap file (UNIONMAP_BASEMAP_PMTILES) is missing")
    return FileResponse(path, media_type=MEDIA_TYPE, headers={"Cache-Control": CACHE_CONTROL})
