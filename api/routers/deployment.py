"""``/api/v1/deployment``: the regions this deployment holds, with their figures and addresses."""

from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import AreaDep, ModelCacheDep, ReadSessionDep, cities_of
from api.regions_prefix import site_root
from geo.notices import DEMO
from geo.services import rollup
from geo.store import deployment

router = APIRouter(tags=["deployment 部署"])


class HeldRegion(BaseModel):
    """One region held: a city, or a province grouping cities."""

    code: str = Field(description="区划代码 / region code (adcode)")
    name_zh: str
    name_en: str
    level: str = Field(description="city | province")
    parent_code: str | None = Field(description="所属省级汇总 / the province grouping this city, if any")
    is_default: bool = Field(description="默认地区（网站根路径）/ served at the site's root")
    url: str = Field(description="此地区的首页 / the region's start page (/r/{code}/)")
    counties: int
    townships: int
    open_stations: int = Field(description="计为已建的站点 / stations that count as built (open, live)")
    demo_stations: int = Field(description=f"{DEMO.label}: live demo rows among them")


class Deployment(BaseModel):
    """Every region this deployment holds, the default first."""

    default: str | None = Field(description="默认地区代码 / the default region's code (None: nothing loaded)")
    regions: list[HeldRegion]


@router.get("/deployment", response_model=Deployment, summary="本部署的地区 / the regions this deployment holds")
def held(request: Request, session: ReadSessionDep) -> Deployment:
    """各地区（市、省级汇总）及其数量与地址 / every region held, with its counts and the address of its pages."""
    root = site_root(request.scope)
    rows = [HeldRegion(code=f.region.code, name_zh=f.region.name_zh, name_en=f.region.name_en, level=f.region.level,
                       parent_code=f.region.parent_code, is_default=f.region.is_default,
                       url=f"{root}/r/{f.region.code}/", counties=f.counties, townships=f.townships,
                       open_stations=f.open_stations, demo_stations=f.demo_stations)
            for f in deployment.figures(session)]
    return Deployment(default=next((row.code for row in rows if row.is_default), None), regions=rows)


class RollupRow(BaseModel):
    """One row of a roll-up table: a city's figure, or the province's total (``city_code`` = ``province``)."""

    model_config = {"extra": "allow"}
    city_code: str
    city_name: str


class Rollup(BaseModel):
    """Each city's coverage and targets, and the totals over them."""

    region: str = Field(description="请求的地区（市或省级汇总）/ the region asked for (a city or a province)")
    cities: list[str]
    coverage: list[RollupRow] = Field(description="每市每类：站点、人口、覆盖人口、覆盖率 / per city and type")
    targets: list[RollupRow] = Field(description="每市每个目标：达标单位、已建、缺口 / per city and target")


@router.get("/rollup", response_model=Rollup, summary="汇总：各市覆盖与目标 / roll-up of coverage and targets")
def rollup_of(session: ReadSessionDep, area: AreaDep, cache: ModelCacheDep) -> Rollup:
    """省级汇总（或单市）：各市覆盖人口与目标，及合计；各市在本市网格上计算 / a province's (or one city's)
    coverage and targets per city, with totals; each city computed on its own grid."""
    cities = list(cities_of(area))
    names = {row.code: row.name_zh for row in deployment.all_regions(session)}
    coverage = rollup.coverage_rollup(session, cities, names, cache=cache)
    targets = rollup.targets_rollup(session, cities, names, cache=cache)
    return Rollup(region=area.code, cities=cities, coverage=records(coverage), targets=records(targets))


def records(frame: pd.DataFrame) -> list[RollupRow]:
    """A frame's rows for JSON: NaN as null."""
    return [RollupRow.model_validate(row) for row in frame.astype(object).where(frame.notna(), None).to_dict("records")]
