"""Coverage per township as feature properties (the OGC coverage collection), cached per state.

A GDAL client reads the coverage collection ten features a page; without the cache every page
would recompute coverage over the whole grid (~0.2 s). The figures are the coverage report of
``geo.services.coverage_query`` turned wide: one record per township, with each service type's
stations, covered people and covered share.
"""

from __future__ import annotations

import threading
from typing import cast

import pandas as pd
from sqlalchemy.orm import Session

from geo.services.coverage_query import ModelCache, coverage_report
from geo.store.features import counted_state

Properties = dict[str, dict[str, object]]  # township code → property name → value


class CoverageCache:
    """Per-township coverage properties, recomputed only when the grid or the counted stations change.

    The key is the grid's version and a digest of exactly what coverage depends on
    (``geo.store.features.counted_state``), read before the table is computed: a table is never
    older than its key (a change in between, as in an autocommit session, only makes the next
    request compute it again).
    """

    def __init__(self, models: ModelCache) -> None:
        self._models = models
        self._lock = threading.Lock()
        self._key: tuple[str, str] | None = None
        self._properties: Properties = {}

    def get(self, session: Session) -> Properties:
        """Township code → population, flags and, per service type, stations, covered people and share.

        Raises ``NoGrid`` when no demand grid is built (the coverage collection is then not listed).
        """
        model, info = self._models.get(session)
        key = (info.version, counted_state(session))
        with self._lock:
            if key != self._key:
                self._properties = coverage_properties(coverage_report(session, model, info, level="township"),
                                                       modelled=info.population_is_modelled)
                self._key = key
            return self._properties


def coverage_properties(table: pd.DataFrame, *, modelled: bool) -> Properties:
    """The long coverage table (a row per township and type) as one record per township: counts
    as integers, people to 0.1, shares to 4 decimals, missing values as None (JSON has no NaN)."""
    wide = table.pivot(index="region_code", columns="type_code",
                       values=["stations", "covered_population", "covered_share"])
    pairs = cast("list[tuple[str, str]]", wide.columns.tolist())  # a MultiIndex: (metric, type code)
    wide.columns = [f"{type_code}_{metric}" for metric, type_code in pairs]
    for name in wide.columns:
        wide[name] = wide[name].astype(int) if name.endswith("_stations") else wide[name].round(
            4 if name.endswith("_share") else 1)
    wide.insert(0, "population", table.groupby("region_code")["population"].first().round(1))
    wide["population_is_modelled"] = modelled
    wide = wide.astype(object).where(wide.notna(), None)
    return {str(code): {str(name): value for name, value in record.items()}
            for code, record in zip(wide.index, wide.to_dict("records"), strict=True)}
