"""Which builder draws which map; the one entry point of the API and of ``unionmap map render``."""

from __future__ import annotations

from collections.abc import Callable

import folium

from geo.services.map_data import MapData
from maps.coverage import coverage_map
from maps.gaps import gaps_map
from maps.layers import with_display_columns
from maps.plan import plan_map
from maps.shell import dress
from maps.station import station_map
from maps.stations import stations_map

BUILDERS: dict[str, Callable[..., folium.Map]] = {
    "stations": stations_map, "coverage": coverage_map, "gaps": gaps_map, "plan": plan_map, "station": station_map,
}
TITLES = {"stations": "站点分布", "coverage": "覆盖分析", "gaps": "目标差距", "plan": "选址方案", "station": "站点详情"}


def build(data: MapData, *, amenity_names: dict[str, str], basemap: str = "none",
          tianditu_key: str = "") -> folium.Map:
    """The map of ``data.kind`` in the shared page (``maps.shell``), with the stations' Chinese display
    columns added."""
    data = MapData(**{**data.__dict__, "stations": with_display_columns(data.stations, amenity_names)})
    map_ = BUILDERS[data.kind](data, basemap=basemap, tianditu_key=tianditu_key)
    return dress(map_, kind=data.kind, title=TITLES[data.kind])
