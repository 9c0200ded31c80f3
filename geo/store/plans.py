"""Saved plans: a plan row and its sites as ``planned`` stations tagged with the plan's id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from geo.analysis.planning import PlanResult
from geo.store.models import Plan, Station


def save_plan(session: Session, result: PlanResult, *, actor: str, parameters: dict[str, object]) -> int:
    """Store the plan and its sites as ``planned`` stations tagged with the plan id."""
    plan = Plan(type_code=result.type_code, method=result.solution.method, added=len(result.proposals),
                objective=result.solution.objective, upper_bound=result.solution.upper_bound,
                covered_before=result.covered_before, covered_after=result.covered_after,
                population=result.population, parameters=parameters, created_by=actor)
    session.add(plan)
    session.flush()
    rows = [{
        "type_code": result.type_code, "name": f"规划点 {row.order}（方案 {plan.id}）", "status": "planned",
        "geom": f"SRID=4326;POINT({row.lon} {row.lat})", "plan_id": plan.id,
        "address": "", "source": f"unionmap plan {plan.id} ({result.solution.method})",
    } for row in result.proposals.itertuples()]
    session.execute(insert(Station), rows)
    return plan.id


def stored_plan(session: Session, plan_id: int) -> dict[str, Any] | None:
    """The plan's row as a dict with ``station_ids`` (its live planned stations, by id), or None."""
    row = session.execute(select(Plan.__table__).where(Plan.id == plan_id)).mappings().one_or_none()
    if row is None:
        return None
    ids = list(session.scalars(select(Station.id).where(Station.plan_id == plan_id, Station.deleted_at.is_(None))
                               .order_by(Station.id)))
    return dict(row) | {"station_ids": ids}
