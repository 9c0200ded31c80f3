"""The editor's station pages: find stations (``/edit``), create one, edit one.

The pages carry what they need as JSON (``<script type="application/json">``): the vocabulary
(types, amenities, statuses, counties and townships), the county outlines for a map that works
without tiles, and, on the form, the station as stored with its version. Every read and write
after that goes through the JSON API (``/api/v1/stations``, ``/api/v1/regions/at``) from
``maps/static/edit-stations.js`` and ``edit-station.js``, with the session's CSRF token and
If-Match, so the browser and a program with a key follow exactly the same rules and messages.
A station with open riders' reports says so above its form, with a link to the inbox.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.deps import RegionDep, SessionDep, SettingsDep, StationId
from api.editor.pages import EditorDep, page
from api.routers.finder import county_outlines, township_choices
from api.routers.stations import MAX_PAGE
from geo.notices import DEMO
from geo.reference import DEFAULT_TYPE, service_types
from geo.reference.region import RegionConfig
from geo.services import reports
from geo.settings import Settings
from geo.store import catalogue, regions
from geo.store import service_types as stored_types
from geo.store.sessions import LiveSession
from maps import vector_basemap
from maps.basemap import get_basemap
from maps.layers import STATUS_ZH
from maps.links import rooted

router = APIRouter(prefix="/edit", include_in_schema=False)

# The list shows this many stations a page; the map shows every match (the demo registry: ~500).
PAGE_SIZE = 50


def vocabulary(session: Session, settings: Settings) -> dict[str, Any]:
    """What a station may say, with Chinese labels: types, amenities, statuses, counties and townships."""
    amenities = service_types.read_amenities(settings.data_dir / "amenities.yaml")
    counties = regions.regions_frame(session, "county")
    return {
        "types": [{"code": t.code, "name": t.name_zh} for t in stored_types.service_types(session)],
        "amenities": [{"code": code, "name": a.name_zh, "name_en": a.name_en} for code, a in amenities.items()],
        "statuses": [{"code": code, "name": name} for code, name in STATUS_ZH.items()],
        "counties": township_choices(regions.regions_frame(session, "township"), counties),
        "outlines": county_outlines(counties),
    }


def map_config(settings: Settings, region: RegionConfig) -> dict[str, Any]:
    """The map's centre and its basemap: a WGS-84 raster's tiles (the CSP already allows their host)
    or the offline PMTiles file (``maps.vector_basemap``'s layer, drawn by ``pmtiles-basemap.js``).

    Amap's GCJ-02 tiles are not drawn here: the editor's points are WGS-84 and its map stays on
    the county outlines rather than show them shifted.
    """
    basemap = get_basemap(settings.drawn_basemap)
    tiles = None
    if basemap.tiles and basemap.datum == "wgs84":
        tiles = {"url": basemap.tiles.replace("{key}", settings.tianditu_key), "attribution": basemap.attribution,
                 "subdomains": "01234567"}
    pmtiles = None
    if settings.drawn_basemap == "pmtiles":
        pmtiles = {"url": vector_basemap.URL, "flavor": vector_basemap.FLAVOR, "lang": vector_basemap.LANG,
                   "attribution": vector_basemap.ATTRIBUTION}
    return {"centre": region.map_centre, "tiles": tiles, "pmtiles": pmtiles}


def home_page(request: Request, editor: LiveSession, session: Session, settings: Settings, region: RegionConfig,
              *, expires: str) -> HTMLResponse:
    """``/edit``: search, filters, the list and the map (the list and map are drawn by edit-stations.js)."""
    words = vocabulary(session, settings)
    query = {name: request.query_params.get(name, "")[:100]
             for name in ("q", "type", "county", "township", "status")}
    # apiPageMax: the list asks the API for its largest pages and follows `next` (every match on the map).
    config = {"api": rooted("/api/v1/stations"), "edit": rooted("/edit/stations/"), "pageSize": PAGE_SIZE,
              "apiPageMax": MAX_PAGE,
              "demo": DEMO.label, **words, **map_config(settings, region)}
    return page("index.html", request, editor, title="站点名录 / registry", page_kind="home", expires=expires,
                query=query, words=words, config=config)


@router.get("/stations/new", response_class=HTMLResponse)
def new_station(request: Request, editor: EditorDep, session: SessionDep, settings: SettingsDep,
                region: RegionDep) -> HTMLResponse:
    """The form for a new station (type preset to the region's default)."""
    blank: dict[str, Any] = {"type_code": DEFAULT_TYPE, "name": "", "address": "", "status": "open",
                             "opening_hours": None, "amenities": [], "phone": None, "managing_union": None,
                             "is_demo": False, "source": ""}
    return _form(request, editor, session, settings, region, station=blank, title="新建站点 / new station")


@router.get("/stations/{station_id:int}", response_class=HTMLResponse)
def edit_station(station_id: StationId, request: Request, editor: EditorDep, session: SessionDep,
                 settings: SettingsDep, region: RegionDep) -> HTMLResponse:
    """The form of a live station, with the version it starts from (a deleted one: 404)."""
    rows = catalogue.station_rows(session, catalogue.StationFilter(ids=(station_id,)))
    if not rows:
        return page("stations_missing.html", request, editor, status_code=404, title="没有这个站点 / no such station",
                    page_kind="station", station_id=station_id)
    row = rows[0]
    station = {name: row[name] for name in ("id", "version", "type_code", "name", "address", "status",
                                            "opening_hours", "amenities", "phone", "managing_union", "is_demo",
                                            "source", "lon", "lat", "county_code", "township_code")}
    station["amenities"] = list(station["amenities"] or [])
    standing = reports.standing(session, station_id, flag_clients=settings.closed_reports_to_flag)
    return _form(request, editor, session, settings, region, station=station, title=f"编辑站点 / edit: {row['name']}",
                 standing=standing)


def _form(request: Request, editor: LiveSession, session: Session, settings: Settings, region: RegionConfig, *,
          station: dict[str, Any], title: str, standing: reports.Standing | None = None) -> HTMLResponse:
    words = vocabulary(session, settings)
    stored_hours = station["opening_hours"] or None
    config = {"station": station, "api": rooted("/api/v1/stations"), "at": rooted("/api/v1/regions/at"),
              "list": rooted("/edit"),
              "edit": rooted("/edit/stations/"), **words,
              **map_config(settings, region)}
    return page("station_form.html", request, editor, title=title, page_kind="station", station=station,
                words=words, config=config, hours=stored_hours,
                demo_notice=DEMO.text, standing=standing, flag_clients=settings.closed_reports_to_flag)

