"""Siting for every city of a province at once: one greedy plan per city, several cities in
parallel processes.

Siting stays per city (each city's own grid, stations, radii and candidates); a province only
runs them side by side. Each process opens its own session on its own city and sends back a
small summary (the plan's figures and its certificate), so nothing large crosses a process
boundary. ``processes=1`` runs them one after the other in this process (the baseline a
speed-up is measured against).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from geo.settings import Settings


@dataclass(frozen=True)
class CityPlan:
    """One city's greedy plan, as a province's table shows it."""

    city: str
    type_code: str
    added: int
    population: float
    covered_before: float
    covered_after: float
    bound_share: float  # the plan's objective over its proven upper bound (1.0: proven optimal)
    bound_method: str
    seconds: float  # this city's wall time, model read included
    plan_id: int | None = None

    @property
    def share_after(self) -> float:
        """Share of the city's people covered after the plan."""
        return self.covered_after / self.population if self.population else 0.0


def plan_city(settings: Settings, city: str, type_code: str, add: int, min_per_county: int, save: bool,
              bound_steps: int) -> CityPlan:
    """The greedy plan (with its bound) of ``add`` new sites of ``type_code`` in ``city``."""
    from geo.analysis import engine, planning
    from geo.services import transaction
    from geo.services.coverage_query import ModelCache, counted_stations, type_radii
    from geo.store import plans

    started = time.perf_counter()
    scoped = settings.model_copy(update={"region": city})
    with transaction.session_scope(scoped, actor="unionmap plan-cities") as session:
        model, info = ModelCache(engine.files_directory(scoped)).get(session)
        kind = type_radii(session, type_code)[0]
        siting = engine.SitingEngine()  # this city's own: a process may plan several cities in turn
        siting.hold(info.version, model)
        instance = siting.instance(model, kind, info.resolution)
        result = planning.plan_sites(model, counted_stations(session), kind, instance.candidates, add=add,
                                     min_per_county=min_per_county, bound_steps=bound_steps, matrix=instance.matrix)
        plan_id = plans.save_plan(session, result, actor="unionmap plan-cities", parameters={
            "add": add, "min_per_county": min_per_county, "method": "greedy", "province_run": True}) if save else None
    return CityPlan(city, type_code, len(result.proposals), result.population, result.covered_before,
                    result.covered_after, result.bound_share, result.bound_method, time.perf_counter() - started,
                    plan_id)


def plan_cities(settings: Settings, cities: Sequence[str], *, type_code: str, add: int, min_per_county: int = 0,
                save: bool = False, bound_steps: int = 200, processes: int = 2) -> list[CityPlan]:
    """:func:`plan_city` for every city, ``processes`` at a time, in the order given."""
    arguments = [(settings, city, type_code, add, min_per_county, save, bound_steps) for city in cities]
    if processes <= 1:
        return [plan_city(*args) for args in arguments]
    with ProcessPoolExecutor(max_workers=processes) as pool:
        futures = [pool.submit(plan_city, *args) for args in arguments]
        return [future.result() for future in futures]
