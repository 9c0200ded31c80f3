"""Lighter geometry for drawing: maps need metres of precision, not millimetres."""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import shapely

from geo.core import crs
from maps.escape import html_properties

DISPLAY_GRID_DEG = 1e-5  # about 1 m at these latitudes


def simplify_coverage(regions: gpd.GeoDataFrame, *, tolerance_m: float = 30.0) -> gpd.GeoDataFrame:
    """Simplify polygons that tile an area without opening gaps between neighbours.

    ``shapely.coverage_simplify`` simplifies shared edges once, so adjacent townships stay
    adjacent; the tolerance is in metres (UTM zone of the frame), never degrees. Coordinates
    are then rounded to 1e-5° (about 1 m), which keeps the page small.
    """
    metric = crs.to_metric(regions)
    assert regions.crs is not None  # to_metric has refused a frame without one
    simplified = shapely.coverage_simplify(metric.geometry.values, tolerance_m)
    back = gpd.GeoSeries(simplified, crs=metric.crs, index=regions.index).to_crs(regions.crs)
    return regions.set_geometry(shapely.set_precision(back.values, DISPLAY_GRID_DEG, mode="pointwise"))


def geojson(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """A FeatureCollection for folium without per-feature bounding boxes (which geopandas'
    ``__geo_interface__`` adds and which nearly double a page), coordinates rounded to ~1 m.

    Text properties come HTML-escaped: Folium's GeoJSON tooltips and popups put them into
    ``innerHTML`` in the browser, so a name like ``<img onerror=…>`` would otherwise run there.
    """
    rounded = html_properties(frame).set_geometry(
        shapely.set_precision(frame.geometry.values, DISPLAY_GRID_DEG, mode="pointwise"))
    collection: dict[str, Any] = json.loads(rounded.to_json(drop_id=True))
    return collection
