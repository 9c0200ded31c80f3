"""Coverage, gaps against the targets, and siting plans over HTTP."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api import responses
from api.allow import AllowRoute
from api.deps import (
    ModelCacheDep,
    PlanId,
    ReadSessionDep,
    RegionDep,
    SessionDep,
    count_anonymous_plan,
    get_caller,
    require_writer,
    solve_plan,
)
from api.routers import plan_jobs
from api.schemas import PlanIn, PlanOut, StoredPlan, StoredSite
from geo.core.frames import row_dicts
from geo.errors import InputError, NotFound
from geo.notices import COUNTY_UNITS, MODELLED, POSITION_UNKNOWN, no_targets
from geo.services import gaps, plan_page
from geo.services.coverage_query import coverage_report
from geo.services.transaction import unit_of_work
from geo.store import plans
from geo.store.keys import Caller

router = APIRouter(tags=["analysis 分析"], route_class=AllowRoute)  # /plans: POST here, GET /plans/{id}

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
    position_unknown: bool = Field(description=f"乡镇 / the township: {POSITION_UNKNOWN.text}")


class CoverageOut(BaseModel):
    level: Level
    include_planned: bool
    population_is_modelled: bool = Field(description=MODELLED.text)
    rows: list[CoverageRow]
    notice: str | None = Field(default=None, description=(
        f"乡镇级而本地区无乡镇名单时 / at township level of a region without a township list: {COUNTY_UNITS.text}"))


@router.get("/coverage", summary="覆盖分析 / population covered per type and region",
            responses={409: {"description": "尚未建立人口网格 / no demand grid yet"}})
def coverage(session: ReadSessionDep, cache: ModelCacheDep, region: RegionDep,
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
                       rows=[CoverageRow(**row) for row in row_dicts(table)],
                       notice=COUNTY_UNITS.text if level == "township" and region.county_units else None)


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
    notice: str | None = Field(default=None, description=(
        "本地区未配置目标时的说明（targets 为空）/ said when the region has no targets configured (targets empty)"))


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
                   baselines=_plain(row_dicts(baselines)) if baselines is not None else [],
                   notice=no_targets(region.name_zh) if rows.empty else None)


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
        caller = require_writer(request, caller)
    if body.candidates is not None and body.method == "exact":
        raise InputError("自有候选点目前只支持贪心求解 / your own candidates plan with method greedy only",
                         field="candidates")
    if caller is None and body.method == "exact":
        raise HTTPException(401, detail="精确求解需要 API 密钥 / the exact solver needs an API key",
                            headers={"WWW-Authenticate": "Bearer"})
    count_anonymous_plan(request, caller)
    # --- plan jobs (issue 12 §3): an exact plan runs in the background; 202 with the job's URL ---
    if body.method == "exact" and caller is not None:
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
