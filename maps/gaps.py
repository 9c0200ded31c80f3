"""Gaps map: one target of the work report at a time, its units filled met or not met.

A planner asks "which targets are missed, where, and what do we build next": the map answers
the first two for the chosen target (counties or townships filled in a colour-blind-safe
blue / orange pair, with ✓ / ✗ in every tooltip and list line, never colour alone), lists the
failing units with their figures, and links the plan that closes the gap ("为此规划").
"""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd
import pandas as pd

from geo.core.frames import row_tuples
from geo.notices import marked_name
from geo.services.map_data import MapData
from maps.basemap import figure, for_display, get_basemap, new_map
from maps.display import geojson, simplify_coverage
from maps.escape import html_text
from maps.layers import add_boundaries, add_panel, data_flags, finish
from maps.links import gaps_href, href, plan_href

MET_COLOUR, MISSED_COLOUR = "#2166ac", "#e66101"  # blue / orange: apart for every colour vision
SCOPE_ZH = {"city": "全市", "county": "每县", "township": "每乡镇"}
UNIT_ZH = {"city": "市", "county": "县", "township": "乡镇"}
# The target list submits itself when a planner picks another target (no inline handlers: the
# page's policy runs only <script> blocks that carry its nonce).
SUBMIT_ON_CHANGE = """document.getElementById('unionmap-target').addEventListener('change',
  function (event) { event.target.form.submit(); });"""


def gaps_map(data: MapData, *, basemap: str = "none", tianditu_key: str = "") -> folium.Map:
    """The chosen target's units met / not met, the failing ones listed, a plan link, all targets."""
    chosen = get_basemap(basemap)
    rows, summary = data.gap_rows, data.target_summary
    assert rows is not None and summary is not None
    code, unit = data.figures.get("target"), data.figures.get("unit")
    units = _units(data, rows, code)
    focus = units[units["code"] == unit] if unit else units
    map_ = new_map(tuple((focus if not focus.empty else data.counties).total_bounds), basemap=basemap,
                   tianditu_key=tianditu_key)
    add_boundaries(map_, data.counties, data.townships, chosen, places=data.places)
    if code is not None:
        target = next(r for r in row_tuples(summary) if r.target_code == code)
        _add_units(map_, units, target, chosen)
        if unit:
            folium.GeoJson(geojson(for_display(focus[["name", "geometry"]], chosen)), name="所选单位 / selected unit",
                           style_function=lambda _: {"color": "#000", "weight": 4, "fillOpacity": 0},
                           interactive=False).add_to(map_)
        figure(map_).script.add_child(folium.Element(SUBMIT_ON_CHANGE))
    panel = _target_panel(target, units, summary, data.figures) if code is not None else ""
    if data.figures.get("no_targets"):  # the region's own name, from its config: escaped
        panel = f'<p id="unionmap-no-targets"><b>{html_text(data.figures["no_targets"])}</b></p>'

    add_panel(map_, panel + _all_targets(summary, data.figures.get("report")), element_id="unionmap-gap-panel",
              title="目标差距 / gaps")
    legend = [("达标 ✓ / met", MET_COLOUR), ("未达标 ✗ / not met", MISSED_COLOUR)]
    return finish(map_, legend_title="目标差距 / gaps", legend=legend,
                  flags=data_flags(data.stations, data.townships, data.population_is_modelled, data.notes))


def _units(data: MapData, rows: pd.DataFrame, code: str | None) -> gpd.GeoDataFrame:
    """The target's units (counties, townships, or the whole city) with their gap figures."""
    mine = rows[rows["target_code"] == code]
    if mine.empty:
        return data.counties.iloc[:0].assign(built=[], required=[], shortfall=[], met=[])
    scope = mine["scope"].iloc[0]
    if scope == "city":
        shapes = data.counties.dissolve().assign(code="city", name=mine["region_name"].iloc[0])
    else:
        shapes = data.counties if scope == "county" else data.townships
    figures = mine[["region_code", "built", "required", "shortfall", "met"]]
    if "position_unknown" in shapes:  # a township placed without a seat: its name marked in tooltip and list
        shapes = shapes.assign(name=[marked_name(name, bool(unknown)) for name, unknown in
                                     zip(shapes["name"], shapes["position_unknown"], strict=True)])
    return shapes[["code", "name", "geometry"]].merge(figures, left_on="code", right_on="region_code")


def _add_units(map_: folium.Map, units: gpd.GeoDataFrame, target: Any, basemap: Any) -> None:
    shown = simplify_coverage(units) if len(units) > 1 else units
    shown = shown.assign(status=["达标 ✓" if met else "未达标 ✗" for met in shown["met"]],
                         figure=[f"{built:g} / {required:g}" for built, required in
                                 zip(shown["built"], shown["required"], strict=True)])
    frame = for_display(shown[["code", "name", "figure", "shortfall", "status", "met", "geometry"]], basemap)
    scope = SCOPE_ZH[target.scope]
    folium.GeoJson(
        geojson(frame), name=f"{html_text(target.type_name)} {scope} ≥ {target.required:g}：达标 / 未达标",
        style_function=lambda feature: {
            "fillColor": MET_COLOUR if feature["properties"]["met"] else MISSED_COLOUR, "color": "#555",
            "weight": 1, "fillOpacity": 0.3 if feature["properties"]["met"] else 0.55},
        tooltip=folium.GeoJsonTooltip(["name", "figure", "shortfall", "status"],
                                      ["单位", "已建 / 要求", "缺口", "状态"]),
    ).add_to(map_)


def _target_panel(target: Any, units: gpd.GeoDataFrame, summary: pd.DataFrame, figures: dict[str, Any]) -> str:
    options = "".join(
        f'<option value="{html_text(r.target_code)}"{" selected" if r.target_code == target.target_code else ""}>'
        f"{html_text(r.type_name)} · {SCOPE_ZH[r.scope]} ≥ {r.required:g} · {r.units_met}/{r.units}"
        f"{' ✓' if r.units_met == r.units else ' ✗'}</option>" for r in row_tuples(summary))
    unit_zh = UNIT_ZH[target.scope]
    deadline = f"期限 {target.deadline}{'（已逾期）' if target.overdue else ''}" if target.deadline else "无期限"
    met = target.units_met == target.units
    state = "达标 ✓" if met else "未达标 ✗"
    headline = (f'<p id="unionmap-target-figure"><b class="{"unionmap-met" if met else "unionmap-missed"}">{state}</b> '
                f"{target.units_met}/{target.units} {unit_zh}达标 · 已建 {target.built:g} · 缺口 {target.shortfall:g}"
                f" · {html_text(deadline)}</p>")
    question = figures.get("plans", {}).get(target.target_code)
    plan = (f'<p><a id="unionmap-plan-link" class="unionmap-button" href="{plan_href(question)}">为此规划 · '
            f"新增 {question.add} 处{f'，每县至少 {question.min_per_county}' if question.min_per_county else ''}"
            "</a></p>"
            if question else "")
    failing = units[~units["met"].astype(bool)].sort_values(["shortfall", "name"], ascending=[False, True])
    items = "".join(
        f'<li><a href="{gaps_href(target.target_code, u.code)}">{html_text(u.name)}</a> '
        f"{u.built:g}/{u.required:g} · 缺 {u.shortfall:g} ✗</li>" for u in row_tuples(failing))
    listing = (f"<b>未达标的{unit_zh}（{len(failing)}）/ failing units</b>"
               f'<ol id="unionmap-failing" style="margin:2px 0;padding-left:22px">{items}</ol>' if len(failing)
               else f"<p>全部{unit_zh}达标 / every unit meets it</p>")
    return (f'<form method="get" action="{href("/maps/gaps")}"><label for="unionmap-target"><b>目标 / target</b></label> '
            f'<select id="unionmap-target" name="target" style="max-width:100%">{options}</select> '
            f'<noscript><button type="submit">显示</button></noscript></form>{headline}{plan}{listing}')


def _all_targets(summary: pd.DataFrame, report: str | None) -> str:
    table = "".join(
        f"<tr><td>{html_text(r.type_name)}</td><td>{SCOPE_ZH[r.scope]}</td><td>≥{r.required:g}</td>"
        f"<td>{r.units_met}/{r.units}{' ✓' if r.units_met == r.units else ' ✗'}</td>"
        f"<td>{html_text(r.source_quote)}</td></tr>" for r in row_tuples(summary))
    heading = f"目标 / targets（{html_text(report)}）" if report else "目标 / targets"
    return (f"<details id='unionmap-all-targets'><summary><b>{heading}</b></summary>"
            "<table id='unionmap-targets' style='border-collapse:"
            "collapse'><tr><th>类型</th><th>范围</th><th>要求</th><th>达标</th><th>报告原文</th></tr>"
            f"{table}</table></details>")
