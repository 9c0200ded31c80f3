"""The planners' inbox of riders' reports: ``/edit/reports`` (signed-in editors only).

Open reports grouped per station, with their counts by kind, the "需核实" flag and the riders'
newest texts (shown as text: the template escapes them). Its buttons call the JSON API
(``api.routers.reports``) through ``edit-reports.js``: 已处理 resolves and 忽略 dismisses the
station's reports up to the newest one shown, recorded with the planner's key name.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import RegionDep, SessionDep, SettingsDep
from api.editor.pages import EditorDep, page
from geo.services import reports
from geo.services.transaction import end_reads

router = APIRouter(prefix="/edit", include_in_schema=False)


@router.get("/reports", response_class=HTMLResponse)
def reports_inbox(request: Request, editor: EditorDep, session: SessionDep, settings: SettingsDep,
                  region: RegionDep) -> HTMLResponse:
    """The inbox: every station with open reports, the one reported last first."""
    groups = reports.inbox(session, status="open", flag_clients=settings.closed_reports_to_flag)
    end_reads(session)
    zone = ZoneInfo(region.timezone)
    return page("reports.html", request, editor, title="骑手报告 / riders' reports", page_kind="reports",
                groups=groups, total=sum(group.total for group in groups), kinds=reports.KIND_LABELS,
                flag_clients=settings.closed_reports_to_flag,
                shown=lambda moment: moment.astimezone(zone).strftime("%m-%d %H:%M"))
