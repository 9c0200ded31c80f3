"""The plan page's back end: what-if, candidates from a CSV, downloads, saving an edited plan.

The plan map (``maps/static/plan.js``) edits a plan in the browser; these routes evaluate the
sites on screen on the warm engine (no solve), read a planner's CSV of candidate sites, turn the
table on screen into a file, and save it as a plan. The plan itself is ``POST /plans``
(``api/routers/analysis.py``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import responses
from api.allow import AllowRoute
from api.deps import (
    CrsParam,
    ModelCacheDep,
    SessionDep,
    WriterDep,
    count_anonymous_plan,
    evaluate_plan,
    get_caller,
    solve_plan,
)
from api.schemas import MAX_CANDIDATES, CandidatesOut, SavedEditOut, WhatIfIn, WhatIfOut
from geo.analysis.whatif import WhatIf
from geo.core.crs import CoordSystem
from geo.errors import InputError
from geo.reference import DEFAULT_TYPE
from geo.services import plan_page
from geo.services.coverage_query import ModelCache
from geo.services.transaction import unit_of_work
from geo.store import plans
from geo.store.keys import Caller

router = APIRouter(tags=["analysis 分析"], route_class=AllowRoute)  # /plans/export: GET and POST

TableFormatParam = Annotated[Literal["csv", "xlsx"], Query(description="文件格式 / file format")]
WHAT_IF_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: responses.UNREADABLE,
    409: responses.error("尚未建立人口网格 / no demand grid yet"),
    422: responses.invalid("参数有误：指明字段，区域外的地点指明序号 sites[i] / bad input: the field named, a site "
                           "outside the region by its index sites[i]"),
    503: responses.error("求解进程全忙 / every solver process busy", headers=responses.RETRY_AFTER)}
TABLE_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {media: {} for media in plan_page.MEDIA_TYPES.values()}}}


@router.post("/plans/evaluate", summary="假设分析 / what-if: the people each site adds, no solve",
             responses=WHAT_IF_RESPONSES)
def evaluate(request: Request, body: WhatIfIn, session: SessionDep, cache: ModelCacheDep) -> WhatIfOut:
    """按给定顺序，每个地点在已开放站点与之前各点之外新增覆盖的人数，以及前后合计；不重新求解，无需密钥，
    不计入无密钥规划次数 / what each site adds, in order, on top of the open stations and the sites
    before it, with the totals: an evaluation on the warm model, not a solve (no key, no plan quota).

    同一覆盖规则：按方案的 proposals 顺序评估，结果与方案的 added、covered_after 完全相同 / the coverage
    rule of plans: evaluating a plan's proposals in its order gives back its figures exactly.
    """
    inputs = plan_page.plan_inputs(session, cache, body.type)
    return WhatIfOut(**plan_page.what_if_document(_what_if(request, body, inputs), inputs,
                                                  [site.name for site in body.sites]))


def _what_if(request: Request, body: WhatIfIn, inputs: plan_page.PlanInputs) -> WhatIf:
    lon, lat = plan_page.to_wgs84([(site.lon, site.lat) for site in body.sites], body.crs)
    return evaluate_plan(request, inputs.info.version, inputs.model, inputs.stations, inputs.kind,
                         inputs.info.resolution, lon, lat)


@router.post("/plans/export", summary="下载方案表 / the proposals table as CSV or XLSX", response_class=Response,
             responses=TABLE_CONTENT | WHAT_IF_RESPONSES)
def export_sites(request: Request, body: WhatIfIn, session: SessionDep, cache: ModelCacheDep,
                 format: TableFormatParam = "xlsx") -> Response:
    """页面上的方案表（可能已增删）：顺序、县、乡镇、经纬度、新增人数、累计覆盖率；附说明 / the table on
    screen (edited or not), with the totals and the demo / modelled notices."""
    inputs = plan_page.plan_inputs(session, cache, body.type)
    evaluation = _what_if(request, body, inputs)
    content = plan_page.table_file(evaluation.sites, inputs, format, before=evaluation.covered_before,
                                   after=evaluation.covered_after, population=evaluation.population)
    return _download(content, format, inputs)


@router.get("/plans/export", summary="下载贪心方案表 / a greedy plan's table as CSV or XLSX",
            response_class=Response, responses=TABLE_CONTENT | WHAT_IF_RESPONSES | {
                429: responses.error("无密钥规划过多 / too many plans without a key", headers=responses.RETRY_AFTER)})
def export_plan(request: Request, session: SessionDep, cache: ModelCacheDep,
                caller: Annotated[Caller | None, Depends(get_caller)],
                add: Annotated[int, Query(ge=1, le=500, description="新增站点数 / how many new sites")],
                type: Annotated[str, Query(max_length=64, description="服务类型 / service type")] = DEFAULT_TYPE,
                min_per_county: Annotated[int, Query(ge=0, le=100, description="每县至少（含已有）")] = 0,
                format: TableFormatParam = "xlsx") -> Response:
    """与 POST /plans 相同的贪心方案，作为表格下载（计入无密钥规划次数）/ the greedy plan POST /plans makes,
    as a file (a solve: counted against the anonymous plan quota)."""
    count_anonymous_plan(request, caller)
    inputs = plan_page.plan_inputs(session, cache, type)
    result = solve_plan(request, inputs.info.version, inputs.model, inputs.stations, inputs.kind,
                        inputs.info.resolution, add=add, min_per_county=min_per_county)
    content = plan_page.table_file(result.proposals, inputs, format, before=result.covered_before,
                                   after=result.covered_after, population=result.population)
    return _download(content, format, inputs)


def _download(content: bytes, file_format: str, inputs: plan_page.PlanInputs) -> Response:
    """The file with its type and a name: ASCII for old clients, the Chinese one as filename*."""
    ascii_name = f"unionmap-plan-{inputs.kind.code}.{file_format}"
    name = quote(f"选址方案-{inputs.kind.name_zh}.{file_format}")
    return Response(content, media_type=plan_page.MEDIA_TYPES[file_format],  # type: ignore[index]
                    headers={"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{name}"})


@router.post("/plans/candidates", summary="上传候选点 CSV / parse a CSV of candidate sites",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "text/csv": {"schema": {"type": "string", "format": "binary"}}}}},
             responses={409: WHAT_IF_RESPONSES[409], 413: responses.TOO_LARGE, 422: responses.invalid(
                 "指明行号与字段（表头为第 1 行）/ the bad row (header = row 1) and field")})
async def parse_candidates(request: Request, session: SessionDep, cache: ModelCacheDep, crs: CrsParam = "wgs84",
                           filename: Annotated[str, Query(max_length=200, description=(
                               "文件名（用于报错）/ the file's name, for errors"))] = "upload.csv",
                           ) -> CandidatesOut:
    """请求体为 CSV 文件本身：列 lon、lat，可选 name（UTF-8）；返回 WGS-84 坐标及所在县、乡镇，可作为
    POST /plans 的 candidates / the body is the CSV itself (columns lon, lat, optional name); the sites
    come back in WGS-84 with their county and township, ready for POST /plans ``candidates``."""
    content = await request.body()
    return await run_in_threadpool(_parse_candidates, content, session, cache, crs, filename)


def _parse_candidates(content: bytes, session: Session, cache: ModelCache, source_crs: CoordSystem,
                      filename: str) -> CandidatesOut:
    return CandidatesOut(**plan_page.candidates_from_csv(session, cache, content, file=filename,
                                                         source_crs=source_crs, limit=MAX_CANDIDATES))


@router.post("/plans/edited", status_code=201, summary="保存编辑后的方案 / save an edited plan (editor key)",
             responses=WHAT_IF_RESPONSES | {401: responses.NEEDS_KEY, 403: responses.READ_ONLY_KEY,
                                            201: {"headers": {"Location": {"required": True,
                                                                           "schema": {"type": "string"}}}}})
def save_edited(request: Request, response: Response, body: WhatIfIn, session: SessionDep, cache: ModelCacheDep,
                caller: WriterDep) -> SavedEditOut:
    """把页面上的地点（删改后的方案或自选点）保存为规划站点，方法记为 edited、无上界 / save the sites on screen
    as a plan's planned stations (method ``edited``, no proven bound); read it back at its URL."""
    if not body.sites:
        raise InputError("至少需要一个地点 / a plan needs at least one site", field="sites")
    inputs = plan_page.plan_inputs(session, cache, body.type)
    evaluation = _what_if(request, body, inputs)
    with unit_of_work(session, actor=caller.actor):
        plan_id = plans.save_sites(session, evaluation, actor=caller.actor, parameters=body.model_dump())
    url = f"{request.scope.get('root_path', '')}/api/v1/plans/{plan_id}"
    response.headers["Location"] = url
    document = plan_page.what_if_document(evaluation, inputs, [site.name for site in body.sites])
    return SavedEditOut(**document, plan_id=plan_id, url=url)
