"""Gaps map: built vs required per county-level unit and type; townships without a workers' home."""

from __future__ import annotations

import folium

from geo.core.frames import row_tuples
from geo.services.map_data import MapData
from maps.basemap import for_display, get_basemap, new_map
from maps.display import geojson
from maps.escape import html_text
from maps.layers import add_boundaries, add_panel, data_flags, finish

WORKERS_HOME = "workers_home"


def gaps_map(data: MapData, *, basemap: str = "none", tianditu_key: str = "") -> folium.Map:
    """County badges (e.g. 爱心驿站 7/5 ✓), townships lacking a 职工之家, and the city targets table."""
    chosen = get_basemap(basemap)
    map_ = new_map(tuple(data.counties.total_bounds), basemap=basemap, tianditu_key=tianditu_key)
    add_boundaries(map_, data.counties, data.townships, chosen, places=data.places)
    rows = data.gap_rows
    assert rows is not None and data.target_summary is not None
    township_rows = rows[(rows["scope"] == "township") & (rows["type_code"] == WORKERS_HOME)]
    lacking = set(township_rows.loc[~township_rows["met"], "region_code"])
    if lacking:
        missing = data.townships[data.townships["code"].isin(lacking)]
        folium.GeoJson(geojson(for_display(missing[["name", "geometry"]], chosen)),
                       name=f"缺职工之家的乡镇（{len(missing)}）/ townships without a workers' home",
                       style_function=lambda _: {"fillColor": "#fdae61", "color": "#d7191c", "weight": 1,
                                                 "fillOpacity": 0.45},
                       tooltip=folium.GeoJsonTooltip(["name"], ["缺职工之家"])).add_to(map_)
    badges = folium.FeatureGroup(name="各县达标情况 / built vs target per county")
    county_rows = rows[rows["scope"] == "county"]
    anchors = for_display(data.counties.assign(geometry=data.counties.geometry.representative_point()), chosen)
    for county in row_tuples(anchors):
        mine = county_rows[county_rows["region_code"] == county.code]
        lines = "".join(
            f"<div>{html_text(r.type_name)} {r.built:g}/{r.required:g} {'✓' if r.met else '✗'}</div>"
            for r in row_tuples(mine))
        html = (f'<div class="unionmap-badge" style="background:#fff;border:1px solid #555;border-radius:3px;'
                f'padding:2px 4px;font:11px/1.3 sans-serif;white-space:nowrap"><b>{html_text(county.name)}</b>'
                f"{lines}</div>")
        folium.Marker([county.geometry.y, county.geometry.x],
                      icon=folium.DivIcon(html=html, icon_size=(120, 60), icon_anchor=(60, 30))).add_to(badges)
    badges.add_to(map_)
    city = data.target_summary
    table = "".join(
        f"<tr><td>{html_text(r.type_name)}</td><td>{ {'city': '全市', 'county': '每县', 'township': '每乡镇'}[r.scope]}"
        f"</td><td>≥{r.required:g}</td><td>{r.units_met}/{r.units}{' ✓' if r.units_met == r.units else ' ✗'}</td>"
        f"<td>{html_text(r.source_quote)}</td></tr>" for r in row_tuples(city))
    report = data.figures.get("report")
    heading = f"目标 / targets（{html_text(report)}）" if report else "目标 / targets"
    add_panel(map_, f"<b>{heading}</b><table id='unionmap-targets' style='border-collapse:"
                    "collapse'><tr><th>类型</th><th>范围</th><th>要求</th><th>达标</th><th>报告原文</th></tr>"
                    f"{table}</table>", element_id="unionmap-targets-panel", title="目标 / targets")
    return finish(map_, legend_title="目标差距 / gaps",
                  legend=[("缺职工之家的乡镇", "#fdae61"), ("达标 ✓ / 未达标 ✗（各县）", "#ffffff")],
                  flags=data_flags(data.stations, data.townships, data.population_is_modelled))
