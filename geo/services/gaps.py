"""The gaps on the stored registry: each target of the work report against what is built.

Reads targets, units and counted stations from the store, and the coverage model for coverage
targets, then hands them to the pure :func:`geo.analysis.gaps.gap_rows`.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from geo.analysis.gaps import coverage_shares, gap_rows, summary
from geo.reference.targets import read_baselines as baselines
from geo.services.coverage_query import ModelCache, counted_stations, type_radii
from geo.store import regions, stations, targets

__all__ = ["baselines", "gaps", "summary"]


def gaps(session: Session, *, include_planned: bool = False, today: date | None = None,
         cache: ModelCache | None = None) -> pd.DataFrame:
    """One row per target and scope unit: required, built, shortfall, met, overdue."""
    model_cache = cache or ModelCache()

    def shares(rows: pd.DataFrame) -> np.ndarray:
        model, _ = model_cache.get(session)
        return coverage_shares(rows, model, counted_stations(session, include_planned=include_planned),
                               type_radii(session))

    return gap_rows(targets.targets_frame(session), regions.scope_units(session),
                    stations.counted_per_unit(session, include_planned=include_planned),
                    today=today or date.today(), coverage_shares=shares)
