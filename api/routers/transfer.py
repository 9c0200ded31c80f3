"""Bulk import (all or nothing) and export of the registry: CSV, GeoJSON, XLSX."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from api import responses
from api.deps import CrsParam, DemoParam, ReadSessionDep, RegionDep, SessionDep, SettingsDep, WriterDep
from api.routers.stations import AmenityParam
from api.schemas import ImportAddition, ImportChange, ImportReport, ImportRowError
from geo.core.crs import CoordSystem
from geo.errors import InputError
from geo.notices import export_notice
from geo.reference import service_types
from geo.services import transfer, transfer_plan, transfer_template
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
MODE_HELP = ("insert：每行都是新站点（已有编号即报错）；"
             "upsert：带已有编号（及导出时的 version）的行修改该站点 / "
             "insert: every row is new; upsert: a row with an existing id (and the version it was exported at) "
             "changes that station")
FormatParam = Annotated[Literal["csv", "geojson", "xlsx"], Query(description="文件格式 / file format")]


@router.post("/import", status_code=status.HTTP_201_CREATED, summary="批量导入 / bulk import (all or nothing)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()}}},
             responses={200: {"description": "试运行报告（dry_run=true），错误也在其中 / the dry-run report, errors "
                                             "included", "model": ImportReport}, **IMPORT_RESPONSES})
async def import_file(request: Request, response: Response, session: SessionDep, settings: SettingsDep,
                      caller: WriterDep, format: FormatParam, crs: CrsParam = "wgs84",
                      filename: Annotated[str, Query(max_length=200, description="文件名（用于报错）")] = "upload",
                      mode: Annotated[Literal["insert", "upsert"], Query(description=MODE_HELP)] = "insert",
                      dry_run: Annotated[bool, Query(
                          description="只检查、不写入，返回报告（200，错误列在报告中）/ check only, write nothing: "
                                      "the report (200, errors listed in it)")] = False,
                      ) -> ImportReport:
    """请求体为文件本身；有一行出错则全部不写入，并列出所有错误行 / the body is the file itself.

    The body is spooled (memory up to 1 MB, then a temporary file) as it arrives, and parsed and
    written in a worker thread: the event loop never blocks on a large file, and no database
    connection is held while the upload trickles in. A dry run checks exactly what an import
    checks, in the same way, and writes nothing.
    """
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        if spool.tell() == 0:  # no file at all is a bad request, even for a dry run (which reports on a file)
            raise InputError("请求体为空：请求体应为文件本身 / the body is empty: send the file itself", field="body")
        spool.seek(0)
        if dry_run:
            response.status_code = status.HTTP_200_OK
        return await run_in_threadpool(_import, spool, session, settings, caller,
                                       _Upload(format, crs, filename, mode, dry_run))


SPOOL_IN_MEMORY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class _Upload:
    file_format: transfer.Format
    crs: CoordSystem
    filename: str
    mode: transfer_plan.Mode
    dry_run: bool


def _import(spool: tempfile.SpooledTemporaryFile[bytes], session: SessionDep, settings: SettingsDep,
            caller: WriterDep, upload: _Upload) -> ImportReport:
    amenities = service_types.read_amenities(settings.data_dir / "amenities.yaml")
    if upload.dry_run:  # reads only: no unit of work, and the session's transaction ends unwritten
        allow_idle(session, settings.body_timeout_s * 5)
        return _report(_plan(session, spool, upload, amenities), None)
    with unit_of_work(session, actor=caller.actor):
        allow_idle(session, settings.body_timeout_s * 5)  # validating a large file takes a while
        plan = _plan(session, spool, upload, amenities)
        applied = transfer_plan.apply(session, plan)
    return _report(plan, applied)


def _plan(session: SessionDep, spool: tempfile.SpooledTemporaryFile[bytes], upload: _Upload,
          amenities: Mapping[str, service_types.Amenity]) -> transfer_plan.Plan:
    return transfer_plan.plan_import(session, spool.read(), file=upload.filename, file_format=upload.file_format,
                                     source_crs=upload.crs, amenities=amenities, mode=upload.mode)


def _report(plan: transfer_plan.Plan, applied: transfer_plan.Applied | None) -> ImportReport:
    errors = [ImportRowError(row=e.row, field=e.field, reason=e.reason)
              for e in plan.errors[:transfer_plan.REPORT_ERRORS]]
    additions = [ImportAddition(row=row, name=write.values["name"])
                 for row, write in plan.adds[:transfer_plan.REPORT_CHANGES]]
    changes = [ImportChange(row=c.row, id=c.station_id, name=c.write.values["name"], fields=list(c.fields))
               for c in plan.changes[:transfer_plan.REPORT_CHANGES]]
    return ImportReport(imported=len(applied.added) if applied else 0, ids=list(applied.added) if applied else [],
                        changed_ids=list(applied.changed) if applied else [], dry_run=applied is None,
                        mode=plan.mode, rows=plan.rows, to_add=len(plan.adds), to_change=len(plan.changes),
                        unchanged=len(plan.unchanged), skipped=list(plan.skipped), error_count=len(plan.errors),
                        errors=errors, additions=additions, changes=changes)


@router.get("/import/template", summary="导入模板 / import template", response_class=Response,
            responses={200: {"content": {MEDIA_TYPES[name]: {} for name in ("csv", "xlsx")}}})
def import_template(session: SessionDep, settings: SettingsDep, region: RegionDep,
                    format: Annotated[Literal["csv", "xlsx"], Query(description="文件格式 / file format")] = "xlsx",
                    ) -> Response:
    """中英文列名、一行示例（编号为“示例 example”，导入时跳过）；xlsx 另有一页说明每列的允许值 /
    columns in Chinese and English, one example row (skipped on import); the workbook explains each column."""
    amenities = service_types.read_amenities(settings.data_dir / "amenities.yaml")
    point = region.example_point or region.map_centre or (0.0, 0.0)
    content = transfer_template.template_bytes(session, format, amenities=amenities, example_point=point)
    return Response(content, media_type=MEDIA_TYPES[format], headers={
        "Content-Disposition": f'attachment; filename="unionmap-import-template.{format}"'})


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
