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
from dataclasses import dataclass
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
    # Compared as timestamps: when no target has a deadline, ``.dt.date`` keeps datetime64 (pandas 3)
    # and a comparison with a date raises.
    deadline = pd.to_datetime(rows["deadline"])
    rows["overdue"] = ~rows["met"] & deadline.notna() & (deadline < pd.Timestamp(today))
    rows["deadline"] = deadline.dt.date
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
        "type_code": first["type_code"], "type_name": first["type_name"], "scope": first["scope"],
        "kind": first["kind"], "required": first["required"], "units": grouped.size(),
        "units_met": grouped["met"].sum(), "built": grouped["built"].sum(), "shortfall": grouped["shortfall"].sum(),
        "deadline": first["deadline"], "overdue": grouped["overdue"].any(),
        "source_quote": first["source_quote"], "note": first["note"],
    }).reset_index()


# The plan page's limits (``add`` ≤ 200, ``min_per_county`` ≤ 50), written once: the route
# (api/routers/maps.py), its form (maps/plan.py) and the links that clamp to them read these.
PLAN_MAX_ADD = 200
PLAN_MAX_MIN_PER_COUNTY = 50


@dataclass(frozen=True)
class PlanQuestion:
    """The siting question that answers one unmet count target: add ``add`` stations of
    ``type_code`` so that every county holds at least ``min_per_county`` (existing included).

    ``wanted_add`` and ``wanted_min_per_county`` are what the target asks before the plan page's
    limits; ``clamped`` says that the link asks less than that.
    """

    type_code: str
    add: int
    min_per_county: int
    wanted_add: int
    wanted_min_per_county: int

    @property
    def clamped(self) -> bool:
        return (self.add, self.min_per_county) != (self.wanted_add, self.wanted_min_per_county)


def plan_question(target_code: str, gap_rows: pd.DataFrame, *, max_add: int = PLAN_MAX_ADD,
                  max_min_per_county: int = PLAN_MAX_MIN_PER_COUNTY) -> PlanQuestion | None:
    """The plan that closes one target's gap, or None when it is met or is a coverage target.

    A per-county target: add the counties' summed shortfall, each county at least the required
    count (so the new sites land where the target is missed). A city-wide target: add its
    shortfall, and when the same type also has a per-county count target, hold the counties to
    it too (and add at least what the counties lack, or the plan could not meet both). A
    per-township target: add its summed shortfall with no county rule (the planner has no
    township rule). A coverage target asks for a share of people, not a number of stations: no
    count to plan. Counts are whole stations: fractional figures round up.

    Args:
        target_code: the target, one of ``gap_rows["target_code"]``.
        gap_rows: ``gap_rows(...)`` of every target (the city-wide rule looks up the county ones).
        max_add, max_min_per_county: the plan page's limits; the answer is clamped to them.

    Raises:
        ValueError: ``target_code`` is not in ``gap_rows``.
    """
    # Column arrays, not frame filters: the start page asks this of every target on each visit.
    code, kind, scope, type_code, required, short = (gap_rows[column].to_numpy() for column in (
        "target_code", "kind", "scope", "type_code", "required", "shortfall"))
    rows = code == target_code
    if not rows.any():
        raise ValueError(f"target_code: no target {target_code!r} in the gap rows")
    first = int(np.argmax(rows))
    shortfall = int(np.ceil(short[rows].sum()))
    if kind[first] != "count" or shortfall <= 0:
        return None
    add, minimum = shortfall, 0
    if scope[first] == "county":
        minimum = int(np.ceil(required[first]))
    elif scope[first] == "city":
        county = (type_code == type_code[first]) & (scope == "county") & (kind == "count")
        if county.any():
            strictest = int(np.flatnonzero(county)[np.argmax(required[county])])
            minimum = int(np.ceil(required[strictest]))
            add = max(add, int(np.ceil(short[code == code[strictest]].sum())))
    return PlanQuestion(type_code=str(type_code[first]), add=min(add, max_add),
                        min_per_county=min(minimum, max_min_per_county), wanted_add=add,
                        wanted_min_per_county=minimum)
