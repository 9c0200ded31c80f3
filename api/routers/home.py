"""The start page: what a planner opens first — maps, targets met or not, counts, and the notices."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from api.deps import AreaDep, ModelCacheDep, ReadSessionDep
from api.editor.auth import editor_of
from api.home_page import HomeFigures, render
from api.province_page import ProvinceFigures
from api.province_page import render as render_province
from api.regions_prefix import site_root
from maps.links import rooted
from geo.notices import COUNTY_UNITS, DEMO, MODELLED, NO_PLACES, approximate_notice, no_targets, position_unknown_count
from geo.services import gaps, reports, rollup
from geo.services.coverage_query import ModelCache
from geo.services.rollup import ProvinceArea
from geo.store import catalogue, deployment, service_types

router = APIRouter(tags=["home 首页"])


@router.get("/", response_class=HTMLResponse, response_model=None, summary="首页 / start page")
def home(request: Request, session: ReadSessionDep, cache: ModelCacheDep,
         area: AreaDep) -> HTMLResponse | RedirectResponse:
    """地图入口、每个目标的已建/要求与缺口、未达标的县和乡镇、为此规划、各类站点数量与数据说明；
    省级汇总页为各市覆盖与目标及全省合计 / maps, each target's figures, the units that miss it, the plan
    that closes it, counts, notices; a province's page: each city's coverage and targets, and totals."""
    if isinstance(area, ProvinceArea):  # its start page is the roll-up, heavy work: under /maps/
        return RedirectResponse(rooted("/maps/rollup"), status_code=307)
    region = area
    tally = catalogue.home_counts(session)
    demo, approximate = tally.demo_stations, tally.approximate_regions
    _, info = cache.get(session)
    rows = gaps.gaps(session, cache=cache)
    unknown, townships = tally.unknown_townships, tally.townships
    boundary = approximate_notice(unknown, townships).counted(approximate, "乡镇", "townships")
    notices = [text for text, shown in (
        (COUNTY_UNITS.text, region.county_units),
        (DEMO.counted(demo, "站点", "stations"), demo), (boundary, approximate),
        (position_unknown_count(unknown, townships), unknown),
        (MODELLED.text, info.population_is_modelled),
        (NO_PLACES.text, info.population_is_modelled and region.places is None),
        (no_targets(region.name_zh), rows.empty)) if shown]
    types = [(t.code, t.name_zh) for t in service_types.service_types(session)]
    editor = editor_of(request, session) if request.cookies else None  # readers: no session lookup
    open_reports = reports.open_count(session) if editor is not None and editor.caller.can_write else None
    held = deployment.figures(session) if len(request.app.state.regions) > 1 else []
    html = render(HomeFigures(
        region_name_zh=region.name_zh, region_name_en=region.name_en, notices=notices, summary=gaps.summary(rows),
        gap_rows=rows, types=types, open_by_type=tally.open_by_type, open_reports=open_reports, held=held,
        site_root=site_root(request.scope), region_code=region.code))
    # An editor's page holds their figures: never kept by a shared cache, nor served to a reader.
    return HTMLResponse(html, headers={"Cache-Control": "private, no-store"} if open_reports is not None else None)


@router.get("/maps/rollup", response_class=HTMLResponse, summary="汇总 / roll-up of a province's cities",
            tags=["maps 地图"])
def rollup_page(request: Request, session: ReadSessionDep, cache: ModelCacheDep, area: AreaDep) -> HTMLResponse:
    """各市覆盖人口与目标，及合计（省级汇总的首页；单市亦可）/ each city's coverage and targets, with the
    totals: a province's start page (a city's too)."""
    area = area if isinstance(area, ProvinceArea) else ProvinceArea(
        area.code, area.name_zh, area.name_en, area.timezone, (area.code,), area.county_units)
    return province_home(request, session, cache, area)


def province_home(request: Request, session: Session, cache: ModelCache, area: ProvinceArea) -> HTMLResponse:
    """The roll-up page of a province (or of one city, as a province of one)."""
    names = {row.code: row.name_zh for row in deployment.all_regions(session)}
    coverage = rollup.coverage_rollup(session, area.cities, names, cache=cache)
    targets = rollup.targets_rollup(session, area.cities, names, cache=cache)
    held = {f.region.code: f for f in deployment.figures(session)}
    demo = held[area.code].demo_stations if area.code in held else 0
    without = [names.get(code, code) for code in area.cities if code not in set(targets["city_code"])]
    notices = [text for text, shown in (
        (f"{COUNTY_UNITS.label}：部分市未提供乡镇名单，其“乡镇”为整个区县 / some cities gave no township list: "
         "their units are whole counties", area.county_units),
        (DEMO.counted(demo, "站点", "stations"), demo),
        (MODELLED.text, bool(coverage["population_is_modelled"].any())),
        (f"未设目标的市 / cities with no targets: {'、'.join(without)}", without)) if shown]
    return HTMLResponse(render_province(ProvinceFigures(area, names, coverage, targets, notices,
                                                        site_root(request.scope))))


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """No icon: answer quietly instead of a 404 in every browser console."""
    return Response(status_code=204)
