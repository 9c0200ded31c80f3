"""Counties and townships as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api import responses
from api.deps import CrsParam, ReadSessionDep
from api.geojson import feature_collection
from api.schemas import FeatureCollection, RegionProperties
from geo.store import regions

router = APIRouter(prefix="/regions", tags=["regions 行政区"], responses={503: responses.UNAVAILABLE})


@router.get("", summary="行政区边界 / regions as GeoJSON")
def list_regions(
    session: ReadSessionDep,
    level: Annotated[Literal["county", "township"], Query(description="county 县级 | township 乡级")] = "county",
    crs: CrsParam = "wgs84",
) -> FeatureCollection[RegionProperties]:
    """县级或乡级行政区，含人口与推算标记 / counties or townships with population and flags."""
    frame = regions.regions_frame(session, level).rename(columns={"county_code": "parent_code"})
    return feature_collection(frame, RegionProperties, id_column="code", crs=crs)
