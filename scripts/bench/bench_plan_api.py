"""Benchmark: ``POST /api/v1/plans`` (greedy) warm and after start-up, and what the engine costs in memory.

Serves this tree with ``unionmap serve --workers N`` (and, with ``--baseline REV``, an earlier
commit first, from a git worktree on the same virtual environment, so before and after are
measured in one run) on the database of ``DATABASE_URL`` (or the private cluster), loaded with
the region and its demo registry. For each server: seconds until ``/api/v1/health`` answers,
the first plan's answer time right after that (the start-up warm-up may still be running), then
``--requests`` plans of the same question one after another once warm (median, p99, max in ms;
the engine remembers where each question's bound search stopped, so these go on from there),
then as many new questions (k one less each time: every bound searched from scratch).
``--no-files`` keeps no instance files (``UNIONMAP_SITING_FILES=false``): the first start on a
machine, where the warm-up builds the matrix. Last, the memory of the server's processes
(supervisor, web workers, solver processes at nice 10) from ``/proc``, as proportional set size:
the siting files every solver process maps are shared, counted once. The plan asked: Jiujiang's
question of issue 12, k = 64 爱心驿站 with at least 5 per county. Anonymous plans are limited per
client; the benchmark's servers allow all (``UNIONMAP_ANONYMOUS_PLANS_ALLOWED``).

Run: ``.venv/bin/python scripts/bench/bench_plan_api.py [--requests 30] [--baseline a037d91]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from bench_nearest import baseline_tree, free_port, header, load_average, percentile, server

from geo.settings import PROJECT_ROOT, get_settings
from geo.store import db

WARM_TARGET_P50_MS, WARM_TARGET_P99_MS = 300.0, 1000.0


def plan_body(arguments: argparse.Namespace) -> dict[str, object]:
    return {"type": arguments.type, "add": arguments.add, "min_per_county": arguments.min_per_county}


def processes_of(group: int) -> list[tuple[int, int, float]]:
    """(pid, nice, proportional set size in MiB) of every process in a process group."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        if int(fields[2]) != group:  # fields after ')': state ppid pgrp ...; nice is the 17th
            continue
        try:  # proportional set size: pages shared with others (mapped siting files) counted once overall
            rollup = (entry / "smaps_rollup").read_text()
        except OSError:
            rollup = status
        size_kb = next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith(("Pss:", "VmRSS:"))), 0)
        found.append((int(entry.name), int(fields[16]), size_kb / 1024))
    return found


def server_group(port: int) -> int | None:
    """The process group of the server listening on ``port`` (its supervisor's pid)."""
    result = subprocess.run(["pgrep", "-f", "--", f"--port {port} "], capture_output=True, text=True)
    pids = [int(pid) for pid in result.stdout.split()]
    return min(pids) if pids else None


def run_server(label: str, cwd: Path, database_url: str, arguments: argparse.Namespace, scratch: Path,
               pythonpath: str | None = None) -> list[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", "from api.cli import app; app()", "serve", "--port", str(port),
               "--workers", str(arguments.workers)]
    env = os.environ | {"DATABASE_URL": database_url, "UNIONMAP_ANONYMOUS_PLANS_ALLOWED": "10000",
                        "UNIONMAP_SITING_FILES": "false" if arguments.no_files else "true"} | (
        {"PYTHONPATH": pythonpath} if pythonpath else {})
    print(f"\n== {label}: serve --workers {arguments.workers} in {cwd} (load average {load_average()}) ==", flush=True)
    started = time.monotonic()
    with server(command, env, cwd, base + "/api/v1/health", scratch / f"{port}.log"), \
            httpx.Client(base_url=base, timeout=300) as client:
        healthy_s = time.monotonic() - started
        begun = time.monotonic()
        first = client.post("/api/v1/plans", json=plan_body(arguments))
        first_s = time.monotonic() - begun
        if first.status_code != 200:
            raise RuntimeError(f"first plan answered {first.status_code}: {first.text[:300]}")
        answer = first.json()
        for _ in range(2 * arguments.workers):  # every worker warm (the start-up warm-up may still run)
            client.post("/api/v1/plans", json=plan_body(arguments)).raise_for_status()
        times_ms = []
        for _ in range(arguments.requests):
            begun = time.monotonic()
            response = client.post("/api/v1/plans", json=plan_body(arguments))
            times_ms.append((time.monotonic() - begun) * 1000)
            response.raise_for_status()
            if response.json()["objective"] != answer["objective"]:
                raise RuntimeError("two plans of one question differ")
        last = response.json()
        # New questions: another k each time, so no plan finds its bound's multipliers remembered.
        new_ms = []
        for offset in range(1, arguments.requests + 1):
            begun = time.monotonic()
            client.post("/api/v1/plans", json=plan_body(arguments) | {"add": arguments.add - offset}
                        ).raise_for_status()
            new_ms.append((time.monotonic() - begun) * 1000)
        group = server_group(port)
        memory = processes_of(group) if group else []
    solvers = [rss for _, nice, rss in memory if nice >= 10]
    others = sorted((rss for _, nice, rss in memory if nice < 10), reverse=True)
    print(f"  healthy after {healthy_s:.1f} s; first plan {first_s * 1000:,.0f} ms; objective "
          f"{answer['objective']:,.0f} people, bound {answer['upper_bound']:,.0f} ({answer['bound_share']:.1%})")
    print(f"  warm plans, one question asked again (n={len(times_ms)}): median {statistics.median(times_ms):,.0f} ms, "
          f"p99 {percentile(times_ms, 99):,.0f} ms, max {max(times_ms):,.0f} ms; certificate then "
          f"{last.get('bound_share', 0):.4%} ({last.get('bound_method', 'online')})")
    print(f"  warm plans, a new question each (k = {arguments.add - 1} down to {arguments.add - arguments.requests}, "
          f"n={len(new_ms)}): median {statistics.median(new_ms):,.0f} ms, p99 {percentile(new_ms, 99):,.0f} ms")
    print(f"  memory (PSS): web processes {', '.join(f'{rss:,.0f}' for rss in others)} MiB; "
          f"solver processes {', '.join(f'{rss:,.0f}' for rss in solvers)} MiB")
    log = (scratch / f"{port}.log").read_text(errors="replace").splitlines()
    print(f"  server log: {len(log)} lines, 'died' × {sum('died' in line for line in log)}, "
          f"'Traceback' × {sum('Traceback' in line for line in log)}")
    return [f"| {label} | {healthy_s:.1f} | {first_s * 1000:,.0f} | {statistics.median(times_ms):,.0f} | "
            f"{percentile(times_ms, 99):,.0f} | {statistics.median(new_ms):,.0f} | {percentile(new_ms, 99):,.0f} | "
            f"{sum(solvers):,.0f} | {sum(others):,.0f} |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--type", default="love_station")
    parser.add_argument("--add", type=int, default=64)
    parser.add_argument("--min-per-county", type=int, default=5)
    parser.add_argument("--baseline", help="an earlier commit to measure first, for comparison")
    parser.add_argument("--no-files", action="store_true",
                        help="build every instance in memory, as on a machine's first start (no files kept)")
    arguments = parser.parse_args()
    database_url = db.database_url(get_settings())
    header(("uvicorn", "fastapi", "numpy", "scipy", "highspy"), database_url)
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-plan-api-") as scratch:
        if arguments.baseline:
            with baseline_tree(arguments.baseline, Path(scratch)) as tree:
                rows += run_server(f"baseline {arguments.baseline}", tree, database_url, arguments, Path(scratch),
                                   pythonpath=str(tree))
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=PROJECT_ROOT).stdout.strip()
        rows += run_server(f"this tree ({head})", PROJECT_ROOT, database_url, arguments, Path(scratch))
    print(f"\nPOST /api/v1/plans greedy, {arguments.type} k = {arguments.add}, min {arguments.min_per_county} per "
          f"county; loopback, client on the same {os.cpu_count()} cores; times in ms, memory in MiB (proportional "
          "set size: shared pages split between the processes that map them)\n")
    print("| server | healthy after (s) | first plan | warm p50, same question | p99 | warm p50, new questions | "
          "p99 | solver processes | web processes |\n|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))
    print(f"\ntargets (this tree, warm): p50 < {WARM_TARGET_P50_MS:g} ms, p99 < {WARM_TARGET_P99_MS:g} ms\n"
          f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
