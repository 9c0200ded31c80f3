"""Folium maps as HTML pages; scripts and stylesheets come from this app (or inlined), never a CDN."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, TypedDict

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ModelCacheDep, ReadSessionDep, RegionDep, SettingsDep, StationId, solve_plan
from geo.analysis.gaps import PLAN_MAX_ADD, PLAN_MAX_MIN_PER_COUNTY
from geo.core.export import xlsx_bytes
from geo.notices import no_targets
from geo.reference import DEFAULT_TYPE, service_types
from geo.reference.region import RegionConfig
from geo.services import map_data
from geo.services.map_data import MapData
from geo.settings import Settings
from geo.store.service_types import check_type
from maps import assets, pages

router = APIRouter(prefix="/maps", tags=["maps 地图"])

TypeParam = Annotated[str, Query(description="服务类型 / service type")]
DownloadParam = Annotated[bool, Query(description="下载为独立 HTML 文件（离线可用）/ standalone HTML file")]


class _HtmlRoute(TypedDict):
    """The keyword arguments that make a route an HTML page in the OpenAPI document."""

    response_class: type[Response]
    responses: dict[int | str, dict[str, Any]]


HTML: _HtmlRoute = {"response_class": HTMLResponse, "responses": {200: {"content": {"text/html": {}}}}}


def page(data: MapData, settings: Settings, region: RegionConfig, download: bool) -> HTMLResponse:
    """Render the map, with the place names and notes of the database's region; as a self-contained
    attachment when downloading."""
    data = map_data.with_region_notes(map_data.with_places(data, region), region)
    amenities = service_types.read_amenities(settings.data_dir / "amenities.yaml")
    map_ = pages.build(data, amenity_names={code: a.name_zh for code, a in amenities.items()},
                       basemap=settings.drawn_basemap, tianditu_key=settings.tianditu_key)
    headers = {"Content-Disposition": f'attachment; filename="unionmap-{data.kind}.html"'} if download else None
    return HTMLResponse(assets.render(map_, standalone=download), headers=headers)


@router.get("/stations", summary="站点地图 / all stations", **HTML)
def stations_page(session: ReadSessionDep, settings: SettingsDep, cache: ModelCacheDep, region: RegionDep,
                  download: DownloadParam = False) -> HTMLResponse:
    """全部站点按类型分层显示 / all stations by type, legend and notices."""
    return page(map_data.stations_data(session, cache), settings, region, download)


@router.get("/coverage", summary="覆盖地图 / coverage by township", **HTML)
def coverage_page(session: ReadSessionDep, settings: SettingsDep, cache: ModelCacheDep, region: RegionDep,
                  type: TypeParam = DEFAULT_TYPE, download: DownloadParam = False) -> HTMLResponse:
    """乡镇按覆盖率着色，未覆盖人口六边形图层可切换 / townships by covered share; uncovered people."""
    check_type(session, type)
    return page(map_data.coverage_data(session, cache, type), settings, region, download)


@router.get("/gaps", summary="目标差距地图 / gaps against the targets", **HTML)
def gaps_page(session: ReadSessionDep, settings: SettingsDep, cache: ModelCacheDep, region: RegionDep,
              target: Annotated[str | None, Query(max_length=100, description=(
                  "目标代码（默认：首个未达标的每县目标）/ target code (default: the first unmet per-county "
                  "one)"))] = None,
              unit: Annotated[str | None, Query(max_length=20, description=(
                  "放大到该县或乡镇 / zoom to this county or township code"))] = None,
              download: DownloadParam = False) -> HTMLResponse:
    """选一个目标：各县（或乡镇）按达标/未达标着色，未达标单位列表及其缺口，“为此规划”直达选址方案；
    全部目标与报告原文 / one target: units filled met or not, the failing ones listed, a plan link."""
    return page(map_data.gaps_data(session, cache, report=region.report_zh, target=target, unit=unit),
                settings, region, download)


@router.get("/gaps.xlsx", summary="目标差距表 / the gap table as a workbook",
            response_class=Response, responses={200: {"content": {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}})
def gaps_workbook(session: ReadSessionDep, cache: ModelCacheDep, region: RegionDep) -> Response:
    """每个目标、每个县与乡镇一行，冻结表头；无目标时说明 / one row per target and unit, frozen header;
    with no targets, a notes sheet says so."""
    data = map_data.gaps_data(session, cache)
    rows = data.gap_rows if data.gap_rows is not None else pd.DataFrame()
    content = xlsx_bytes(rows, sheet="目标差距 gaps", notice=no_targets(region.name_zh) if rows.empty else None)
    return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="unionmap-gaps.xlsx"'})


@router.get("/plan", summary="选址方案地图 / proposed sites", **HTML)
def plan_page(request: Request, session: ReadSessionDep, settings: SettingsDep, cache: ModelCacheDep,
              region: RegionDep, type: TypeParam = DEFAULT_TYPE,
              add: Annotated[int, Query(ge=1, le=PLAN_MAX_ADD, description="新增站点数 / sites to add")] = 10,
              min_per_county: Annotated[int, Query(ge=0, le=PLAN_MAX_MIN_PER_COUNTY,
                                                   description="每县至少 / per county")] = 0,
              download: DownloadParam = False) -> HTMLResponse:
    """贪心选址的新址（按顺序编号）及规划前后覆盖 / numbered proposals, before and after."""
    check_type(session, type)
    solve = partial(solve_plan, request)  # in the solver processes, stopped if the client hangs up
    return page(map_data.plan_data(session, cache, type, add, min_per_county, solve=solve), settings, region,
                download)


@router.get("/station/{station_id}", summary="站点详情地图 / one station and its service area",
            responses={200: {"content": {"text/html": {}}}, 404: {"description": "不存在 / no such station"}},
            response_class=HTMLResponse)
def station_page(station_id: StationId, session: ReadSessionDep, settings: SettingsDep, cache: ModelCacheDep,
                 region: RegionDep, download: DownloadParam = False) -> HTMLResponse:
    """一个站点与其服务半径 / one station with its urban and rural radius."""
    return page(map_data.station_data(session, cache, station_id), settings, region, download)
