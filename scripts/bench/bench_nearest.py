"""Benchmark: the phone finder's nearest-station query under a loopback load.

``GET /api/v1/stations/nearest?lon=..&lat=..&type=love_station&limit=5`` (15 % + ``open_now=true``,
15 % + ``open_now=true&amenity=charging``) at seeded demand-cell centres (on land) of the main
database, against ``unionmap serve --workers N`` (2, then 1: the server the README starts) that
the script starts and stops. First the peak: 16 clients back to back for 15 s (after 3 s uncounted), then
Debian's ``wrk`` (if on PATH: ``apt-get install -y wrk``; not rate-limited) as a second opinion.
Then open loop: 50, 100, 200 req/s, each 30 s after an uncounted 3 s warm-up, sent on schedule
whatever earlier requests did; latency from the *scheduled* time (queueing included; no answer
10 s after the schedule ends = error); the server drains its queue before each. The Python
generator (``loadgen.py``: uvloop, keep-alive connections, 0.08–0.10 ms of CPU a request) shares the
cores with the server and PostgreSQL. Writes nothing.

Run: ``.venv/bin/python scripts/bench/bench_nearest.py [--rates 50 100 200] [--seconds 30] [--workers 2 1]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib.metadata import version
from pathlib import Path

import httpx
import loadgen
from loadgen import Pool
from sqlalchemy import create_engine, text

from geo.settings import PROJECT_ROOT, get_settings
from geo.store import db

TARGET_P99_MS, TARGET_RATE = 25.0, 200.0
MIX = (("", 0.70), ("&open_now=true", 0.15), ("&open_now=true&amenity=charging", 0.15))
IDENTITY = {"Accept-Encoding": "identity"}  # no compression anywhere: same work for every server
WRK_LUA = "local i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format('GET', paths[i % #paths + 1])\nend"
POOL_SIZE = 128  # connections at most; more requests wait for one (and the wait counts)
Results = list[float | None]  # per request: ms to a 200 answer, or None (other status, failure)


def header(packages: tuple[str, ...], database_url: str, tools: str = "") -> None:
    """Command line, date, machine and versions, as the benchmark rules ask."""
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory = int(open("/proc/meminfo").readline().split()[1])  # kB
    print(f"command: {shlex.join(sys.orig_argv)}  (cwd {os.getcwd()})")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S %z')}")
    print(f"machine: {os.cpu_count()} cores, {cpu}, {memory >> 20} GiB RAM, Linux {platform.release()}; "
          f"load average at start {load_average()} (machine shared with other work)")
    with create_engine(database_url).connect() as connection:
        pg = connection.execute(text("SELECT current_setting('server_version'), postgis_lib_version()")).one()
    print(f"versions: Python {platform.python_version()}, PostgreSQL {pg[0]}, PostGIS {pg[1]}, "
          + ", ".join(f"{name} {version(name)}" for name in packages) + tools)


def load_average() -> str:  # 1, 5 and 15 minutes
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(command: list[str], env: dict[str, str], cwd: Path, health_url: str, log: Path) -> Iterator[None]:
    """Run a server in its own process group for the block, once ``health_url`` answers 200."""
    with open(log, "w") as out:  # own session: stopping it ends uvicorn's workers too
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=out, start_new_session=True)
    try:
        if not settle(health_url, limit_ms=10_000, patience=120):
            raise RuntimeError(f"server not healthy ({process.poll()=}):\n{log.read_text()[-3000:]}")
        yield
    finally:
        for stop in (signal.SIGTERM, signal.SIGKILL):  # our own process group only
            os.killpg(process.pid, stop)
            with suppress(subprocess.TimeoutExpired):
                process.wait(20)
                break


@contextmanager
def baseline_tree(revision: str, scratch: Path) -> Iterator[Path]:
    """A git worktree of an earlier commit for the block (its map assets linked to ours), to serve
    it on the same virtual environment with ``PYTHONPATH`` set to it."""
    tree = scratch / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), revision], check=True, cwd=PROJECT_ROOT,
                   capture_output=True)
    (tree / "maps" / "assets" / "node_modules").symlink_to(PROJECT_ROOT / "maps" / "assets" / "node_modules")
    try:
        yield tree
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=PROJECT_ROOT, check=False)


def settle(url: str, limit_ms: float = 100.0, patience: float = 90.0) -> bool:
    """Wait until ``url`` answers 200 in under ``limit_ms`` three times in a row (server up, queue drained)."""
    fast, deadline = 0, time.monotonic() + patience
    while fast < 3 and time.monotonic() < deadline:
        begun, ok = time.monotonic(), False
        with suppress(httpx.HTTPError):  # not listening yet
            ok = httpx.get(url, timeout=30, headers=IDENTITY).status_code == 200
        fast = fast + 1 if ok and time.monotonic() - begun < limit_ms / 1000 else 0
        time.sleep(0.25)
    if fast < 3:
        print(f"  note: {url} not 3× under {limit_ms:g} ms within {patience:g} s; load average {load_average()}")
    return fast >= 3


def percentile(values: list[float], q: float) -> float:  # nearest rank, q in 0–100; NaN for no values
    ordered = sorted(values)
    return ordered[max(0, -int(-q * len(ordered) // 100) - 1)] if ordered else float("nan")


def row(label: str, workers: int, results: Results, seconds: float) -> str:
    """One markdown row: counts, achieved rate and latency percentiles (ms)."""
    done = [result for result in results if result is not None]
    figures = [len(done) / seconds] + [percentile(done, q) for q in (50, 90, 99)] + [max(done, default=float("nan"))]
    return (f"| {label} | {workers} | {len(results):,} | {len(done):,} | {results.count(None):,} | "
            + " | ".join(f"{value:,.1f}" for value in figures) + " |")


def sample_paths(database_url: str, count: int, seed: int) -> list[str]:
    """Request paths at demand-cell centres (seeded in PostgreSQL and in Python)."""
    with create_engine(database_url).connect() as connection:
        connection.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
        points = connection.execute(text("SELECT lon, lat FROM demand_cell ORDER BY random() LIMIT :n"),
                                    {"n": count}).all()
    extras = random.Random(seed).choices([e for e, _ in MIX], weights=[w for _, w in MIX], k=len(points))
    return [f"/api/v1/stations/nearest?lon={lon:.6f}&lat={lat:.6f}&type=love_station&limit=5{extra}"
            for (lon, lat), extra in zip(points, extras, strict=True)]


async def fetch(pool: Pool, path: str, since: float, deadline: float | None = None) -> float | None:
    """ms from ``since`` to a 200 answer; None: other status, failure, no answer by ``deadline`` (monotonic)."""
    with suppress(OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, TimeoutError):
        async with asyncio.timeout_at(deadline):
            if await pool.get(path) == 200:
                return (time.monotonic() - since) * 1000
    return None


async def open_loop(base: str, paths: list[str], rate: float, seconds: float, warmup: float,
                    grace: float) -> tuple[Results, float, float]:
    """Send at ``rate`` on a fixed schedule → (results after the warm-up, span in s, send-lag p99 in ms)."""
    pool = Pool(base, POOL_SIZE)
    try:
        start, tasks, lags = time.monotonic() + 0.2, [], []
        deadline = start + warmup + seconds + grace  # unanswered by then: an error
        for index in range(int((warmup + seconds) * rate)):
            due = start + index / rate
            if (delay := due - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            lags.append((time.monotonic() - due) * 1000)  # how late the generator sends it
            tasks.append(asyncio.create_task(fetch(pool, paths[index % len(paths)], due, deadline)))
        results = await asyncio.gather(*tasks)
        span = time.monotonic() - start - warmup
        return [result for index, result in enumerate(results) if index / rate >= warmup], span, percentile(lags, 99)
    finally:
        pool.close()


async def closed_loop(base: str, paths: list[str], concurrency: int, seconds: float) -> tuple[Results, float]:
    """``concurrency`` clients, each sending when its last answer came → (results, span in s)."""
    results: Results = []
    pool, started = Pool(base, concurrency), time.monotonic()

    async def user(index: int) -> None:
        while time.monotonic() < started + seconds:
            results.append(await fetch(pool, paths[index % len(paths)], time.monotonic()))
            index += concurrency

    try:
        await asyncio.gather(*(user(first) for first in range(concurrency)))
    finally:
        pool.close()
    return results, time.monotonic() - started


def wrk_peak(base: str, paths: list[str], concurrency: int, seconds: int, workers: int, folder: Path) -> str:
    """Debian wrk's closed-loop peak over the same paths (Lua round robin), as a table row."""
    listing = ",\n".join(f'"{path}"' for path in paths[:2000])
    (script := folder / "paths.lua").write_text(f"local paths = {{\n{listing}\n}}\n{WRK_LUA}")
    command = ["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(script), base + "/"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    print(f"  $ {shlex.join(command)}\n" + "\n".join("    " + line for line in output.rstrip().splitlines()))

    stats = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", output, re.M))  # as wrk writes them, e.g. 3.41ms
    stats["max"] = re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", output).group(1)  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses:|connect|read|write|timeout) (\d+)", output))
    return (f"| closed loop, {concurrency} connections (wrk) | {workers} | {total:,} | {total - errors:,} | "
            f"{errors:,} | " + re.search(r"Requests/sec:\s+(\S+)", output).group(1)  # type: ignore[union-attr]
            + "".join(f" | {stats[key]}" for key in ("50", "90", "99", "max")) + " |")


def bench_workers(workers: int, paths: list[str], database_url: str, arguments: argparse.Namespace,
                  scratch: Path) -> tuple[list[str], str | None]:
    """All runs against one uvicorn with ``workers`` workers → table rows and (2 workers) the verdict."""
    base = f"http://127.0.0.1:{(port := free_port())}"
    command = [str(Path(sys.executable).parent / "unionmap"), "serve", "--port", str(port), "--workers", str(workers)]
    print(f"\n== {workers} worker(s): {shlex.join(command)} (load average {load_average()}) ==")
    rows, verdict = [], None
    with server(command, os.environ | {"DATABASE_URL": database_url}, PROJECT_ROOT, base + "/api/v1/health",
                scratch / f"uvicorn{workers}.log"):
        checks = [httpx.get(base + paths[0].split("&type")[0] + "&type=love_station&limit=5" + e) for e, _ in MIX]
        print("  check plain / open_now / +charging:", [(c.status_code, len(c.json()["stations"])) for c in checks])
        loadgen.run(closed_loop(base, paths, arguments.concurrency, arguments.warmup))  # warm-up, not counted
        results, span = loadgen.run(closed_loop(base, paths, arguments.concurrency, arguments.peak_seconds))
        rows.append(row(f"closed loop, {arguments.concurrency} clients (Python)", workers, results, span))
        if shutil.which("wrk"):  # peaks first: an overloaded open loop may leave the server stalled
            rows.append(wrk_peak(base, paths, arguments.concurrency, arguments.peak_seconds, workers, scratch))
        for rate in arguments.rates:
            settle(base + paths[0])
            results, span, lag = loadgen.run(open_loop(base, paths, rate, arguments.seconds, arguments.warmup,
                                                       arguments.grace))
            print(f"  open loop {rate:g} req/s: generator send lag p99 {lag:.1f} ms; load average {load_average()}")
            rows.append(row(f"open loop, {rate:g} req/s offered", workers, results, span))
            if workers == 2 and rate == TARGET_RATE:
                latencies = [result for result in results if result is not None]
                p99, achieved, errors = percentile(latencies, 99), len(latencies) / span, results.count(None)
                met = p99 < TARGET_P99_MS and not errors and achieved >= 0.98 * TARGET_RATE
                verdict = (f"p99 {p99:.1f} ms at {achieved:.1f} req/s achieved ({rate:g} offered, {errors:,} "
                           f"errors), 2 workers, vs target p99 < {TARGET_P99_MS:g} ms at {TARGET_RATE:g} req/s: "
                           + ("MET" if met else "NOT MET"))
    return rows, verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in (("seconds", 30.0), ("warmup", 3.0), ("concurrency", 16), ("peak-seconds", 15),
                          ("points", 5000), ("seed", 2019), ("grace", 10.0)):
        parser.add_argument(f"--{name}", type=type(default), default=default)
    parser.add_argument("--rates", type=float, nargs="+", default=[50.0, 100.0, TARGET_RATE])
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 1])
    arguments = parser.parse_args()
    database_url = db.database_url(get_settings())
    wrk = shutil.which("wrk") and subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("[")[0]
    header(("uvicorn", "uvloop", "httptools", "fastapi", "SQLAlchemy", "psycopg"), database_url, f", {wrk or 'no wrk'}")
    paths = sample_paths(database_url, arguments.points, arguments.seed)
    print(f"{len(paths):,} request paths from demand-cell centres (seed {arguments.seed}), e.g. {paths[0]}")
    rows, verdict = [], "not measured (no 2-worker run at 200 req/s)"
    with tempfile.TemporaryDirectory(prefix="bench-nearest-") as scratch:
        for workers in arguments.workers:
            more, found = bench_workers(workers, paths, database_url, arguments, Path(scratch))
            rows, verdict = rows + more, found or verdict
    print(f"\nnearest-station, loopback; load generator on the same {os.cpu_count()} cores as uvicorn and "
          "PostgreSQL; latency in ms (open loop: from the scheduled send time)\n")
    print("| run | uvicorn workers | requests sent | completed (200) | errors | achieved req/s "
          "| p50 | p90 | p99 | max |\n|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))
    print(f"\nverdict: {verdict}\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
