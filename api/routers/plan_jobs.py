"""Exact plans as background jobs: ``POST /plans`` with ``method=exact`` answers 202 with the job's
URL (``accept``); the job is read, and cancelled, here.

The job runs in the job runner's solve process (``geo.services.job_runner``), never in a web
worker; its state lives in PostgreSQL, so any worker answers for any job.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api import responses
from api.allow import AllowRoute
from api.deps import ReadSessionDep, SessionDep, get_caller
from api.schemas import PlanOut
from geo.services import plan_jobs
from geo.services.transaction import end_reads, unit_of_work
from geo.store.keys import Caller

router = APIRouter(prefix="/plans/jobs", tags=["analysis 分析"], route_class=AllowRoute)

JobId = Annotated[int, Path(ge=1, le=2**31 - 1, description="任务编号 / job id")]


class JobPoint(BaseModel):
    seconds: float = Field(description="求解开始后的秒数 / seconds since the solver began")
    incumbent: float | None = Field(description="当时的最好方案覆盖人数 / best plan found by then (people)")
    bound: float = Field(description="当时已证明的上界 / proven upper bound by then (people)")


class JobOut(BaseModel):
    id: int
    url: str = Field(description="任务地址 / this job's URL")
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"] = Field(
        description="排队 queued | 求解中 running | 完成 succeeded | 失败 failed | 已取消 cancelled")
    parameters: dict[str, Any] = Field(description="请求的参数 / what was asked: type, add, min_per_county, "
                                                   "time_limit_s, save")
    cancel_requested: bool
    created_at: str
    started_at: str | None
    finished_at: str | None
    elapsed_s: float | None = Field(description="已求解秒数 / seconds since it started (to its end when done)")
    incumbent: float | None = Field(description="目前最好方案的覆盖人数 / people the best plan so far covers")
    bound: float | None = Field(description="已证明的最优值上界 / proven upper bound on the optimum")
    gap: float | None = Field(description="(bound − incumbent) / bound，0..1")
    history: list[JobPoint] = Field(description="最好方案与上界随时间的变化（至多 240 点）/ incumbent and bound "
                                                "over time (at most 240 points)")
    result: PlanOut | None = Field(description="方案（与同步规划同一格式），完成或取消时有 / the plan, in the shape "
                                               "a synchronous plan answers, once it succeeded or was cancelled")
    error: str | None = Field(description="失败原因 / why it failed")


def job_out(request: Request, session: Session, job_id: int) -> JobOut:
    """The job as the API shows it, with its URL (under the app's mount point)."""
    url = f"{request.scope.get('root_path', '')}/api/v1/plans/jobs/{job_id}"
    return JobOut(url=url, **plan_jobs.job_view(session, job_id))


def accept(request: Request, parameters: dict[str, Any], session: Session, caller: Caller) -> JSONResponse:
    """Queue an exact plan (``POST /plans`` with ``method=exact``): 202, ``Location`` the job's URL."""
    try:
        with unit_of_work(session, actor=caller.actor):
            job_id = plan_jobs.submit(session, parameters=parameters, caller=caller,
                                      per_key=request.app.state.settings.jobs_per_key)
    except plan_jobs.TooManyJobs as error:
        raise HTTPException(429, detail=f"规划任务过多 / too many plan jobs: {error}",
                            headers={"Retry-After": "30"}) from error
    job = job_out(request, session, job_id)
    end_reads(session)
    return JSONResponse(status_code=202, content=job.model_dump(mode="json"), headers={"Location": job.url})


NOT_FOUND = responses.error("没有该任务 / no such job")


@router.get("/{job_id}", summary="规划任务 / an exact plan job: status, progress, plan",
            responses={404: NOT_FOUND, 422: responses.invalid()})
def get_job(request: Request, job_id: JobId, session: ReadSessionDep) -> JobOut:
    """任务状态、已用时间、目前最好方案与上界（及其随时间的变化）、完成后的方案或失败原因。

    Status, elapsed seconds, the best plan's value and the proven bound so far (and over time), then
    the plan (``result``, the shape of a synchronous plan) or why it failed (``error``).
    """
    return job_out(request, session, job_id)


CANCEL_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "排队中的任务已取消 / a queued job, cancelled at once", "model": JobOut},
    202: {"description": "求解将在下一个检查点停止，保留目前最好方案 / the solver stops at its next check and keeps "
                         "the best plan found"},
    401: responses.NEEDS_KEY, 422: responses.invalid(), 429: responses.TOO_MANY_WRONG_KEYS, 404: NOT_FOUND,
    403: responses.error("只有创建它的密钥或编辑密钥可取消 / only the key that created it, or an editor key, "
                         "may cancel it"),
    409: responses.error("任务已结束 / the job has already ended")}


@router.delete("/{job_id}", status_code=status.HTTP_202_ACCEPTED, summary="取消规划任务 / cancel an exact plan job",
               responses=CANCEL_ANSWERS)
def cancel_job(request: Request, response: Response, job_id: JobId, session: SessionDep,
               caller: Annotated[Caller | None, Depends(get_caller)]) -> JobOut:
    """取消任务：排队中的立即取消（200），求解中的在求解器下一个检查点停止（202），保留目前最好的方案。

    Cancel: a queued job at once (200); a running one stops at the solver's next check (202) and
    keeps the best plan found as its result. Only the key that created the job, or an editor key.
    """
    if caller is None:
        raise HTTPException(401, detail="取消任务需要 API 密钥 / cancelling a job needs an API key",
                            headers={"WWW-Authenticate": "Bearer"})
    with unit_of_work(session, actor=caller.actor):
        state = plan_jobs.cancel(session, job_id, caller)
    response.status_code = status.HTTP_200_OK if state == "cancelled" else status.HTTP_202_ACCEPTED
    job = job_out(request, session, job_id)
    end_reads(session)
    return job
