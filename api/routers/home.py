"""The start page: what a planner opens first — maps, targets met or not, counts, and the notices."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from api.deps import ModelCacheDep, ReadSessionDep, RegionDep
from geo.core.frames import row_tuples
from geo.notices import APPROXIMATE, DEMO, MODELLED
from geo.services import gaps
from geo.store import catalogue, service_types

router = APIRouter(tags=["home 首页"])

STYLE = """body{font:15px/1.6 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:12px;color:#222}
h1{font-size:1.4em}table{border-collapse:collapse;width:100%;margin:8px 0}td,th{border:1px solid #ccc;
padding:4px 6px;text-align:left;vertical-align:top}.notice{background:#fff8e1;border:1px solid #f0b429;
padding:6px 10px;border-radius:4px}.met{color:#1a7f37}.miss{color:#c62828}nav a{display:inline-block;
margin:4px 8px 4px 0;padding:6px 10px;border:1px solid #1f6feb;border-radius:4px;text-decoration:none}"""


@router.get("/", response_class=HTMLResponse, summary="首页 / start page")
def home(session: ReadSessionDep, cache: ModelCacheDep, region: RegionDep) -> HTMLResponse:
    """地图入口、目标达标情况、各类站点数量与数据说明 / maps, targets, counts and notices."""
    tally = catalogue.home_counts(session)
    counts, demo, approximate = tally.open_by_type, tally.demo_stations, tally.approximate_regions
    _, info = cache.get(session)
    types = service_types.service_types(session)
    summary = gaps.summary(gaps.gaps(session, cache=cache))
    scope = {"city": "全市", "county": "每个县（市、区）", "township": "每个乡镇（街道）"}
    target_rows = "".join(
        f"<tr><td>{escape(r.type_name)}</td><td>{scope[r.scope]}</td><td>≥ {r.required:g}</td>"
        f"<td class='{'met' if r.units_met == r.units else 'miss'}'>{r.units_met}/{r.units} "
        f"{'✓ 达标' if r.units_met == r.units else '✗ 未达标'}</td><td>{escape(str(r.deadline or '—'))}</td>"
        f"<td>{escape(r.source_quote)}</td></tr>" for r in row_tuples(summary))
    type_rows = "".join(f"<tr><td>{escape(t.name_zh)}</td><td>{counts.get(t.code, 0)}</td><td><a href="
                        f"'/maps/coverage?type={escape(quote(t.code))}'>覆盖地图</a></td></tr>" for t in types)
    notices = [text for text, shown in ((DEMO.counted(demo, "站点", "stations"), demo),
                                        (APPROXIMATE.counted(approximate, "乡镇", "townships"), approximate),
                                        (MODELLED.text, info.population_is_modelled)) if shown]
    notice_html = "".join(f"<div>⚠ {escape(n)}</div>" for n in notices)
    html = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>unionmap · {escape(region.name_zh)}</title>
<style>{STYLE}</style></head><body>
<h1>{escape(region.name_zh)}总工会服务阵地地图 <small>unionmap · {escape(region.name_en)}</small></h1>
<div class="notice" id="unionmap-notice">{notice_html}</div>
<nav><a href="/maps/stations">站点分布</a><a href="/maps/coverage">覆盖分析</a><a href="/maps/gaps">目标差距</a>
<a href="/maps/plan">选址方案</a><a href="/finder">附近的驿站（手机）</a><a href="/maps/gaps.xlsx">差距表 .xlsx</a>
<a href="/docs">API</a><a href="/ogc">OGC API</a></nav>
<h2>目标达标情况 / targets</h2>
<table id="targets"><tr><th>类型</th><th>范围</th><th>要求</th><th>达标</th><th>期限</th><th>报告原文</th></tr>
{target_rows}</table>
<h2>开放站点数量 / open stations</h2>
<table id="counts"><tr><th>类型</th><th>数量</th><th></th></tr>{type_rows}</table>
</body></html>"""
    return HTMLResponse(html)


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """No icon: answer quietly instead of a 404 in every browser console."""
    return Response(status_code=204)
