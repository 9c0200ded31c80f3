"""``unionmap rollup`` and ``unionmap plan-cities``: a province's figures and its cities' plans."""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer
from rich.table import Table

from geo.cli.common import console, fail, timed
from geo.core.frames import row_tuples
from geo.errors import UnionmapError
from geo.notices import MODELLED, certificate
from geo.reference import DEFAULT_TYPE
from geo.services import transaction
from geo.settings import Settings, get_settings

REGION_HELP = "地区（省级汇总或市）代码或文件夹 / a province's or a city's code or folder (default: the default region)"


def _cities(settings: Settings, region: str | None) -> tuple[list[str], dict[str, str]]:
    """The cities of the region named (a province's, or one city), and every held region's name."""
    from geo.store import deployment, scope

    with transaction.session_scope(settings, actor="unionmap rollup") as session:
        rows = deployment.all_regions(session)
        names = {row.code: row.name_zh for row in rows}
        chosen = next((row for row in rows if region in (row.code, row.folder)), None) if region else next(
            (row for row in rows if row.is_default), None)
        if chosen is None:
            held = ", ".join(f"{row.code} {row.name_zh}" for row in rows) or "—"
            raise UnionmapError(f"数据库未载入地区 {region!r} / the database does not hold region {region!r}; it "
                                f"holds: {held}")
        return scope.members(rows, chosen), names


def rollup_command(
    region: Annotated[str | None, typer.Option(help=REGION_HELP)] = None,
) -> None:
    """省级汇总 / each city's coverage and targets, and the province's totals."""
    from geo.services import rollup
    from geo.services.coverage_query import ModelCache

    settings = get_settings()
    started = time.perf_counter()
    try:
        cities, names = _cities(settings, region)
        with transaction.session_scope(settings, actor="unionmap rollup") as session:
            cache = ModelCache()
            coverage = rollup.coverage_rollup(session, cities, names, cache=cache)
            targets = rollup.targets_rollup(session, cities, names, cache=cache)
    except UnionmapError as error:
        raise fail(error) from error
    table = Table("市 city", "类型 type", "站点 stations", "人口 people", "覆盖 covered", "覆盖率 share",
                  title="覆盖人口 / population covered (each city on its own grid; 全省合计 = the sum)")
    for row in row_tuples(coverage):
        table.add_row(str(row.city_name), str(row.type_name), str(int(row.stations)), f"{row.population:,.0f}",
                      f"{row.covered_population:,.0f}", f"{row.covered_share:.1%}")
    console.print(table)
    goals = Table("市 city", "类型 type", "范围 scope", "达标单位 units met", "已建 built", "缺口 shortfall",
                  "设此目标的市 cities", title="目标 / targets (totals over the cities that set each)")
    for row in row_tuples(targets):
        goals.add_row(str(row.city_name), str(row.type_name), str(row.scope), f"{int(row.units_met)}/{int(row.units)}",
                      f"{row.built:,.0f}", f"{row.shortfall:,.0f}", str(int(row.cities_with_target)))
    console.print(goals)
    if coverage["population_is_modelled"].any():
        console.print(f"[yellow]⚠ {MODELLED.text}[/]")
    timed("rollup", started)


def plan_cities_command(
    region: Annotated[str | None, typer.Option(help=REGION_HELP)] = None,
    type_code: Annotated[str, typer.Option("--type", help="服务类型 / service type code")] = DEFAULT_TYPE,
    add: Annotated[int, typer.Option(min=1, max=500, help="每市新增站点数 / new sites per city")] = 5,
    min_per_county: Annotated[int, typer.Option(min=0, help="每县至少（含已有）/ at least per county")] = 0,
    processes: Annotated[int | None, typer.Option(min=1, max=64, help="并行进程数 / processes (default: cores)")] = None,
    save: Annotated[bool, typer.Option("--save", help="保存为各市的规划方案 / save each city's plan")] = False,
    bound_steps: Annotated[int, typer.Option(min=0, max=10_000, help="上界搜索步数 / bound search steps")] = 200,
) -> None:
    """各市选址 / a greedy plan with its certificate for every city of a province, in parallel processes."""
    from geo.services import city_plans

    settings = get_settings()
    started = time.perf_counter()
    workers = processes or os.cpu_count() or 1
    try:
        cities, names = _cities(settings, region)
        results = city_plans.plan_cities(settings, cities, type_code=type_code, add=add,
                                         min_per_county=min_per_county, save=save, bound_steps=bound_steps,
                                         processes=min(workers, len(cities)))
    except UnionmapError as error:
        raise fail(error) from error
    wall = time.perf_counter() - started
    table = Table("市 city", "新增 added", "覆盖率 share", "证书 certificate", "秒 s", "方案 plan",
                  title=f"{type_code}: 每市新增 {add} 处 / {add} new sites per city (greedy)")
    for plan in results:
        table.add_row(names.get(plan.city, plan.city), str(plan.added),
                      f"{plan.covered_before / plan.population if plan.population else 0:.1%} → {plan.share_after:.1%}",
                      certificate(plan.bound_share, plan.bound_method), f"{plan.seconds:.1f}",
                      str(plan.plan_id or "—"))
    console.print(table)
    busy = sum(plan.seconds for plan in results)
    console.print(f"{len(results)} 个市 cities, {min(workers, len(cities))} 个进程 processes: wall {wall:.1f} s, "
                  f"sum of cities {busy:.1f} s (×{busy / wall:.2f})")
    timed("plan-cities", started)


def register(app: typer.Typer) -> None:
    """Add ``rollup`` and ``plan-cities`` to ``app``."""
    app.command("rollup")(rollup_command)
    app.command("plan-cities")(plan_cities_command)
