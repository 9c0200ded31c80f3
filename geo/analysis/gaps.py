"""The gaps: each target of the work report against what is built, per scope unit.

A count target needs ``threshold`` stations of its type in each scope unit (the city, every
county-level unit, every township-level unit); a coverage target needs that share of the
unit's population covered. Only open stations count as built; planned ones are added when a
scenario is asked for. Figures the report gives without a target (baselines) are reported
as such, never turned into targets.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.analysis.coverage import CITY, coverage_table
from geo.reference.region import read_yaml
from geo.services.coverage_query import ModelCache, counted_stations, type_radii

GAP_COLUMNS = ["target_code", "type_code", "type_name", "scope", "region_code", "region_name", "kind",
               "required", "built", "shortfall", "met", "deadline", "overdue", "source_quote", "note"]


def _targets(session: Session) -> pd.DataFrame:
    return pd.read_sql(text("""
        SELECT t.code AS target_code, t.type_code, s.name_zh AS type_name, t.scope, t.kind,
               t.threshold::float8 AS required, t.deadline, t.source_quote, t.note
        FROM target t JOIN service_type s ON s.code = t.type_code
        ORDER BY s.sort_order, t.id"""), session.connection())


def _scope_units(session: Session) -> pd.DataFrame:
    units = pd.read_sql(text("SELECT level AS scope, code AS region_code, name AS region_name FROM region"),
                        session.connection())
    city = pd.DataFrame({"scope": ["city"], "region_code": [CITY], "region_name": ["全市"]})
    return pd.concat([city, units], ignore_index=True)


def _station_counts(session: Session, *, include_planned: bool) -> pd.DataFrame:
    """Counted stations per type and scope unit (city, county, township)."""
    return pd.read_sql(text("""
        SELECT type_code, 'city' AS scope, 'city' AS region_code, count(*) AS built FROM station
            WHERE deleted_at IS NULL AND (status = 'open' OR (:planned AND status = 'planned'))
            GROUP BY type_code
        UNION ALL
        SELECT type_code, 'county', county_code, count(*) FROM station
            WHERE deleted_at IS NULL AND (status = 'open' OR (:planned AND status = 'planned'))
              AND county_code IS NOT NULL
            GROUP BY type_code, county_code
        UNION ALL
        SELECT type_code, 'township', township_code, count(*) FROM station
            WHERE deleted_at IS NULL AND (status = 'open' OR (:planned AND status = 'planned'))
              AND township_code IS NOT NULL
            GROUP BY type_code, township_code"""), session.connection(), params={"planned": include_planned})


def gaps(session: Session, *, include_planned: bool = False, today: date | None = None,
         cache: ModelCache | None = None) -> pd.DataFrame:
    """One row per target and scope unit: required, built, shortfall, met, overdue."""
    today = today or date.today()
    targets = _targets(session)
    if targets.empty:
        return pd.DataFrame(columns=GAP_COLUMNS)
    rows = targets.merge(_scope_units(session), on="scope")
    counts = _station_counts(session, include_planned=include_planned)
    rows = rows.merge(counts, on=["type_code", "scope", "region_code"], how="left")
    rows["built"] = rows["built"].fillna(0).astype(float)
    coverage_rows = rows["kind"] == "coverage"
    if coverage_rows.any():
        shares = _coverage_shares(session, rows[coverage_rows], include_planned, cache or ModelCache())
        rows.loc[coverage_rows, "built"] = shares
    rows["shortfall"] = np.maximum(rows["required"] - rows["built"], 0.0)
    rows["met"] = rows["shortfall"] <= 0
    deadline = pd.to_datetime(rows["deadline"]).dt.date
    rows["overdue"] = ~rows["met"] & deadline.notna() & (deadline < today)
    rows["deadline"] = deadline
    return rows[GAP_COLUMNS].sort_values(["target_code", "region_code"], kind="stable").reset_index(drop=True)


def _coverage_shares(session: Session, rows: pd.DataFrame, include_planned: bool,
                     cache: ModelCache) -> np.ndarray:
    model, _ = cache.get(session)
    stations = counted_stations(session, include_planned=include_planned)
    shares = np.zeros(len(rows))
    for scope in rows["scope"].unique():
        table = coverage_table(model, stations, type_radii(session), level=scope)
        lookup = table.set_index(["type_code", "region_code"])["covered_share"]
        in_scope = (rows["scope"] == scope).to_numpy()
        keys = list(zip(rows.loc[in_scope, "type_code"], rows.loc[in_scope, "region_code"], strict=True))
        shares[in_scope] = lookup.reindex(keys).fillna(0.0).to_numpy()
    return shares


def summary(gap_rows: pd.DataFrame) -> pd.DataFrame:
    """Per target: units met out of units in scope, and the total shortfall."""
    grouped = gap_rows.groupby("target_code", sort=False)
    first = grouped.first()
    return pd.DataFrame({
        "type_name": first["type_name"], "scope": first["scope"], "kind": first["kind"],
        "required": first["required"], "units": grouped.size(), "units_met": grouped["met"].sum(),
        "built": grouped["built"].sum(), "shortfall": grouped["shortfall"].sum(),
        "deadline": first["deadline"], "overdue": grouped["overdue"].any(),
        "source_quote": first["source_quote"], "note": first["note"],
    }).reset_index()


def baselines(path: Path) -> pd.DataFrame:
    """Figures of the report that carry no target (from the region's targets file)."""
    document = read_yaml(path) or {}
    return pd.DataFrame(document.get("baselines", []),
                        columns=["type", "count", "year", "source_quote", "note"])
