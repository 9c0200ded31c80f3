"""Plan map: the proposed sites numbered in order, the people each adds, before and after."""

from __future__ import annotations

import folium

from geo.core.frames import row_tuples
from geo.services.map_data import MapData
from maps.basemap import for_display, get_basemap, new_map
from maps.escape import html_text
from maps.layers import add_boundaries, add_panel, add_stations, data_flags, finish

PROPOSAL_COLOUR = "#e6550d"


def plan_map(data: MapData, *, basemap: str = "none", tianditu_key: str = "") -> folium.Map:
    """Existing stations of the type, numbered proposals, and a before/after summary."""
    import geopandas as gpd

    chosen = get_basemap(basemap)
    map_ = new_map(tuple(data.counties.total_bounds), basemap=basemap, tianditu_key=tianditu_key)
    add_boundaries(map_, data.counties, data.townships, chosen, places=data.places)
    own_type = [t for t in data.types if t["code"] == data.type_code]
    add_stations(map_, data.stations, own_type, chosen)
    proposals = data.proposals
    assert proposals is not None
    points = for_display(gpd.GeoDataFrame(proposals, geometry=gpd.points_from_xy(proposals["lon"], proposals["lat"]),
                                          crs=4326), chosen)
    group = folium.FeatureGroup(name=f"规划新址（{len(points)}）/ proposed sites")
    for row in row_tuples(points):
        html = (f'<div class="unionmap-proposal" style="background:{PROPOSAL_COLOUR};color:#fff;border-radius:50%;'
                f'width:22px;height:22px;line-height:22px;text-align:center;font:bold 11px sans-serif;'
                f'border:2px solid #fff">{row.order}</div>')
        folium.Marker([row.geometry.y, row.geometry.x], icon=folium.DivIcon(html=html, icon_size=(22, 22),
                                                                             icon_anchor=(11, 11)),
                      tooltip=f"#{row.order} {html_text(row.township_name)}：新增覆盖 {row.added:,.0f} 人",
                      ).add_to(group)
    group.add_to(map_)
    f = data.figures
    population = f["population"] or 1
    add_panel(map_, f"<b>{html_text(f['kind'])} 新增 {len(points)} 处 / proposals</b><br>"
                    f"规划前 before：{f['before']:,.0f} 人（{f['before'] / population:.1%}）<br>"
                    f"规划后 after：{f['after']:,.0f} 人（{f['after'] / population:.1%}）<br>"
                    f"新增覆盖 added：{f['objective']:,.0f} 人<br>"
                    f"<span id=\"unionmap-plan-certificate\">{html_text(f['certificate'])}</span>",
                    element_id="unionmap-plan-summary", title="方案 / plan")
    legend = [(t["name_zh"] + "（现有）", t["color"]) for t in own_type] + [("规划新址（序号）", PROPOSAL_COLOUR)]
    return finish(map_, legend_title="选址方案 / siting plan", legend=legend,
                  flags=data_flags(data.stations, data.townships, data.population_is_modelled))
