"""Riders' reports: filed from the finder without an account; read and settled by planners.

``POST /stations/{id}/reports`` is public: a rider says a station is closed, has no water, is
in the wrong place, or something else. Nothing personal is kept (``geo.services.reports``); the
limits per client and per station are counted in the database, so they hold across server
processes. The body may be at most ``settings.report_body_kb`` (``api.body_limit``: 413).

``GET /reports`` and ``POST /reports/{id}/resolve`` / ``/dismiss`` need an editor key or the
editor's session (with its CSRF token for the POSTs). Settling takes ``scope``: ``report`` (this
one) or ``station`` (this one and every older open report of its station, what the inbox's
buttons send with the station's newest report, so a report that arrives meanwhile stays open).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, status

from api import responses
from api.deps import SessionDep, SettingsDep, StationId, WriterDep, client_of
from api.schemas import ReportCreated, ReportIn, ReportNote, ReportsOut, SettledOut, SettleIn, StationReportsOut
from geo.services import reports
from geo.services.transaction import end_reads, unit_of_work

router = APIRouter(tags=["reports 骑手报告"])

ReportId = Annotated[int, Path(ge=1, le=2**63 - 1, description="报告编号 / report id")]
TOO_MANY = responses.error("报告过于频繁（每客户端、每站点每小时有上限）/ too many reports this hour",
                           headers=responses.RETRY_AFTER)
PLANNER: dict[int | str, dict[str, Any]] = {
    401: responses.NEEDS_KEY, 403: responses.READ_ONLY_KEY, 429: responses.TOO_MANY_WRONG_KEYS}
SETTLE_ERRORS: dict[int | str, dict[str, Any]] = PLANNER | {
    404: responses.error("没有这条报告 / no such report"),
    409: responses.error("已处理过 / settled already (by whom and when is said)"),
    422: responses.invalid(), 400: responses.UNREADABLE, 413: responses.TOO_LARGE}


@router.post("/stations/{station_id:int}/reports", status_code=status.HTTP_201_CREATED,
             summary="报告站点问题 / report a problem with a station", responses={
                 404: responses.error("站点不存在或已删除 / no such station"), 422: responses.invalid(),
                 429: TOO_MANY, 400: responses.UNREADABLE, 413: responses.TOO_LARGE})
def file_report(station_id: StationId, report: ReportIn, request: Request, session: SessionDep,
                settings: SettingsDep) -> ReportCreated:
    """骑手报告：已关闭、没有饮水、位置不对或其他，可附一句话；无需账号 / a rider's report, no account.

    不保存任何个人信息：客户端地址只以带密钥的哈希保存，用于限流（每客户端、每站点每小时有上限，超出 429）。
    Nothing personal is kept: the client address only as a keyed hash, for the hourly limits.
    """
    client_hash = request.app.state.report_hasher.digest(session, client_of(request))
    limits = reports.Limits(per_client=settings.reports_per_client_hour, per_station=settings.reports_per_station_hour)
    with unit_of_work(session, actor=reports.ACTOR):
        report_id = reports.file_report(session, station_id=station_id, kind=report.kind, note=report.note,
                                        client_hash=client_hash, limits=limits)
    request.app.state.reported_closed.forget()  # the finder of this process shows a new flag at once
    return ReportCreated(id=report_id, message=reports.RECEIVED)


@router.get("/reports", summary="骑手报告收件箱 / riders' reports per station", responses=PLANNER)
def list_reports(session: SessionDep, settings: SettingsDep, caller: WriterDep,
                 status: Annotated[Literal["open", "resolved", "dismissed"], Query(
                     description="open 未处理（默认）/ resolved 已处理 / dismissed 已忽略")] = "open") -> ReportsOut:
    """按站点分组的报告：各类数量、最新的文字、是否需核实（编辑密钥或登录会话）/ reports grouped per station.

    `needs_check`：未处理的“已关闭”报告来自至少 `closed_reports_to_flag` 个不同客户端。
    """
    groups = reports.inbox(session, status=status, flag_clients=settings.closed_reports_to_flag)
    end_reads(session)
    return ReportsOut(status=status, total=sum(group.total for group in groups),
                      stations=[station_reports(group) for group in groups])


def station_reports(group: reports.StationReports) -> StationReportsOut:
    """One station's group as the API shows it."""
    return StationReportsOut(
        station_id=group.station_id, name=group.name, counts=group.counts, total=group.total,
        needs_check=group.needs_check, closed_clients=group.closed_clients, newest_id=group.newest_id,
        first_at=group.first_at, last_at=group.last_at,
        latest_notes=[ReportNote(id=note.id, kind=note.kind, note=note.note, created_at=note.created_at)
                      for note in group.notes])


def _settle(request: Request, session: SessionDep, caller: WriterDep, report_id: int, body: SettleIn | None,
            resolution: str) -> SettledOut:
    body = body or SettleIn.model_validate({})
    with unit_of_work(session, actor=caller.actor):
        done = reports.settle(session, report_id, resolution=resolution, actor=caller.actor, note=body.note,
                              whole_station=body.scope == "station")
    request.app.state.reported_closed.forget()
    return SettledOut(ids=done.ids, station_id=done.station_id, resolution=done.resolution,  # type: ignore[arg-type]
                      resolved_by=done.resolved_by, resolved_at=done.resolved_at, open_left=done.open_left)


@router.post("/reports/{report_id}/resolve", summary="标为已处理 / resolve a report", responses=SETTLE_ERRORS)
def resolve_report(report_id: ReportId, request: Request, session: SessionDep, caller: WriterDep,
                   body: SettleIn | None = None) -> SettledOut:
    """已核实并处理（如已修改站点）；`scope=station` 时连同该站点更早的未处理报告 / resolved, as the caller."""
    return _settle(request, session, caller, report_id, body, "resolved")


@router.post("/reports/{report_id}/dismiss", summary="忽略报告 / dismiss a report", responses=SETTLE_ERRORS)
def dismiss_report(report_id: ReportId, request: Request, session: SessionDep, caller: WriterDep,
                   body: SettleIn | None = None) -> SettledOut:
    """报告不成立或无需处理；`scope=station` 时连同该站点更早的未处理报告 / dismissed, as the caller."""
    return _settle(request, session, caller, report_id, body, "dismissed")
