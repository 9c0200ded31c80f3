"""Basemaps: a user's choice, never needed by tests (default: none, a plain background).

``pmtiles`` draws a local file served by the app (``maps.vector_basemap``), offline.

Amap's tiles are drawn in GCJ-02: on such a basemap every overlay is converted to GCJ-02 for
drawing only (``for_display``); everything stored and served stays WGS-84.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import folium
import geopandas as gpd
from branca.element import Figure

from geo.core import crs
from maps import vector_basemap


@dataclass(frozen=True)
class Basemap:
    """A tile source and the datum its tiles are drawn in."""

    name: str
    tiles: str | None
    attribution: str
    datum: crs.CoordSystem = "wgs84"


BASEMAPS: dict[str, Basemap] = {
    "none": Basemap("none", None, ""),
    "osm": Basemap("osm", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "© OpenStreetMap contributors"),
    "amap": Basemap("amap", "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
                    "&x={x}&y={y}&z={z}", "© 高德地图 AutoNavi", datum="gcj02"),
    "tianditu": Basemap("tianditu", "https://t{s}.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk={key}",
                        "© 天地图 Tianditu"),
    # A local PMTiles file served by the app (maps.vector_basemap): vector tiles, no remote host.
    "pmtiles": Basemap("pmtiles", None, vector_basemap.ATTRIBUTION),
}


def get_basemap(name: str) -> Basemap:
    """The basemap of a name; ValueError naming the choices otherwise."""
    if name not in BASEMAPS:
        raise ValueError(f"unknown basemap {name!r}; choose one of {', '.join(BASEMAPS)}")
    return BASEMAPS[name]


def tile_sources(name: str) -> tuple[str, ...]:
    """Where the basemap's tiles come from, as Content-Security-Policy sources (``https://host``).

    A subdomain template (``t{s}.tianditu.gov.cn``) becomes a wildcard (``*.tianditu.gov.cn``): the
    tiles come from every subdomain. No basemap, no source: the pages then load no remote image.
    """
    tiles = get_basemap(name).tiles
    if tiles is None:
        return ()
    address = urlsplit(tiles)
    labels = address.hostname.split(".") if address.hostname else []
    host = ".".join(["*" if "{" in labels[0] else labels[0], *labels[1:]]) if labels else ""
    return (f"{address.scheme}://{host}",)


def for_display(frame: gpd.GeoDataFrame, basemap: Basemap) -> gpd.GeoDataFrame:
    """The frame in the basemap's datum (GCJ-02 on Amap), for drawing only."""
    if basemap.datum == "wgs84" or frame.empty:
        return frame
    return crs.convert_gdf(frame, source="wgs84", target=basemap.datum)


def new_map(bounds: Sequence[float], *, basemap: str = "none", tianditu_key: str = "") -> folium.Map:
    """An empty map fitted to (west, south, east, north) in WGS-84, with a scale bar."""
    chosen = get_basemap(basemap)
    west, south, east, north = bounds
    if any(value != value for value in bounds):  # NaN: nothing loaded yet, show the world
        west, south, east, north = -180.0, -60.0, 180.0, 75.0
    if chosen.datum != "wgs84":
        (west, east), (south, north) = crs.convert([west, east], [south, north], source="wgs84", target=chosen.datum)
    map_ = folium.Map(location=[(south + north) / 2, (west + east) / 2], tiles=None, control_scale=True,
                      prefer_canvas=True)
    # MarkerCluster needs a maxZoom, which Folium only sets on a tile layer: a map without tiles
    # must carry its own.
    map_.options["maxZoom"] = 18
    if chosen.tiles:
        folium.TileLayer(chosen.tiles.replace("{key}", tianditu_key), attr=chosen.attribution, name=chosen.name,
                         subdomains="1234" if chosen.name == "amap" else "01234567").add_to(map_)
    if chosen.name == "pmtiles":
        vector_basemap.VectorBasemap().add_to(map_)
    map_.fit_bounds([[float(south), float(west)], [float(north), float(east)]])
    return map_


def figure(map_: folium.Map) -> Figure:
    """The page a map is drawn in, where headers and fixed panels go."""
    root = map_.get_root()
    assert isinstance(root, Figure)  # folium.Map puts itself into a Figure when created
    return root
