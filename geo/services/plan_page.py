"""The plan page's use cases: a plan's inputs, what-if documents, candidate uploads, table downloads.

The solving and evaluating itself runs where the caller puts it (the server's solver processes,
``api.deps``); here are the reads before it and the shapes after it, so the API, and a CLI if
one wants them, give the same figures, names and notices.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from geo.analysis import planning
from geo.analysis.coverage import CoverageModel, StationPoints, TypeRadius
from geo.analysis.engine import GivenSites
from geo.analysis.whatif import WhatIf
from geo.core import crs
from geo.core.crs import CoordSystem
from geo.core.export import HEADERS, table_bytes
from geo.errors import InputError
from geo.notices import DEMO, MODELLED
from geo.services.coverage_query import ModelCache, counted_stations, type_radii
from geo.services.plan_jobs import plan_document
from geo.services.transaction import end_reads
from geo.services.transfer import decode_utf8
from geo.store import plans, regions
from geo.store.grid_db import GridInfo

TableFormat = Literal["csv", "xlsx"]
# The proposals table as it is downloaded: what the page shows, in its order.
TABLE_COLUMNS = ("order", "county_name", "township_name", "lon", "lat", "added", "cumulative", "share")
TABLE_HEADERS = HEADERS | {"county_name": "县（市、区）county", "township_name": "乡镇（街道）township",
                           "added": "新增覆盖人口 people added", "cumulative": "累计覆盖人口 covered",
                           "share": "累计覆盖率 cumulative share"}
MEDIA_TYPES: dict[TableFormat, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass(frozen=True)
class PlanInputs:
    """What a plan or a what-if of one type reads from the database, read once per request."""

    model: CoverageModel
    info: GridInfo
    kind: TypeRadius
    stations: StationPoints
    demo_stations: int     # demo stations among those counted for the type
    names: dict[str, str]  # county and township names by code

    @property
    def notices(self) -> list[str]:
        """What is not real or not exact in the answer: demo stations, modelled population."""
        return [text for flag, text in ((self.demo_stations > 0, DEMO.text),
                                        (self.info.population_is_modelled, MODELLED.text)) if flag]


def plan_inputs(session: Session, cache: ModelCache, type_code: str) -> PlanInputs:
    """The grid model, the type (checked: 422 naming ``type``), the stations that count, and the
    region names; the read transaction then ends, so no connection is held while the answer is
    computed."""
    model, info = cache.get(session)
    kind = type_radii(session, type_code)[0]
    inputs = PlanInputs(model, info, kind, counted_stations(session), plans.demo_stations_counted(session, kind.code),
                        regions.region_names(session))
    end_reads(session)
    return inputs


def to_wgs84(points: list[tuple[float, float]], source_crs: CoordSystem) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) pairs in ``source_crs`` as WGS-84 arrays."""
    lon = np.array([point[0] for point in points], dtype=np.float64)
    lat = np.array([point[1] for point in points], dtype=np.float64)
    if source_crs == "wgs84" or not len(lon):
        return lon, lat
    return crs.convert(lon, lat, source=source_crs, target="wgs84")


def given_candidates(sites: list[Any] | None, source_crs: CoordSystem) -> dict[str, GivenSites]:
    """The options that plan on the user's own sites (objects with lon, lat, name), as
    ``engine.propose_warm`` takes them: none when no sites are given."""
    if sites is None:
        return {}
    lon, lat = to_wgs84([(site.lon, site.lat) for site in sites], source_crs)
    names = np.array([site.name or f"候选点 {index}" for index, site in enumerate(sites, start=1)], dtype=object)
    return {"candidates": (lon, lat, names)}


def plan_answer(result: planning.PlanResult, inputs: PlanInputs, *, plan_id: int | None) -> dict[str, Any]:
    """The plan as the API's ``PlanOut`` shows it, its proposals with their county and township
    names, and the notices that go with its figures."""
    named = replace(result, proposals=named_sites(result.proposals, inputs.names))
    return plan_document(named, type_code=result.type_code, plan_id=plan_id,
                         population_is_modelled=inputs.info.population_is_modelled) | {"notices": inputs.notices}


def named_sites(sites: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """``sites`` (a what-if's or a plan's proposals) with ``county_name`` and ``township_name``
    (None for a code without a name)."""
    def name_of(codes: pd.Series) -> np.ndarray:
        return np.array([names.get(code) if isinstance(code, str) else None for code in codes], dtype=object)

    return sites.assign(county_name=name_of(sites["county_code"]), township_name=name_of(sites["township_code"]))


def what_if_document(evaluation: WhatIf, inputs: PlanInputs, labels: list[str | None]) -> dict[str, Any]:
    """The what-if as the API answers it, in plain JSON types; ``labels``: the sites' names as sent."""
    sites = named_sites(evaluation.sites, inputs.names)
    rows = [{
        "order": int(row["order"]), "name": label, "lon": float(row["lon"]), "lat": float(row["lat"]),
        "county_code": row["county_code"], "county_name": row["county_name"],
        "township_code": row["township_code"], "township_name": row["township_name"],
        "added": float(row["added"]), "cumulative_added": float(row["cumulative_added"]),
        "cumulative": float(row["cumulative"]), "cumulative_share": float(row["share"]),
    } for row, label in zip(sites.to_dict("records"), labels, strict=True)]
    return {"type": evaluation.type_code, "type_name": inputs.kind.name_zh, "population": evaluation.population,
            "before": evaluation.covered_before, "after": evaluation.covered_after, "added": evaluation.added,
            "share_before": evaluation.share_before, "share_after": evaluation.share_after, "sites": rows,
            "demo": inputs.demo_stations > 0, "demo_stations": inputs.demo_stations,
            "population_is_modelled": inputs.info.population_is_modelled, "notices": inputs.notices}


def table_file(sites: pd.DataFrame, inputs: PlanInputs, file_format: TableFormat, *, before: float,
               after: float, population: float) -> bytes:
    """The proposals table (order, county, township, lon, lat, people added, covered, share) as
    CSV (UTF-8 with a BOM, for Excel) or XLSX; the notes say the totals and every notice."""
    frame = named_sites(sites, inputs.names).loc[:, list(TABLE_COLUMNS)]

    def share(people: float) -> float:
        return people / population if population else 0.0

    notes = [f"{inputs.kind.name_zh}（{inputs.kind.code}）：规划前覆盖 {before:,.0f} 人（{share(before):.1%}），"
             f"规划后 {after:,.0f} 人（{share(after):.1%}），共 {population:,.0f} 人 / covered before "
             f"{before:,.0f}, after {after:,.0f} of {population:,.0f} people; 坐标 coordinates WGS-84",
             *inputs.notices]
    return table_bytes(frame, file_format, sheet="选址方案 plan", headers=TABLE_HEADERS, notice="\n".join(notes))


def candidates_from_csv(session: Session, cache: ModelCache, content: bytes, *, file: str,
                        source_crs: CoordSystem, limit: int) -> dict[str, Any]:
    """Candidate sites from an uploaded CSV (columns lon, lat, optionally name; UTF-8, a BOM allowed),
    read as the CLI's ``--candidates`` reads them, with their county and township; an InputError
    names the bad row and field, or ``file`` when there are more than ``limit`` rows."""
    model, _ = cache.get(session)
    names = regions.region_names(session)
    end_reads(session)
    candidates = planning.read_candidates(Path(file), model, source_crs=source_crs,
                                          text=decode_utf8(content, file=file))
    if len(candidates.lon) > limit:
        raise InputError(f"at most {limit} candidate sites, the file has {len(candidates.lon)}", field="file")
    return candidates_document(candidates, names, source_crs)


def candidates_document(candidates: planning.Candidates, names: dict[str, str], source_crs: CoordSystem
                        ) -> dict[str, Any]:
    """Parsed candidates as the API answers them: each with its CSV line, WGS-84 position and places."""
    frame = named_sites(pd.DataFrame({"county_code": candidates.county_code,
                                      "township_code": candidates.township_code}), names)
    sites = [{"row": index + 2, "name": str(name), "lon": float(lon), "lat": float(lat),  # header = line 1
              "county_code": county, "county_name": county_name, "township_code": township,
              "township_name": township_name}
             for index, (name, lon, lat, county, township, county_name, township_name) in enumerate(zip(
                 candidates.name, candidates.lon, candidates.lat, frame["county_code"], frame["township_code"],
                 frame["county_name"], frame["township_name"], strict=True))]
    return {"count": len(sites), "crs": source_crs, "sites": sites}
