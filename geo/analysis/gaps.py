"""The gaps: each target of the work report against what is built, per scope unit.

A count target needs ``threshold`` stations of its type in each scope unit (the city, every
county-level unit, every township-level unit); a coverage target needs that share of the
unit's population covered. Only open stations count as built; planned ones are added when a
scenario is asked for. Figures the report gives without a target (baselines) are reported
as such, never turned into targets (``geo.reference.targets.read_baselines``).

Pure: frames in, a frame out; ``geo.services.gaps`` reads them from the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from geo.analysis.coverage import CoverageModel, StationPoints, TypeRadius, coverage_table

GAP_COLUMNS = ["target_code", "type_code", "type_name", "scope", "region_code", "region_name", "kind",
               "required", "built", "shortfall", "met", "deadline", "overdue", "source_quote", "note"]


def gap_rows(targets: pd.DataFrame, units: pd.DataFrame, counts: pd.DataFrame, *, today: date,
             coverage_shares: Callable[[pd.DataFrame], np.ndarray] | None = None) -> pd.DataFrame:
    """One row per target and scope unit: required, built, shortfall, met, overdue.

    Args:
        targets: one row per target (target_code, type_code, type_name, scope, kind, required,
            deadline, source_quote, note).
        units: every scope unit (scope, region_code, region_name); the city is ``region_code = 'city'``.
        counts: counted stations per type and unit (type_code, scope, region_code, built).
        today: the day that decides which unmet targets are overdue.
        coverage_shares: the covered share of each row of a coverage target (called only when
            there are such targets).
    """
    if targets.empty:
        return pd.DataFrame(columns=GAP_COLUMNS)
    rows = targets.merge(units, on="scope")
    rows = rows.merge(counts, on=["type_code", "scope", "region_code"], how="left")
    rows["built"] = rows["built"].fillna(0).astype(float)
    coverage_rows = rows["kind"] == "coverage"
    if coverage_rows.any():
        if coverage_shares is None:
            raise ValueError("coverage targets need coverage_shares")
        rows.loc[coverage_rows, "built"] = coverage_shares(rows[coverage_rows])
    rows["shortfall"] = np.maximum(rows["required"] - rows["built"], 0.0)
    rows["met"] = rows["shortfall"] <= 0
    deadline = pd.to_datetime(rows["deadline"]).dt.date
    rows["overdue"] = ~rows["met"] & deadline.notna() & (deadline < today)
    rows["deadline"] = deadline
    return rows[GAP_COLUMNS].sort_values(["target_code", "region_code"], kind="stable").reset_index(drop=True)


def coverage_shares(rows: pd.DataFrame, model: CoverageModel, stations: StationPoints,
                    radii: list[TypeRadius]) -> np.ndarray:
    """The covered share of population of each (type_code, scope, region_code) row."""
    shares = np.zeros(len(rows))
    for scope in rows["scope"].unique():
        table = coverage_table(model, stations, radii, level=scope)
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
