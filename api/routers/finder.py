"""The phone finder page: nearest open stations, their amenities and a hand-off to navigation.

``GET /finder`` renders ``maps/finder/finder.html`` with what the page needs offline: the
service types, the amenity vocabulary, the townships (a seat point each, the fallback when the
browser gives no position) and simplified county outlines (the map works with no tiles). The
page then asks ``/api/v1/stations/nearest`` from the browser (``?station=<id>`` in the page's URL,
a printed card's QR, puts that station first), and a rider's "报告问题" posts to
``/api/v1/stations/{id}/reports``. Its script and stylesheet are
served from ``/finder/static/{name}`` (an allow-list), Leaflet from the app's vendor mount:
no CDN anywhere.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

import maps
from api.deps import ReadSessionDep, RegionDep, SettingsDep
from geo.notices import DEMO, REPORTED_CLOSED
from geo.reference import DEFAULT_TYPE, service_types
from geo.reference import layers as reference
from geo.services.reports import KIND_LABELS
from geo.store import regions
from geo.store import service_types as stored_types
from geo.store.models import REPORT_NOTE_MAX
from maps import assets

router = APIRouter(prefix="/finder", tags=["finder 查找"])

FINDER_DIR = Path(maps.__file__).resolve().parent / "finder"
STATIC_FILES: dict[str, str] = {
    "finder.js": "text/javascript; charset=utf-8",
    "finder.css": "text/css; charset=utf-8",
}
# Amenities offered as filter chips, in the order riders ask for them (DESIGN.md, domain facts).
FILTER_AMENITIES = ("charging", "microwave", "toilet", "water", "air_conditioning", "rest")
# County outlines are drawn for orientation only: simplified by 500 m and rounded to ~10 m,
# they weigh ~15 KB of the page instead of ~60 KB.
OUTLINE_TOLERANCE_M = 500.0
OUTLINE_PRECISION_DEG = 1e-4
# Amenity code -> icon id in the page's SVG sprite (finder.html); codes without one show text only.
ICONS = {code: f"i-{code}" for code in ("water", "rest", "shelter", "charging", "microwave", "toilet",
                                        "first_aid", "air_conditioning", "fridge", "wifi", "books")}

_templates = Environment(loader=FileSystemLoader(FINDER_DIR), autoescape=select_autoescape(["html"]),
                         trim_blocks=True, lstrip_blocks=True)


@cache
def static_version(name: str) -> str:
    """A short content hash of a static file, appended to its URL so caches refresh on change."""
    return hashlib.sha256((FINDER_DIR / name).read_bytes()).hexdigest()[:10]


def township_choices(townships: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Townships grouped by county, each with a WGS-84 point: its seat, else a point inside it."""
    seat = gpd.GeoSeries(townships["seat"], crs=townships.crs)
    inside = townships.geometry.representative_point()
    points = seat.where(seat.notna() & ~seat.is_empty, inside)
    frame = townships.assign(lon=points.x.round(5), lat=points.y.round(5),
                             county=townships["county_code"].map(counties.set_index("code")["name"])
                             .fillna(townships["county_code"]))
    groups = []
    for (county_code, county), rows in frame.groupby(["county_code", "county"], sort=True):
        groups.append({"code": county_code, "name": county,
                       "townships": rows[["code", "name", "lon", "lat"]].to_dict("records")})
    return groups


def county_outlines(counties: gpd.GeoDataFrame) -> dict[str, Any]:
    """County boundaries as one GeoJSON line network (WGS-84), shared edges once, simplified in metres."""
    if counties.empty:
        return {"type": "MultiLineString", "coordinates": []}
    metric = counties.to_crs(reference.metric_crs_of(counties))
    network = shapely.line_merge(shapely.union_all(metric.geometry.boundary.to_numpy()))
    simple = gpd.GeoSeries([network], crs=metric.crs).simplify(OUTLINE_TOLERANCE_M).to_crs("EPSG:4326")
    outline: dict[str, Any] = json.loads(shapely.to_geojson(shapely.set_precision(simple.iloc[0],
                                                                                  OUTLINE_PRECISION_DEG)))
    return outline


def _lon_lat_text(point: tuple[float, float] | None) -> str | None:
    """The region's example point as the finder's input takes it: ``lon,lat``."""
    return None if point is None else f"{point[0]:g},{point[1]:g}"


@router.get("", response_class=HTMLResponse, summary="附近站点查找 / phone finder page")
def finder_page(request: Request, session: ReadSessionDep, settings: SettingsDep, region: RegionDep) -> HTMLResponse:
    """手机查找页：最近的开放站点、设施、电话与导航 / nearest open stations, for phones."""
    types = stored_types.service_types(session)
    amenities = service_types.read_amenities(settings.data_dir / "amenities.yaml")
    counties = regions.regions_frame(session, "county")
    townships = regions.regions_frame(session, "township")
    root = request.scope.get("root_path", "")
    config = {
        "api": f"{root}/api/v1/stations/nearest",
        "defaultType": DEFAULT_TYPE if any(t.code == DEFAULT_TYPE for t in types) else "",
        "amenities": {code: {"name": a.name_zh, "icon": ICONS.get(code)} for code, a in amenities.items()},
        "outlines": county_outlines(counties),
        "centre": region.map_centre,  # [lon, lat] from region.yaml, for a map with no outlines
        "example": _lon_lat_text(region.example_point),
        # "报告问题": POST {stations}/{id}/reports; the four choices and the text's limit.
        "stations": f"{root}/api/v1/stations",
        "reportKinds": list(KIND_LABELS.items()),
        "noteMax": REPORT_NOTE_MAX,
        "reportedClosed": REPORTED_CLOSED.label_zh,
    }
    html = _templates.get_template("finder.html").render(
        root=root, vendor=f"{root}{assets.URL_PREFIX}", config=config,
        version={name: static_version(name) for name in STATIC_FILES},
        types=[{"code": t.code, "name": t.name_zh} for t in types], default_type=config["defaultType"],
        chips=[{"code": code, "name": amenities[code].name_zh, "icon": ICONS.get(code)}
               for code in FILTER_AMENITIES if code in amenities],
        counties=township_choices(townships, counties), example=config["example"], demo_notice=DEMO.text,
    )
    return HTMLResponse(html)


@router.get("/static/{name}", include_in_schema=False)
def finder_static(name: str) -> FileResponse:
    """The finder's own script and stylesheet (allow-listed names only)."""
    if name not in STATIC_FILES:
        raise HTTPException(404, detail=f"no static file {name!r}")
    return FileResponse(FINDER_DIR / name, media_type=STATIC_FILES[name],
                        headers={"Cache-Control": "public, max-age=86400"})
