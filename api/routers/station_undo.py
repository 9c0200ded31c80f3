"""Undo a change and restore a deleted station: both are new changes in the history (key needed).

Like every write they carry the version they change (``If-Match``: 412 when stale, 428 when
missing). An undo never overwrites a later change: when a field it would put back has changed
again since, the answer is 409 naming it (``geo.services.undo``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api import responses
from api.allow import AllowRoute
from api.deps import SessionDep, SettingsDep, StationId, WriterDep
from api.routers.station_writes import DELETE_ERRORS, UNREADABLE, WRITE_DOCS, IfMatch, expected_version
from api.routers.stations import etag
from api.schemas import UndoIn, VersionOut
from geo.reference import service_types
from geo.services import registry, undo
from geo.services.transaction import unit_of_work

router = APIRouter(prefix="/stations", tags=["stations 站点"], route_class=AllowRoute)

SAVED: dict[str, Any] = {"description": "已保存为新版本 / saved as a new version", "headers": responses.ETAG}
RESTORE_ERRORS: dict[int | str, dict[str, Any]] = DELETE_ERRORS | {
    409: responses.error("站点没有被删除 / the station is not deleted")}
UNDO_ERRORS: dict[int | str, dict[str, Any]] = DELETE_ERRORS | UNREADABLE | {
    409: responses.error("该修改涉及的字段此后又被改过（逐一列出），或站点已删除 / a field it changed has changed "
                         "again since (each named), or the station is deleted")}


@router.post("/{station_id:int}/restore", summary="恢复已删除的站点 / restore a deleted station",
             responses={200: SAVED, **RESTORE_ERRORS}, **WRITE_DOCS)
def restore_station(station_id: StationId, session: SessionDep, caller: WriterDep, response: Response,
                    if_match: IfMatch = None) -> VersionOut:
    """撤回软删除，记为调用者的一次修改；If-Match 为删除后的版本 / undo a soft delete as a new change
    by the caller; If-Match: the deleted station's version (see its history)."""
    expected = expected_version(if_match)
    with unit_of_work(session, actor=caller.actor):
        version = undo.restore(session, station_id, expected_version=expected)
    response.headers["ETag"] = etag(version)
    return VersionOut(id=station_id, version=version)


@router.post("/{station_id:int}/undo", summary="撤销一次修改 / undo one change",
             responses={200: SAVED, **UNDO_ERRORS}, **WRITE_DOCS)
def undo_change(station_id: StationId, body: UndoIn, session: SessionDep, settings: SettingsDep,
                caller: WriterDep, response: Response, if_match: IfMatch = None) -> VersionOut:
    """写入新的修改，把该修改改动的字段恢复为之前的值；撤销新建即删除，撤销删除即恢复 / a new change
    that puts back the values the change replaced, for the fields it changed; undoing a create
    deletes the station, undoing a delete restores it. If-Match: the station's current version."""
    expected = expected_version(if_match)
    amenities = service_types.read_amenities(settings.data_dir / "amenities.yaml")
    vocabulary = registry.Vocabulary.load(session, amenities)
    with unit_of_work(session, actor=caller.actor):
        version = undo.undo(session, station_id, body.change_id, expected_version=expected, vocabulary=vocabulary)
    response.headers["ETag"] = etag(version)
    return VersionOut(id=station_id, version=version)
