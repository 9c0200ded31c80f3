"""Response schemas: GeoJSON in WGS-84 (lon, lat), flags for what is demo or approximate."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from geo.notices import APPROXIMATE, DEMO, MODELLED

P = TypeVar("P", bound=BaseModel)


class Feature(BaseModel, Generic[P]):
    type: Literal["Feature"] = "Feature"
    id: int | str
    geometry: dict[str, Any] = Field(description="GeoJSON geometry, WGS-84 (lon, lat)")
    properties: P


class FeatureCollection(BaseModel, Generic[P]):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature[P]]
    numberReturned: int


class StationProperties(BaseModel):
    id: int | None = None
    type_code: str = Field(description="服务类型代码 / service type code")
    type_name: str = Field(description="服务类型 / type name")
    name: str
    address: str
    status: Literal["open", "closed", "planned"]
    opening_hours: dict[str, Any] = Field(description="结构化开放时间 / structured opening hours")
    opening_hours_text: str = Field(description="开放时间（中文）/ opening hours as text")
    amenities: list[str]
    phone: str | None = Field(description="电话，未填为 null / null when not given")
    managing_union: str | None = Field(description="管理工会，未填为 null / null when not given")
    county_code: str | None = Field(description="县级代码；不在任何县内为 null / null outside every county")
    township_code: str | None = Field(description="乡级代码；不在任何乡镇内为 null / null outside every township")
    is_demo: bool = Field(description=DEMO.text)
    region_is_approximate: bool = Field(description=f"所属乡镇 / the station's township: {APPROXIMATE.text}")
    source: str
    version: int
    plan_id: int | None = None
    created_at: datetime
    updated_at: datetime
    open_now: bool | None = Field(default=None, description="此刻是否开放（按开放时间）/ open at the time asked")


class RegionProperties(BaseModel):
    code: str
    name: str
    level: Literal["county", "township"]
    parent_code: str | None
    kind: str | None
    population: int | None
    population_is_modelled: bool = Field(description=MODELLED.text)
    boundary_is_approximate: bool = Field(description=APPROXIMATE.text)
    source: str


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["reachable"]
    postgis_version: str
    counts: dict[str, int] = Field(description="各表行数 / rows per table")


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: tuple[float, float] = Field(description="[lon, lat] in the request's crs")


class StationFeatureIn(BaseModel):
    """A station to create or replace, as a GeoJSON Feature."""

    type: Literal["Feature"] = "Feature"
    geometry: PointGeometry
    properties: dict[str, Any] = Field(description=(
        "type_code, name, address, status (open|closed|planned), opening_hours (structured or text such as "
        "'Mo-Fr 09:00-17:00' / '24/7'), amenities (codes), phone, managing_union, is_demo, source"))


class StationPatchIn(BaseModel):
    """Fields to change; anything left out keeps its value."""

    type: Literal["Feature"] = "Feature"
    geometry: PointGeometry | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class NavigationLinks(BaseModel):
    amap: str = Field(description="高德导航（GCJ-02）")
    baidu: str = Field(description="百度地图（BD-09）")
    apple: str = Field(description="Apple Maps (WGS-84)")
    geo: str = Field(description="geo: URI (RFC 5870, WGS-84)")


class NearestStation(BaseModel):
    id: int
    type_code: str
    type_name: str
    name: str
    address: str
    distance_m: float = Field(description="距离（米，椭球面）/ geodesic distance in metres")
    open_now: bool | None = Field(description="此刻是否开放；null 表示开放时间未知 / null: hours unknown")
    opening_hours_text: str
    amenities: list[str]
    phone: str | None
    is_demo: bool
    lon: float
    lat: float
    navigation: NavigationLinks


class NearestOut(BaseModel):
    query: dict[str, Any]
    stations: list[NearestStation]


class HistoryEntry(BaseModel):
    id: int
    action: Literal["insert", "update", "delete"]
    changed_by: str
    changed_at: datetime
    changed_fields: list[str]
    old: dict[str, Any] | None
    new: dict[str, Any] | None


class RowError(BaseModel):
    row: int | None
    field: str | None
    reason: str


class ImportResult(BaseModel):
    imported: int
    ids: list[int]
