"""Coverage map: townships shaded by the share of people one type covers, uncovered people on hexagons."""

from __future__ import annotations

import folium
import numpy as np

from geo.notices import APPROXIMATE, MODELLED, POSITION_UNKNOWN
from geo.services.map_data import MapData
from maps.basemap import for_display, get_basemap, new_map
from maps.display import geojson, simplify_coverage
from maps.escape import html_text
from maps.layers import add_boundaries, add_panel, add_stations, data_flags, finish

# Share covered → colour (light to dark green), the legend's classes.
SHARE_CLASSES = [(0.0, "#f7fcf5"), (0.1, "#c7e9c0"), (0.3, "#74c476"), (0.5, "#31a354"), (0.7, "#006d2c")]


def share_colour(share: float) -> str:
    """The class colour of a covered share (0..1)."""
    colour = SHARE_CLASSES[0][1]
    for lower, value in SHARE_CLASSES:
        if share >= lower:
            colour = value
    return colour


def coverage_map(data: MapData, *, basemap: str = "none", tianditu_key: str = "") -> folium.Map:
    """Townships by covered share with a tooltip each, clustered stations, switchable uncovered hexagons."""
    chosen = get_basemap(basemap)
    map_ = new_map(tuple(data.counties.total_bounds), basemap=basemap, tianditu_key=tianditu_key)
    add_boundaries(map_, data.counties, None, chosen, places=data.places, township_names=data.townships)
    townships = simplify_coverage(data.townships)
    townships = townships.assign(
        colour=[share_colour(s) for s in townships["covered_share"]],
        share_text=[f"{s:.1%}" for s in townships["covered_share"]],
        population_text=[f"{p:,.0f}" for p in townships["population"].fillna(0)],
        covered_text=[f"{c:,.0f}" for c in townships["covered_population"].fillna(0)],
        stations=townships["stations"].fillna(0).astype(int),
        flags=["·".join(notice.label_zh for notice, flag in ((APPROXIMATE, a), (POSITION_UNKNOWN, u),
                                                              (MODELLED, m)) if flag) or "—"
               for a, u, m in zip(townships["boundary_is_approximate"], townships["position_unknown"],
                                  townships["population_is_modelled"], strict=True)],
    )
    columns = ["name", "population_text", "covered_text", "share_text", "stations", "flags"]
    folium.GeoJson(
        geojson(for_display(townships[[*columns, "colour", "geometry"]], chosen)), name="乡镇覆盖率 / covered share",
        style_function=lambda feature: {"fillColor": feature["properties"]["colour"], "color": "#666",
                                        "weight": 0.6, "fillOpacity": 0.75},
        tooltip=folium.GeoJsonTooltip(columns, ["乡镇", "人口", "覆盖人口", "覆盖率", "站点", "说明"]),
    ).add_to(map_)
    if data.hexagons is not None and not data.hexagons.empty:
        top = max(float(data.hexagons["uncovered"].max()), 1.0)
        hexagons = data.hexagons.assign(
            opacity=np.clip(data.hexagons["uncovered"] / top, 0.08, 0.9).round(3),
            uncovered_text=[f"{u:,.0f}" for u in data.hexagons["uncovered"]])
        folium.GeoJson(
            geojson(for_display(hexagons[["uncovered_text", "opacity", "geometry"]], chosen)),
            name="未覆盖人口（六边形）/ uncovered people", show=False,
            style_function=lambda f: {"fillColor": "#d7301f", "color": "#d7301f", "weight": 0.2,
                                      "fillOpacity": f["properties"]["opacity"]},
            tooltip=folium.GeoJsonTooltip(["uncovered_text"], ["未覆盖人口"]),
        ).add_to(map_)
    add_stations(map_, data.stations, [t for t in data.types if t["code"] == data.type_code], chosen,
                 cluster=True)
    figures = data.figures
    if figures:
        share = figures["covered"] / figures["population"] if figures["population"] else 0.0
        add_panel(map_, f"<b>{html_text(figures['kind'])} 覆盖 / coverage</b><br>全市覆盖 {figures['covered']:,.0f} / "
                        f"{figures['population']:,.0f} 人（{share:.1%}）",
                  element_id="unionmap-summary", title="覆盖 / coverage")
    legend = [(f"覆盖率 ≥ {lower:.0%}", colour) for lower, colour in SHARE_CLASSES]
    return finish(map_, legend_title="覆盖率 / covered share", legend=legend,
                  flags=data_flags(data.stations, data.townships, data.population_is_modelled, data.notes))
