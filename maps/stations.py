"""Map of all stations by type, over county and (approximate) township boundaries."""

from __future__ import annotations

import folium

from geo.services.map_data import MapData
from maps.basemap import get_basemap, new_map
from maps.layers import add_boundaries, add_stations, data_flags, finish


def stations_map(data: MapData, *, basemap: str = "none", tianditu_key: str = "") -> folium.Map:
    """Stations as coloured dots, one switchable layer per type, with legend and notices."""
    chosen = get_basemap(basemap)
    map_ = new_map(tuple(data.counties.total_bounds), basemap=basemap, tianditu_key=tianditu_key)
    add_boundaries(map_, data.counties, data.townships, chosen, places=data.places)
    add_stations(map_, data.stations, data.types, chosen)
    return finish(map_, legend_title="服务阵地 / service points",
                  legend=[(t["name_zh"], t["color"]) for t in data.types],
                  flags=data_flags(data.stations, data.townships, data.population_is_modelled, data.notes))
