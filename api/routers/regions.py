"""Counties and townships as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api import responses
from api.deps import CrsParam, ReadSessionDep
from api.geojson import feature_collection
from api.schemas import FeatureCollection, PointPlaceOut, RegionProperties
from geo.services import locate
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


@router.get("/at", summary="点位所在县、乡镇 / where a point lands", responses={
    422: responses.invalid("经纬度不是数字、超出范围，或不在本地区内（指明字段）/ lon or lat not a number, out of "
                           "range, or the point outside the region (the field named)")})
def region_at(
    session: ReadSessionDep,
    lon: Annotated[float, Query(description="经度（crs 坐标系）/ longitude in crs")],
    lat: Annotated[float, Query(description="纬度（crs 坐标系）/ latitude in crs")],
    crs: CrsParam = "wgs84",
) -> PointPlaceOut:
    """把高德（GCJ-02）、百度（BD-09）或 WGS-84 坐标换算为保存用的 WGS-84 点，并给出所在县与乡镇 / the
    WGS-84 point a position converts to (as a station there is stored) and the county and township it
    lies in, chosen by the same rule that assigns a station's codes."""
    place = locate.place_of(session, lon, lat, crs)
    township = None if place.township_code is None else {
        "code": place.township_code, "name": place.township_name,
        "boundary_is_approximate": bool(place.township_is_approximate),
        "position_unknown": bool(place.township_position_unknown)}
    return PointPlaceOut.model_validate({
        "query": {"lon": lon, "lat": lat, "crs": crs}, "lon": place.lon, "lat": place.lat,
        "county": {"code": place.county_code, "name": place.county_name}, "township": township})
