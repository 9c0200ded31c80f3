"""Place names on every map, from the project's own data: the context a map has without tiles.

County names always; township names from ``TOWNSHIP_MIN_ZOOM`` on; the region's settlements (its
places file) from ``PLACE_MIN_ZOOM`` on. Each name sits at the centre of its polygon's largest
inscribed circle (computed in metres), which, unlike the centroid, is inside even a C-shaped or
multi-part unit, and is where the unit is widest, so the name has the most room.

Labels never cover each other: a small script, inlined into the page (it works in a downloaded
map too), measures every label's box after each move or zoom and hides those that collide with a
label of higher priority (counties, then townships, then places; within a class the larger
population first) or with what the map draws over itself (the gaps map's badges, the plan's
numbered sites, the controls, panels, notice and legend: data wins over context), and those the
map's edge cuts. A box is the label's measured size at where its anchor projects, so a marker
still gliding (the cluster plug-in animates every marker icon) is judged where it will stop.
Labels sit in a pane below the markers and let every click and hover through to the shapes under
them. One layer-control entry switches them off.
"""

from __future__ import annotations

import json
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import shapely
from folium.map import Layer
from folium.template import Template

from geo.core import crs
from maps.basemap import Basemap, for_display
from maps.escape import html_text

KINDS = ("county", "township", "place")  # index = priority (and the CSS class suffix)
TOWNSHIP_MIN_ZOOM = 10  # Jiujiang's ~200 townships are ~10 km wide: 75 px at zoom 10
PLACE_MIN_ZOOM = 12
MIN_ZOOM = {"county": 0, "township": TOWNSHIP_MIN_ZOOM, "place": PLACE_MIN_ZOOM}
MAX_TOLERANCE_M = 100.0  # far below a label's width at the zoom the name shows
LAYER_NAME = "地名 / place names"
# What a label must not cover: the map's own icons (badges, numbered sites; not the station
# clusters, which move at every zoom and sit above the labels anyway), its controls, and the
# fixed panels, notice and legend drawn over it.
OBSTACLES = (".leaflet-marker-icon:not(.unionmap-label):not(.marker-cluster), .leaflet-control, "
             ".unionmap-panel, #unionmap-notice, #unionmap-legend")

# Dark text with a white halo reads on any fill; 14 px counties, 12 px the rest. The label's
# marker element has no size: its text is centred on the anchor by the inner span.
LABEL_CSS = """<style>
.leaflet-unionmapLabels-pane, .unionmap-label, .unionmap-label * { pointer-events: none !important; }
.unionmap-label > span { position: absolute; left: 0; top: 0; transform: translate(-50%, -50%);
  white-space: nowrap; font: 12px/1.2 sans-serif; color: #222;
  text-shadow: -1px -1px 0 #fff, 1px -1px 0 #fff, -1px 1px 0 #fff, 1px 1px 0 #fff, 0 0 3px #fff; }
.unionmap-label-county > span { font-size: 14px; font-weight: bold; color: #111; }
.unionmap-label-place > span { font-style: italic; color: #444; }
.unionmap-label-hidden { visibility: hidden; }
.leaflet-cluster-anim .leaflet-marker-icon.unionmap-label { transition: none; }  /* no glide after a pass */
</style>"""

# Rows: [lat, lon, escaped name, kind index, min zoom], in priority order. One pass reads every
# box at once (a single layout), then hides the losers; ``unionmapTimes`` keeps each pass's ms.
LABEL_SCRIPT = """
var {{ this.get_name() }} = L.layerGroup();
(function (map, group, rows) {
  var KINDS = {{ this.kinds_json }}, GAP = 2, LATER = "resize overlayadd overlayremove";
  if (!map.getPane("unionmapLabels")) {
    map.createPane("unionmapLabels").style.zIndex = 450;  /* above the shapes, below the markers */
  }
  var items = rows.map(function (row) {
    var marker = L.marker([row[0], row[1]], {pane: "unionmapLabels", interactive: false, keyboard: false,
      icon: L.divIcon({className: "unionmap-label unionmap-label-" + KINDS[row[3]], iconSize: [0, 0],
                       html: "<span>" + row[2] + "</span>"})});
    group.addLayer(marker);
    return {marker: marker, minZoom: row[4]};
  });
  group.unionmapTimes = [];
  function clash(a, b) {
    return a.left < b.right + GAP && b.left < a.right + GAP && a.top < b.bottom + GAP && b.top < a.bottom + GAP;
  }
  function place() {
    if (!map.hasLayer(group)) return;
    var start = performance.now(), zoom = map.getZoom(), view = map.getBounds().pad(0.25);
    items.forEach(function (item) {
      item.element = item.marker.getElement();
      item.on = !!item.element && zoom >= item.minZoom && view.contains(item.marker.getLatLng());
      if (!item.element) return;
      item.element.style.display = item.on ? "" : "none";
      item.element.classList.remove("unionmap-label-hidden");
    });
    var icons = document.querySelectorAll({{ this.obstacles_json }});
    var taken = Array.prototype.map.call(icons, function (icon) { return icon.getBoundingClientRect(); })
      .filter(function (box) { return box.width > 0 && box.height > 0; });
    var frame = map.getContainer().getBoundingClientRect();
    var boxes = items.map(function (item) {  /* where the label is going: its anchor, not a transition's frame */
      if (!item.on) return null;
      var size = item.element.firstChild.getBoundingClientRect();
      var at = map.latLngToContainerPoint(item.marker.getLatLng());
      var x = frame.left + at.x, y = frame.top + at.y, w = size.width / 2, h = size.height / 2;
      return {left: x - w, right: x + w, top: y - h, bottom: y + h};
    });
    function cut(box) {  /* a name half off the map reads as another name */
      return box.left < frame.left || box.right > frame.right || box.top < frame.top || box.bottom > frame.bottom;
    }
    items.forEach(function (item, i) {
      if (!item.on) return;
      if (cut(boxes[i]) || taken.some(function (box) { return clash(boxes[i], box); })) {
        item.element.classList.add("unionmap-label-hidden");
      } else {
        taken.push(boxes[i]);
      }
    });
    group.unionmapTimes.push(performance.now() - start);
  }
  var waiting = false;
  function soon() {  /* after the page's other layers, or a switched overlay, are drawn */
    if (waiting) return;
    waiting = true;
    setTimeout(function () { waiting = false; place(); }, 0);
  }
  group.on("add", function () { map.on("moveend", place); map.on(LATER, soon); soon(); });
  group.on("remove", function () { map.off("moveend", place); map.off(LATER, soon); });
})({{ this._parent.get_name() }}, {{ this.get_name() }}, {{ this.rows_json }});
"""


def anchor_points(regions: gpd.GeoDataFrame, *, max_tolerance_m: float = MAX_TOLERANCE_M) -> gpd.GeoSeries:
    """A label point inside each polygon (in the frame's CRS, same index): the centre of its
    largest inscribed circle, found in metres (UTM).

    The tolerance scales with the unit (1 % of the square root of its area, at most
    ``max_tolerance_m``) so a small urban street gets as good a point as a large county.
    A point that still fell outside (an empty or degenerate shape) is replaced by shapely's
    representative point, which is always inside.
    """
    if regions.empty:
        return gpd.GeoSeries([], crs=regions.crs, index=regions.index)
    projected = crs.to_metric(regions)
    assert regions.crs is not None  # to_metric has refused a frame without one
    metric = projected.geometry.to_numpy()
    tolerance = np.clip(np.sqrt(shapely.area(metric)) / 100, 1.0, max_tolerance_m)
    centres = shapely.get_point(shapely.maximum_inscribed_circle(metric, tolerance), 0)
    inside = ~shapely.is_missing(centres) & shapely.within(centres, metric)
    centres = np.where(inside, centres, shapely.point_on_surface(metric))
    return gpd.GeoSeries(centres, crs=projected.crs, index=regions.index).to_crs(regions.crs)


def label_rows(counties: gpd.GeoDataFrame, townships: gpd.GeoDataFrame | None,
               places: gpd.GeoDataFrame | None, basemap: Basemap) -> list[list[Any]]:
    """Rows ``[lat, lon, escaped name, kind index, min zoom]`` in priority order (the first of
    two that collide is shown): counties, townships, places; the larger population first.

    Coordinates are in the basemap's datum, rounded to ~1 m. Names are escaped by ``html_text``
    (the script puts them into a label's HTML).
    """
    frames = []
    for kind, frame in (("county", counties), ("township", townships)):
        if frame is None or frame.empty:
            continue
        ranked = frame.assign(geometry=anchor_points(frame), kind=KINDS.index(kind))
        if "population" in ranked.columns:
            ranked = ranked.sort_values("population", ascending=False, na_position="last", kind="stable")
        frames.append(ranked[["name", "kind", "geometry"]])
    if places is not None and not places.empty:
        frames.append(places[["name", "geometry"]].assign(kind=KINDS.index("place")))
    rows: list[list[Any]] = []
    for frame in frames:
        shown = for_display(frame, basemap).geometry.to_numpy()
        rows += [[round(float(lat), 5), round(float(lon), 5), html_text(name), int(kind), MIN_ZOOM[KINDS[int(kind)]]]
                 for name, kind, lon, lat in zip(frame["name"], frame["kind"], shapely.get_x(shown),
                                                 shapely.get_y(shown), strict=True)]
    return rows


def script_json(value: object) -> str:
    """JSON that is safe inside an inline ``<script>``: no ``<``, ``>`` or ``&`` can end it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class PlaceLabels(Layer):
    """The labels as one switchable overlay (a Leaflet layer group of div-icon markers)."""

    _template = Template("{% macro header(this, kwargs) %}" + LABEL_CSS + "{% endmacro %}"
                         "{% macro script(this, kwargs) %}" + LABEL_SCRIPT + "{% endmacro %}")

    def __init__(self, rows: list[list[Any]], *, name: str = LAYER_NAME) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "PlaceLabels"
        self.rows_json = script_json(rows)
        self.kinds_json = script_json(list(KINDS))
        self.obstacles_json = script_json(OBSTACLES)


def add_labels(map_: folium.Map, counties: gpd.GeoDataFrame, townships: gpd.GeoDataFrame | None,
               places: gpd.GeoDataFrame | None, basemap: Basemap) -> PlaceLabels:
    """Put the county, township and place names on ``map_`` (frames in WGS-84)."""
    labels = PlaceLabels(label_rows(counties, townships, places, basemap))
    labels.add_to(map_)
    return labels
