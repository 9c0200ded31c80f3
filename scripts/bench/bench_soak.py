"""Soak: open-loop mixed load with impatient clients, then probes; does the server stay up and recover?

Against ``unionmap serve --workers 2`` (README command 1's server) on the main database, which
this script starts and stops. Each phase sends on a fixed schedule, whatever earlier requests
did: 60 % nearest station, 15 % station lists, 23 % OGC item pages, 2 % coverage tables.
Clients are impatient: no answer 10 s after the scheduled time is a time-out (the client hangs
up), and a share of them (``--hangup``, 10 %) hangs up 0–300 ms after sending. Then 30 s of
probes (one request of each class every 0.25 s): seconds until every class answers 200 again,
and ``pg_stat_activity`` for connections left ``idle in transaction``.

Targets (issue 10): no time-outs; nothing but 200 and 503 with Retry-After; recovery within
5 s; zero idle-in-transaction connections; no 503 at 200 req/s.

``--baseline REV`` runs the same phases first against the server of an earlier commit (a git
worktree on the same virtual environment), so that before and after are measured in one run.

Run: ``.venv/bin/python scripts/bench/bench_soak.py [--rates 200 500] [--seconds 60] [--baseline 0472543]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import loadgen
from bench_nearest import baseline_tree, free_port, header, load_average, percentile, sample_paths, server, settle
from sqlalchemy import create_engine, text

from geo.settings import PROJECT_ROOT, get_settings
from geo.store import db

MIX = (("nearest", 0.60), ("stations", 0.15), ("ogc", 0.23), ("coverage", 0.02))
TIMEOUT_S = 10.0
MAX_CONNECTIONS = 512  # the generator's keep-alive connections at most; beyond, requests wait (counted)
_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_RETRY = re.compile(rb"\r\nretry-after:\s*\d+", re.IGNORECASE)


def class_paths(database_url: str, seed: int) -> dict[str, list[str]]:
    """Request paths of each class (seeded)."""
    rng = random.Random(seed)
    nearest = sample_paths(database_url, 5000, seed)
    with create_engine(database_url).connect() as connection:
        counties = list(connection.execute(text("SELECT code FROM region WHERE level = 'county'")).scalars())
        types = list(connection.execute(text("SELECT code FROM service_type ORDER BY code")).scalars())
    # limit=1000: every match, as before the list was paged (issue 15), so figures stay comparable.
    stations = [f"/api/v1/stations?limit=1000&type={rng.choice(types)}" + (
        f"&county={rng.choice(counties)}" if rng.random() < 0.5 else "") for _ in range(500)]
    ogc = [f"/ogc/collections/{rng.choice(types)}/items?limit={rng.choice((10, 50, 100))}&offset={rng.randrange(0, 60)}"
           for _ in range(500)]
    coverage = [f"/api/v1/coverage?type={rng.choice(types)}&level={rng.choice(('county', 'township'))}"
                for _ in range(100)]
    return {"nearest": nearest, "stations": stations, "ogc": ogc, "coverage": coverage}


@dataclass
class Tally:
    """Outcomes of one phase, per request class."""

    latency_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    outcomes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))


class Client:
    """Keep-alive connections for an open loop; returns (status, has Retry-After) per request."""

    def __init__(self, base: str) -> None:
        self.pool = loadgen.Pool(base, MAX_CONNECTIONS)

    async def get(self, path: str) -> tuple[int, bool]:
        """GET on a kept-alive connection; as HTTP clients do, resent once on a new connection when
        a reused one turns out closed by the server (its keep-alive time-out)."""
        pool = self.pool
        async with pool.gate:
            if pool.idle:
                with suppress(ConnectionError, asyncio.IncompleteReadError):
                    return await self._send(*pool.idle.pop(), path)
            return await self._send(*await asyncio.open_connection(pool.host, pool.port), path)

    async def _send(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> tuple[int, bool]:
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.pool.host}\r\nAccept-Encoding: identity\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = _LENGTH.search(head)
            await reader.readexactly(int(length[1]) if length else 0)
        except BaseException:  # a time-out too: the client hangs up
            writer.close()
            raise
        self.pool.idle.append((reader, writer))
        return int(head[9:12]), bool(_RETRY.search(head))

    async def hang_up(self, path: str, after_s: float) -> None:
        """Send on a new connection, then close it before (probably) the answer is read."""
        with suppress(OSError):
            reader, writer = await asyncio.open_connection(self.pool.host, self.pool.port)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.pool.host}\r\n\r\n".encode())
            await asyncio.sleep(after_s)
            writer.close()

    def close(self) -> None:
        self.pool.close()


async def one(client: Client, kind: str, path: str, due: float, tally: Tally) -> None:
    outcome = "?"
    try:
        async with asyncio.timeout_at(due + TIMEOUT_S):
            status, retry = await client.get(path)
        outcome = str(status) if status != 503 else ("503 + Retry-After" if retry else "503 without Retry-After")
        if status == 200:
            tally.latency_ms[kind].append((time.monotonic() - due) * 1000)
    except TimeoutError:
        outcome = "time-out"
    except (ConnectionError, asyncio.IncompleteReadError):
        outcome = "connection reset"
    except OSError as error:
        outcome = f"OSError {error.errno}"
    tally.outcomes[kind][outcome] += 1


async def phase(base: str, paths: dict[str, list[str]], rate: float, seconds: float, hangup: float,
                seed: int) -> tuple[Tally, int]:
    """Open loop at ``rate`` for ``seconds`` → (tally, requests abandoned on purpose)."""
    rng, client, tally, tasks, abandoned = random.Random(seed), Client(base), Tally(), [], 0
    kinds, weights = [k for k, _ in MIX], [w for _, w in MIX]
    start = time.monotonic() + 0.2
    try:
        for index in range(int(rate * seconds)):
            due = start + index / rate
            if (delay := due - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            kind = rng.choices(kinds, weights)[0]
            path = rng.choice(paths[kind])
            if rng.random() < hangup:
                abandoned += 1
                tasks.append(asyncio.create_task(client.hang_up(path, rng.uniform(0, 0.3))))
            else:
                tasks.append(asyncio.create_task(one(client, kind, path, due, tally)))
        await asyncio.gather(*tasks)
    finally:
        client.close()
    return tally, abandoned


async def probe(base: str, paths: dict[str, list[str]], seconds: float) -> tuple[float | None, Counter[str]]:
    """One request of each class every 0.25 s → (seconds until every later probe was a quick 200, outcomes)."""
    client, outcomes, last_bad, start = Client(base), Counter[str](), 0.0, time.monotonic()
    try:
        while (now := time.monotonic()) - start < seconds:
            for kind in paths:
                tally = Tally()
                await one(client, kind, paths[kind][0], time.monotonic(), tally)
                outcome = next(iter(tally.outcomes[kind]))
                outcomes[outcome] += 1
                quick = tally.latency_ms[kind] and tally.latency_ms[kind][0] < 1000
                if outcome != "200" or not quick:
                    last_bad = time.monotonic() - start
            await asyncio.sleep(max(0.0, 0.25 - (time.monotonic() - now)))
    finally:
        client.close()
    return (last_bad if last_bad < seconds - 5 else None), outcomes


def idle_in_transaction(database_url: str, older_than_s: float = 1.0) -> int:
    """Server connections of the benchmarked database idle inside a transaction for over a second."""
    with create_engine(database_url).connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND state LIKE 'idle in transaction%' AND now() - state_change > make_interval(secs => :s)"),
            {"s": older_than_s}).scalar_one())


async def watch_idle(database_url: str, stop: asyncio.Event) -> int:
    """The most idle-in-transaction connections seen, sampled every second while ``stop`` is unset."""
    worst = 0
    while not stop.is_set():
        worst = max(worst, await asyncio.to_thread(idle_in_transaction, database_url))
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
    return worst


def report(label: str, rate: float, tally: Tally, abandoned: int, recovered: float | None,
           probes: Counter[str], idle_during: int, idle_after: int) -> tuple[list[str], bool]:
    """Markdown rows of one phase and whether it met the targets."""
    rows = []
    for kind, _ in MIX:
        done, counts = tally.latency_ms[kind], tally.outcomes[kind]
        rows.append(f"| {label} | {rate:g} | {kind} | {sum(counts.values()):,} | "
                    + ", ".join(f"{name} × {count:,}" for name, count in sorted(counts.items()))
                    + f" | {percentile(done, 50):,.1f} | {percentile(done, 99):,.1f} |")
    everything = sum((tally.outcomes[kind] for kind, _ in MIX), Counter())
    bad = {name: count for name, count in everything.items() if name not in ("200", "503 + Retry-After")}
    busy = everything["503 + Retry-After"]
    met = not bad and recovered is not None and recovered <= 5 and idle_after == 0 and (rate > 200 or not busy)
    recovery = f"{recovered:.1f} s" if recovered is not None else "NOT within the probe window"
    rows.append(f"| {label} | {rate:g} | **all** | {sum(everything.values()):,} (+{abandoned:,} hung up on purpose) | "
                f"other than 200 / 503+Retry-After: {bad or 'none'}; recovery "
                f"{recovery}; probes "
                f"{dict(probes)}; idle in transaction > 1 s: max {idle_during} during, {idle_after} after | "
                f"{'MET' if met else 'NOT MET'} | |")
    return rows, met


async def soak(base: str, database_url: str, paths: dict[str, list[str]], label: str,
               arguments: argparse.Namespace) -> tuple[list[str], bool]:
    rows, all_met = [], True
    for rate in arguments.rates:
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_idle(database_url, stop))
        tally, abandoned = await phase(base, paths, rate, arguments.seconds, arguments.hangup, arguments.seed)
        stop.set()
        idle_during = await watcher
        recovered, probes = await probe(base, paths, arguments.probe_seconds)
        idle_after = await asyncio.to_thread(idle_in_transaction, database_url)
        more, met = report(label, rate, tally, abandoned, recovered, probes, idle_during, idle_after)
        print("\n".join(more), flush=True)
        print(f"  (load average {load_average()})", flush=True)
        rows, all_met = rows + more, all_met and met
        if recovered is None:
            print(f"  {label}: server did not recover; later phases skipped", flush=True)
            break
    return rows, all_met


def run_server(label: str, cwd: Path, database_url: str, arguments: argparse.Namespace, scratch: Path,
               pythonpath: str | None = None) -> tuple[list[str], bool]:
    base = f"http://127.0.0.1:{(port := free_port())}"
    command = [sys.executable, "-c", "from api.cli import app; app()", "serve", "--port", str(port), "--workers", "2"]
    env = os.environ | {"DATABASE_URL": database_url} | ({"PYTHONPATH": pythonpath} if pythonpath else {})
    print(f"\n== {label}: {shlex.join(command[3:])} in {cwd} (load average {load_average()}) ==", flush=True)
    paths = class_paths(database_url, arguments.seed)
    with server(command, env, cwd, base + "/api/v1/health", scratch / f"{label}.log"):
        for kind in paths:  # warm: the coverage model is built once per process, not in the measurement
            for _ in range(4):
                loadgen.run(Client(base).get(paths[kind][0]))
        settle(base + paths["nearest"][0], limit_ms=200)
        rows, met = loadgen.run(soak(base, database_url, paths, label, arguments))
    log = (scratch / f"{label}.log").read_text(errors="replace").splitlines()
    print(f"  server log: {len(log):,} lines; 'Traceback' × {sum('Traceback' in line for line in log)}; "
          f"'died' × {sum('died' in line for line in log)}; database lines: "
          f"{[line for line in log if 'database' in line][:6]}", flush=True)
    return rows, met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[200.0, 500.0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--probe-seconds", type=float, default=30.0)
    parser.add_argument("--hangup", type=float, default=0.10, help="share of clients that hang up early")
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--baseline", help="an earlier commit to soak first, for comparison")
    arguments = parser.parse_args()
    database_url = db.database_url(get_settings())
    header(("uvicorn", "uvloop", "httptools", "fastapi", "SQLAlchemy", "psycopg"), database_url)
    rows, verdict = [], "NOT MET"
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as scratch:
        if arguments.baseline:
            with baseline_tree(arguments.baseline, Path(scratch)) as tree:
                more, _ = run_server(f"baseline {arguments.baseline}", tree, database_url, arguments, Path(scratch),
                                     pythonpath=str(tree))
                rows += more
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=PROJECT_ROOT).stdout.strip()
        more, met = run_server(f"this tree ({head})", PROJECT_ROOT, database_url, arguments, Path(scratch))
        rows, verdict = rows + more, "MET" if met else "NOT MET"
    print(f"\nsoak, loopback, generator on the same {os.cpu_count()} cores; latency of 200s in ms from the "
          f"scheduled send time; client time-out {TIMEOUT_S:g} s\n")
    print("| server | req/s offered | class | requests | outcomes | p50 | p99 |\n|---|---|---|---|---|---|---|\n"
          + "\n".join(rows))
    print(f"\nverdict (this tree): {verdict}\nload average at end: {load_average()}")


if __name__ == "__main__":
    main()
