"""Stations as GeoJSON, with filters."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import SessionDep
from api.geojson import feature_collection
from api.schemas import FeatureCollection, StationProperties
from geo import catalogue, hours
from geo.errors import InputError

router = APIRouter(prefix="/stations", tags=["stations 站点"])


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``west,south,east,north`` in WGS-84 degrees; InputError naming ``bbox`` otherwise."""
    if text is None:
        return None
    try:
        west, south, east, north = (float(part) for part in text.split(","))
    except ValueError as error:
        raise InputError("expected four numbers: west,south,east,north", field="bbox") from error
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise InputError("need -180 <= west <= east <= 180 and -90 <= south <= north <= 90",
                         field="bbox")
    return west, south, east, north


@router.get("", summary="站点列表 / stations as GeoJSON")
def list_stations(
    session: SessionDep,
    type: Annotated[str | None, Query(description="服务类型代码 / service type, e.g. love_station")] = None,
    county: Annotated[str | None, Query(description="县级代码 / county code", max_length=16)] = None,
    township: Annotated[str | None, Query(description="乡级代码 / township code", max_length=16)] = None,
    status: Annotated[Literal["open", "closed", "planned"] | None, Query(description="状态 / status")] = None,
    bbox: Annotated[str | None, Query(description="范围 / west,south,east,north (WGS-84)")] = None,
) -> FeatureCollection[StationProperties]:
    """按类型、县、乡镇、范围、状态筛选站点 / stations filtered by type, county, township, bbox, status.

    每个要素带 `is_demo`（演示数据）和 `region_is_approximate`（乡镇边界为推算）标记。
    """
    frame = catalogue.stations_frame(session, catalogue.StationFilter(
        type_code=type, county=county, township=township, status=status, bbox=parse_bbox(bbox)))
    frame["opening_hours_text"] = [hours.describe_zh(hours.from_json(value)) for value in frame["opening_hours"]]
    return feature_collection(frame, StationProperties, id_column="id")
