"""Writes to the registry: create, replace, change and delete stations (API key needed).

Every change carries the version it changes (``If-Match: "<version>"``, the ETag of the
read); a stale version gets 412, a missing one 428, so two planners editing one station can
never silently overwrite each other. Each write is one transaction with its history row.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response, status

from api import responses
from api.allow import AllowRoute
from api.deps import CrsParam, SessionDep, SettingsDep, StationId, WriterDep
from api.routers.stations import etag
from api.schemas import StationFeatureIn, StationPatchIn
from geo.errors import InputError, PreconditionRequired
from geo.reference import service_types
from geo.services import registry, registry_messages
from geo.services.transaction import unit_of_work
from geo.store.stations import WRITABLE
from maps.links import rooted

router = APIRouter(prefix="/stations", tags=["stations 站点"], route_class=AllowRoute)

# Documented as a required header (IF_MATCH) but optional for FastAPI: a missing one must be
# answered 428 by expected_version (RFC 6585), not 422 by FastAPI's validation.
IfMatch = Annotated[str | None, Header(include_in_schema=False)]
IF_MATCH: dict[str, object] = {
    "name": "If-Match", "in": "header", "required": True,
    "description": '要修改的版本（读取时的 ETag）；缺少时 428 / the ETag you read, e.g. "3" (W/"3" and 3 are '
                   "accepted); missing: 428",
    "schema": {"type": "string", "pattern": '^(W/)?"*[0-9]{1,10}"*$'}}
WRITE_DOCS: dict[str, Any] = {"openapi_extra": {"parameters": [IF_MATCH]}}
DELETE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: responses.NEEDS_KEY, 403: responses.READ_ONLY_KEY, 422: responses.invalid(),
    429: responses.TOO_MANY_WRONG_KEYS, 503: responses.UNAVAILABLE,
    404: responses.error("不存在 / no such station"),
    412: responses.error("版本已变 / changed since you read it", headers=responses.ETAG),
    428: responses.error("缺少 If-Match / If-Match missing")}
# FastAPI answers 400 itself when a body cannot be decoded at all (not UTF-8, say); 422 when it is
# not the JSON asked for.
UNREADABLE: dict[int | str, dict[str, Any]] = {400: responses.error("请求体无法解析 / the body cannot be parsed"),
                                               413: responses.TOO_LARGE}
CREATE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: responses.NEEDS_KEY, 403: responses.READ_ONLY_KEY, 422: responses.invalid(),
    429: responses.TOO_MANY_WRONG_KEYS, 503: responses.UNAVAILABLE, **UNREADABLE}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = DELETE_ERRORS | UNREADABLE
SAVED: dict[str, Any] = {"description": "已保存 / saved", "headers": responses.ETAG}


def expected_version(if_match: str | None) -> int:
    """The version named by If-Match ("3", W/"3" or 3).

    ASCII digits only: ``str.isdigit`` also accepts "²", which ``int`` then refuses (a 500).
    """
    if if_match is None:
        raise PreconditionRequired('send If-Match with the ETag you read, e.g. If-Match: "3"')
    value = if_match.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        raise InputError(f"{if_match!r} is not a station version", field="If-Match")
    return int(value)


def checked(session: SessionDep, settings: SettingsDep, properties: dict[str, object],
            coordinates: tuple[float, float], crs: str) -> registry.StationWrite:
    """Validate properties and position; InputError(s) name every bad field."""
    amenities = service_types.read_amenities(settings.data_dir / "amenities.yaml")
    values, errors = registry.check_properties(properties, registry.Vocabulary.load(session, amenities))
    errors = [InputError(error.reason, field=f"properties.{error.field}" if error.field else "properties")
              for error in errors]
    errors += registry.check_coordinates(*coordinates, field_prefix="geometry.coordinates.")
    registry.raise_if_errors(errors)  # a swapped lon/lat is named before the region is asked
    lon, lat = registry.to_wgs84([coordinates[0]], [coordinates[1]], crs)  # type: ignore[arg-type]
    if len(registry.outside_region(session, lon, lat)):
        errors.append(InputError(registry_messages.OUTSIDE_REGION, field="geometry.coordinates"))
    registry.raise_if_errors(errors)
    return registry.StationWrite(values or {}, float(lon[0]), float(lat[0]))


@router.post("", status_code=status.HTTP_201_CREATED, summary="新建站点 / create a station",
             responses={201: {"description": "已新建 / created", "headers": responses.ETAG | {"Location": {
                 "description": "新站点的地址 / URL of the new station", "required": True,
                 "schema": {"type": "string"}}}}, **CREATE_ERRORS})
def create_station(feature: StationFeatureIn, session: SessionDep, settings: SettingsDep, caller: WriterDep,
                   response: Response, crs: CrsParam = "wgs84") -> dict[str, int]:
    """新建一个站点（GeoJSON 要素），坐标按 `crs` 换算为 WGS-84 保存 / create one station."""
    write = checked(session, settings, feature.properties, feature.geometry.coordinates, crs)
    with unit_of_work(session, actor=caller.actor):
        station_id = registry.insert(session, [write])[0]
    response.headers["Location"] = rooted(f"/api/v1/stations/{station_id}")
    response.headers["ETag"] = etag(1)
    return {"id": station_id, "version": 1}


@router.put("/{station_id:int}", summary="替换站点 / replace a station", responses={200: SAVED, **WRITE_ERRORS},
            **WRITE_DOCS)
def replace_station(station_id: StationId, feature: StationFeatureIn, session: SessionDep, settings: SettingsDep,
                    caller: WriterDep, response: Response, if_match: IfMatch = None,
                    crs: CrsParam = "wgs84") -> dict[str, int]:
    """用完整的要素替换站点，需 If-Match / replace all of a station's fields (If-Match required)."""
    expected = expected_version(if_match)
    registry.current(session, station_id)
    write = checked(session, settings, feature.properties, feature.geometry.coordinates, crs)
    return _update(session, caller, station_id, write, expected, response)


@router.patch("/{station_id:int}", summary="修改站点 / change some fields", responses={200: SAVED, **WRITE_ERRORS},
              **WRITE_DOCS)
def change_station(station_id: StationId, patch: StationPatchIn, session: SessionDep, settings: SettingsDep,
                   caller: WriterDep, response: Response, if_match: IfMatch = None,
                   crs: CrsParam = "wgs84") -> dict[str, int]:
    """只改给出的字段，需 If-Match / change only the fields given (If-Match required)."""
    expected = expected_version(if_match)
    stored = registry.current(session, station_id)
    properties = {name: stored[name] for name in WRITABLE} | patch.properties
    if patch.geometry is not None:
        coordinates, system = patch.geometry.coordinates, crs
    else:
        coordinates, system = (stored["lon"], stored["lat"]), "wgs84"
    write = checked(session, settings, properties, coordinates, system)
    return _update(session, caller, station_id, write, expected, response)


def _update(session: SessionDep, caller: WriterDep, station_id: int, write: registry.StationWrite,
            expected: int, response: Response) -> dict[str, int]:
    with unit_of_work(session, actor=caller.actor):
        version = registry.update(session, station_id, write, expected_version=expected)
    response.headers["ETag"] = etag(version)
    return {"id": station_id, "version": version}


@router.delete("/{station_id:int}", status_code=status.HTTP_204_NO_CONTENT, summary="删除站点 / delete a station",
               responses=DELETE_ERRORS, **WRITE_DOCS)
def delete_station(station_id: StationId, session: SessionDep, caller: WriterDep, if_match: IfMatch = None) -> Response:
    """软删除：从所有读取中消失，记录与历史保留 / soft delete: gone from every read, row and history kept."""
    expected = expected_version(if_match)
    with unit_of_work(session, actor=caller.actor):
        registry.delete(session, station_id, expected_version=expected)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
