"""Exact plans as background jobs: queue, read and cancel them (the API), and solve one (the runner's
solve process).

A job's answer is the plan in the JSON shape of a synchronous plan (``plan_document``, the API's
``PlanOut``), so a client reads one shape whichever way a plan was made. Its progress is the
solver's incumbent and proven bound, the latest and a short series over time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from geo.analysis import engine as siting_engine
from geo.analysis import planning
from geo.analysis.siting_exact import ExactProgress
from geo.core.frames import row_dicts
from geo.errors import Forbidden, NotFound, StateConflict, UnionmapError
from geo.notices import certificate
from geo.services import exact_plans
from geo.services.coverage_query import ModelCache, counted_stations, type_radii
from geo.services.transaction import end_reads, scope_as_settings, unit_of_work
from geo.settings import Settings
from geo.store import jobs, plans
from geo.store.db import make_engine, make_session_factory
from geo.store.keys import Caller
from geo.store.service_types import check_type

FINISHED = ("succeeded", "failed", "cancelled")
# What a job asks for (the fields of the API's PlanIn that an exact plan uses).
PARAMETERS = ("type", "add", "min_per_county", "time_limit_s", "save")


class TooManyJobs(UnionmapError):
    """The key already has as many jobs queued or running as it may."""


def submit(session: Session, *, parameters: dict[str, Any], caller: Caller, per_key: int) -> int:
    """Queue an exact plan for ``caller``; the job's id. The type is checked now (422 naming it);
    a key with ``per_key`` jobs queued or running gets TooManyJobs."""
    check_type(session, parameters["type"])
    active = jobs.active_jobs_of(session, caller.key_id)
    if active >= per_key:
        raise TooManyJobs(f"key {caller.name!r} already has {active} plan job(s) queued or running "
                          f"(at most {per_key}): wait for one to end, or cancel one")
    wanted = {name: parameters[name] for name in PARAMETERS}
    return jobs.create_job(session, parameters=wanted, created_by=caller.actor, key_id=caller.key_id)


def job_view(session: Session, job_id: int) -> dict[str, Any]:
    """The job as the API shows it: state, elapsed seconds, incumbent, bound, gap, history, plan, error."""
    row = jobs.get_job(session, job_id)
    if row is None:
        raise NotFound(f"plan job {job_id} does not exist")
    started: datetime | None = row["started_at"]
    end: datetime = row["finished_at"] or row["now"]
    incumbent, bound = row["incumbent"], row["bound"]
    return {
        "id": row["id"], "status": row["status"], "parameters": row["parameters"],
        "cancel_requested": row["cancel_requested_at"] is not None,
        "created_at": row["created_at"].isoformat(), "started_at": started.isoformat() if started else None,
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
        "elapsed_s": (end - started).total_seconds() if started else None,
        "incumbent": incumbent, "bound": bound, "gap": gap(incumbent, bound),
        "history": [{"seconds": s, "incumbent": i, "bound": b} for s, i, b in row["history"]],
        "result": row["result"], "error": row["error"],
    }


def cancel(session: Session, job_id: int, caller: Caller) -> str:
    """Cancel a job: a queued one at once, a running one at the solver's next stop; its status after.

    Only the key that queued it, or an editor's, may: Forbidden otherwise; StateConflict when the
    job has already finished.
    """
    row = jobs.get_job(session, job_id)
    if row is None:
        raise NotFound(f"plan job {job_id} does not exist")
    if row["key_id"] != caller.key_id and not caller.can_write:
        raise Forbidden(f"plan job {job_id} belongs to another key; only it or an editor key may cancel it")
    status = jobs.request_cancel(session, job_id)
    if status is None:
        raise StateConflict(f"plan job {job_id} has already ended ({row['status']}): nothing to cancel")
    return status


def gap(incumbent: float | None, bound: float | None) -> float | None:
    """``(bound - incumbent) / bound`` (0..1), None while either is unknown."""
    if incumbent is None or bound is None:
        return None
    return ExactProgress(0.0, incumbent, bound).gap


def plan_document(result: planning.PlanResult, *, type_code: str, plan_id: int | None,
                  population_is_modelled: bool) -> dict[str, Any]:
    """The plan as the API's ``PlanOut`` shows it, in plain JSON types (stored with its job)."""
    solution = result.solution
    return {
        "plan_id": plan_id, "type": type_code, "method": solution.method, "status": solution.status,
        "objective": solution.objective, "upper_bound": solution.upper_bound,
        "bound_method": result.bound_method, "bound_share": result.bound_share,
        "certificate": certificate(result.bound_share, result.bound_method),
        "greedy_objective": result.greedy_objective, "swaps": result.swaps,
        "covered_before": result.covered_before, "covered_after": result.covered_after,
        "population": result.population, "seconds": solution.seconds, "deficits": result.deficits,
        "proposals": [{key: value.item() if isinstance(value, np.generic) else value for key, value in row.items()}
                      for row in row_dicts(result.proposals)],
        "population_is_modelled": population_is_modelled,
    }


def solve_job(settings: Settings, parameters: dict[str, Any], *, actor: str,
              progress: Callable[[ExactProgress], Any], stop: exact_plans.StopFlag) -> dict[str, Any]:
    """Solve one job's exact plan (in the runner's solve process): load the grid and the registry
    as they are now, plan on the default candidates, save it when asked; its ``plan_document``.

    ``time_limit_s`` counts from here, reading the grid included.
    """
    started = time.monotonic()
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            scope_as_settings(session, settings)  # the job's region (the runner names it)
            model, info = ModelCache(siting_engine.files_directory(settings)).get(session)
            kind = type_radii(session, parameters["type"])[0]
            stations = counted_stations(session)
            end_reads(session)  # no transaction is held open during the solve
            # the default candidates and their matrix, mapped from this machine's files once built
            siting_engine.ENGINE.hold(info.version, model)
            instance = siting_engine.ENGINE.instance(model, kind, info.resolution)
            left_s = parameters["time_limit_s"] - (time.monotonic() - started)
            run = exact_plans.plan_exact(model, stations, kind, instance.candidates, add=parameters["add"],
                                         min_per_county=parameters["min_per_county"], time_limit_s=max(1.0, left_s),
                                         progress=progress, stop=stop, stop_grace_s=settings.exact_stop_grace_s,
                                         matrix=instance.matrix)
            plan_id = None
            if parameters.get("save"):
                with unit_of_work(session, actor=actor):
                    plan_id = plans.save_plan(session, run.result, actor=actor, parameters=parameters | {
                        "method": "exact"})
            return plan_document(run.result, type_code=kind.code, plan_id=plan_id,
                                 population_is_modelled=info.population_is_modelled)
    finally:
        engine.dispose()
