"""A province's start page (``/r/{province}/``): each city's coverage and targets and the
province's totals (``geo.services.rollup``), with a link to every city's own pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import pandas as pd

from api.home_page import STYLE
from geo.core.frames import row_tuples
from geo.services.rollup import PROVINCE, ProvinceArea


@dataclass(frozen=True)
class ProvinceFigures:
    """What the province's page shows, read by the router."""

    area: ProvinceArea
    names: dict[str, str]  # city code → name
    coverage: pd.DataFrame  # geo.services.rollup.coverage_rollup
    targets: pd.DataFrame  # geo.services.rollup.targets_rollup
    notices: Sequence[str]
    site_root: str


def _share(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:.1%}"


def _city(figures: ProvinceFigures, code: str, name: str) -> str:
    if code == PROVINCE:
        return f"<strong>{escape(name)}</strong>"
    return f"<a href='{escape(figures.site_root)}/r/{escape(code)}/'>{escape(name)}</a>"


def _coverage_table(figures: ProvinceFigures) -> str:
    """One row per city (and the province's total), one column per type: stations and share covered."""
    table = figures.coverage
    types = list(dict.fromkeys(zip(table["type_code"], table["type_name"], strict=True)))
    head = "".join(f"<th scope='col'>{escape(name)}<br><span class='hint'>站点 · 覆盖率</span></th>"
                   for _, name in types)
    cells: dict[str, dict[str, str]] = {}
    people: dict[str, tuple[str, float]] = {}
    for row in row_tuples(table):
        cells.setdefault(row.city_code, {})[row.type_code] = f"{int(row.stations)} · {_share(row.covered_share)}"
        people[row.city_code] = (row.city_name, float(row.population))
    body = "".join(
        f"<tr><th scope='row'>{_city(figures, code, name)}</th><td>{population:,.0f}</td>"
        + "".join(f"<td>{cells[code].get(type_code, '—')}</td>" for type_code, _ in types) + "</tr>"
        for code, (name, population) in people.items())
    return (f"<table id='coverage' aria-labelledby='coverage-title'><thead><tr><th scope='col'>市</th>"
            f"<th scope='col'>人口</th>{head}</tr></thead><tbody>{body}</tbody></table>")


def _target_rows(figures: ProvinceFigures) -> str:
    def required(row: object) -> str:
        value = getattr(row, "required")
        return "—" if pd.isna(value) else f"≥ {value:g}"

    return "".join(
        f"<tr><th scope='row'>{_city(figures, row.city_code, row.city_name)}</th><td>{escape(row.type_name)}</td>"
        f"<td>{escape(row.scope)}</td><td>{required(row)}</td><td>{int(row.units_met)}/{int(row.units)}</td>"
        f"<td>{row.built:,.0f}</td><td>{row.shortfall:,.0f}</td>"
        f"<td>{int(row.cities_with_target)}</td></tr>" for row in row_tuples(figures.targets))


def render(figures: ProvinceFigures) -> str:
    """The whole page."""
    area = figures.area
    name = escape(area.name_zh)
    notices = "".join(f"<div>⚠ {escape(text)}</div>" for text in figures.notices)
    cities = "".join(f"<a href='{escape(figures.site_root)}/r/{escape(code)}/'>{escape(figures.names.get(code, code))}</a>"
                     for code in area.cities)
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>unionmap · {name}</title>
<style>{STYLE}</style></head><body>
<header><h1>{name}工会服务阵地汇总 <small>unionmap · {escape(area.name_en)} · {len(area.cities)} 个市</small></h1>
<div class="notice" id="unionmap-notice">{notices}</div></header>
<nav aria-label="各市 / cities" id="cities">{cities}</nav>
<main>
<h2 id="coverage-title">覆盖人口 / population covered</h2>
<p class="hint">各市按本市网格与服务半径计算，全省合计为各市之和 / each city on its own grid and radii; the
province's total is their sum.</p>
<div class="wide">{_coverage_table(figures)}</div>
<h2 id="targets-title">目标达标情况 / targets</h2>
<p class="hint">每市按其工作报告的目标；全省合计只计设此目标的市 / each city against its own report's targets;
the province's totals count only the cities that set such a target.</p>
<div class="wide"><table id="targets" aria-labelledby="targets-title"><thead><tr><th scope="col">市</th><th scope="col">类型</th>
<th scope="col">范围</th><th scope="col">要求</th><th scope="col">达标单位</th><th scope="col">已建</th>
<th scope="col">缺口</th><th scope="col">设此目标的市</th></tr></thead>
<tbody>{_target_rows(figures)}</tbody></table></div>
</main></body></html>"""
