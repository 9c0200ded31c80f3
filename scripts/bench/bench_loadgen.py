"""Benchmark: client CPU per request, ``loadgen.Pool`` against ``httpx.AsyncClient``.

Why it matters: the load generators share the 2 cores with the server they measure, so a client
that burns CPU takes it from the server. 2 000 nearest-station GETs each, 4 at a time, over
keep-alive connections, against a server that is already running; the CPU time of this process
only (``time.process_time``), twice in turn.

Run: ``.venv/bin/unionmap serve --port 8307 &`` then
``.venv/bin/python scripts/bench/bench_loadgen.py [--base http://127.0.0.1:8307]``
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
import loadgen

PATHS = [f"/api/v1/stations/nearest?lon={115.6 + i % 97 / 100:.4f}&lat=29.6&type=love_station&limit=5"
         for i in range(2000)]
CLIENTS = 4


async def clients(get: Callable[[str], Awaitable[int]]) -> None:
    """``CLIENTS`` users taking turns through ``PATHS``; every answer must be 200."""
    async def user(first: int) -> None:
        for path in PATHS[first::CLIENTS]:
            if (status := await get(path)) != 200:
                raise RuntimeError(f"{path}: HTTP {status}")

    await asyncio.gather(*(user(first) for first in range(CLIENTS)))


async def with_loadgen(base: str) -> None:
    pool = loadgen.Pool(base, CLIENTS)
    try:
        await clients(pool.get)
    finally:
        pool.close()


async def with_httpx(base: str) -> None:
    async with httpx.AsyncClient(base_url=base, headers={"Accept-Encoding": "identity"}) as http:
        await clients(lambda path: _status(http, path))


async def _status(http: httpx.AsyncClient, path: str) -> int:
    return (await http.get(path)).status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8307")
    base = parser.parse_args().base
    print(f"{len(PATHS):,} GETs each, {CLIENTS} at a time, against {base}")
    for name, run in (("loadgen", with_loadgen), ("httpx", with_httpx)) * 2:
        started = time.process_time()
        loadgen.run(run(base))
        print(f"{name}: {(time.process_time() - started) / len(PATHS) * 1000:.3f} ms of client CPU per request")


if __name__ == "__main__":
    main()
