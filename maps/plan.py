"""Plan page: the form (type, k, per-county minimum, candidates), the numbered proposals, their
table with downloads, what-if edits and saving; before and after coverage as layers.

Everything is drawn here once, from the server's plan, so the page reads (and its form works as a
plain GET) without JavaScript; ``maps/static/plan.js`` then takes the page over: it re-plans with
``POST /api/v1/plans``, evaluates edits with ``/plans/evaluate`` and redraws the markers, table and
figures in place. It finds the map and the proposals layer through ``window.unionmapPlan`` (set by
``_Handles`` in the page's nonce'd script) and the plan itself in a JSON block (never run).
"""

from __future__ import annotations

import json
from typing import Any

import folium
import shapely
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from jinja2 import Template

from geo.analysis.gaps import PLAN_MAX_ADD, PLAN_MAX_MIN_PER_COUNTY
from geo.core.frames import row_tuples
from geo.services.map_data import MapData
from maps.basemap import for_display, get_basemap, new_map
from maps.display import geojson
from maps.escape import html_text
from maps.layers import add_boundaries, add_panel, add_stations, data_flags, finish

PROPOSAL_COLOUR = "#e6550d"
OWN_SITE_COLOUR = "#6a3d9a"  # a site the planner added by clicking: a square, not a disc
UNCOVERED_BEFORE = "#b2182b"
UNCOVERED_AFTER = "#2166ac"
CRS_CHOICES = (("wgs84", "WGS-84（GPS）"), ("gcj02", "GCJ-02（高德 / 腾讯）"), ("bd09", "BD-09（百度）"))
HEXAGON_GRID_DEG = 1e-4


class PlanScript(JSCSSMixin):
    """The page's own script (``maps/static/plan.js``), loaded after Leaflet and the shell's."""

    default_js = [("plan_js", "plan.js")]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "UnionmapPlanScript"


class _Handles(MacroElement):
    """``window.unionmapPlan``: the map and the proposals layer, for plan.js (Folium names its
    variables by hash, so the script cannot know them)."""

    _template = Template("""{% macro script(this, kwargs) %}
window.unionmapPlan = {map: {{ this.map_name }}, proposals: {{ this.group_name }}};
{% endmacro %}""")

    def __init__(self, map_name: str, group_name: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "UnionmapPlanHandles"
        self.map_name, self.group_name = map_name, group_name


def plan_map(data: MapData, *, basemap: str = "none", tianditu_key: str = "") -> folium.Map:
    """Existing stations of the type, numbered proposals, the form, table and figures panel."""
    import geopandas as gpd

    chosen = get_basemap(basemap)
    map_ = new_map(tuple(data.counties.total_bounds), basemap=basemap, tianditu_key=tianditu_key)
    add_boundaries(map_, data.counties, data.townships, chosen, places=data.places)
    own_type = [t for t in data.types if t["code"] == data.type_code]
    add_stations(map_, data.stations, own_type, chosen)
    add_coverage_layers(map_, data, chosen)
    proposals = data.proposals
    assert proposals is not None
    points = for_display(gpd.GeoDataFrame(proposals, geometry=gpd.points_from_xy(proposals["lon"], proposals["lat"]),
                                          crs=4326), chosen)
    group = folium.FeatureGroup(name="规划新址 / proposed sites")
    for row in row_tuples(points):
        html = (f'<div class="unionmap-proposal" style="background:{PROPOSAL_COLOUR}">{row.order}</div>')
        folium.Marker([row.geometry.y, row.geometry.x], icon=folium.DivIcon(html=html, icon_size=(22, 22),
                                                                             icon_anchor=(11, 11)),
                      tooltip=f"#{row.order} {html_text(place_name(row.county_name, row.township_name))}："
                              f"新增覆盖 {row.added:,.0f} 人",
                      ).add_to(group)
    group.add_to(map_)
    _Handles(map_.get_name(), group.get_name()).add_to(map_)
    PlanScript().add_to(map_)
    add_panel(map_, panel_html(data, chosen.datum), element_id="unionmap-plan-summary", title="方案 / plan")
    legend = [(t["name_zh"] + "（现有）", t["color"]) for t in own_type] + [
        ("规划新址（序号）/ proposed", PROPOSAL_COLOUR), ("自选点（方块）/ your own site", OWN_SITE_COLOUR)]
    return finish(map_, legend_title="选址方案 / siting plan", legend=legend,
                  flags=data_flags(data.stations, data.townships, data.population_is_modelled, data.notes))


def place_name(county: Any, township: Any) -> str:
    """「县 · 乡镇」, leaving out a part that is unknown (a site outside every township)."""
    return " · ".join(str(part) for part in (county, township) if isinstance(part, str) and part)


def add_coverage_layers(map_: folium.Map, data: MapData, basemap: Any) -> None:
    """Uncovered people on hexagons before and after the plan, as two switchable layers (the
    "after" one off at first); nothing when the map data has none."""
    hexagons = data.hexagons
    if hexagons is None or hexagons.empty:
        return
    shown = for_display(hexagons, basemap)
    # ~10 m is far below a res-6 hexagon's 3.7 km side, and a fifth lighter than ~1 m for two layers
    shown = shown.set_geometry(shapely.set_precision(shown.geometry.values, HEXAGON_GRID_DEG, mode="pointwise"))
    for column, colour, name, show in (
            ("before", UNCOVERED_BEFORE, "规划前未覆盖人口 / uncovered before", True),
            ("after", UNCOVERED_AFTER, "规划后未覆盖人口（按载入的方案）/ uncovered after (plan as loaded)", False)):
        subset = shown[shown[column] >= 1]
        peak = float(subset[column].max()) if not subset.empty else 1.0
        folium.GeoJson(
            geojson(subset[[column, "geometry"]].rename(columns={column: "uncovered"})),
            name=name, show=show, interactive=False,
            style_function=lambda feature, colour=colour, peak=peak: {
                "color": colour, "weight": 0.3, "fillColor": colour,
                "fillOpacity": 0.1 + 0.6 * min(1.0, feature["properties"]["uncovered"] / peak)},
        ).add_to(map_)


def _share(people: float, population: float) -> str:
    return f"{people / population:.1%}" if population else "—"


def panel_html(data: MapData, datum: str) -> str:
    """The panel: form, status, figures, certificate, table, actions; all text escaped."""
    f, proposals = data.figures, data.proposals
    assert proposals is not None
    population = f["population"] or 0.0
    options = "".join(f'<option value="{html_text(t["code"])}"{" selected" if t["code"] == data.type_code else ""}>'
                      f'{html_text(t["name_zh"])}</option>' for t in data.types)
    crs_options = "".join(f'<option value="{code}">{html_text(label)}</option>' for code, label in CRS_CHOICES)
    rows = "".join(
        f"<tr><td>{row.order}</td><td>{html_text(row.county_name or '—')}</td>"
        f"<td>{html_text(row.township_name or '—')}</td><td class=\"num\">{row.added:,.0f}</td>"
        f"<td class=\"num\">{row.share:.1%}</td><td></td></tr>" for row in row_tuples(proposals))
    state = {"type": data.type_code, "add": f["add"], "min_per_county": f["min_per_county"], "datum": datum,
             "population": population, "before": f["before"], "after": f["after"], "certificate": f["certificate"],
             "proposals": [{"order": int(row.order), "lon": float(row.lon), "lat": float(row.lat),
                            "name": None, "county_name": row.county_name, "township_name": row.township_name,
                            "added": float(row.added), "cumulative": float(row.cumulative),
                            "share": float(row.share)} for row in row_tuples(proposals)]}
    # A JSON block is data, never run; "<" as \u003c so no text in it can close the element.
    state_json = json.dumps(state, ensure_ascii=False).replace("<", "\\u003c")
    export = f"../api/v1/plans/export?type={html_text(data.type_code)}&amp;add={f['add']}" \
             f"&amp;min_per_county={f['min_per_county']}"
    return f"""
<form id="unionmap-plan-form" class="unionmap-plan-form" action="plan" method="get">
 <label>类型 type <select name="type" id="unionmap-plan-type">{options}</select></label>
 <label>新增 k <input type="number" name="add" id="unionmap-plan-add" min="1" max="{PLAN_MAX_ADD}" required
   value="{f['add']}"></label>
 <label>每县至少 per county <input type="number" name="min_per_county" id="unionmap-plan-min" min="0"
   max="{PLAN_MAX_MIN_PER_COUNTY}" required value="{f['min_per_county']}"></label>
 <fieldset class="unionmap-js-only" hidden><legend>候选点 candidates</legend>
  <label><input type="radio" name="source" value="grid" checked> 网格 grid</label>
  <label><input type="radio" name="source" value="csv"> 上传 CSV upload</label>
  <label>文件 file <input type="file" id="unionmap-plan-file" accept=".csv,text/csv"></label>
  <label>坐标系 CRS <select id="unionmap-plan-crs">{crs_options}</select></label>
  <p id="unionmap-plan-upload" class="unionmap-plan-message" role="status"></p>
 </fieldset>
 <button type="submit" id="unionmap-plan-submit">规划 plan</button>
</form>
<p id="unionmap-plan-status" class="unionmap-plan-message" role="status" aria-live="polite"></p>
<p id="unionmap-plan-edited" class="unionmap-plan-edited" hidden>已手工调整，未重新求解，质量证明不再适用 /
 edited, not re-solved; the certificate no longer applies</p>
<div id="unionmap-plan-figures">
 <div id="unionmap-plan-kind"><b>{html_text(f['kind'])} 新增 {len(proposals)} 处 / proposals</b></div>
 <div id="unionmap-plan-before">规划前 before：{f['before']:,.0f} 人（{_share(f['before'], population)}）</div>
 <div id="unionmap-plan-after">规划后 after：{f['after']:,.0f} 人（{_share(f['after'], population)}）</div>
 <div id="unionmap-plan-added">新增覆盖 added：{f['objective']:,.0f} 人</div>
</div>
<p class="unionmap-plan-after-note" hidden>「规划后未覆盖人口」图层仍显示载入时的方案 / the "uncovered after"
 layer shows the plan as loaded, not this one</p>
<p id="unionmap-plan-certificate">{html_text(f['certificate'])}</p>
<div class="unionmap-plan-table-wrap">
<table id="unionmap-plan-table"><caption class="unionmap-visually-hidden">规划新址 / proposed sites</caption>
 <thead><tr><th scope="col">序号 #</th><th scope="col">县 county</th><th scope="col">乡镇 township</th>
  <th scope="col">新增人口 added</th><th scope="col">累计覆盖率 share</th>
  <th scope="col"><span class="unionmap-visually-hidden">移除 remove</span></th></tr></thead>
 <tbody>{rows}</tbody></table>
</div>
<p class="unionmap-plan-hint unionmap-js-only" hidden>点击地图添加自选点（方块）/ click the map to add your own site</p>
<div class="unionmap-plan-actions">
 <a class="unionmap-plan-button" id="unionmap-plan-csv" href="{export}&amp;format=csv">下载 CSV</a>
 <a class="unionmap-plan-button" id="unionmap-plan-xlsx" href="{export}&amp;format=xlsx">下载 XLSX</a>
 <button type="button" class="unionmap-plan-button unionmap-js-only" id="unionmap-plan-reset" hidden>恢复方案 reset
 </button>
</div>
<div class="unionmap-plan-save unionmap-js-only" role="group" aria-labelledby="unionmap-plan-save-title" hidden>
 <div id="unionmap-plan-save-title"><b>保存方案 save</b>（需编辑密钥 / editor key）</div>
 <label>编辑密钥 editor key <input type="password" id="unionmap-plan-key" autocomplete="off"></label>
 <button type="button" class="unionmap-plan-button" id="unionmap-plan-save">保存 save</button>
 <p id="unionmap-plan-saved" class="unionmap-plan-message" role="status"></p>
</div>
<script type="application/json" id="unionmap-plan-data">{state_json}</script>
"""
