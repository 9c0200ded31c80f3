"""Response schemas: GeoJSON in WGS-84 (lon, lat), flags for what is demo or approximate."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field, field_validator

from geo.analysis.whatif import MAX_SITES
from geo.core.crs import CoordSystem
from geo.notices import APPROXIMATE_FIELD, DEMO, MODELLED, POSITION_UNKNOWN, REPORTED_CLOSED
from geo.reference import DEFAULT_TYPE

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
    region_is_approximate: bool = Field(description=f"所属乡镇 / the station's township: {APPROXIMATE_FIELD.text}")
    source: str
    version: int
    plan_id: int | None = None
    created_at: datetime
    updated_at: datetime
    open_now: bool | None = Field(default=None, description=(
        "此刻是否开放：状态为开放且在开放时间内；关闭、规划中的站点为 false；开放时间未知为 null / "
        "open at the time asked: status open and within its hours; closed or planned: false; hours unknown: null"))


class RegionProperties(BaseModel):
    code: str
    name: str
    level: Literal["county", "township"]
    parent_code: str | None
    kind: str | None
    population: int | None
    population_is_modelled: bool = Field(description=MODELLED.text)
    boundary_is_approximate: bool = Field(description=APPROXIMATE_FIELD.text)
    position_unknown: bool = Field(description=f"未给驻地点（县级为 false）/ no seat given (false for counties): "
                                               f"{POSITION_UNKNOWN.text}")
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
    reported_closed: bool = Field(description=(
        f"{REPORTED_CLOSED.label}：{REPORTED_CLOSED.detail}。每个服务进程至多每 reported_closed_refresh_s 秒"
        "（默认 30）重读一次 / each server process re-reads the flags at most every reported_closed_refresh_s"))


class NearestOut(BaseModel):
    query: dict[str, Any]
    stations: list[NearestStation]


class FieldChangeOut(BaseModel):
    field: str = Field(description="字段（历史中的列名，位置为 geom）/ column as the history names it (geom: position)")
    label: str = Field(description="中文字段名 / Chinese label, e.g. 名称")
    before: str = Field(description="之前，骑手看到的文字；空为 \"\" / before, as riders read it")
    after: str = Field(description="之后 / after, as riders read it")
    moved_m: float | None = Field(None, description="位置移动的距离（米，WGS-84 椭球上）/ metres the position moved")


class HistoryEntry(BaseModel):
    id: int
    action: Literal["insert", "update", "delete", "restore", "undo"] = Field(description=(
        "新建/修改/删除/恢复/撤销 / insert, update, soft delete, restore, undo (a new change putting values back)"))
    changed_by: str
    changed_at: datetime
    changed_fields: list[str]
    changes: list[FieldChangeOut] = Field(description=(
        "可读的差异：每个改动的字段之前 → 之后（新建：所设的字段）/ readable diff: each changed field, before → "
        "after (a create: the fields it set)"))
    old: dict[str, Any] | None
    new: dict[str, Any] | None


class RowError(BaseModel):
    row: int | None
    field: str | None
    reason: str


class ImportResult(BaseModel):
    imported: int
    ids: list[int]


# ---- the plan page: what-if, candidates, saved edits --------------------------------------

class SiteIn(BaseModel):
    """A site: a proposal kept, a point clicked on the map, a row of a CSV."""

    lon: float = Field(ge=-180, le=180, description="经度，坐标系见 crs / longitude in the request's crs")
    lat: float = Field(ge=-90, le=90, description="纬度，坐标系见 crs / latitude in the request's crs")
    name: str | None = Field(default=None, max_length=100, description="名称（可选，原样返回）/ optional label, "
                                                                       "returned as given")


class WhatIfIn(BaseModel):
    type: str = Field(default=DEFAULT_TYPE, max_length=64, description="服务类型 / service type")
    sites: list[SiteIn] = Field(max_length=MAX_SITES, description=(
        f"按顺序的地点（至多 {MAX_SITES} 个，可为空）/ the sites in order (at most {MAX_SITES}, may be empty)"))
    crs: CoordSystem = Field(default="wgs84", description="sites 的坐标系 / coordinate system of sites: wgs84, "
                                                          "gcj02 (Amap), bd09 (Baidu)")


class PlacedSite(BaseModel):
    """A site in WGS-84 with the county and township of its nearest populated cell."""

    lon: float = Field(description="经度 WGS-84")
    lat: float = Field(description="纬度 WGS-84")
    county_code: str | None
    county_name: str | None
    township_code: str | None
    township_name: str | None


class WhatIfSite(PlacedSite):
    order: int = Field(description="顺序，从 1 起 / position in the list, from 1")
    name: str | None = Field(description="请求中的名称 / the name sent, if any")
    added: float = Field(description="该点在已有站点与之前各点之外新增覆盖的人数 / people this site adds to the "
                                     "open stations and the sites before it")
    cumulative_added: float = Field(description="至此累计新增 / people added by the sites up to this one")
    cumulative: float = Field(description="至此覆盖人数 / people covered with the sites up to this one")
    cumulative_share: float = Field(description="至此覆盖率 0..1 / share of the population covered up to here")


class WhatIfOut(BaseModel):
    type: str
    type_name: str
    population: float = Field(description="全市人口（网格）/ everyone in the grid")
    before: float = Field(description="已开放站点覆盖人数 / covered by the open stations of the type")
    after: float = Field(description="加上全部地点后覆盖人数 / covered with every site added")
    added: float = Field(description="after − before")
    share_before: float
    share_after: float
    sites: list[WhatIfSite]
    demo: bool = Field(description=f"计入的站点含演示数据 / the counted stations include demo rows: {DEMO.text}")
    demo_stations: int = Field(description="计入的演示站点数 / demo stations counted")
    population_is_modelled: bool = Field(description=MODELLED.text)
    notices: list[str] = Field(description="说明（演示数据、模型人口）/ notices to show with the figures")


class SavedEditOut(WhatIfOut):
    plan_id: int
    url: str = Field(description="方案地址 / the saved plan's URL")


class CandidateSite(PlacedSite):
    row: int = Field(description="CSV 行号（表头为第 1 行）/ line of the CSV, the header being line 1")
    name: str


class CandidatesOut(BaseModel):
    count: int
    crs: CoordSystem = Field(description="上传文件的坐标系；返回的坐标均为 WGS-84 / the file's; answers are WGS-84")
    sites: list[CandidateSite]


# ---- plans (POST /plans, plan jobs, saved plans) ----

# Candidate sites one plan may be given (a CSV of every village seat of a city fits).
MAX_CANDIDATES = 5000


class PlanIn(BaseModel):
    type: str = Field(default=DEFAULT_TYPE, description="服务类型 / service type")
    add: int = Field(ge=1, le=500, description="新增站点数 / how many new sites")
    min_per_county: int = Field(default=0, ge=0, le=100,
                                description="每县至少（含已有）/ per county, existing included")
    method: Literal["greedy", "exact"] = "greedy"
    time_limit_s: float = Field(default=30.0, gt=0, le=3600, description=(  # plan jobs (issue 12 §3): up to an hour
        "精确解时限（秒，含读取网格与建模）/ wall-clock limit of an exact plan job in seconds, reading the grid and "
        "building the instance included"))
    save: bool = Field(default=False, description="保存为规划站点（需编辑密钥）/ save as planned stations (editor key)")
    candidates: list[SiteIn] | None = Field(default=None, min_length=1, max_length=MAX_CANDIDATES, description=(
        f"自有候选点（至多 {MAX_CANDIDATES} 个，贪心求解）；不给则用网格候选点 / your own candidate sites (at most "
        f"{MAX_CANDIDATES}, greedy only); the grid's candidates when left out"))
    candidate_crs: CoordSystem = Field(default="wgs84", description="candidates 的坐标系 / their coordinate system")


class Proposal(BaseModel):
    order: int
    name: str
    lon: float
    lat: float
    county_code: str
    township_code: str
    county_name: str | None = None
    township_name: str | None = None
    added: float = Field(description="新增覆盖人口 / people this site adds")
    cumulative: float
    share: float


class PlanOut(BaseModel):
    plan_id: int | None
    type: str
    method: str
    status: str
    objective: float
    upper_bound: float = Field(description="已证明的最优值上界（人）/ proven upper bound on the optimum (people)")
    bound_method: Literal["lagrangian", "online", "highs"] = Field(description=(
        "上界来源：拉格朗日上界、子模上界或 HiGHS 精确求解 / which proven bound upper_bound is"))
    bound_share: float = Field(description=(
        "objective / upper_bound：方案至少达到理论最优的比例 / the plan reaches at least this share of the optimum"))
    certificate: str = Field(description="方案质量证明（中文在前）/ the certificate in words, Chinese first")
    greedy_objective: float = Field(description=(
        "局部交换前的贪心覆盖人数 / covered by the greedy answer before 1-swaps"))
    swaps: int = Field(description="改进贪心解的 1-交换次数 / 1-swaps that improved the greedy answer")
    covered_before: float
    covered_after: float
    population: float
    seconds: float
    deficits: dict[str, int]
    proposals: list[Proposal]
    population_is_modelled: bool
    notices: list[str] = Field(default_factory=list, description=(
        "说明（演示数据、模型人口）/ notices to show with the figures (none in a job's stored answer)"))


class StoredSite(BaseModel):
    station_id: int
    name: str
    lon: float = Field(description="经度 WGS-84")
    lat: float = Field(description="纬度 WGS-84")


class StoredPlan(BaseModel):
    id: int
    type_code: str
    method: str
    added: int
    objective: float
    upper_bound: float | None = Field(description="已证明的上界；编辑后的方案（method edited）为 null / proven "
                                                  "bound; null for an edited plan")
    covered_before: float
    covered_after: float
    population: float
    parameters: dict[str, Any]
    created_by: str
    created_at: str
    station_ids: list[int]
    sites: list[StoredSite] = Field(description="规划站点，按方案顺序 / its planned stations, in the plan's order")


class UndoIn(BaseModel):
    # strict: JSON true or "12" is not a change id (pydantic would read them as 1 and 12)
    change_id: int = Field(strict=True, ge=1, le=2**63 - 1,
                           description="要撤销的修改（历史记录的 id）/ the history entry to undo")


class VersionOut(BaseModel):
    id: int
    version: int = Field(description="新版本，即新的 ETag / the new version (the new ETag)")


class HoursPreviewIn(BaseModel):
    """Opening hours to preview before saving (api/routers/hours.py)."""

    opening_hours: dict[str, Any] | Annotated[str, Field(max_length=2000)] = Field(description=(
        "结构化文档或紧凑文本 / the stored document ({always_open, weekly: {mon: [{start, end}]}, note, "
        "closed_on_public_holidays}) or text such as 'Mo-Fr 09:00-17:00; PH off' or '24/7'"),
        examples=[{"weekly": {"mon": [{"start": "09:00", "end": "17:00"}]}, "closed_on_public_holidays": True}])
    at: datetime | None = Field(default=None, description=(
        "预览时刻，默认现在；不带时区时按本地区时间 / the moment to ask about (default now); without an offset "
        "it is the region's wall-clock time"))


    @field_validator("at", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        """ISO 8601 text only: pydantic would also take a number as seconds since 1970."""
        if value is not None and not isinstance(value, str | datetime):
            raise ValueError("ISO 8601 时间文本 / an ISO 8601 time as text, e.g. 2024-06-04T10:00:00+08:00")
        return value


class HoursPreviewOut(BaseModel):
    opening_hours: dict[str, Any] = Field(description="规范化后的文档（保存时存的就是它）/ the normalised document, "
                                                      "as it would be stored")
    open_now: bool | None = Field(description=(
        "该时刻是否开放；null 表示时间未知。不计法定节假日（本地区没有节假日日历）/ open at `at`; null: hours "
        "unknown. Public holidays are not counted (the region has no holiday calendar)"))
    text_zh: str = Field(description="查找页向骑手显示的文字 / the text riders see in the finder")
    osm: str = Field(description="OSM opening_hours 文本 / OSM-style text ('' when unknown)")
    at: datetime = Field(description="所用时刻（本地区时区）/ the moment used, in the region's zone")
    timezone: str = Field(description="本地区时区 / the region's time zone")
    notices: list[str] = Field(default_factory=list, description="说明 / what the answer does not count")


class RegionRef(BaseModel):
    code: str = Field(description="行政区代码 / region code")
    name: str


class TownshipRef(RegionRef):
    boundary_is_approximate: bool = Field(description=APPROXIMATE_FIELD.text)
    position_unknown: bool = Field(description=POSITION_UNKNOWN.text)


class PointQuery(BaseModel):
    lon: float
    lat: float
    crs: CoordSystem


class PointPlaceOut(BaseModel):
    """Where a point lands: the WGS-84 point a station there is stored at, its county and township."""

    query: PointQuery = Field(description="所问的点（原坐标系）/ the point as asked, in its crs")
    lon: float = Field(description="经度 WGS-84（6 位小数，约 0.1 米）/ WGS-84 longitude, 6 decimals (~0.1 m)")
    lat: float = Field(description="纬度 WGS-84（6 位小数）/ WGS-84 latitude, 6 decimals")
    county: RegionRef = Field(description="所在县级行政区 / the county covering the point")
    township: TownshipRef | None = Field(description="所在乡镇；不在任何乡镇内为 null / null outside every township")


# ---- bulk import: the dry-run report and the result of an import (issue 14) ---------------

class ImportRowError(BaseModel):
    """One problem of an import file: the row as a person counts it (CSV: header = row 1; GeoJSON:
    the feature's number), the field, and why. ``row`` is null for the file as a whole."""

    row: int | None
    field: str | None
    reason: str


class ImportChange(BaseModel):
    """A row that changes a stored station, and which of its fields (``position`` for lon/lat)."""

    row: int
    id: int
    name: str
    fields: list[str]


class ImportAddition(BaseModel):
    """A row that adds a station: its row and name."""

    row: int
    name: str


class ImportReport(ImportResult):
    """What an import did (``dry_run`` false: ``ids`` added, ``changed_ids`` changed) or would do.

    ``rows`` = ``to_add`` + ``to_change`` + ``unchanged`` + skipped example rows + the rows with
    errors. ``errors``, ``additions`` and ``changes`` list at most the first few hundred
    (``error_count``, ``to_add`` and ``to_change`` say how many in all).
    """

    dry_run: bool
    mode: Literal["insert", "upsert"]
    rows: int
    to_add: int
    to_change: int
    unchanged: int
    skipped: list[int] = Field(description="示例行（id 为“示例 example”），未导入 / example rows, skipped")
    error_count: int
    errors: list[ImportRowError]
    additions: list[ImportAddition]
    changes: list[ImportChange]
    changed_ids: list[int]


# ---- riders' reports and the planners' inbox ----------------------------------------------

class ReportIn(BaseModel):
    """A rider's report from the finder: what is wrong, and an optional short text. Nothing else
    is taken (no name, no phone): unknown fields are refused."""

    model_config = {"extra": "forbid"}

    kind: Literal["closed", "no_water", "wrong_place", "other"] = Field(
        description="已关闭 closed / 没有饮水 no_water / 位置不对 wrong_place / 其他 other")
    note: str | None = Field(None, max_length=200, description="补充说明（可不填，最多 200 字）/ optional text, "
                                                              "at most 200 characters")


class ReportCreated(BaseModel):
    id: int
    message: str = Field(description="给骑手看的确认 / the confirmation shown to the rider")


class ReportNote(BaseModel):
    id: int
    kind: str
    note: str = Field(description="骑手原文（显示时须转义）/ the rider's text as sent: escape it wherever shown")
    created_at: datetime


class StationReportsOut(BaseModel):
    station_id: int
    name: str
    counts: dict[str, int] = Field(description="按类型计数 / reports by kind: closed, no_water, wrong_place, other")
    total: int
    needs_check: bool = Field(description="未处理的“已关闭”报告来自足够多的不同客户端，需核实 / open closed reports "
                                          "from at least settings.closed_reports_to_flag different clients")
    closed_clients: int = Field(description="报告“已关闭”的不同客户端数 / different clients behind closed reports")
    newest_id: int = Field(description="最新一条报告的编号；用于“整站处理” / the newest report's id, for scope station")
    first_at: datetime
    last_at: datetime
    latest_notes: list[ReportNote] = Field(description="最新的几条有文字的报告 / the newest reports with a text")


class ReportsOut(BaseModel):
    status: Literal["open", "resolved", "dismissed"]
    total: int = Field(description="报告总数 / reports in all groups")
    stations: list[StationReportsOut]


class SettleIn(BaseModel):
    """How a planner settles a report."""

    model_config = {"extra": "forbid"}

    note: str | None = Field(None, max_length=200, description="处理说明（可不填）/ optional note on what was done")
    scope: Literal["report", "station"] = Field("report", description=(
        "report：只处理这一条；station：这一条及同站点更早的全部未处理报告（之后到的新报告不受影响）/ report: this "
        "one only; station: this one and every older open report of its station (newer ones stay open)"))


class SettledOut(BaseModel):
    ids: list[int] = Field(description="本次处理的报告编号 / the reports settled now")
    station_id: int
    resolution: Literal["resolved", "dismissed"]
    resolved_by: str = Field(description="操作人（密钥名）/ the actor, as the history names it")
    resolved_at: datetime
    open_left: int = Field(description="该站点仍未处理的报告数 / reports of the station still open")


class PageLink(BaseModel):
    """A link to another page of the same list, with the same query parameters."""

    href: str = Field(description="绝对地址 / absolute URL")
    rel: Literal["next", "prev"]
    type: Literal["application/json"] = "application/json"
    title: str


class StationPage(FeatureCollection[StationProperties]):
    """One page of ``GET /api/v1/stations`` (stable order: station id)."""

    numberMatched: int = Field(description="符合条件的站点总数 / stations matching the filters, all pages")
    links: list[PageLink] = Field(description="`next`（还有下一页时）与 `prev`（不是第一页时）/ "
                                              "`next` while stations remain, `prev` after the first page")
