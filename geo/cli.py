"""The ``unionmap`` command: a thin shell that parses options, opens a transaction, calls geo."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from geo import cluster, db
from geo.errors import UnionmapError
from geo.settings import Settings, get_settings, worker_count

app = typer.Typer(help="unionmap：工会服务阵地地图 / trade-union service-point maps", no_args_is_help=True)
db_app = typer.Typer(help="数据库 / the database (private PostGIS cluster or DATABASE_URL)", no_args_is_help=True)
load_app = typer.Typer(help="载入数据 / load reference geography, demo registry, boundaries", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(load_app, name="load")
console = Console()


def _settings(region: str | None = None) -> Settings:
    settings = get_settings()
    return settings.model_copy(update={"region": region}) if region else settings


def _fail(error: Exception) -> typer.Exit:
    console.print(f"[bold red]错误 / error:[/] {error}", soft_wrap=True, markup=True)
    return typer.Exit(code=2)


@db_app.command("start")
def db_start() -> None:
    """启动私有数据库并迁移 / start the private cluster (if used), create the database, migrate."""
    settings = get_settings()
    try:
        started = False if settings.database_url else cluster.start(settings)
        db.prepare(settings).dispose()
    except (cluster.ClusterError, UnionmapError) as error:
        raise _fail(error) from error
    where = "DATABASE_URL" if settings.database_url else str(cluster.status(settings).data_dir)
    console.print(f"数据库就绪 / database ready ({where}){'，已启动 / started' if started else ''}")


@db_app.command("stop")
def db_stop() -> None:
    """停止私有数据库 / stop the private cluster (nothing to do with DATABASE_URL)."""
    settings = get_settings()
    if settings.database_url:
        console.print("使用 DATABASE_URL，不需要停止 / using DATABASE_URL: nothing to stop")
        return
    stopped = cluster.stop(settings)
    console.print("已停止 / stopped" if stopped else "未在运行 / was not running")


@db_app.command("status")
def db_status() -> None:
    """数据库状态 / where the database is and whether it runs."""
    settings = get_settings()
    if settings.database_url:
        console.print(f"DATABASE_URL: {db.database_url(settings).split('@')[-1]}")
        return
    status = cluster.status(settings)
    console.print(f"data: {status.data_dir}\nsocket: {status.socket_dir}\n"
                  f"initialised: {status.initialised}\nrunning: {status.running}")
    raise typer.Exit(code=0 if status.running else 3)


def _timed(label: str, started: float) -> None:
    console.print(f"[green]{label}[/] ({time.perf_counter() - started:.2f} s)")


@load_app.command("reference")
def load_reference(
    region: Annotated[str | None, typer.Option(help="地区文件夹 / region folder under data/")] = None,
) -> None:
    """载入参考地理 / load service types, counties, derived townships, population and targets."""
    from geo import reference, service_types, targets
    from geo.region import load_config

    settings = _settings(region)
    started = time.perf_counter()
    try:
        config = load_config(settings.region_dir)
        types_file = settings.region_dir / "service_types.yaml"
        types = service_types.read_service_types(types_file if types_file.exists()
                                                 else settings.data_dir / "service_types.yaml")
        layers = reference.read_reference(config)
        target_specs = targets.read_targets(config.path(config.targets)) if config.targets else []
        db.prepare(settings).dispose()
        with db.session_scope(settings, actor="unionmap load reference") as session:
            service_types.upsert_service_types(session, types)
            reference.replace_regions(session, layers, config)
            targets.replace_targets(session, target_specs, file=str(config.path(config.targets or "")))
    except (UnionmapError, cluster.ClusterError) as error:
        raise _fail(error) from error
    counties, townships = layers.counties, layers.townships
    console.print(f"{config.name_zh} / {config.name_en}: {len(counties)} 县级 counties, "
                  f"{len(townships)} 乡级 townships (边界为推算 / approximate), "
                  f"{len(types)} service types, {len(target_specs)} targets")
    _timed("load reference", started)


@load_app.command("demo")
def load_demo(
    seed: Annotated[int | None, typer.Option(help="随机种子 / random seed")] = None,
    region: Annotated[str | None, typer.Option(help="地区文件夹 / region folder")] = None,
) -> None:
    """生成演示登记数据 / replace the demo (synthetic) stations; real rows are kept."""
    from geo import demo, reference, service_types
    from geo.region import load_config

    settings = _settings(region)
    seed = settings.demo_seed if seed is None else seed
    started = time.perf_counter()
    try:
        config = load_config(settings.region_dir)
        if not config.demo:
            raise UnionmapError(f"{settings.region_dir}/region.yaml names no demo file")
        spec = demo.read_demo_spec(config.path(config.demo))
        with db.session_scope(settings, actor="unionmap load demo") as session:
            townships = reference.regions_frame(session, "township")
            counties = reference.regions_frame(session, "county")
            if townships.empty:
                raise UnionmapError("no townships loaded: run `unionmap load reference` first")
            types = [demo.TypeNames(t.code, t.name_zh) for t in service_types.service_types(session)]
            stations = demo.generate(townships, counties, spec, types,
                                     metric_crs=reference.metric_crs_of(counties), seed=seed)
            count = demo.replace_demo_stations(session, stations)
    except UnionmapError as error:
        raise _fail(error) from error
    table = Table("类型 type", "数量 count", title=f"演示数据 / demo data (seed {seed})")
    for code, n in stations["type_code"].value_counts(sort=False).items():
        table.add_row(code, str(n))
    console.print(table)
    console.print(f"{count} 个演示站点 / demo stations (is_demo = true)")
    _timed("load demo", started)


@load_app.command("boundaries")
def load_boundaries(
    file: Annotated[Path, typer.Argument(help="GeoJSON / GeoPackage / Shapefile", exists=True)],
    level: Annotated[str, typer.Option(help="county | township")] = "township",
    code_field: Annotated[str, typer.Option(help="代码字段 / field holding the division code")] = "code",
    name_field: Annotated[str, typer.Option(help="名称字段 / field holding the name")] = "name",
    crs: Annotated[str, typer.Option(help="wgs84 | gcj02 | bd09")] = "wgs84",
) -> None:
    """导入官方边界 / replace derived polygons with official ones (clears the approximate flag)."""
    from geo import reference
    from geo.region import load_config

    if level not in ("county", "township"):
        raise _fail(UnionmapError(f"--level must be county or township, not {level!r}"))
    if crs not in ("wgs84", "gcj02", "bd09"):
        raise _fail(UnionmapError(f"--crs must be wgs84, gcj02 or bd09, not {crs!r}"))
    settings = get_settings()
    started = time.perf_counter()
    try:
        config = load_config(settings.region_dir)
        with db.session_scope(settings, actor="unionmap load boundaries") as session:
            count = reference.replace_boundaries(session, file, level=level, config=config,
                                                 code_field=code_field, name_field=name_field,
                                                 source_crs=crs)  # type: ignore[arg-type]
    except UnionmapError as error:
        raise _fail(error) from error
    console.print(f"{count} 个{level}边界已替换为官方边界 / official boundaries loaded")
    _timed("load boundaries", started)


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址 / host")] = None,
    port: Annotated[int | None, typer.Option(help="端口 / port")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="进程数 / worker processes (default: UNIONMAP_WORKERS, else one per core)")] = None,
) -> None:
    """启动网页服务 / serve the API and maps (uvicorn)."""
    from api import serve as server

    if host:  # the app's settings (its trusted hosts among them) follow the address it serves
        os.environ["UNIONMAP_HOST"] = host
        get_settings.cache_clear()
    settings = get_settings()
    try:
        from geo.region import load_config

        load_config(settings.region_dir)  # a bad region.yaml stops here with a message, not in every worker
        db.prepare(settings).dispose()
    except (UnionmapError, cluster.ClusterError) as error:
        raise _fail(error) from error
    server.run(host or settings.host, port or settings.port, workers or worker_count(settings),
               access_log=settings.access_log, header_timeout_s=settings.header_timeout_s,
               healthcheck_s=settings.worker_healthcheck_s)


# Registers the analysis commands (coverage, gaps, plan), the registry commands (keys, import,
# export) and `map render` on `app`; imported last because they import `app` from here.
from geo import cli_analysis, cli_maps, cli_registry  # noqa: E402,F401
