"""The start page's HTML: each target's figures, the units that miss it, and the plan that closes it.

Pure: frames and figures in, a page out (the router ``api.routers.home`` reads them). Every text
that comes from the registry, the region's files or the report (names, quotes, codes) is escaped
here, in text and in attributes. No script: the page is the one a phone on a slow link opens
first, and on narrow screens the target table turns into one card per target by CSS alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

from geo.analysis.gaps import PLAN_MAX_ADD, PLAN_MAX_MIN_PER_COUNTY, PlanQuestion, plan_question
from geo.core.frames import row_tuples
from geo.notices import DEMO
from geo.store.deployment import RegionFigures
from maps.links import gaps_href, href, plan_href

SCOPE_ZH = {"city": "全市", "county": "每个县（市、区）", "township": "每个乡镇（街道）"}
UNIT_ZH = {"county": "县", "township": "乡镇"}
# Township targets miss in many places: name a few, count the rest.
TOWNSHIPS_NAMED = 5

# Pass and fail in a colour-blind-safe pair (blue / orange) and always with an icon and a word;
# every text colour holds at least 4.5:1 against its background (WCAG AA).
STYLE = """*{box-sizing:border-box}body{font:15px/1.6 system-ui,sans-serif;margin:0 auto;max-width:1200px;
padding:12px;color:#1f1f1f;background:#fff}h1{font-size:1.4em;margin:.3em 0}h1 small{color:#555;font-weight:normal}
a{color:#0b57d0}table{border-collapse:collapse;width:100%;margin:8px 0}td,th{border:1px solid #c8c8c8;
padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#f3f4f6}
.notice{background:#fff8e1;border:1px solid #b7791f;padding:6px 10px;border-radius:4px}
nav a{display:inline-block;margin:4px 8px 4px 0;padding:6px 10px;border:1px solid #0b57d0;border-radius:4px;
text-decoration:none}td.type{min-width:7em;font-weight:600}td.scope{min-width:7em}td.deadline{white-space:nowrap}
.figure{font-size:1.05em;font-weight:600;white-space:nowrap}
.totals,.hint,.quote{color:#4a4a4a;font-size:.9em}.badge{display:inline-block;padding:0 6px;border-radius:4px;
white-space:nowrap;font-weight:600}.badge.met{background:#dbeafe;color:#1e3a8a}
.badge.miss{background:#ffedd5;color:#9a3412}.overdue{color:#b91c1c;font-weight:700}
.units a{white-space:nowrap}a.plan{display:inline-block;padding:4px 10px;border-radius:4px;background:#0b57d0;
color:#fff;text-decoration:none;font-weight:600;white-space:nowrap}a.plan:focus,nav a:focus{outline:3px solid #f59e0b}
@media (max-width:720px){#targets thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
#targets,#targets tbody,#targets tr,#targets td{display:block;width:100%}#targets tr{border:1px solid #c8c8c8;
border-radius:6px;margin:0 0 12px;padding:4px 0}#targets td{border:0;padding:2px 10px}
#targets td.type{font-size:1.1em}#targets td[data-label]::before{content:attr(data-label) "：";color:#4a4a4a}
#regions .code{display:none}}.wide{overflow-x:auto}.wide table{width:auto;min-width:100%}.wide td,.wide th{white-space:nowrap}"""


@dataclass(frozen=True)
class HomeFigures:
    """What the start page shows, read by the router."""

    region_name_zh: str
    region_name_en: str
    notices: Sequence[str]
    summary: pd.DataFrame  # geo.analysis.gaps.summary
    gap_rows: pd.DataFrame  # geo.analysis.gaps.gap_rows
    types: Sequence[tuple[str, str]]  # (code, name_zh) in display order
    open_by_type: Mapping[str, int]
    open_reports: int | None = None  # riders' reports to settle: shown to a signed-in editor only
    held: Sequence[RegionFigures] = ()  # the deployment's regions, listed when it holds more than one
    site_root: str = ""  # the site's root path (links to other regions: <site_root>/r/<code>/)
    region_code: str = ""  # this page's region (marked in the list of regions)


CURRENT = ' aria-current="page"'
LEVEL_NAMES = {"province": " · 省级汇总", "country": " · 全国汇总"}


def _held_regions(figures: HomeFigures) -> str:
    """The deployment's regions with their figures, when it holds more than one (else nothing)."""
    if len(figures.held) < 2:
        return ""
    rows = "".join(
        f"<tr{CURRENT if f.region.code == figures.region_code else ''}>"
        f"<th scope='row'><a href='{escape(figures.site_root)}/r/{escape(f.region.code)}/'>"
        f"{escape(f.region.name_zh)}</a> <span class='hint' lang='en'>{escape(f.region.name_en)}</span>"
        f"{' · 默认' if f.region.is_default else ''}{LEVEL_NAMES.get(f.region.level, '')}</th>"
        f"<td class='code'>{escape(f.region.code)}</td><td>{f.counties}</td><td>{f.townships}</td><td>{f.open_stations}</td>"
        f"<td>{f.demo_stations}</td></tr>" for f in figures.held)
    return (f"""<h2 id="regions-title">本部署的地区 / regions of this deployment</h2>
<table id="regions" aria-labelledby="regions-title"><thead><tr><th scope="col">地区</th><th scope="col" class="code">代码</th>
<th scope="col">县级单位</th><th scope="col">乡级单位</th><th scope="col">开放站点</th>
<th scope="col">其中{escape(DEMO.label)}</th></tr></thead><tbody>{rows}</tbody></table>""")


def _number(value: float) -> str:
    return f"{value:g}"


def _progress(row: Any) -> str:
    """``132/200 · 缺口 68`` for the city; ``11/13 县达标`` and the totals for counties and townships."""
    if row.kind == "coverage":
        if row.scope == "city":
            return (f"<span class='figure'>覆盖 {row.built:.0%} / {row.required:.0%}</span>"
                    f"<div class='totals'>缺口 {row.shortfall * 100:.0f} 个百分点</div>")
        return f"<span class='figure'>{row.units_met}/{row.units} {UNIT_ZH[row.scope]}达标</span>"
    if row.scope == "city":
        return (f"<span class='figure'>{_number(row.built)}/{_number(row.required)} · "
                f"缺口 {_number(row.shortfall)}</span>")
    return (f"<span class='figure'>{row.units_met}/{row.units} {UNIT_ZH[row.scope]}达标</span>"
            f"<div class='totals'>已建合计 {_number(row.built)} · 缺口合计 {_number(row.shortfall)}</div>")


def _status(met: bool) -> str:
    if met:
        return "<span class='badge met'>✓ 达标</span>"
    return "<span class='badge miss'>✗ 未达标</span>"


def _deadline(row: Any) -> str:
    if row.deadline is None or pd.isna(row.deadline):
        return "<span class='hint'>报告未定期限</span>"
    overdue = " <strong class='overdue'>逾期</strong>" if row.overdue else ""
    return f"{escape(str(row.deadline))}{overdue}"


def _missed_units(gap_rows: pd.DataFrame) -> dict[str, list[tuple[str, str, float, float]]]:
    """Per target, its units that miss it: (region_code, region_name, built, required), in the rows' order."""
    missed = gap_rows[~gap_rows["met"].astype(bool)]
    names = missed["region_name"].fillna(missed["region_code"])
    units: dict[str, list[tuple[str, str, float, float]]] = {}
    for code, *unit in zip(missed["target_code"].to_numpy(), missed["region_code"].to_numpy(), names.to_numpy(),
                           missed["built"].to_numpy(), missed["required"].to_numpy(), strict=True):
        units.setdefault(code, []).append(tuple(unit))
    return units


def _failing_units(row: Any, missed: Sequence[tuple[str, str, float, float]]) -> str:
    """Counties: every one that misses, named and linked; townships: the first few and how many."""
    if row.scope == "city" or not missed:
        return "—"
    shown = missed if row.scope == "county" else missed[:TOWNSHIPS_NAMED]
    links = "、".join(
        f"<a href='{gaps_href(row.target_code, code)}'>{escape(name)}</a>"
        + ("" if row.kind == "coverage" else f"（{_number(built)}/{_number(required)}）")
        for code, name, built, required in shown)
    if len(missed) > len(shown):
        links += (f" <a href='{gaps_href(row.target_code)}'>等 {len(missed)} 个"
                  f"{UNIT_ZH[row.scope]}</a>")
    return f"<span class='units'>{links}</span>"


def _plan_cell(row: Any, question: PlanQuestion | None) -> str:
    if row.kind == "coverage":
        coverage_map = href("/maps/coverage", type=row.type_code)
        return f"<span class='hint'>覆盖率目标，不按站点数规划；见<a href='{coverage_map}'>覆盖地图</a></span>"
    if question is None:
        return "—"
    rule = f"，每县至少 {question.min_per_county} 个（含已有）" if question.min_per_county else ""
    hint = f"新增 {question.add} 个{rule}"
    if row.scope == "township":  # the planner has no township rule: say what it does instead
        hint += "；按新增覆盖人口选址，不保证每个乡镇一个"
    if question.add < question.wanted_add:  # the plan page's limits: say what the link leaves out
        hint += f"；方案页一次最多新增 {PLAN_MAX_ADD} 个，本目标需新增 {question.wanted_add} 个"
    if question.min_per_county < question.wanted_min_per_county:
        hint += (f"；方案页每县至少最多设 {PLAN_MAX_MIN_PER_COUNTY} 个，"
                 f"本目标要求每县 {question.wanted_min_per_county} 个")
    label = f"为此规划：{row.type_name}，{SCOPE_ZH[row.scope]}"
    return (f"<a class='plan' href='{plan_href(question)}' aria-label='{escape(label)}'>为此规划</a>"
            f"<div class='hint'>{escape(hint)}</div>")


def questions(figures: HomeFigures) -> dict[str, PlanQuestion]:
    """The plan question of every unmet count target, by target code."""
    asked = {code: plan_question(code, figures.gap_rows) for code in figures.summary["target_code"]}
    return {code: question for code, question in asked.items() if question is not None}


def next_question(summary: pd.DataFrame, asked: Mapping[str, PlanQuestion]) -> PlanQuestion | None:
    """The question the nav's 选址方案 opens: an overdue target first, then the fewest new sites
    (the quickest target to close), then the report's order."""
    ranked = [(not overdue, asked[code].add, position, code)
              for position, (code, overdue) in enumerate(zip(summary["target_code"], summary["overdue"], strict=True))
              if code in asked]
    return asked[min(ranked)[3]] if ranked else None


def _target_rows(figures: HomeFigures, asked: Mapping[str, PlanQuestion]) -> str:
    missed = _missed_units(figures.gap_rows)
    cells = []
    for row in row_tuples(figures.summary):
        met = row.units_met == row.units
        required = f"≥ {row.required:.0%} 人口" if row.kind == "coverage" else f"≥ {_number(row.required)} 个"
        note = f"<div class='quote'>{escape(row.note)}</div>" if row.note else ""
        failing = _failing_units(row, missed.get(row.target_code, []))
        cells.append(
            f"<tr data-target='{escape(row.target_code)}' class='{'met' if met else 'miss'}'>"
            f"<td class='type' data-label='类型'>{escape(row.type_name)}</td>"
            f"<td class='scope' data-label='要求'>{SCOPE_ZH[row.scope]} {required}</td>"
            f"<td class='progress' data-label='进度'>{_progress(row)}</td>"
            f"<td class='status' data-label='达标'>{_status(met)}</td>"
            f"<td class='deadline' data-label='期限'>{_deadline(row)}</td>"
            f"<td class='failing' data-label='未达标'>{failing}</td>"
            f"<td class='action' data-label='规划'>{_plan_cell(row, asked.get(row.target_code))}</td>"
            f"<td data-label='报告原文'><span class='quote'>{escape(row.source_quote)}</span>{note}</td></tr>")
    return "".join(cells)


def _editor_line(open_reports: int | None) -> str:
    """For a signed-in editor: the riders' reports waiting, linked to the inbox; nothing for readers."""
    if open_reports is None:
        return ""
    return (f"<p id=\"editor-reports\"><a href=\"{href('/edit/reports')}\">待处理的骑手报告 {open_reports}</a>"
            f" · <a href=\"{href('/edit')}\">编辑站点名录</a></p>")


def render(figures: HomeFigures) -> str:
    """The whole start page."""
    asked = questions(figures)
    lead = next_question(figures.summary, asked)
    plan_link = plan_href(lead) if lead else href("/maps/plan")
    type_rows = "".join(
        f"<tr><th scope='row'>{escape(name)}</th><td>{figures.open_by_type.get(code, 0)}</td>"
        f"<td><a href='{href('/maps/coverage', type=code)}'>覆盖地图</a></td></tr>" for code, name in figures.types)
    notices = "".join(f"<div>⚠ {escape(text)}</div>" for text in figures.notices)
    region = escape(figures.region_name_zh)
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>unionmap · {region}</title>
<style>{STYLE}</style></head><body>
<header><h1>{region}总工会服务阵地地图 <small>unionmap · {escape(figures.region_name_en)}</small></h1>
<div class="notice" id="unionmap-notice">{notices}</div></header>
<nav aria-label="地图与数据 / maps and data"><a href="{href('/maps/stations')}">站点分布</a>
<a href="{href('/maps/coverage')}">覆盖分析</a>
<a href="{href('/maps/gaps')}">目标差距</a><a href="{plan_link}" id="next-plan">选址方案</a>
<a href="{href('/finder')}">附近的驿站（手机）</a>
<a href="{href('/maps/gaps.xlsx')}">差距表 .xlsx</a><a href="{href('/docs')}">API</a>
<a href="{href('/ogc')}">OGC API</a></nav>
{_editor_line(figures.open_reports)}<main>
<h2 id="targets-title">目标达标情况 / targets</h2>
<table id="targets" aria-labelledby="targets-title"><thead><tr><th scope="col">类型</th><th scope="col">要求</th>
<th scope="col">已建/要求 · 缺口</th><th scope="col">达标</th><th scope="col">期限</th><th scope="col">未达标单位</th>
<th scope="col">规划</th><th scope="col">报告原文</th></tr></thead>
<tbody>{_target_rows(figures, asked)}</tbody></table>
{_held_regions(figures)}
<h2 id="counts-title">开放站点数量 / open stations</h2>
<table id="counts" aria-labelledby="counts-title"><thead><tr><th scope="col">类型</th><th scope="col">数量</th>
<th scope="col">地图</th></tr></thead><tbody>{type_rows}</tbody></table>
</main>
</body></html>"""
