"""``unionmap coverage``, ``gaps``, ``plan`` and ``load population``: analysis commands."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.table import Table

from geo.cli.common import CRS_HELP, console, coord_system, fail, timed
from geo.core.frames import row_tuples
from geo.errors import UnionmapError
from geo.notices import COUNTY_UNITS, MODELLED, NO_PLACES, POSITION_UNKNOWN, UNKNOWN_MARK, certificate, no_targets
from geo.reference import DEFAULT_TYPE
from geo.services import transaction
from geo.settings import Settings, get_settings

if TYPE_CHECKING:  # imported where used: the CLI starts without loading the solver
    from geo.analysis.planning import PlanResult
    from geo.reference.region import RegionConfig

FORMATS = ("table", "csv", "xlsx")


def _check_format(output_format: str, output: Path | None) -> Path | None:
    if output_format not in FORMATS:
        raise fail(UnionmapError(f"--format must be one of {', '.join(FORMATS)}, not {output_format!r}"))
    if output_format != "table" and output is None:
        return Path(f"unionmap.{output_format}")
    return output


def _people(value: float) -> str:
    return f"{value:,.0f}"


def coverage_command(
    type_code: Annotated[str | None, typer.Option("--type", help="服务类型 / service type code")] = None,
    level: Annotated[str, typer.Option(help="city | county | township")] = "county",
    output_format: Annotated[str, typer.Option("--format", help="table | csv | xlsx")] = "table",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="文件 / file for csv or xlsx")] = None,
    include_planned: Annotated[bool, typer.Option("--include-planned", help="计入规划站点 / count planned")] = False,
    plan_id: Annotated[int | None, typer.Option("--plan", help="只计入该方案的规划站点 / that plan only")] = None,
) -> None:
    """覆盖分析 / population covered per type and region (open stations; planned as a scenario)."""
    from geo.core.export import write_table
    from geo.services.coverage_query import ModelCache, coverage_report

    if level not in ("city", "county", "township"):
        raise fail(UnionmapError(f"--level must be city, county or township, not {level!r}"))
    output = _check_format(output_format, output)
    started = time.perf_counter()
    try:
        with transaction.session_scope(get_settings()) as session:
            model, info = ModelCache().get(session)
            table = coverage_report(session, model, info, level=level, type_code=type_code,  # type: ignore[arg-type]
                                    include_planned=include_planned or plan_id is not None, plan_id=plan_id)
    except UnionmapError as error:
        raise fail(error) from error
    region = region_in_use(get_settings())
    notices = coverage_notices(table, info.population_is_modelled, region.places is not None,
                               county_units=region.county_units and level == "township")
    if output is not None:
        write_table(table.drop(columns=["type_code"]), output, sheet="覆盖 coverage",
                    notice="\n".join(notices) or None)
        console.print(f"已写入 / written: {output}")
    else:
        _print_coverage(table, level)
        for line in notices:
            console.print(f"[yellow]⚠ {line}[/]")
    timed("coverage", started)


def region_in_use(settings: Settings) -> RegionConfig:
    """The database's region: whether it names a settlements file (the modelled grid used villages),
    and whether its counties are its township-level units."""
    from geo.services.region_of_database import active_region_of

    return active_region_of(settings)


def coverage_notices(table: pd.DataFrame, modelled: bool, places: bool, *, county_units: bool = False) -> list[str]:
    """What a coverage table does not know: townships placed without a seat (their names are
    marked), modelled population, a model made without a settlements file, and (township level of
    a region without a township list) that its "townships" are counties."""
    unknown = bool(table["position_unknown"].any()) if "position_unknown" in table else False
    return [text for text, shown in ((COUNTY_UNITS.text, county_units),
                                     (f"{UNKNOWN_MARK} {POSITION_UNKNOWN.text}", unknown), (MODELLED.text, modelled),
                                     (NO_PLACES.text, modelled and not places)) if shown]


def _print_coverage(table: pd.DataFrame, level: str) -> None:
    for type_name, rows in table.groupby("type_name", sort=False):
        out = Table("代码 code", "名称 name", "站点 stations", "人口 population", "覆盖 covered",
                    "覆盖率 share", "未覆盖 uncovered", title=f"{type_name} · {level}")
        for row in row_tuples(rows):
            out.add_row(row.region_code, row.region_name, str(row.stations), _people(row.population),
                        _people(row.covered_population), f"{row.covered_share:.1%}", _people(row.uncovered_population))
        console.print(out)


def gaps_command(
    output_format: Annotated[str, typer.Option("--format", help="table | csv | xlsx")] = "table",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="文件 / file for csv or xlsx")] = None,
    detail: Annotated[bool, typer.Option("--detail", help="列出每个县、乡镇 / one row per unit")] = False,
    include_planned: Annotated[bool, typer.Option("--include-planned", help="计入规划站点 / count planned")] = False,
) -> None:
    """目标差距 / each target of the work report: required, built, shortfall, met."""
    from geo.core.export import write_table
    from geo.services import gaps
    from geo.services.region_of_database import active_region

    output = _check_format(output_format, output)
    settings = get_settings()
    try:
        with transaction.session_scope(settings) as session:
            rows = gaps.gaps(session, include_planned=include_planned)
            config = active_region(settings, session)
        baselines = gaps.baselines(config.path(config.targets)) if config.targets else pd.DataFrame()
    except UnionmapError as error:
        raise fail(error) from error
    totals = gaps.summary(rows)
    missing = no_targets(config.name_zh) if rows.empty else None  # never an empty table without a word
    if output is not None:
        write_table(rows if detail else totals, output, sheet="目标差距 gaps", notice=missing)
        console.print(f"已写入 / written: {output}")
        if missing:
            console.print(f"[yellow]⚠ {missing}[/]")
        return
    if missing:
        console.print(f"[yellow]⚠ {missing}[/]")
        return
    out = Table(title="目标差距 / gaps against the report's targets", show_lines=True)
    for header in ("类型 type", "范围 scope", "要求 required", "达标 met", "缺口 shortfall", "期限 deadline"):
        out.add_column(header, overflow="fold")
    out.add_column("报告原文 source", overflow="fold", ratio=3)
    scope_zh = {"city": "全市", "county": "每个县（市、区）", "township": "每个乡镇（街道）"}
    for row in row_tuples(totals):
        met = f"{row.units_met}/{row.units}" + (" ✓" if row.units_met == row.units else " ✗")
        overdue = " [red]逾期 overdue[/]" if row.overdue else ""
        out.add_row(row.type_name, scope_zh[row.scope], f"≥ {row.required:g}", met,
                    f"{row.shortfall:g}", f"{row.deadline or '—'}{overdue}", row.source_quote)
    console.print(out)
    for row in row_tuples(baselines):
        count = "—" if pd.isna(row.count) else f"{row.count:.0f}"
        console.print(f"基数（报告未设目标）/ baseline, no target: {row.type} {count} ({row.year}) — "
                      f"{row.source_quote}")
    if detail:
        console.print(rows.to_string(index=False))
    _print_position_note(rows)


def _print_position_note(rows: pd.DataFrame) -> None:
    """``POSITION_UNKNOWN`` under a table that has a township placed without a seat (its name is marked)."""
    if "region_name" in rows and rows["region_name"].astype(str).str.endswith(UNKNOWN_MARK).any():
        console.print(f"[yellow]⚠ {UNKNOWN_MARK} {POSITION_UNKNOWN.text}[/]")


def plan_command(
    type_code: Annotated[str, typer.Option("--type", help="服务类型 / service type code")] = DEFAULT_TYPE,
    add: Annotated[int, typer.Option(help="新增站点数 / how many new sites")] = 10,
    candidates_file: Annotated[Path | None, typer.Option("--candidates", help="候选点 CSV: lon,lat[,name]")] = None,
    candidates_crs: Annotated[str, typer.Option(help=f"候选点坐标系 / {CRS_HELP}")] = "wgs84",
    min_per_county: Annotated[int, typer.Option(help="每县至少（含已有）/ at least per county, existing included")] = 0,
    method: Annotated[str, typer.Option(help="greedy | exact")] = "greedy",
    time_limit: Annotated[float, typer.Option(help="精确解时限（秒）/ exact solver time limit, s")] = 60.0,
    save: Annotated[bool, typer.Option("--save", help="保存为规划方案 / save as planned stations")] = False,
    bound_steps: Annotated[int, typer.Option(min=0, max=10_000, help=(
        "上界搜索步数 / steps of the Lagrangian bound's search (the API takes 40; more proves more)"))] = 200,
) -> None:
    """选址规划 / where k new stations newly cover the most people (maximal covering)."""
    from geo.analysis import engine, planning
    from geo.cli.progress import exact_progress
    from geo.services import exact_plans
    from geo.services.coverage_query import ModelCache, counted_stations, type_radii
    from geo.store import plans, regions
    from geo.store.grid_db import grid_info

    if method not in ("greedy", "exact"):
        raise fail(UnionmapError(f"--method must be greedy or exact, not {method!r}"))
    source_crs = coord_system(candidates_crs, "--candidates-crs")
    started = time.perf_counter()
    try:
        with transaction.session_scope(get_settings(), actor="unionmap plan") as session:
            model, info = ModelCache(engine.files_directory()).get(session)
            kind = type_radii(session, type_code)[0]
            matrix: planning.CoverageMatrix | None = None
            if candidates_file:
                candidates = planning.read_candidates(candidates_file, model, source_crs=source_crs)
                source = str(candidates_file)
            else:  # the default candidates, and their matrix from this machine's files once built
                engine.ENGINE.hold(info.version, model)
                instance = engine.ENGINE.instance(model, kind, info.resolution)
                candidates, matrix = instance.candidates, instance.matrix
                source = f"h3 res {instance.candidate_resolution}"
            stations = counted_stations(session)
            abandoned = False
            if method == "exact":  # a live line; Ctrl-C keeps the best plan
                with exact_progress() as line:
                    run = exact_plans.plan_exact(model, stations, kind, candidates, add=add,
                                                 min_per_county=min_per_county, time_limit_s=time_limit,
                                                 progress=line, stop=line.stop, matrix=matrix,
                                                 bound_steps=bound_steps,
                                                 stop_grace_s=get_settings().exact_stop_grace_s)
                result, abandoned = run.result, run.abandoned
            else:
                result = planning.plan_sites(model, stations, kind, candidates, add=add,
                                             min_per_county=min_per_county, bound_steps=bound_steps, matrix=matrix)
            plan_id = plans.save_plan(session, result, actor="unionmap plan", parameters={
                "add": add, "min_per_county": min_per_county, "method": method,
                "candidates": source,
            }) if save else None
            names = regions.region_names(session)
            modelled = bool(grid_info(session).population_is_modelled)  # type: ignore[union-attr]
    except UnionmapError as error:
        raise fail(error) from error
    _print_plan(result, kind.name_zh, names, plan_id, modelled, source)
    timed("plan", started)
    if abandoned:  # plan jobs: HiGHS did not obey the stop in time; its thread must not hold the process
        console.file.flush()
        os._exit(0)


def _print_plan(result: PlanResult, type_name: str, names: dict[str, str], plan_id: int | None, modelled: bool,
                source: str) -> None:
    solution = result.solution
    out = Table("#", "乡镇 township", "县 county", "经度 lon", "纬度 lat", "新增覆盖 added", "累计覆盖率 share",
                title=f"{type_name} 新增 {len(result.proposals)} 处 / proposals ({solution.method})")
    for row in row_tuples(result.proposals):
        out.add_row(str(row.order), names.get(row.township_code, row.township_code),
                    names.get(row.county_code, row.county_code), f"{row.lon:.5f}", f"{row.lat:.5f}",
                    _people(row.added), f"{row.share:.1%}")
    console.print(out)
    _print_position_note(pd.DataFrame({"region_name": [names.get(c, c) for c in result.proposals["township_code"]]}))
    console.print(f"候选 candidates: {result.candidates:,} ({source}); 覆盖 covered: {_people(result.covered_before)} "
                  f"({result.share_before:.1%}) → {_people(result.covered_after)} ({result.share_after:.1%}) "
                  f"of {_people(result.population)}")
    if result.deficits:
        console.print(f"每县至少 {result.min_per_county}：需补 / to add per county {result.deficits}")
    label = {"optimal": "最优 optimal", "heuristic": "启发式 heuristic", "time_limit": "时限内最好 time limit",
             "stopped": "已停止 stopped"}.get(solution.status, solution.status)
    console.print(f"[bold]{certificate(result.bound_share, result.bound_method)}[/]")
    console.print(f"目标值 objective {_people(solution.objective)}；已证明上界 proven upper bound "
                  f"{_people(solution.upper_bound)} ({label}, {solution.seconds:.2f} s)")
    if result.swaps:
        console.print(f"局部交换 1-swaps: {result.swaps}，较贪心多覆盖 / more than greedy "
                      f"{_people(solution.objective - result.greedy_objective)}")
    if solution.status == "stopped" or (solution.status, solution.method) == ("time_limit", "greedy"):  # plan jobs
        stopped = solution.status == "stopped"
        zh, en = ("已停止（Ctrl-C）", "stopped (Ctrl-C)") if stopped else ("已到时限", "time limit")
        kept = ("the best plan found before the stop" if solution.method == "exact" else
                "HiGHS did not stop in time (presolve or an LP), so its warm start, the greedy plan, is kept")
        console.print(f"[yellow]{zh}，保留目前最好的方案 / {en}: {kept}[/]")
    if solution.method == "exact" and solution.objective > 0:
        share = result.greedy_objective / solution.objective
        exactness = "the exact optimum" if solution.status == "optimal" else "the best solution found"
        console.print(f"贪心 greedy {_people(result.greedy_objective)} = {share:.2%} of {exactness}")
    if plan_id is not None:
        console.print(f"已保存为方案 / saved as plan {plan_id}: {len(result.proposals)} planned stations")
    if modelled:
        console.print(f"[yellow]⚠ {MODELLED.text}[/]")


def register(app: typer.Typer) -> None:
    """Add ``coverage``, ``gaps`` and ``plan`` to ``app``."""
    app.command("coverage")(coverage_command)
    app.command("gaps")(gaps_command)
    app.command("plan")(plan_command)
