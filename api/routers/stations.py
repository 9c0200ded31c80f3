"""Stations: GeoJSON reads with filters, the nearest-station query, one station, its history."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from api import hosts, responses
from api.allow import AllowRoute
from api.deps import AreaDep, CrsParam, DemoParam, ReadSessionDep, SettingsDep, StationId
from api.geojson import station_collection_json, station_states
from api.schemas import FeatureCollection, HistoryEntry, NearestOut, StationPage, StationProperties
from geo.core import crs as coords
from geo.core import navigation
from geo.core.bbox import Bbox, parse_bbox
from geo.errors import NotFound
from geo.reference import DEFAULT_TYPE
from geo.services import history
from geo.store import catalogue, service_types
from geo.store.nearest import nearest

# AllowRoute: this path is shared with station_writes, so a 405 must list both routers' methods.
router = APIRouter(prefix="/stations", tags=["stations 站点"], route_class=AllowRoute,
                   responses={503: responses.UNAVAILABLE})

AmenityParam = Annotated[list[str] | None, Query(
    description="设施（可多个，全部满足）/ amenities the station must all offer, e.g. water, charging")]


def bbox_to_wgs84(bbox: Bbox | None, system: coords.CoordSystem) -> Bbox | None:
    """A bbox given in GCJ-02/BD-09 as the WGS-84 box that holds its corners."""
    if bbox is None or system == "wgs84":
        return bbox
    lon, lat = coords.convert([bbox[0], bbox[2], bbox[0], bbox[2]], [bbox[1], bbox[1], bbox[3], bbox[3]],
                           source=system, target="wgs84")
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


DEFAULT_PAGE = 100
MAX_PAGE = 1000  # the editor's list asks for pages this size and follows `next`


def station_response(rows: list[dict[str, Any]], system: coords.CoordSystem, region: AreaDep) -> Response:
    """Stations as a GeoJSON answer, serialised once (``api.geojson.station_collection_json``)."""
    states = station_states(rows, at=datetime.now().astimezone(), timezone=region.timezone)
    return Response(station_collection_json(states, crs=system), media_type="application/json")


def page_links(request: Request, *, offset: int, limit: int, returned: int, matched: int) -> list[dict[str, str]]:
    """``next`` while stations remain, ``prev`` after the first page: this request's absolute URL
    (``api.hosts.public_url``, as the OGC pages build theirs) with only ``offset``/``limit`` changed."""
    def at(start: int) -> str:
        kept = [(name, value) for name, value in request.query_params.multi_items() if name not in ("offset", "limit")]
        return hosts.public_url(request, urlencode([*kept, ("offset", str(start)), ("limit", str(limit))]))
    links = []
    if offset + returned < matched:
        links.append({"href": at(offset + limit), "rel": "next", "type": "application/json",
                      "title": "下一页 / next page"})
    if offset > 0:
        links.append({"href": at(max(0, offset - limit)), "rel": "prev", "type": "application/json",
                      "title": "上一页 / previous page"})
    return links


@router.get("", summary="站点列表 / stations as GeoJSON, a page at a time")
def list_stations(
    request: Request,
    session: ReadSessionDep,
    region: AreaDep,
    crs: CrsParam = "wgs84",
    type: Annotated[str | None, Query(description=f"服务类型代码 / service type, e.g. {DEFAULT_TYPE}")] = None,
    county: Annotated[str | None, Query(description="县级代码 / county code", max_length=16)] = None,
    township: Annotated[str | None, Query(description="乡级代码 / township code", max_length=16)] = None,
    status: Annotated[Literal["open", "closed", "planned"] | None, Query(description="状态 / status")] = None,
    bbox: Annotated[str | None, Query(description="范围 / west,south,east,north (in crs)")] = None,
    amenity: AmenityParam = None,
    open_now: Annotated[bool | None, Query(description=(
        "此刻开放（地区时区；只含状态为开放且在开放时间内的站点）/ open right now (region's time zone): "
        "status open and within its hours"))] = None,
    demo: DemoParam = None,
    q: Annotated[str | None, Query(max_length=100, description=(
        "名称或地址包含此文字（不分大小写，% 与 _ 按字面）/ name or address contains this text "
        "(case-insensitive; % and _ are literal characters, not wildcards)"))] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description=(
        f"每页数量（最多 {MAX_PAGE}）/ stations per page (at most {MAX_PAGE})"))] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, description=(
        "跳过前几个（按 id 排序）/ skip this many (id order)"))] = 0,
) -> StationPage:
    """按名称或地址文字、类型、县、乡镇、范围、状态、设施、是否开放筛选站点 / stations filtered.

    `q` 在名称与地址中查找所含文字 / `q` searches name and address for the text.
    每个要素带 `is_demo`（演示数据）和 `region_is_approximate`（乡镇边界为推算）标记。
    分页：按 id 排序，`numberMatched` 为全部匹配数，`links` 中 `next`/`prev` 保留其他参数 /
    paged in id order: `numberMatched` counts every match; `next`/`prev` links keep the other parameters.
    """
    box = bbox_to_wgs84(parse_bbox(bbox), crs) if bbox is not None else None
    where = catalogue.StationFilter(type_code=type, county=county, township=township, status=status, bbox=box,
                                    is_demo=demo, amenities=tuple(amenity or ()), q=q)
    states = station_states(catalogue.station_rows(session, where), at=datetime.now().astimezone(),
                            timezone=region.timezone)
    if open_now is not None:  # hours are read in Python, so this filter comes before the page is cut
        states = [state for state in states if state.open_now is open_now]
    page = states[offset:offset + limit]
    links = page_links(request, offset=offset, limit=limit, returned=len(page), matched=len(states))
    body = station_collection_json(page, crs=crs, extra={"numberMatched": len(states), "links": links})
    return Response(body, media_type="application/json")  # type: ignore[return-value]


@router.get("/nearest", summary="最近的站点 / nearest open stations", response_model=NearestOut)
def nearest_stations(
    request: Request,
    session: ReadSessionDep,
    region: AreaDep,
    settings: SettingsDep,
    lon: Annotated[float, Query(ge=-180, le=180, description="经度 / longitude (in crs)")],
    lat: Annotated[float, Query(ge=-90, le=90, description="纬度 / latitude (in crs)")],
    crs: CrsParam = "wgs84",
    type: Annotated[str | None, Query(description="服务类型 / service type")] = None,
    amenity: AmenityParam = None,
    open_now: Annotated[bool, Query(description="只要此刻开放的 / only stations open now")] = False,
    limit: Annotated[int, Query(ge=1, le=50, description="数量 / how many")] = 5,
    station: Annotated[int | None, Query(ge=1, le=2**63 - 1, description=(
        "先列出这个站点（不受筛选条件限制，须仍在开放名录中；印在站点卡片的二维码上）/ list this station "
        "first, whatever the filters, if it still counts as open (the QR of a printed station card)"))] = None,
) -> Response:
    """按真实距离（米）排序的最近开放站点，附导航链接 / nearest open stations by distance on the ground.

    导航链接：高德用 GCJ-02，百度用 BD-09，Apple 地图与 geo: 用 WGS-84。
    `reported_closed`：多名骑手报告已关闭、尚未核实 / several riders reported it closed, not yet checked.
    """
    wgs_lon, wgs_lat = (float(v) for v in crs_convert(lon, lat, crs, "wgs84"))
    now = datetime.now().astimezone()
    rows = nearest(session, lon=wgs_lon, lat=wgs_lat, type_code=type, amenities=tuple(amenity or ()),
                   open_at=now if open_now else None, timezone=region.timezone, limit=limit,
                   first=station, flagged=request.app.state.reported_closed.ids(
                       session, flag_clients=settings.closed_reports_to_flag))
    if not rows and type is not None:
        service_types.check_type(session, type)  # an empty answer: say so if the type is unknown
    lons, lats = [row.pop("lon") for row in rows], [row.pop("lat") for row in rows]
    out_lon, out_lat = coords.convert(lons, lats, source="wgs84", target=crs)
    links = navigation.links_many(lons, lats, [row["name"] for row in rows])
    for row, x, y, link in zip(rows, out_lon, out_lat, links, strict=True):
        row.update(distance_m=round(float(row["distance_m"]), 1), lon=float(x), lat=float(y), navigation=link)
    out = NearestOut.model_validate({"query": {"lon": lon, "lat": lat, "crs": crs, "type": type, "open_now": open_now,
                                               "at": now.isoformat(), "timezone": region.timezone,
                                               "station": station},
                                     "stations": rows})
    # Validated once here; handing FastAPI a Response spares it a second validation pass.
    return Response(out.model_dump_json(), media_type="application/json")


def crs_convert(lon: float, lat: float, source: coords.CoordSystem, target: coords.CoordSystem) -> tuple[float, float]:
    """One point between coordinate systems (identity when equal)."""
    x, y = coords.convert(lon, lat, source=source, target=target)
    return float(x), float(y)


@router.get("/{station_id:int}", summary="单个站点 / one station",
            responses={200: {"headers": responses.ETAG}, 404: responses.error("不存在 / no such station")})
def get_station(station_id: StationId, session: ReadSessionDep, region: AreaDep,
                crs: CrsParam = "wgs84") -> FeatureCollection[StationProperties]:
    """一个站点（FeatureCollection 中的一个要素），`ETag` 为其版本 / one station; ETag = its version."""
    rows = catalogue.station_rows(session, catalogue.StationFilter(ids=(station_id,)))
    if not rows:
        raise NotFound(f"station {station_id} does not exist")
    answer = station_response(rows, crs, region)
    answer.headers["ETag"] = etag(rows[0]["version"])
    return answer  # type: ignore[return-value]  # documented as the schema, sent as bytes


@router.get("/{station_id:int}/history", summary="修改记录 / history of a station",
            responses={404: responses.error("没有记录 / no such station")})
def station_history(station_id: StationId, session: ReadSessionDep, settings: SettingsDep) -> list[HistoryEntry]:
    """谁在何时改了什么，每个字段之前 → 之后（已删除的站点也可读）/ who changed what, and when (oldest
    first), each field before → after as riders read it; a deleted station's history too."""
    entries = history.changes(session, station_id, data_dir=settings.data_dir)
    return [HistoryEntry(**vars(entry) | {"changes": [vars(field) for field in entry.fields]}) for entry in entries]


def etag(version: int) -> str:
    """The ETag of a station version."""
    return f'"{version}"'
