"""One station: its details beside or under the map, and its service area (urban and rural radius, metres).

The details are part of the page, not a popup: on a phone they sit under the map, readable
without a tap, with the hand-off links to the navigation apps (``geo.core.navigation``).
"""

from __future__ import annotations

import re
from typing import Any

import folium
from branca.element import Element

from geo.core import navigation
from geo.services.map_data import MapData
from maps.basemap import figure, for_display, get_basemap, new_map
from maps.escape import html_text
from maps.layers import STATION_ALIASES, STATION_FIELDS, add_boundaries, data_flags, finish

# The apps the finder hands off to as well; each link is an https URL (geo: needs an app to exist).
NAVIGATION_APPS = [("amap", "高德"), ("baidu", "百度"), ("apple", "Apple 地图")]


def station_map(data: MapData, *, basemap: str = "none", tianditu_key: str = "") -> folium.Map:
    """The station, circles of its type's urban and rural radius, and its details."""
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
    lon, lat = float(data.stations.geometry.x.iloc[0]), float(data.stations.geometry.y.iloc[0])  # WGS-84
    links = navigation.links(lon, lat, str(station["name"]))  # each app's datum is made from WGS-84
    figure(map_).html.add_child(Element(details_html(data.stations.iloc[0], style, links)))
    # The details name the type and its colour: no separate legend box.
    return finish(map_, legend_title="站点 / station", legend=[],
                  flags=data_flags(data.stations, data.townships, data.population_is_modelled, data.notes))


def details_html(station: Any, style: dict[str, Any], links: dict[str, str]) -> str:
    """The station's details as a page section: name, the popup's fields, phone, radii, navigation."""
    name = html_text(station["name"])
    rows = [(label, html_text(station[field])) for field, label in zip(STATION_FIELDS, STATION_ALIASES, strict=True)
            if field != "name"]
    rows[0] = (rows[0][0], f'<span class="unionmap-swatch" style="background:{html_text(style["color"])}"></span>'
                           f"{rows[0][1]}")  # the type, in its map colour
    phone = station["phone"]
    dial = re.sub(r"[^\d+]", "", str(phone or ""))
    rows.append(("电话", f'<a class="unionmap-call" href="tel:{dial}">{html_text(phone)}</a>' if dial
                 else html_text(phone or "—")))
    rows.append(("服务半径", f"城镇 {style['radius_urban_m']:,.0f} m · 乡村 {style['radius_rural_m']:,.0f} m"))
    listed = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    apps = "".join(f'<a href="{html_text(links[key])}" target="_blank" rel="noopener noreferrer" '
                   f'aria-label="用{label}导航到{name}">{label}</a>' for key, label in NAVIGATION_APPS)
    return (f'<section id="unionmap-station" class="unionmap-details" aria-labelledby="unionmap-station-name">'
            f'<h2 id="unionmap-station-name">{name}</h2><dl>{listed}</dl>'
            f'<p class="unionmap-navigate"><span>导航 / navigate</span>{apps}</p></section>')
