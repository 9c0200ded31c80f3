"""Coverage, gaps against the targets, and siting plans over HTTP."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import responses
from api.allow import AllowRoute
from api.deps import (
    CrsParam,
    ModelCacheDep,
    PlanId,
    ReadSessionDep,
    RegionDep,
    SessionDep,
    WriterDep,
    client_of,
    evaluate_plan,
    get_caller,
    require_writer,
    solve_plan,
)
from api.schemas import CandidatesOut, SavedEditOut, SiteIn, WhatIfIn, WhatIfOut
from geo.analysis.whatif import WhatIf
from geo.core.crs import CoordSystem
from geo.core.frames import row_dicts
from geo.errors import InputError, NotFound
from geo.notices import MODELLED
from geo.reference import DEFAULT_TYPE
from geo.services import gaps, plan_page
from geo.services.coverage_query import ModelCache, coverage_report
from geo.services.transaction import unit_of_work
from geo.store import plans
from geo.store.keys import Caller

# Candidate sites one plan may be given (a CSV of every village seat of a city fits).
MAX_CANDIDATES = 5000

router = APIRouter(tags=["analysis 分析"], route_class=AllowRoute)  # /plans/export: GET and POST

Level = Literal["city", "county", "township"]


class CoverageRow(BaseModel):
    type_code: str
    type_name: str
    region_code: str
    region_name: str | None
    stations: int = Field(description="计入的站点数 / stations counted in the region")
    population: float
    covered_population: float
    uncovered_population: float
    covered_share: float = Field(description="覆盖率 0..1")


class CoverageOut(BaseModel):
    level: Level
    include_planned: bool
    population_is_modelled: bool = Field(description=MODELLED.text)
    rows: list[CoverageRow]


@router.get("/coverage", summary="覆盖分析 / population covered per type and region",
            responses={409: {"description": "尚未建立人口网格 / no demand grid yet"}})
def coverage(session: ReadSessionDep, cache: ModelCacheDep,
             level: Annotated[Level, Query(description="city 全市 | county 县 | township 乡镇")] = "county",
             type: Annotated[str | None, Query(description="服务类型 / service type")] = None,
             include_planned: Annotated[bool, Query(description="计入规划站点 / count planned stations")] = False,
             plan: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="只计入该方案 / only this plan")] = None,
             ) -> CoverageOut:
    """每种类型在每个区域覆盖的人口；开放站点计入，规划站点作为情景 / open stations; planned as a scenario."""
    model, info = cache.get(session)
    table = coverage_report(session, model, info, level=level, type_code=type,
                            include_planned=include_planned or plan is not None, plan_id=plan)
    return CoverageOut(level=level, include_planned=include_planned or plan is not None,
                       population_is_modelled=info.population_is_modelled,
                       rows=[CoverageRow(**row) for row in row_dicts(table)])


class GapRow(BaseModel):
    target_code: str
    type_code: str
    type_name: str
    scope: Literal["city", "county", "township"]
    region_code: str
    region_name: str | None
    kind: Literal["count", "coverage"]
    required: float
    built: float
    shortfall: float
    met: bool
    deadline: str | None
    overdue: bool
    source_quote: str = Field(description="报告原文 / the report's sentence")
    note: str


class TargetSummary(BaseModel):
    target_code: str
    type_name: str
    scope: str
    kind: str
    required: float
    units: int
    units_met: int
    built: float
    shortfall: float
    deadline: str | None
    overdue: bool
    source_quote: str
    note: str


class GapsOut(BaseModel):
    targets: list[TargetSummary]
    rows: list[GapRow] | None = Field(description="每个县、乡镇一行（detail=true）/ one row per unit")
    baselines: list[dict[str, Any]] = Field(description="报告中没有目标的基数 / figures without a target")


def _plain(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """JSON-ready values: NaN and NaT become None, dates ISO strings."""
    def value(item: Any) -> Any:
        if item is None or isinstance(item, str):
            return item
        if pd.isna(item):
            return None
        return item.isoformat() if hasattr(item, "isoformat") else item

    return [{key: value(item) for key, item in record.items()} for record in records]


@router.get("/gaps", summary="目标差距 / gaps against the report's targets")
def gap_table(session: ReadSessionDep, cache: ModelCacheDep, region: RegionDep,
              detail: Annotated[bool, Query(description="逐县逐乡镇 / one row per unit")] = False,
              include_planned: Annotated[bool, Query(description="计入规划站点")] = False) -> GapsOut:
    """每个目标：要求、已建、缺口、是否达标、是否逾期、报告原文 / each target of the report."""
    rows = gaps.gaps(session, include_planned=include_planned, cache=cache)
    baselines = gaps.baselines(region.path(region.targets)) if region.targets else None
    return GapsOut(targets=[TargetSummary(**r) for r in _plain(row_dicts(gaps.summary(rows)))],
                   rows=[GapRow(**r) for r in _plain(row_dicts(rows))] if detail else None,
                   baselines=_plain(row_dicts(baselines)) if baselines is not None else [])


class PlanIn(BaseModel):
    type: str = Field(default=DEFAULT_TYPE, description="服务类型 / service type")
    add: int = Field(ge=1, le=500, description="新增站点数 / how many new sites")
    min_per_county: int = Field(default=0, ge=0, le=100,
                                description="每县至少（含已有）/ per county, existing included")
    method: Literal["greedy", "exact"] = "greedy"
    time_limit_s: float = Field(default=30.0, gt=0, le=3600, description=(  # plan jobs (issue 12 §3): up to an hour
        "精确解时限（秒，含读取网格与建模）/ wall-clock limit of an exact plan job in seconds, reading the grid and "
        "building the instance included"))
    save: bool = Field(default=False, description="保存为规划站点（需编辑密钥）/ save as planned stations (editor key)")
    candidates: list[SiteIn] | None = Field(default=None, min_length=1, max_length=MAX_CANDIDATES, description=(
        f"自有候选点（至多 {MAX_CANDIDATES} 个，贪心求解）；不给则用网格候选点 / your own candidate sites (at most "
        f"{MAX_CANDIDATES}, greedy only); the grid's candidates when left out"))
    candidate_crs: CoordSystem = Field(default="wgs84", description="candidates 的坐标系 / their coordinate system")


class Proposal(BaseModel):
    order: int
    name: str
    lon: float
    lat: float
    county_code: str
    township_code: str
    county_name: str | None = None
    township_name: str | None = None
    added: float = Field(description="新增覆盖人口 / people this site adds")
    cumulative: float
    share: float


class PlanOut(BaseModel):
    plan_id: int | None
    type: str
    method: str
    status: str
    objective: float
    upper_bound: float = Field(description="已证明的最优值上界（人）/ proven upper bound on the optimum (people)")
    bound_method: Literal["lagrangian", "online", "highs"] = Field(description=(
        "上界来源：拉格朗日上界、子模上界或 HiGHS 精确求解 / which proven bound upper_bound is"))
    bound_share: float = Field(description=(
        "objective / upper_bound：方案至少达到理论最优的比例 / the plan reaches at least this share of the optimum"))
    certificate: str = Field(description="方案质量证明（中文在前）/ the certificate in words, Chinese first")
    greedy_objective: float = Field(description=(
        "局部交换前的贪心覆盖人数 / covered by the greedy answer before 1-swaps"))
    swaps: int = Field(description="改进贪心解的 1-交换次数 / 1-swaps that improved the greedy answer")
    covered_before: float
    covered_after: float
    population: float
    seconds: float
    deficits: dict[str, int]
    proposals: list[Proposal]
    population_is_modelled: bool
    notices: list[str] = Field(default_factory=list, description=(
        "说明（演示数据、模型人口）/ notices to show with the figures (none in a job's stored answer)"))


@router.post("/plans", summary="选址规划 / where the next stations should go", response_model=PlanOut, responses={
    202: {"description": "精确求解已排队为后台任务，Location 为任务地址 / an exact plan, queued as a job: poll its "
                         "URL (Location)", "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/JobOut"}}}},  # plan jobs
    400: responses.UNREADABLE,
    401: responses.error("精确求解与保存需要密钥 / the exact solver and saving need an API key"),
    403: responses.READ_ONLY_KEY,
    422: responses.invalid("参数有误或超过时限（指明字段）/ bad input, or the plan hit its time limit"),
    429: responses.error("无密钥请求、错误密钥或该密钥的规划任务过多 / too many plans without a key, wrong keys, or "
                         "exact plan jobs of this key (Retry-After)",
                         headers=responses.RETRY_AFTER),
    503: responses.error("求解进程全忙或数据库不可用 / every solver process busy, or the database away",
                         headers=responses.RETRY_AFTER)})
def run_plan(request: Request, body: PlanIn, session: SessionDep, cache: ModelCacheDep,
             caller: Annotated[Caller | None, Depends(get_caller)]) -> PlanOut | JSONResponse:
    """最大覆盖选址：贪心（附上界）或精确（HiGHS）/ maximal covering siting.

    精确求解与 save=true 需要密钥（保存需编辑密钥）；无密钥的贪心请求按客户端限次。求解在独立进程中运行，
    超过时限即停止 / the exact solver needs a key (saving an editor key); plans without a key are
    limited per client. The solve runs in a solver process and is stopped at its wall-clock limit.
    """
    if body.save:
        caller = require_writer(caller)
    if body.candidates is not None and body.method == "exact":
        raise InputError("自有候选点目前只支持贪心求解 / your own candidates plan with method greedy only",
                         field="candidates")
    if caller is None and body.method == "exact":
        raise HTTPException(401, detail="精确求解需要 API 密钥 / the exact solver needs an API key",
                            headers={"WWW-Authenticate": "Bearer"})
    _count_anonymous_plan(request, caller)
    # --- plan jobs (issue 12 §3): an exact plan runs in the background; 202 with the job's URL ---
    if body.method == "exact" and caller is not None:
        from api.routers import plan_jobs  # it imports PlanOut from here

        return plan_jobs.accept(request, body.model_dump(), session, caller)
    # --- end plan jobs ---
    inputs = plan_page.plan_inputs(session, cache, body.type)  # no connection is held during the solve
    result = solve_plan(request, inputs.info.version, inputs.model, inputs.stations, inputs.kind,
                        inputs.info.resolution, add=body.add, min_per_county=body.min_per_county, method=body.method,
                        time_limit_s=body.time_limit_s if body.method == "exact" else None,
                        **plan_page.given_candidates(body.candidates, body.candidate_crs))
    plan_id = None
    if body.save and caller is not None:
        with unit_of_work(session, actor=caller.actor):
            plan_id = plans.save_plan(session, result, actor=caller.actor, parameters=body.model_dump())
    return PlanOut(**plan_page.plan_answer(result, inputs, plan_id=plan_id))


# ---- the plan page: what-if, candidates from a CSV, downloads, saving an edited plan ----------

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
    _count_anonymous_plan(request, caller)
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


def _count_anonymous_plan(request: Request, caller: Caller | None) -> None:
    """A solve without a key counts against the client's allowance (429 past it); a key's does not."""
    if caller is None:
        quota, client = request.app.state.anonymous_plans, client_of(request)
        quota.check(client, "无密钥的规划请求过多 / too many plans without an API key from this client")
        quota.record(client)


class StoredSite(BaseModel):
    station_id: int
    name: str
    lon: float = Field(description="经度 WGS-84")
    lat: float = Field(description="纬度 WGS-84")


class StoredPlan(BaseModel):
    id: int
    type_code: str
    method: str
    added: int
    objective: float
    upper_bound: float | None = Field(description="已证明的上界；编辑后的方案（method edited）为 null / proven "
                                                  "bound; null for an edited plan")
    covered_before: float
    covered_after: float
    population: float
    parameters: dict[str, Any]
    created_by: str
    created_at: str
    station_ids: list[int]
    sites: list[StoredSite] = Field(description="规划站点，按方案顺序 / its planned stations, in the plan's order")


@router.get("/plans/{plan_id:int}", summary="已保存的方案 / a saved plan",
            responses={404: {"description": "没有该方案 / no such plan"}})
def get_plan(plan_id: PlanId, session: ReadSessionDep) -> StoredPlan:
    """方案及其规划站点编号 / the plan and the ids of its planned stations."""
    row = plans.stored_plan(session, plan_id)
    if row is None:
        raise NotFound(f"plan {plan_id} does not exist")
    sites = [StoredSite(station_id=site["id"], name=site["name"], lon=site["lon"], lat=site["lat"])
             for site in row["sites"]]
    return StoredPlan(**(row | {"created_at": row["created_at"].isoformat(), "sites": sites}))
