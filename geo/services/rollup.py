"""A province's roll-up: each member city's coverage and targets, and the province's totals.

Coverage and gaps are computed per city, on that city's own grid and targets, exactly as the
city's pages compute them (the session is scoped to one city at a time); the province's rows
only add them up. Nothing is modelled at province level: a total of covered people is the sum
of the cities' covered people, a target's total counts the units of the cities that set it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import pandas as pd
from sqlalchemy.orm import Session

from geo.services import gaps
from geo.services.coverage_query import ModelCache, coverage_report
from geo.store import deployment
from geo.store.scope import members, scope_of, set_scope

T = TypeVar("T")


@dataclass(frozen=True)
class ProvinceArea:
    """A province as the server serves it (``/r/{code}/``): its names, time zone and cities held."""

    code: str
    name_zh: str
    name_en: str
    timezone: str
    cities: tuple[str, ...]
    county_units: bool = False  # some of its cities have counties as their units (no township list)

    @property
    def union_name(self) -> str:
        """The union's name for titles: ``<name_zh>总工会``."""
        return f"{self.name_zh}总工会"


def province_areas(session: Session) -> dict[str, ProvinceArea]:
    """Every province (and country) held, with the cities the deployment holds of it."""
    rows = deployment.all_regions(session)
    return {row.code: ProvinceArea(row.code, row.name_zh, row.name_en, row.timezone, tuple(members(rows, row)))
            for row in rows if row.level != deployment.CITY}
PROVINCE = "province"  # the ``city_code`` of a total row


@contextmanager
def scoped_to(session: Session, city: str) -> Iterator[Session]:
    """The session scoped to one city for the block, then back to what it was."""
    before = scope_of(session)
    set_scope(session, [city])
    try:
        yield session
    finally:
        set_scope(session, before)


def per_city(session: Session, cities: Sequence[str], compute: Callable[[Session], T]) -> dict[str, T]:
    """``compute`` run once per city, the session scoped to that city each time."""
    results = {}
    for city in cities:
        with scoped_to(session, city):
            results[city] = compute(session)
    return results


def coverage_rollup(session: Session, cities: Sequence[str], names: dict[str, str], *,
                    cache: ModelCache, type_code: str | None = None) -> pd.DataFrame:
    """Per city and type: stations, population, covered population and share; then the province's
    totals per type (``city_code`` = ``province``). Columns city_code, city_name, type_code,
    type_name, stations, population, covered_population, covered_share, population_is_modelled."""

    def city_rows(scoped: Session) -> pd.DataFrame:
        model, info = cache.get(scoped)
        return coverage_report(scoped, model, info, level="city", type_code=type_code)

    frames = [table.assign(city_code=city, city_name=names.get(city, city))
              for city, table in per_city(session, cities, city_rows).items()]
    columns = ["city_code", "city_name", "type_code", "type_name", "stations", "population", "covered_population",
               "covered_share", "population_is_modelled"]
    if not frames:
        return pd.DataFrame(columns=columns)
    cities_table = pd.concat(frames, ignore_index=True)[columns]
    totals = cities_table.groupby(["type_code", "type_name"], sort=False, as_index=False).agg(
        stations=("stations", "sum"), population=("population", "sum"),
        covered_population=("covered_population", "sum"), population_is_modelled=("population_is_modelled", "any"))
    totals["covered_share"] = totals["covered_population"] / totals["population"].where(totals["population"] > 0)
    totals = totals.assign(city_code=PROVINCE, city_name="全省合计")[columns]
    return pd.concat([cities_table, totals], ignore_index=True)


def targets_rollup(session: Session, cities: Sequence[str], names: dict[str, str], *,
                   cache: ModelCache) -> pd.DataFrame:
    """Per city and target of that city: units in scope, units met, built and shortfall (the gaps
    summary); then per type, scope and kind the province's totals over the cities that set such a
    target (``cities_with_target`` says how many of them did)."""
    frames = [gaps.summary(rows).assign(city_code=city, city_name=names.get(city, city))
              for city, rows in per_city(session, cities, lambda scoped: gaps.gaps(scoped, cache=cache)).items()
              if not rows.empty]
    columns = ["city_code", "city_name", "target_code", "type_code", "type_name", "scope", "kind", "required",
               "units", "units_met", "built", "shortfall", "overdue", "cities_with_target"]
    if not frames:
        return pd.DataFrame(columns=columns)
    table = pd.concat(frames, ignore_index=True).assign(cities_with_target=1)
    totals = table.groupby(["type_code", "type_name", "scope", "kind"], sort=False, as_index=False).agg(
        units=("units", "sum"), units_met=("units_met", "sum"), built=("built", "sum"),
        shortfall=("shortfall", "sum"), overdue=("overdue", "any"), cities_with_target=("city_code", "nunique"))
    totals = totals.assign(city_code=PROVINCE, city_name="全省合计", target_code="", required=float("nan"))
    return pd.concat([table[columns], totals[columns]], ignore_index=True)
