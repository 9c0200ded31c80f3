"""Basemaps: a user's choice, never needed by tests (default: none, a plain background)."""

from __future__ import annotations

import folium

BASEMAPS = ("none", "osm")


def new_map(bounds: tuple[float, float, float, float], *, basemap: str = "none") -> folium.Map:
    """An empty map fitted to (west, south, east, north) in WGS-84, with a scale bar."""
    if basemap not in BASEMAPS:
        raise ValueError(f"unknown basemap {basemap!r}; choose one of {', '.join(BASEMAPS)}")
    west, south, east, north = bounds
    if any(value != value for value in bounds):  # NaN: nothing loaded yet, show the world
        west, south, east, north = -180.0, -60.0, 180.0, 75.0
    map_ = folium.Map(
        location=[(south + north) / 2, (west + east) / 2],
        tiles="OpenStreetMap" if basemap == "osm" else None,
        control_scale=True,
        prefer_canvas=True,
    )
    map_.fit_bounds([[south, west], [north, east]])
    return map_
