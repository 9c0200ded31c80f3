"""Benchmark: nearest-station and OGC items against the primary alone, then primary + hot standby.

Sets up clusters of its own under /var/tmp (a primary loaded with Jiujiang and the demo registry,
and, for the second half, its synchronous standby made by ``geo.store.replica.start``), serves
them with ``unionmap serve --workers N`` and measures, per configuration and per route:

- closed loop: ``--concurrency`` clients back to back for ``--seconds`` (after an uncounted warm-up):
  achieved req/s and latency percentiles;
- per-request CPU cost, measured: CPU seconds (``/proc``: utime + stime) used during that run by the
  app's processes, the primary's server processes and the standby's, divided by the requests
  answered; this is what the capacity model in docs/deployment.md is computed from;
- open loop at ``--rate`` req/s: latency from the scheduled send time;
- ``--sequential`` station writes one after another (with the standby, each commit waits for it:
  synchronous replication), then nearest reads without and with a read-your-writes LSN header.

And memory: the app worker's resident size at start and after warm-up (the finder, OGC pages,
the coverage map, which builds the demand-grid model), the model's size (pickled), the database
size and the servers' shared_buffers. The load generator (``loadgen.py``) shares the machine's
cores with everything it measures; the load average is printed before and after each run.

Run: ``.venv/bin/python scripts/bench/bench_replica.py [--seconds 10] [--rate 100] [--workers 2] [--sequential 200]``
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import loadgen
from bench_nearest import closed_loop, free_port, header, load_average, open_loop, percentile, sample_paths, server
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo.services.coverage_query import ModelCache
from geo.settings import PROJECT_ROOT, Settings
from geo.store import cluster, replica
from geo.store.keys import create_key

UNIONMAP = str(Path(sys.executable).parent / "unionmap")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (processes gone meanwhile count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / TICKS


def group(leader: int) -> list[int]:
    """The processes of a process group (``unionmap serve`` and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == leader:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def postgres_processes(data_dir: Path) -> list[int]:
    """A server's postmaster and its children (backends, WAL sender or receiver, background workers)."""
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return []
    postmaster = int(pid_file.read_text().split()[0])
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    return [postmaster, *map(int, children)]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def workers_of(leader: int) -> list[int]:
    """uvicorn's worker processes: the serve process's spawned children (not the job runner, not
    multiprocessing's resource tracker); the serve process itself when it has none (one worker)."""
    children = [int(pid) for pid in Path(f"/proc/{leader}/task/{leader}/children").read_text().split()]
    spawned = [pid for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    return spawned or [leader]


def ogc_paths(count: int) -> list[str]:
    """OGC items pages of the stations collection (50 features), at offsets through it."""
    return [f"/ogc/collections/love_station/items?limit=50&offset={(index * 37) % 400}" for index in range(count)]


def measure(base: str, label: str, paths: list[str], arguments: argparse.Namespace,
            find_processes: Callable[[], dict[str, list[int]]]) -> list[str]:
    """Closed loop with CPU accounting, then open loop: two markdown rows."""
    loadgen.run(closed_loop(base, paths, arguments.concurrency, 2.0))  # warm-up, not counted
    processes = find_processes()  # after the warm-up: the pools have opened their connections (backends)
    before_load = load_average()
    before = {name: cpu_seconds(pids) for name, pids in processes.items()}
    results, span = loadgen.run(closed_loop(base, paths, arguments.concurrency, arguments.seconds))
    used = {name: cpu_seconds(pids) - before[name] for name, pids in processes.items()}
    done = [result for result in results if result is not None]
    per_request = " / ".join(f"{name} {1000 * seconds / max(len(done), 1):.2f}" for name, seconds in used.items())
    rows = [f"| {label} | closed, {arguments.concurrency} clients | {len(done):,} | {results.count(None):,} | "
            f"{len(done) / span:,.1f} | {percentile(done, 50):.1f} | {percentile(done, 99):.1f} | {per_request} | "
            f"{before_load} → {load_average()} |"]
    results, span, _ = loadgen.run(open_loop(base, paths, arguments.rate, arguments.seconds, 1.0, 10.0))
    done = [result for result in results if result is not None]
    rows.append(f"| {label} | open, {arguments.rate:g} req/s | {len(done):,} | {results.count(None):,} | "
                f"{len(done) / span:,.1f} | {percentile(done, 50):.1f} | {percentile(done, 99):.1f} | – | "
                f"{load_average()} |")
    return rows


def sequential_ms(client: httpx.Client, requests: list[tuple[str, str, dict[str, Any]]]) -> list[float]:
    """ms of each request, one after another (each must succeed: 2xx)."""
    took = []
    for method, path, options in requests:
        begun = time.perf_counter()
        answer = client.request(method, path, **options)
        took.append((time.perf_counter() - begun) * 1000)
        assert answer.is_success, (answer.status_code, answer.text[:300])
    return took


def writes_and_fresh_reads(base: str, key: str, nearest: list[str], count: int) -> list[str]:
    """Sequential station creations (every commit waits for a synchronous standby, when there is
    one), then nearest reads without and with a read-your-writes LSN (a replay check first)."""
    write: dict[str, Any] = {"headers": {"Authorization": f"Bearer {key}"}, "json": {
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [115.99, 29.71]},
        "properties": {"type_code": "love_station", "name": "基准写入（演示）"}}}
    with httpx.Client(base_url=base, timeout=30, headers={"Accept-Encoding": "identity"}) as client:
        written = sequential_ms(client, [("POST", "/api/v1/stations", write)] * count)
        lsn = client.post("/api/v1/stations", **write).headers.get("X-Unionmap-LSN")
        client.cookies.clear()
        plain = sequential_ms(client, [("GET", path, {}) for path in nearest[:count]])
        with_lsn = [("GET", path, {"headers": {"X-Unionmap-LSN": lsn}}) for path in nearest[:count]]
        fresh = sequential_ms(client, with_lsn) if lsn else []
    rows = [f"  {count} sequential writes (POST /api/v1/stations): p50 {percentile(written, 50):.1f} ms, "
            f"p99 {percentile(written, 99):.1f} ms",
            f"  {count} sequential nearest reads: p50 {percentile(plain, 50):.1f} ms, "
            f"p99 {percentile(plain, 99):.1f} ms"]
    if fresh:
        rows.append(f"  the same reads with X-Unionmap-LSN of the last write (already replayed: one check): "
                    f"p50 {percentile(fresh, 50):.1f} ms, p99 {percentile(fresh, 99):.1f} ms")
    return rows


def serve_and_measure(settings: Settings, env: dict[str, str], label: str, nearest: list[str],
                      arguments: argparse.Namespace, folder: Path, key: str) -> list[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [UNIONMAP, "serve", "--port", str(port), "--workers", str(arguments.workers)]
    print(f"\n== {label}: {' '.join(command)} (load average {load_average()}) ==")
    log = folder / f"{label.replace(' ', '_')}.log"
    rows = []
    with server(command, env, PROJECT_ROOT, base + "/api/v1/health", log):
        leader = next(pid for pid in group_leaders(port))
        workers = workers_of(leader)
        started_rss = [rss_mb(pid) for pid in workers]
        for path in (nearest[0], ogc_paths(1)[0], "/maps/coverage", "/"):  # warm-up: every cache a worker fills
            for _ in range(arguments.workers * 2):
                assert httpx.get(base + path, timeout=120).status_code == 200, path

        def processes() -> dict[str, list[int]]:
            found = {"app": group(leader), "primary": postgres_processes(cluster.data_dir(settings))}
            if "UNIONMAP_READ_DATABASE_URL" in env:
                found["standby"] = postgres_processes(replica.data_dir(settings))
            return found

        rows += measure(base, f"{label}: nearest", nearest, arguments, processes)
        rows += measure(base, f"{label}: OGC items", ogc_paths(500), arguments, processes)
        print("\n".join(writes_and_fresh_reads(base, key, nearest, arguments.sequential)))
        warm_rss = [rss_mb(pid) for pid in workers]
        print(f"  worker RSS MB at start {', '.join(f'{v:.0f}' for v in started_rss)}; after warm-up and the runs "
              f"{', '.join(f'{v:.0f}' for v in warm_rss)}")
    return rows


def group_leaders(port: int) -> list[int]:
    """The ``unionmap serve`` process listening on ``port`` (its own process group leader)."""
    leaders = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in line and str(port).encode() in line and os.getpgid(int(entry.name)) == int(entry.name):
                leaders.append(int(entry.name))
    return leaders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sequential", type=int, default=200, help="sequential writes and reads per configuration")
    arguments = parser.parse_args()
    base_dir = Path(tempfile.mkdtemp(prefix="bench-replica-", dir="/var/tmp"))
    base_dir.chmod(0o755)  # the clusters' unprivileged owner must reach it
    settings = Settings(database_url=None, state_dir=base_dir / "state", database_name="bench")
    env = os.environ | {"UNIONMAP_STATE_DIR": str(settings.state_dir), "UNIONMAP_DATABASE_NAME": "bench",
                        "UNIONMAP_SOLVER_WARM_AT_START": "false"}
    env.pop("DATABASE_URL", None)
    env.pop("UNIONMAP_READ_DATABASE_URL", None)
    try:
        began = time.monotonic()
        cluster.start(settings)
        cluster.create_database(settings, "bench")
        for command in (["load", "reference"], ["load", "demo"]):
            subprocess.run([UNIONMAP, *command], env=env, check=True, capture_output=True)
        primary_url = cluster.url(settings)
        header(("uvicorn", "fastapi", "SQLAlchemy", "psycopg"), primary_url)
        print(f"set-up (cluster, load reference, demo): {time.monotonic() - began:.1f} s")
        with Session(create_engine(primary_url)) as session:
            size = session.execute(text("SELECT pg_size_pretty(pg_database_size(current_database())), "
                                        "current_setting('shared_buffers')")).one()
            model, _ = ModelCache().get(session)
            key = create_key(session, name="bench_replica", role="editor")
            session.commit()
        print(f"database size {size[0]}; shared_buffers {size[1]} per server; demand-grid model "
              f"{len(pickle.dumps(model, protocol=5)) / 2**20:.1f} MB pickled ({len(model.grid):,} cells)")
        nearest = sample_paths(primary_url, 2000, 2019)
        rows = serve_and_measure(settings, env | {"DATABASE_URL": primary_url}, "primary only", nearest, arguments,
                                 base_dir, key)
        began = time.monotonic()
        replica.start(settings, synchronous=True)
        print(f"\nstandby started (pg_basebackup -R, synchronous) in {time.monotonic() - began:.1f} s")
        write_url, read_url = replica.urls(settings)
        rows += serve_and_measure(settings, env | {"DATABASE_URL": write_url, "UNIONMAP_READ_DATABASE_URL": read_url},
                                  "primary + standby", nearest, arguments, base_dir, key)
        print(f"\n{os.cpu_count()} cores shared by the load generator, the app and the database server(s); "
              "latency in ms; CPU ms per answered request from /proc during the closed-loop run\n")
        print("| configuration: route | run | answered (200) | errors | req/s | p50 | p99 "
              "| CPU ms per request | load average |\n|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))
    finally:
        for folder in (replica.data_dir(settings), cluster.data_dir(settings)):
            if (folder / "postmaster.pid").exists():
                cluster.run_binary(settings, "pg_ctl", "-D", folder, "-m", "fast", "stop", check=False)
        shutil.rmtree(base_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
