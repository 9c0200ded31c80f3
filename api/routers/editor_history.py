"""The editor's history page of one station: every change as a readable diff, undo and restore.

A page for planners in a browser (not in the OpenAPI document). It only reads; its buttons call
the JSON API (``POST /api/v1/stations/{id}/undo`` and ``/restore``) with the session's CSRF token
through ``maps/static/edit-history.js``, so the page and programs write through the same checks.
Below the changes, the station's riders' reports (open and settled) are listed read-only; they
are settled in the inbox (``/edit/reports``).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import RegionDep, SessionDep, SettingsDep, StationId
from api.editor.pages import EditorDep, page
from geo.services import history, reports

router = APIRouter(prefix="/edit/stations", include_in_schema=False)


@router.get("/{station_id:int}/history", response_class=HTMLResponse)
def history_page(station_id: StationId, request: Request, editor: EditorDep, session: SessionDep,
                 settings: SettingsDep, region: RegionDep) -> HTMLResponse:
    """A station's changes, newest first, with who, when (the region's time), and before → after;
    then its riders' reports, newest first, with their outcome."""
    found = history.for_page(session, station_id, data_dir=settings.data_dir)
    zone = ZoneInfo(region.timezone)

    def local(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    if found is None:
        return page("history.html", request, editor, status_code=404, title="没有这个站点 / no such station",
                    page_kind="history", station=None, station_id=station_id)
    found_reports = reports.of_station(session, station_id)
    return page("history.html", request, editor, title=f"修改记录 / history · {found.name}", page_kind="history",
                station=found, station_id=station_id, local=local, reports=found_reports,
                config={"station": station_id, "version": found.version, "deleted": found.deleted})
