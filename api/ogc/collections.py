"""The feature collections of /ogc: one per service type, counties, townships and coverage.

What each collection is called, what it says, which honesty notices it carries (the wording of
``geo.notices``) and which property filters it offers; the counts, extents and flags they
describe come from the store (``geo.store.features``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from api.ogc.params import Filter
from geo.core.bbox import Bbox
from geo.errors import NotFound
from geo.notices import APPROXIMATE, COUNTY_UNITS, DEMO, MODELLED, Notice, township_notices
from geo.store import features as store
from geo.store.grid_db import grid_info
from geo.store.models import STATION_STATUSES

STATION_FILTERS = (
    Filter("status", "enum", STATION_STATUSES, "状态 / status"),
    Filter("county_code", description="县级代码 / county code"),
    Filter("township_code", description="乡级代码 / township code"),
    Filter("is_demo", "bool", description="演示数据 / demo rows only (true) or real ones (false)"),
)
TOWNSHIP_FILTERS = (
    Filter("parent_code", description="所属县级代码 / county code"),
    Filter("kind", description="类别（街道、镇、乡……）/ kind of township"),
)
# collection id: (region level, Chinese name, English name, filters)
REGION_COLLECTIONS = {"counties": ("county", "县级行政区", "Counties", ()),
                      "townships": ("township", "乡级行政区", "Townships", TOWNSHIP_FILTERS)}
COVERAGE = "coverage"


@dataclass(frozen=True)
class Collection:
    """One feature collection: a service type's stations, a level of regions, or coverage."""

    id: str
    title: str
    description: str
    kind: store.Kind
    key: str  # the service type code or the region level
    bbox: Bbox | None
    count: int | None  # None: not counted (``find_collection(..., counted=False)``)
    notices: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    # stations: the first and last updated_at (the property ``datetime`` filters); regions have no time
    temporal: tuple[datetime, datetime] | None = None


def _station_collection(summary: store.TypeSummary) -> Collection:
    count = summary.count
    zh, en = ("", "") if count is None else (f"（{count} 处）", f": {count} points")
    return Collection(
        id=summary.code, title=f"{summary.name_zh} {summary.name_en}",
        description=f"{summary.name_zh}站点{zh}。{summary.description} / {summary.name_en}{en}.",
        kind="stations", key=summary.code, bbox=summary.extent, count=count,
        notices=(DEMO.text,) if summary.any_demo else (), filters=STATION_FILTERS, temporal=summary.updated)


def _boundary_notices(summary: store.LevelSummary | None) -> list[Notice]:
    """What is true of a level's derived boundaries: from seats, or (some) placed without one."""
    if summary is None:
        return []
    return township_notices(summary.unknown, summary.count) if summary.level == "township" else [APPROXIMATE]


def _region_collection(collection_id: str, summary: store.LevelSummary | None, *, county_units: bool) -> Collection:
    level, name_zh, name_en, filters = REGION_COLLECTIONS[collection_id]
    approximate = bool(summary and summary.approximate)
    notices: tuple[str, ...] = (COUNTY_UNITS.text,) if county_units and level == "township" else ()
    notices += tuple(notice.text for notice in _boundary_notices(summary)) if approximate else ()
    notices += (MODELLED.text,) if summary and summary.modelled else ()
    title = (f"{name_zh}边界（{APPROXIMATE.label_zh}）{name_en} ({APPROXIMATE.label_en})" if approximate
             else f"{name_zh}边界 {name_en}")
    return Collection(
        id=collection_id, title=title, description=f"{name_zh}边界与人口 / {name_en} with population. "
        + " ".join(notices), kind="regions", key=level, bbox=summary.extent if summary else None,
        count=summary.count if summary else 0, notices=notices, filters=filters)


def _coverage_collection(townships: store.LevelSummary, *, modelled: bool, county_units: bool) -> Collection:
    notices = ((COUNTY_UNITS.text,) if county_units else ()) + ((MODELLED.text,) if modelled else ()) + (
        tuple(notice.text for notice in _boundary_notices(townships)) if townships.approximate else ())
    return Collection(
        id=COVERAGE, title="乡镇服务覆盖率 Coverage by township",
        description="各乡镇每类服务阵地的覆盖人口与覆盖率（<类型>_covered_share 为 0–1）。/ Per township and "
        "service type: people within reach of a station, total people and the covered share. " + " ".join(notices),
        kind="coverage", key=townships.level, bbox=townships.extent, count=townships.count,
        notices=notices, filters=TOWNSHIP_FILTERS[:1])


def _region_collections(session: Session, only: str | None, county_units: bool) -> list[Collection]:
    wanted = [name for name in (*REGION_COLLECTIONS, COVERAGE) if only in (None, name)]
    if not wanted:
        return []
    levels = store.level_summaries(session)
    result = [_region_collection(name, levels.get(REGION_COLLECTIONS[name][0]), county_units=county_units)
              for name in wanted if name in REGION_COLLECTIONS]
    townships = levels.get("township")
    info = grid_info(session) if COVERAGE in wanted else None
    if info is not None and townships is not None:
        result.append(_coverage_collection(townships, modelled=info.population_is_modelled, county_units=county_units))
    return result


def all_collections(session: Session, *, only: str | None = None, county_units: bool = False) -> list[Collection]:
    """Every collection (or only the one of id ``only``), with extent (WGS-84) and notices from the data.

    The coverage collection is listed only once a demand grid exists. ``county_units``: the region
    has no township list, so the townships and coverage collections say their units are counties.
    """
    stations = [_station_collection(summary) for summary in store.type_summaries(session, only=only)]
    return stations + _region_collections(session, only, county_units)


def find_collection(session: Session, collection_id: str, *, counted: bool = True,
                    county_units: bool = False) -> Collection:
    """The collection of that id; NotFound naming it otherwise.

    ``counted=False`` leaves a station collection's ``count`` and ``bbox`` out (None): they take a
    scan of every station of the type, which a page of items (it counts its own matches) or a single
    feature does not need. Region collections are small and always counted.
    """
    found: Collection | None
    if "\x00" in collection_id:  # PostgreSQL text cannot hold NUL: no such collection
        found = None
    elif counted or collection_id in (*REGION_COLLECTIONS, COVERAGE):
        found = next(iter(all_collections(session, only=collection_id, county_units=county_units)), None)
    else:
        summary = store.type_summary(session, collection_id)
        found = None if summary is None else _station_collection(summary)
    if found is None:
        raise NotFound(f"no collection {collection_id!r}")
    return found
