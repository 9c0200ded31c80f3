"""Benchmark: OGC API - Features items throughput, unionmap vs tipg, on the same rows in the same run.

A full paged read (first page, then every ``next`` link) of the biggest station collection,
``worker_library``, from two servers, each ``uvicorn --workers 1`` with the same HTTP stack,
pinned (``--loop asyncio --http h11``: what a plain ``pip install tipg uvicorn`` gives; our venv
also has uvloop and httptools, which uvicorn would otherwise pick for one side only):

- unionmap: ``/ogc/collections/worker_library/items?limit=L`` (``uvicorn api.app:create_app --factory``);
- tipg (developmentseed/tipg, OGC API - Features for PostGIS; ``uvicorn tipg.main:app``):
  ``/collections/public.station/items?type_code=worker_library&limit=L`` (its property filter on
  the same table; both order by id, so the same features come in the same order).

The data: a bench database (``unionmap_bench``) on the private cluster, made by the script with
``unionmap load reference`` and ``load demo``, then every station copied (scale − 1) times with a
seeded jitter of up to ±0.005° (the region trigger re-assigns counties), ~10× the demo registry.
Page sizes 10 (GDAL's default), 100 and 1000, each in three variants:

- ``plain``: every feature of the type, no compression (``Accept-Encoding: identity``);
- ``cql2``: the open ones only, by a CQL2 text filter on both servers (ours:
  ``filter=status = 'open'``; tipg: ``filter=status = 'open'&filter-lang=cql2-text`` beside its
  ``type_code`` parameter), no compression;
- ``gzip``: as ``plain`` with ``Accept-Encoding: gzip`` (each server compresses as it is set up out
  of the box: ours with Starlette's GZip at level 6, tipg with its own middleware); the MB/s
  columns then count the bytes on the wire.

Each read is repeated 3 times with the servers taking turns to go first, after one uncounted
warm-up read each. Time counts from each request to its last body byte (client JSON parsing
excluded). Both reads must return the same number of features and the same ids.

tipg runs from a bench-only venv the script creates on first use (``.state/`` is ignored by git):
``python -m venv .state/bench-tipg-venv && .state/bench-tipg-venv/bin/pip install tipg uvicorn``.
tipg reads ``DATABASE_URL``, whose validation needs a host: the socket folder goes in
percent-encoded. The bench database is dropped at the end unless ``--keep`` (then reused).

Run: ``.venv/bin/python scripts/bench/bench_ogc.py [--scale 10] [--repeat 3] [--page-sizes 10 100 1000]
[--variants plain cql2 gzip] [--keep]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import psycopg
from bench_nearest import IDENTITY, free_port, header, load_average, server  # same folder

from geo.settings import PROJECT_ROOT, Settings, get_settings
from geo.store import cluster

TIPG_VENV = PROJECT_ROOT / ".state" / "bench-tipg-venv"
UVICORN = ["--workers", "1", "--loop", "asyncio", "--http", "h11", "--host", "127.0.0.1", "--no-access-log",
           "--log-level", "warning", "--timeout-graceful-shutdown", "5"]  # the same for both servers
TYPE = "worker_library"
COPY_SQL = """
    INSERT INTO station (type_code, name, address, geom, status, opening_hours, amenities, phone,
                         managing_union, is_demo, source)
    SELECT s.type_code, s.name || ' #' || k, s.address,
           ST_SetSRID(ST_MakePoint(ST_X(s.geom) + (random() - 0.5) * 0.01,
                                   ST_Y(s.geom) + (random() - 0.5) * 0.01), 4326),
           s.status, s.opening_hours, s.amenities, s.phone, s.managing_union, s.is_demo, s.source
    FROM (SELECT * FROM station WHERE deleted_at IS NULL ORDER BY id) s CROSS JOIN generate_series(1, %s) k"""
Read = tuple[float, int, list[object], int]  # seconds, bytes on the wire, feature ids, pages
FILTER = "status = 'open'"  # the CQL2 text filter of the ``cql2`` variant, the same on both servers
VARIANTS = {"plain": IDENTITY, "cql2": IDENTITY, "gzip": {"Accept-Encoding": "gzip"}}


def tipg_python(venv: Path) -> Path:
    """The bench-only venv's Python, creating the venv with tipg and uvicorn the first time."""
    python = venv / "bin" / "python"
    if not (venv / "bin" / "uvicorn").exists():
        print(f"creating {venv}: python -m venv; pip install tipg uvicorn")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "tipg", "uvicorn"], check=True)
    return python


def make_database(settings: Settings, name: str, scale: int, seed: int) -> None:
    """Create ``name`` with reference + demo loaded and each station copied (scale − 1) times."""
    if not cluster.create_database(settings, name):
        print(f"database {name} exists: reused as it is")
        return
    env = os.environ | {"DATABASE_URL": cluster.url(settings, name)}
    for step in ("reference", "demo"):
        begun = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "unionmap"), "load", step], env=env, check=True,
                       capture_output=True)
        print(f"unionmap load {step}: {time.perf_counter() - begun:.1f} s")
    with psycopg.connect(cluster.conninfo(settings, name)) as connection:
        connection.execute("SELECT set_config('unionmap.actor', 'bench_ogc', true), setseed(%s)", (seed / 1000,))
        connection.execute(COPY_SQL, (scale - 1,))
    with psycopg.connect(cluster.conninfo(settings, name), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE station")


def full_read(http: httpx.Client, url: str | None, headers: dict[str, str] = IDENTITY) -> Read:
    """Follow ``next`` links from ``url`` to the last page; time only the HTTP exchanges."""
    seconds, size, ids, pages = 0.0, 0, [], 0
    while url is not None and pages < 100_000:
        begun = time.perf_counter()
        response = http.get(url, headers=headers)
        seconds += time.perf_counter() - begun
        response.raise_for_status()
        page = json.loads(response.content)
        size, pages = size + response.num_bytes_downloaded, pages + 1
        ids += [feature["id"] for feature in page["features"]]
        url = next((link["href"] for link in page.get("links", []) if link.get("rel") == "next"), None)
    return seconds, size, ids, pages


Key = tuple[str, int, str]  # variant, page size, server


def table(reads: dict[Key, list[Read]], variants: list[str], page_sizes: list[int],
          names: list[str]) -> dict[tuple[str, int], float]:
    """Print the markdown table; return ours / tipg (median features/s) per variant and page size."""
    print("| variant | page size | server | features | pages | best features/s | median features/s | "
          "median MB/s on the wire | ours / tipg (median) |\n|---|---|---|---|---|---|---|---|---|")
    ratios = {}
    for variant in variants:
        for size in page_sizes:
            medians = {name: statistics.median(len(r[2]) / r[0] for r in reads[variant, size, name])
                       for name in names}
            ratios[variant, size] = medians[names[0]] / medians[names[1]]
            for name in names:
                runs = reads[variant, size, name]
                rates = [len(r[2]) / r[0] for r in runs]
                print(f"| {variant} | {size} | {name} | {len(runs[0][2]):,} | {runs[0][3]:,} | {max(rates):,.0f} | "
                      f"{statistics.median(rates):,.0f} | {statistics.median(r[1] / r[0] / 1e6 for r in runs):.2f} | "
                      + (f"{ratios[variant, size]:.2f}× |" if name == names[0] else "|"))
    return ratios


def bench_arguments(parser: argparse.ArgumentParser, database: str) -> None:
    """The options of every benchmark against tipg on a bench database (also bench_tiles)."""
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", default=database)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tipg-venv", type=Path, default=TIPG_VENV)
    parser.add_argument("--keep", action="store_true", help="keep (and next time reuse) the bench database")


def on_bench_database(arguments: argparse.Namespace, script: str,
                      run: Callable[[Settings, argparse.Namespace, Path, str], None]) -> None:
    """Make the tipg venv and the bench database, call ``run(settings, arguments, tipg's python,
    tipg's versions)``, then drop the database unless ``--keep``."""
    settings = get_settings()
    if settings.database_url:
        raise SystemExit(f"{script} makes its database on the private cluster: unset DATABASE_URL")
    python = tipg_python(arguments.tipg_venv)
    tipg_versions = subprocess.run([str(python), "-c", "from importlib.metadata import version as v; print(', '.join("
                                    "f'{n} {v(n)}' for n in ('tipg', 'uvicorn', 'fastapi', 'asyncpg', 'orjson')))"],
                                   capture_output=True, text=True, check=True).stdout.strip()
    cluster.start(settings)
    try:
        make_database(settings, arguments.database, arguments.scale, arguments.seed)
        run(settings, arguments, python, tipg_versions)
    finally:
        if not arguments.keep:
            cluster.drop_database(settings, arguments.database)
            print(f"dropped database {arguments.database}")


@contextmanager
def both_servers(settings: Settings, name: str, python: Path, tables: list[str]) -> Iterator[tuple[str, str]]:
    """unionmap and tipg (serving ``tables``) on database ``name``, one pinned uvicorn worker each;
    yields their base URLs, and stops both at the end."""
    ours_port, tipg_port = free_port(), free_port()
    ours_cmd = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--port", str(ours_port), *UVICORN]
    tipg_cmd = [str(python), "-m", "uvicorn", "tipg.main:app", "--port", str(tipg_port), *UVICORN]
    sockets = quote(str(cluster.socket_dir(settings)), safe="")
    tipg_env = {key: value for key, value in os.environ.items() if not key.startswith(("TIPG_", "UNIONMAP_"))} | {
        "DATABASE_URL": f"postgresql://postgres@{sockets}:{cluster.PORT}/{name}",
        "TIPG_DB_SCHEMAS": '["public"]', "TIPG_DB_TABLES": json.dumps(tables)}
    print(f"unionmap: {' '.join(ours_cmd)}\ntipg:     {' '.join(tipg_cmd)}\n"
          f"tipg env: DATABASE_URL={tipg_env['DATABASE_URL']} TIPG_DB_SCHEMAS={tipg_env['TIPG_DB_SCHEMAS']} "
          f"TIPG_DB_TABLES={tipg_env['TIPG_DB_TABLES']}")
    ours, tipg = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{tipg_port}"
    with tempfile.TemporaryDirectory(prefix="bench-tipg-") as scratch, ExitStack() as stack:
        stack.enter_context(server(ours_cmd, os.environ | {"DATABASE_URL": cluster.url(settings, name)},
                                   PROJECT_ROOT, f"{ours}/api/v1/health", Path(scratch) / "unionmap.log"))
        stack.enter_context(server(tipg_cmd, tipg_env, Path(scratch), f"{tipg}/healthz", Path(scratch) / "tipg.log"))
        yield ours, tipg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bench_arguments(parser, "unionmap_bench")
    parser.add_argument("--page-sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    on_bench_database(parser.parse_args(), "bench_ogc", run)


def run(settings: Settings, arguments: argparse.Namespace, python: Path, tipg_versions: str) -> None:
    """Start both servers on the bench database, read, compare, print."""
    name = arguments.database
    header(("uvicorn", "fastapi", "httpx", "SQLAlchemy", "psycopg"), cluster.url(settings, name),
           f"; tipg venv: {tipg_versions}")
    with psycopg.connect(cluster.conninfo(settings, name)) as connection:
        count, opened, total = connection.execute(
            "SELECT count(*) FILTER (WHERE type_code = %s), count(*) FILTER (WHERE type_code = %s AND status = 'open'),"
            " count(*) FROM station WHERE deleted_at IS NULL", (TYPE, TYPE)).fetchone() or (0, 0, 0)
    expected = {"plain": count, "cql2": opened, "gzip": count}
    print(f"database {name}: {total:,} stations, {count:,} of type {TYPE}, {opened:,} of them open "
          f"(scale {arguments.scale}×)")
    cql2 = {"filter": FILTER}
    first: dict[str, Callable[[str, int, str], str]] = {
        "unionmap": lambda base, limit, variant: f"{base}/ogc/collections/{TYPE}/items?" + urlencode(
            {"limit": limit} | (cql2 if variant == "cql2" else {})),
        "tipg": lambda base, limit, variant: f"{base}/collections/public.station/items?" + urlencode(
            {"type_code": TYPE, "limit": limit} | (cql2 | {"filter-lang": "cql2-text"} if variant == "cql2" else {}))}
    names = list(first)
    reads: dict[Key, list[Read]] = {}
    with ExitStack() as stack:
        bases = dict(zip(names, stack.enter_context(both_servers(settings, name, python, ["public.station"])),
                         strict=True))
        http = stack.enter_context(httpx.Client(headers={"Accept": "application/geo+json"}, timeout=120))
        for server_name in names:  # warm-up (catalogue, caches, connections), not counted
            for variant in arguments.variants:
                full_read(http, first[server_name](bases[server_name], 100, variant), VARIANTS[variant])
        print(f"servers up; load average {load_average()}")
        turn = 0
        for repeat in range(arguments.repeat):
            for variant in arguments.variants:
                for size in arguments.page_sizes:  # servers take turns to go first
                    turn += 1
                    for server_name in names if turn % 2 == 0 else names[::-1]:
                        url = first[server_name](bases[server_name], size, variant)
                        reads.setdefault((variant, size, server_name), []).append(
                            full_read(http, url, VARIANTS[variant]))
            print(f"repeat {repeat + 1} done; load average {load_average()}")
    cells = [(variant, size) for variant in arguments.variants for size in arguments.page_sizes]
    same = {cell: all(r[2] == reads[(*cell, names[0])][0][2] for name in names for r in reads[(*cell, name)])
            for cell in cells}
    print(f"\nOGC items, full paged read of {TYPE} ({count:,} features, {opened:,} open), 1 uvicorn worker each, "
          f"loopback, client on the same {os.cpu_count()} cores; best and median of {arguments.repeat}\n")
    ratios = table(reads, arguments.variants, arguments.page_sizes, names)
    print("\nsame features and ids from both servers (every read): "
          + ", ".join(f"{variant} {size}: {'yes' if same[variant, size] else 'NO'}" for variant, size in cells)
          + "; expected counts: "
          + ("yes" if all(len(reads[key][0][2]) == expected[key[0]] for key in reads) else "NO"))
    print("verdict: ours / tipg (median features/s): "
          + ", ".join(f"{variant} {size}: {ratios[variant, size]:.2f}×" for variant, size in cells)
          + f" → target (at least tipg's throughput): {'MET' if min(ratios.values()) >= 1 else 'NOT MET'}"
          + f"\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
