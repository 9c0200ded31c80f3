"""Benchmark: the phone finder's nearest-station query under a loopback load.

Measures ``GET /api/v1/stations/nearest?lon=..&lat=..&type=love_station&limit=5`` (70 % plain,
15 % ``open_now=true``, 15 % ``open_now=true&amenity=charging``) at points drawn from the
demand-cell centres of the main database (so on land; seeded), served by
``uvicorn api.app:create_app --factory --workers N`` (2, then 1 for comparison):

- open loop: constant rate (default 200 req/s for 30 s after a 3 s warm-up that is not counted).
  Requests are sent on schedule whether or not earlier ones returned and latency is counted
  from the *scheduled* time, so queueing shows in the percentiles (no coordinated omission);
- closed loop: C clients back to back (default 16 for 15 s) → peak requests/s at that concurrency;
- wrk (Debian's ``wrk``, if on PATH; ``apt-get install -y wrk``) as a second opinion on the
  closed-loop peak; wrk is not rate-limited (wrk2 is not in Debian).

The Python load generator (httpx.AsyncClient, keep-alive pool) runs on the same cores as
uvicorn and PostgreSQL, so every figure includes that contention. Nothing is written to the
database; the server is started and stopped by the script.

Run: ``.venv/bin/python scripts/bench/bench_nearest.py [--rate 200] [--seconds 30] [--workers 2 1]``
"""

from __future__ import annotations

import argparse
import asyncio
import math
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
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from geo import db
from geo.settings import PROJECT_ROOT, get_settings

TARGET_P99_MS, TARGET_RATE = 25.0, 200.0
MIX = (("", 0.70), ("&open_now=true", 0.15), ("&open_now=true&amenity=charging", 0.15))
IDENTITY = {"Accept-Encoding": "identity"}


def header(packages: tuple[str, ...], database_url: str) -> None:
    """Command line, date, machine and versions, as the benchmark rules ask."""
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory = int(open("/proc/meminfo").readline().split()[1]) / 2**20
    print(f"command: {shlex.join(sys.orig_argv)}  (cwd {os.getcwd()})")
    print(f"date: {datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"machine: {os.cpu_count()} cores, {cpu}, {memory:.0f} GiB RAM, Linux {platform.release()}; "
          f"load average at start {load_average()} (machine shared with other work)")
    with create_engine(database_url).connect() as connection:
        pg = connection.execute(text("SELECT current_setting('server_version'), postgis_lib_version()")).one()
    print(f"versions: Python {platform.python_version()}, PostgreSQL {pg[0]}, PostGIS {pg[1]}, "
          + ", ".join(f"{name} {version(name)}" for name in packages))


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(command: list[str], env: dict[str, str], cwd: Path, health_url: str, log: Path) -> Iterator[None]:
    """Run a server in its own process group until the block ends; wait until ``health_url`` is 200."""
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(health_url, timeout=5, headers=IDENTITY).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not healthy after 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.25)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # our own process group only
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0–100); NaN for no values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] if ordered else float("nan")


@dataclass
class Run:
    """One load run's counts and latencies (ms)."""

    label: str
    workers: int
    sent: int
    completed: int
    errors: int
    seconds: float
    latencies: list[float]
    lag_p99: float | None = None

    def row(self) -> str:
        p = [percentile(self.latencies, q) for q in (50, 90, 99)] + [max(self.latencies, default=float("nan"))]
        return (f"| {self.label} | {self.workers} | {self.sent:,} | {self.completed:,} | {self.errors:,} | "
                f"{self.completed / self.seconds:,.1f} | " + " | ".join(f"{value:.1f}" for value in p) + " |")


def sample_paths(database_url: str, count: int, seed: int) -> list[str]:
    """Request paths at demand-cell centres (seeded in PostgreSQL and in Python)."""
    with create_engine(database_url).connect() as connection:
        connection.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
        points = connection.execute(text("SELECT lon, lat FROM demand_cell ORDER BY random() LIMIT :n"),
                                    {"n": count}).all()
    rng = random.Random(seed)
    extras = rng.choices([extra for extra, _ in MIX], weights=[share for _, share in MIX], k=len(points))
    return [f"/api/v1/stations/nearest?lon={lon:.6f}&lat={lat:.6f}&type=love_station&limit=5{extra}"
            for (lon, lat), extra in zip(points, extras, strict=True)]


def client(base: str, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base, limits=limits, timeout=10.0, headers=IDENTITY)


async def open_loop(base: str, paths: list[str], rate: float, seconds: float, warmup: float, workers: int) -> Run:
    """Send at ``rate`` on a fixed schedule; latency from the scheduled time; warm-up not counted."""
    latencies: list[float] = []
    lags: list[float] = []
    counted = errors = 0
    async with client(base, 256) as http:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2

        async def one(index: int, due: float) -> None:
            nonlocal counted, errors
            lag = loop.time() - due
            try:
                ok = (await http.get(paths[index % len(paths)])).status_code == 200
            except httpx.HTTPError:
                ok = False
            if due - start >= warmup:
                counted += 1
                lags.append(lag * 1000)
                if ok:
                    latencies.append((loop.time() - due) * 1000)
                else:
                    errors += 1

        tasks = []
        for index in range(int((warmup + seconds) * rate)):
            due = start + index / rate
            if (delay := due - loop.time()) > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index, due)))
        await asyncio.gather(*tasks)
        span = loop.time() - (start + warmup)
    return Run(f"open loop, {rate:g} req/s offered", workers, counted, len(latencies), errors, span, latencies,
               percentile(lags, 99))


async def closed_loop(base: str, paths: list[str], concurrency: int, seconds: float, workers: int) -> Run:
    """``concurrency`` clients, each sending its next request when the last one returned."""
    latencies: list[float] = []
    sent = errors = 0
    async with client(base, concurrency) as http:
        loop = asyncio.get_running_loop()
        started = loop.time()
        stop = started + seconds

        async def user(first: int) -> None:
            nonlocal sent, errors
            index = first
            while loop.time() < stop:
                begun = loop.time()
                sent += 1
                try:
                    ok = (await http.get(paths[index % len(paths)])).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    latencies.append((loop.time() - begun) * 1000)
                else:
                    errors += 1
                index += concurrency

        await asyncio.gather(*(user(first) for first in range(concurrency)))
        span = loop.time() - started
    return Run(f"closed loop, {concurrency} clients (httpx)", workers, sent, len(latencies), errors, span, latencies)


def wrk_peak(base: str, paths: list[str], concurrency: int, seconds: int, workers: int, folder: Path) -> str | None:
    """Debian wrk's closed-loop peak over the same paths (Lua round robin); its own table row."""
    if shutil.which("wrk") is None:
        print("wrk not on PATH (apt-get install -y wrk): second opinion skipped")
        return None
    script = folder / "paths.lua"
    listing = ",\n".join('"' + path + '"' for path in paths[:2000])
    script.write_text(f"local paths = {{\n{listing}\n}}\nlocal i = 0\n"
                      "request = function()\n  i = i + 1\n  return wrk.format('GET', paths[(i % #paths) + 1])\nend\n")
    command = ["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(script), base + "/"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    print(f"$ {shlex.join(command)}\n" + "\n".join("    " + line for line in output.rstrip().splitlines()))

    def ms(token: str) -> float:  # wrk's "812.00us", "3.41ms", "15.10s"
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", token).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]

    total, duration = re.search(r"(\d+) requests in (\S+),", output).groups()  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses:|connect|read|write|timeout) (\d+)", output))
    q = {k: ms(v) for k, v in re.findall(r"^\s+(50|90|99)%\s+(\S+)", output, re.M)}
    q["max"] = ms(re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    done = int(total) - errors
    return (f"| closed loop, {concurrency} connections (wrk) | {workers} | {int(total):,} | {done:,} | {errors:,} | "
            f"{done / (ms(duration) / 1000):,.1f} | " + " | ".join(f"{q[k]:.1f}" for k in ("50", "90", "99", "max")) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=TARGET_RATE)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--peak-seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=2019)
    arguments = parser.parse_args()
    settings = get_settings()
    database_url = db.database_url(settings)
    header(("uvicorn", "fastapi", "httpx", "h11", "SQLAlchemy", "psycopg"), database_url)
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("[")[0].strip() \
        if shutil.which("wrk") else "not installed"
    print(f"wrk: {wrk}; database: {database_url.split('@')[-1]}")
    paths = sample_paths(database_url, arguments.points, arguments.seed)
    print(f"{len(paths):,} request paths from demand-cell centres (seed {arguments.seed}); e.g. {paths[0]}")
    rows: list[str] = []
    verdict = "not measured (no 2-worker open-loop run)"
    with tempfile.TemporaryDirectory(prefix="bench-nearest-") as scratch:
        for workers in arguments.workers:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
                       "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
            env = os.environ | {"DATABASE_URL": database_url}
            print(f"\n== uvicorn, {workers} worker(s): {shlex.join(command)} (load average {load_average()}) ==")
            with server(command, env, PROJECT_ROOT, base + "/api/v1/health", Path(scratch) / f"uvicorn{workers}.log"):
                for extra, _ in MIX:  # sanity: every kind of request answers with stations
                    answer = httpx.get(base + paths[0].split("&type")[0] + "&type=love_station&limit=5" + extra)
                    print(f"  check {extra or '(plain)'}: HTTP {answer.status_code}, "
                          f"{len(answer.json().get('stations', []))} stations")
                run = asyncio.run(open_loop(base, paths, arguments.rate, arguments.seconds, arguments.warmup, workers))
                print(f"  {run.label}: generator send lag p99 {run.lag_p99:.1f} ms; load average {load_average()}")
                rows.append(run.row())
                if workers == 2:
                    p99 = percentile(run.latencies, 99)
                    kept = run.completed / run.seconds >= 0.98 * arguments.rate and run.errors == 0
                    met = p99 < TARGET_P99_MS and kept and arguments.rate >= TARGET_RATE
                    verdict = (f"p99 {p99:.1f} ms at {run.completed / run.seconds:.1f} req/s achieved "
                               f"({arguments.rate:g} offered, {run.errors} errors), 2 workers, vs target "
                               f"p99 < {TARGET_P99_MS:g} ms at {TARGET_RATE:g} req/s: {'MET' if met else 'NOT MET'}")
                peak = asyncio.run(closed_loop(base, paths, arguments.concurrency, arguments.peak_seconds, workers))
                print(f"  {peak.label}: done; load average {load_average()}")
                rows.append(peak.row())
                if (line := wrk_peak(base, paths, arguments.concurrency, arguments.peak_seconds, workers,
                                     Path(scratch))) is not None:
                    rows.append(line)
    print(f"\nnearest-station (type=love_station, limit=5; {MIX[1][1]:.0%} open_now, {MIX[2][1]:.0%} open_now+"
          f"charging), loopback, load generator on the same {os.cpu_count()} cores as server and PostgreSQL; "
          f"latency in ms (open loop: from the scheduled send time)\n")
    print("| run | uvicorn workers | requests sent | completed (200) | errors | achieved req/s | p50 | p90 | p99 | max |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nverdict: {verdict}\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
