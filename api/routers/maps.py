"""Folium maps as HTML pages; their scripts and stylesheets come from this app, never a CDN."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.deps import SessionDep, SettingsDep
from geo import catalogue, reference, service_types
from maps import assets
from maps.stations import TypeStyle, stations_map, with_display_columns

router = APIRouter(prefix="/maps", tags=["maps 地图"])


@router.get("/stations", response_class=HTMLResponse, summary="站点地图 / map of all stations")
def stations_page(session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """全部站点按类型分层显示，附图例与演示/推算提示 / all stations by type, legend and notices."""
    types = [TypeStyle(t.code, t.name_zh, t.color) for t in service_types.service_types(session)]
    amenities = service_types.read_amenities(settings.data_dir / "amenities.yaml")
    stations = with_display_columns(catalogue.stations_frame(session),
                                    {code: a.name_zh for code, a in amenities.items()})
    map_ = stations_map(stations, reference.regions_frame(session, "county"),
                        reference.regions_frame(session, "township"), types, basemap=settings.basemap)
    return HTMLResponse(assets.render(map_))
