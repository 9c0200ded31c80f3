"""Map of all stations by type, over county and (approximate) township boundaries."""

from __future__ import annotations

from dataclasses import dataclass

import folium
import geopandas as gpd

from maps.basemap import new_map
from maps.display import simplify_coverage
from maps.notices import DataFlags, add_legend, add_notice


@dataclass(frozen=True)
class TypeStyle:
    """How one service type is drawn."""

    code: str
    name_zh: str
    color: str


STATION_FIELDS = ["name", "type_name", "status_zh", "address", "hours_zh", "amenities_zh", "demo_zh"]
STATION_ALIASES = ["名称", "类型", "状态", "地址", "开放时间", "设施", "数据"]


def stations_map(stations: gpd.GeoDataFrame, counties: gpd.GeoDataFrame,
                 townships: gpd.GeoDataFrame, types: list[TypeStyle], *,
                 basemap: str = "none") -> folium.Map:
    """Stations as coloured dots, one switchable layer per type, with legend and notices.

    ``stations`` carries the display columns of ``STATION_FIELDS`` and ``type_code``,
    ``is_demo``; ``townships`` carries ``boundary_is_approximate`` and
    ``population_is_modelled``. All frames are WGS-84.
    """
    map_ = new_map(tuple(counties.total_bounds), basemap=basemap)
    counties, townships = simplify_coverage(counties), simplify_coverage(townships)
    folium.GeoJson(
        townships[["code", "name", "population", "geometry"]], name="乡镇（推算边界）/ townships",
        style_function=lambda _: {"color": "#888", "weight": 0.7, "dashArray": "4 3", "fillOpacity": 0.02},
        tooltip=folium.GeoJsonTooltip(["name", "code", "population"], ["乡镇", "代码", "人口（模型）"]),
    ).add_to(map_)
    folium.GeoJson(
        counties[["code", "name", "geometry"]], name="县（市、区）/ counties",
        style_function=lambda _: {"color": "#333", "weight": 2, "fillOpacity": 0},
        interactive=False,
    ).add_to(map_)
    for style in types:
        subset = stations[stations["type_code"] == style.code]
        group = folium.FeatureGroup(name=f"{style.name_zh}（{len(subset)}）", show=True)
        if not subset.empty:
            folium.GeoJson(
                subset[[*STATION_FIELDS, "geometry"]],
                marker=folium.CircleMarker(radius=5, weight=1, fill=True, fill_opacity=0.85),
                style_function=lambda _, color=style.color: {"color": "#222", "fillColor": color},
                tooltip=folium.GeoJsonTooltip(["name", "type_name"], ["名称", "类型"]),
                popup=folium.GeoJsonPopup(STATION_FIELDS, STATION_ALIASES),
            ).add_to(group)
        group.add_to(map_)
    folium.LayerControl(collapsed=False).add_to(map_)
    add_legend(map_, "服务阵地 / service points", [(s.name_zh, s.color) for s in types])
    add_notice(map_, DataFlags(
        demo=bool(stations["is_demo"].any()) if not stations.empty else False,
        approximate_boundaries=bool(townships["boundary_is_approximate"].any()),
        modelled_population=bool(townships["population_is_modelled"].any()),
    ))
    return map_


STATUS_ZH = {"open": "开放", "closed": "关闭", "planned": "规划中"}


def with_display_columns(stations: gpd.GeoDataFrame, amenity_names: dict[str, str]) -> gpd.GeoDataFrame:
    """Add the Chinese display columns the map's popups show (new frame)."""
    from geo import hours

    return stations.assign(
        status_zh=stations["status"].map(STATUS_ZH),
        hours_zh=[hours.describe_zh(hours.from_json(value)) for value in stations["opening_hours"]],
        amenities_zh=["、".join(amenity_names.get(code, code) for code in codes) for codes in stations["amenities"]],
        demo_zh=["演示数据（非真实）" if demo else "登记数据" for demo in stations["is_demo"]],
    )
