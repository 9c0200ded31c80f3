"""The editor's bulk page (``/edit/bulk``): check a file against the registry, then import it all
or nothing; download the registry and the import template.

The page itself only renders the form and the column guide: the checking and writing are the
API's (``POST /api/v1/import?dry_run=true`` then without, ``mode=upsert``), called by
``edit-bulk.js`` with the session's CSRF token, so a file behaves the same from the page, a
script with a key, or the CLI.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import SessionDep, SettingsDep
from api.editor.pages import EditorDep, page
from geo.reference import service_types
from geo.services import transfer, transfer_template
from maps.links import rooted

router = APIRouter(prefix="/edit", include_in_schema=False)

# Coordinate systems a file may be in, as planners know them (the API's crs values).
CRS_CHOICES = (("wgs84", "WGS-84（GPS、天地图、本系统导出默认）"), ("gcj02", "GCJ-02（高德、腾讯地图）"),
               ("bd09", "BD-09（百度地图）"))
# Fields the report may name, beyond the file's columns.
FIELD_LABELS = transfer.HEADERS_ZH | {"position": "位置 position", "geometry": "坐标 geometry", "format": "格式 format",
                                      "type": "类型 type"}


@router.get("/bulk", response_class=HTMLResponse)
def bulk_page(request: Request, editor: EditorDep, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """Upload, check and import a file; links to the registry's export and the template."""
    amenities = service_types.read_amenities(settings.data_dir / "amenities.yaml")
    guide = transfer_template.column_guide(session, amenities)
    limit_bytes = int(settings.max_upload_mb * 1024 * 1024)
    return page("bulk.html", request, editor, title="批量导入导出 / bulk import and export", page_kind="bulk",
                guide=guide, crs_choices=CRS_CHOICES, max_upload_mb=f"{settings.max_upload_mb:g}",
                config={"importUrl": rooted("/api/v1/import"), "exportUrl": rooted("/api/v1/export"), "maxUploadBytes": limit_bytes,
                        "fieldLabels": FIELD_LABELS})
