"""Saved plans: a plan row and its sites as ``planned`` stations tagged with the plan's id."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from geo.analysis.planning import PlanResult
from geo.analysis.whatif import WhatIf
from geo.store.counting import STATION, counted
from geo.store.models import Plan, Station
from geo.store.scope import city_of, in_scope

PLAN = cast(Table, Plan.__table__)

# The method a plan edited by hand is saved under: its sites were chosen by a person, so it
# carries no proven bound (``upper_bound`` is null).
EDITED = "edited"


def save_plan(session: Session, result: PlanResult, *, actor: str, parameters: dict[str, object]) -> int:
    """Store the plan and its sites as ``planned`` stations tagged with the plan id."""
    return _store(session, result.type_code, result.solution.method, result.proposals["lon"].to_numpy(),
                  result.proposals["lat"].to_numpy(), objective=result.solution.objective,
                  upper_bound=result.solution.upper_bound, covered_before=result.covered_before,
                  covered_after=result.covered_after, population=result.population, actor=actor,
                  parameters=parameters)


def save_sites(session: Session, evaluation: WhatIf, *, actor: str, parameters: dict[str, object]) -> int:
    """Store an edited list of sites (a what-if) as a plan of method ``edited``, with no bound."""
    return _store(session, evaluation.type_code, EDITED, evaluation.sites["lon"].to_numpy(),
                  evaluation.sites["lat"].to_numpy(), objective=evaluation.added, upper_bound=None,
                  covered_before=evaluation.covered_before, covered_after=evaluation.covered_after,
                  population=evaluation.population, actor=actor, parameters=parameters)


def _store(session: Session, type_code: str, method: str, lon: np.ndarray, lat: np.ndarray, *, objective: float,
           upper_bound: float | None, covered_before: float, covered_after: float, population: float, actor: str,
           parameters: dict[str, object]) -> int:
    region = city_of(session)
    plan = Plan(region_code=region, type_code=type_code, method=method, added=len(lon), objective=objective, upper_bound=upper_bound,
                covered_before=covered_before, covered_after=covered_after, population=population,
                parameters=parameters, created_by=actor)
    session.add(plan)
    session.flush()
    rows = [{
        "region_code": region, "type_code": type_code, "name": f"规划点 {order}（方案 {plan.id}）", "status": "planned",
        "geom": f"SRID=4326;POINT({x!r} {y!r})", "plan_id": plan.id,
        "address": "", "source": f"unionmap plan {plan.id} ({method})",
    } for order, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True), start=1)]
    if rows:
        session.execute(insert(Station), rows)
    return plan.id


def stored_plan(session: Session, plan_id: int) -> dict[str, Any] | None:
    """The plan's row as a dict with ``station_ids`` and ``sites`` (its live planned stations, in
    the plan's order: id, name, WGS-84 lon and lat), or None."""
    row = session.execute(select(Plan.__table__).where(Plan.id == plan_id, in_scope(PLAN, session))
                          ).mappings().one_or_none()
    if row is None:
        return None
    sites = session.execute(
        select(Station.id, Station.name, func.ST_X(Station.geom).label("lon"), func.ST_Y(Station.geom).label("lat"))
        .where(Station.plan_id == plan_id, Station.deleted_at.is_(None)).order_by(Station.id)).mappings().all()
    return dict(row) | {"station_ids": [site["id"] for site in sites], "sites": [dict(site) for site in sites]}


def demo_stations_counted(session: Session, type_code: str) -> int:
    """Demo stations among those that count for ``type_code``: a plan of the type stands on them."""
    statement = select(func.count()).select_from(STATION).where(
        counted(), STATION.c.type_code == type_code, STATION.c.is_demo.is_(True), in_scope(STATION, session))
    return session.scalar(statement) or 0
