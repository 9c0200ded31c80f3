"""Bulk import (all or nothing) and export of the registry: CSV, GeoJSON, XLSX."""

from __future__ import annotations

import tempfile
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from api import responses
from api.deps import CrsParam, DemoParam, ReadSessionDep, SessionDep, SettingsDep, WriterDep
from api.routers.stations import AmenityParam
from api.schemas import ImportResult
from geo.notices import export_notice
from geo.reference import service_types
from geo.services import transfer
from geo.services.transaction import unit_of_work
from geo.store import catalogue
from geo.store.db import allow_idle

router = APIRouter(tags=["import/export 导入导出"])

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
IMPORT_RESPONSES: dict[int | str, dict[str, object]] = {
    401: responses.NEEDS_KEY, 403: responses.READ_ONLY_KEY, 413: responses.TOO_LARGE,
    422: responses.invalid("每个错误行的行号、字段、原因；未写入任何数据 / every bad row, nothing written"),
    429: responses.TOO_MANY_WRONG_KEYS,
}
FormatParam = Annotated[Literal["csv", "geojson", "xlsx"], Query(description="文件格式 / file format")]


@router.post("/import", status_code=status.HTTP_201_CREATED, summary="批量导入 / bulk import (all or nothing)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()}}},
             responses=IMPORT_RESPONSES)
async def import_file(request: Request, session: SessionDep, settings: SettingsDep, caller: WriterDep,
                      format: FormatParam, crs: CrsParam = "wgs84",
                      filename: Annotated[str, Query(max_length=200, description="文件名（用于报错）")] = "upload",
                      ) -> ImportResult:
    """请求体为文件本身；有一行出错则全部不写入，并列出所有错误行 / the body is the file itself.

    The body is spooled (memory up to 1 MB, then a temporary file) as it arrives, and parsed and
    written in a worker thread: the event loop never blocks on a large file, and no database
    connection is held while the upload trickles in.
    """
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        return await run_in_threadpool(_import, spool, session, settings, caller, format, crs, filename)


SPOOL_IN_MEMORY_BYTES = 1024 * 1024


def _import(spool: tempfile.SpooledTemporaryFile[bytes], session: SessionDep, settings: SettingsDep,
            caller: WriterDep, file_format: str, crs: str, filename: str) -> ImportResult:
    amenities = set(service_types.read_amenities(settings.data_dir / "amenities.yaml"))
    with unit_of_work(session, actor=caller.actor):
        allow_idle(session, settings.body_timeout_s * 5)  # validating a large file takes a while
        ids = transfer.import_stations(session, spool.read(), file=filename, file_format=file_format,  # type: ignore[arg-type]
                                       source_crs=crs, amenities=amenities)  # type: ignore[arg-type]
    return ImportResult(imported=len(ids), ids=ids)


@router.get("/export", summary="导出 / export the registry", response_class=Response,
            responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()}}})
def export_file(session: ReadSessionDep, format: FormatParam = "csv", crs: CrsParam = "wgs84",
                type: Annotated[str | None, Query(description="服务类型 / service type")] = None,
                county: Annotated[str | None, Query(max_length=16, description="县级代码")] = None,
                demo: DemoParam = None,
                amenity: AmenityParam = None) -> Response:
    """导出的列与导入相同，可再次导入 / exported columns are the ones import reads (round trip)."""
    where = catalogue.StationFilter(type_code=type, county=county, is_demo=demo, amenities=tuple(amenity or ()))
    frame = transfer.export_frame(session, where, crs)
    content = transfer.export_bytes(frame, format, notice=export_notice(crs))
    return Response(content, media_type=MEDIA_TYPES[format], headers={
        "Content-Disposition": f'attachment; filename="unionmap-stations.{format}"'})
