"""One station: its details and its service area (urban and rural radius, metres)."""

from __future__ import annotations

import folium

from geo.services.map_data import MapData
from maps.basemap import for_display, get_basemap, new_map
from maps.escape import html_text
from maps.layers import STATION_ALIASES, STATION_FIELDS, add_boundaries, add_panel, data_flags, finish


def station_map(data: MapData, *, basemap: str = "none", tianditu_key: str = "") -> folium.Map:
    """The station, circles of its type's urban and rural radius, and a details panel."""
    chosen = get_basemap(basemap)
    station = for_display(data.stations, chosen).iloc[0]
    style = next(t for t in data.types if t["code"] == station["type_code"])
    point = station.geometry
    map_ = new_map((point.x - 0.1, point.y - 0.08, point.x + 0.1, point.y + 0.08), basemap=basemap,
                   tianditu_key=tianditu_key)
    add_boundaries(map_, data.counties, data.townships, chosen, places=data.places)
    area = folium.FeatureGroup(name="服务范围 / service area")
    for radius, label in ((style["radius_rural_m"], "乡村半径"), (style["radius_urban_m"], "城镇半径")):
        folium.Circle([point.y, point.x], radius=radius, color=style["color"], weight=1, fill=True,
                      fill_opacity=0.08, tooltip=f"{label} {radius:,.0f} m").add_to(area)
    area.add_to(map_)
    folium.CircleMarker([point.y, point.x], radius=8, color="#222", weight=2, fill=True, fill_color=style["color"],
                        fill_opacity=1, tooltip=html_text(station["name"])).add_to(map_)
    details = "".join(f"<div><b>{label}</b> {html_text(station[name])}</div>"
                      for name, label in zip(STATION_FIELDS, STATION_ALIASES, strict=True))
    add_panel(map_, details + f"<div><b>电话</b> {html_text(station['phone'] or '—')}</div>",
              element_id="unionmap-station")
    return finish(map_, legend_title="站点 / station", legend=[(style["name_zh"], style["color"])],
                  flags=data_flags(data.stations, data.townships, data.population_is_modelled))
