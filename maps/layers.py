"""Layers every map shares: boundaries, station dots, and the finishing touches.

All frames come in WGS-84 and are put in the basemap's datum here, for drawing only.
"""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd
from folium.plugins import MarkerCluster

from geo.core import hours
from geo.notices import COUNTY_UNITS, DEMO, POSITION_UNKNOWN
from geo.reference.layers import COUNTY_UNIT_KIND
from maps.basemap import Basemap, figure, for_display
from maps.display import geojson, simplify_coverage
from maps.escape import html_text
from maps.labels import add_labels
from maps.notices import DataFlags, add_legend, add_notice, collapsible

STATUS_ZH = {"open": "开放", "closed": "关闭", "planned": "规划中"}
STATION_FIELDS = ["name", "type_name", "status_zh", "address", "hours_zh", "amenities_zh", "demo_zh"]
STATION_ALIASES = ["名称", "类型", "状态", "地址", "开放时间", "设施", "数据"]


def with_display_columns(stations: gpd.GeoDataFrame, amenity_names: dict[str, str]) -> gpd.GeoDataFrame:
    """Add the Chinese display columns the popups show (new frame)."""
    return stations.assign(
        status_zh=stations["status"].map(STATUS_ZH),
        hours_zh=[hours.describe_zh(hours.from_json(value)) for value in stations["opening_hours"]],
        amenities_zh=["、".join(amenity_names.get(code, code) for code in codes) for codes in stations["amenities"]],
        demo_zh=[DEMO.label if demo else "登记数据" for demo in stations["is_demo"]],
    )


def add_boundaries(map_: folium.Map, counties: gpd.GeoDataFrame, townships: gpd.GeoDataFrame | None,
                   basemap: Basemap, *, places: gpd.GeoDataFrame | None = None,
                   township_names: gpd.GeoDataFrame | None = None) -> None:
    """County outlines and (approximate) township outlines with a name tooltip (None: counties only),
    and the place names (``maps.labels``): counties, townships, the ``places`` given.

    ``township_names``: townships to label whose outlines the caller draws itself (the coverage
    map shades its own); by default the ``townships`` drawn here.
    """
    counties = simplify_coverage(counties)
    if townships is not None and not townships.empty:
        townships = simplify_coverage(townships)
        townships = townships.assign(position_zh=position_words(townships))
        units = "kind" in townships and bool((townships["kind"] == COUNTY_UNIT_KIND).all())
        folium.GeoJson(
            geojson(for_display(townships, basemap)[["code", "name", "population", "position_zh", "geometry"]]),
            name=f"乡镇（{COUNTY_UNITS.label_zh}）/ townships: {COUNTY_UNITS.label_en}" if units
            else "乡镇（推算边界）/ townships",
            style_function=lambda _: {"color": "#888", "weight": 0.7, "dashArray": "4 3", "fillOpacity": 0.02},
            tooltip=folium.GeoJsonTooltip(["name", "code", "population", "position_zh"],
                                          ["区县单元" if units else "乡镇", "代码", "人口（普查）" if units
                                           else "人口（模型）", "位置"]),
        ).add_to(map_)
    folium.GeoJson(geojson(for_display(counties, basemap)[["code", "name", "geometry"]]),
                   name="县（市、区）/ counties",
                   style_function=lambda _: {"color": "#333", "weight": 2, "fillOpacity": 0},
                   interactive=False).add_to(map_)
    add_labels(map_, counties, township_names if township_names is not None else townships, places, basemap)


def position_words(townships: gpd.GeoDataFrame) -> list[str]:
    """What a tooltip says of each township's position: known from its seat, or unknown."""
    count = len(townships)
    unknown = townships["position_unknown"] if "position_unknown" in townships else [False] * count
    approximate = townships["boundary_is_approximate"] if "boundary_is_approximate" in townships else [True] * count
    return [POSITION_UNKNOWN.detail_zh if flag else "由驻地点推算" if derived else "官方边界"
            for flag, derived in zip(unknown, approximate, strict=True)]


def add_stations(map_: folium.Map, stations: gpd.GeoDataFrame, types: list[dict[str, Any]], basemap: Basemap,
                 *, cluster: bool = False) -> None:
    """One switchable layer of coloured dots per type (clustered when asked)."""
    stations = for_display(stations, basemap)
    for style in types:
        subset = stations[stations["type_code"] == style["code"]]
        # The layer control shows layer names as HTML.
        group = folium.FeatureGroup(name=f"{html_text(style['name_zh'])}（{len(subset)}）", show=True)
        target: folium.Element = MarkerCluster(name=html_text(style["name_zh"])).add_to(group) if cluster else group
        if cluster:
            for row in subset.itertuples():
                folium.CircleMarker([row.geometry.y, row.geometry.x], radius=6, weight=1, color="#222",
                                    fill=True, fill_color=style["color"], fill_opacity=0.9,
                                    tooltip=html_text(row.name), popup=folium.Popup(_popup(row), max_width=300),
                                    ).add_to(target)
        elif not subset.empty:
            folium.GeoJson(
                geojson(subset[[*STATION_FIELDS, "geometry"]]),
                marker=folium.CircleMarker(radius=5, weight=1, fill=True, fill_opacity=0.85),
                style_function=lambda _, color=style["color"]: {"color": "#222", "fillColor": color},
                tooltip=folium.GeoJsonTooltip(["name", "type_name"], ["名称", "类型"]),
                popup=folium.GeoJsonPopup(STATION_FIELDS, STATION_ALIASES),
            ).add_to(target)
        group.add_to(map_)


def _popup(row: Any) -> str:
    return "<br>".join(f"<b>{label}</b> {html_text(getattr(row, name))}"
                       for name, label in zip(STATION_FIELDS, STATION_ALIASES, strict=True))


def add_panel(map_: folium.Map, html: str, *, element_id: str, title: str = "说明 / details") -> None:
    """An information panel (already-escaped HTML) over the map's top left, below the notice; it
    folds into a button titled ``title`` on a phone."""
    figure(map_).html.add_child(collapsible(html, summary=title, element_id=element_id, classes="unionmap-panel"))


def finish(map_: folium.Map, *, legend_title: str, legend: list[tuple[str, str]], flags: DataFlags) -> folium.Map:
    """Layer control, legend and the honesty notices: every map ends here."""
    folium.LayerControl(collapsed=True).add_to(map_)  # a button on phones; hover or tap to open
    add_legend(map_, legend_title, legend)
    add_notice(map_, flags)
    return map_


def data_flags(stations: gpd.GeoDataFrame, townships: gpd.GeoDataFrame, population_is_modelled: bool,
               notes: tuple[str, ...] = ()) -> DataFlags:
    """What on this map is demo data, approximate, placed without a seat or modelled; ``notes``
    about the region as a whole (``MapData.notes``)."""
    unknown = int(townships["position_unknown"].sum()) if "position_unknown" in townships else 0
    return DataFlags(demo=bool(stations["is_demo"].any()) if not stations.empty else False,
                     approximate_boundaries=bool(townships["boundary_is_approximate"].any()),
                     modelled_population=population_is_modelled, townships=len(townships),
                     unknown_townships=unknown, notes=notes)
