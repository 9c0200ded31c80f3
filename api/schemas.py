"""Response schemas: GeoJSON in WGS-84 (lon, lat), flags for what is demo or approximate."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

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
    type_code: str = Field(description="服务类型代码 / service type code")
    type_name: str = Field(description="服务类型 / type name")
    name: str
    address: str
    status: Literal["open", "closed", "planned"]
    opening_hours: dict[str, Any] = Field(description="结构化开放时间 / structured opening hours")
    opening_hours_text: str = Field(description="开放时间（中文）/ opening hours as text")
    amenities: list[str]
    phone: str | None
    managing_union: str | None
    county_code: str | None
    township_code: str | None
    is_demo: bool = Field(description="演示数据 / synthetic demo row, not a real station")
    region_is_approximate: bool = Field(
        description="所属乡镇边界为推算 / the township was assigned with an approximate boundary")
    source: str
    version: int
    created_at: datetime
    updated_at: datetime


class RegionProperties(BaseModel):
    code: str
    name: str
    level: Literal["county", "township"]
    parent_code: str | None
    kind: str | None
    population: int | None
    population_is_modelled: bool = Field(description="人口为模型估算 / modelled population")
    boundary_is_approximate: bool = Field(description="边界为推算 / derived, not official")
    source: str


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["reachable"]
    postgis_version: str
    counts: dict[str, int] = Field(description="各表行数 / rows per table")
