"""Benchmark: vector tile (MVT) throughput, unionmap's OGC API - Tiles vs tipg, same rows, same run.

Both servers make each tile in PostGIS with ``ST_AsMVT``; each runs ``uvicorn --workers 1`` with
the same pinned HTTP stack (``bench_ogc.UVICORN``) on the same bench database (``bench_ogc``'s:
reference + demo data, every station copied (scale − 1) times with a seeded jitter):

- unionmap: ``/ogc/collections/{id}/tiles/WebMercatorQuad/{z}/{row}/{col}``;
- tipg: ``/collections/{table}/tiles/WebMercatorQuad/{z}/{col}/{row}`` (tipg puts the column
  first) with a CQL2 ``filter`` selecting the same rows (``type_code = … AND deleted_at IS NULL``
  for stations, ``level = 'township'`` for townships) and ``geom-column=geom``.

Tiles: at each zoom (8, 10, 12, 14), those of the collection's ``tileMatrixSetLimits`` (its
extent, from our tileset metadata), all of them when there are at most ``--sample``, else a
seeded sample of that many; the same list for both servers. Each tile is one sequential GET
without compression (``Accept-Encoding: identity``); time counts from the request to its last
body byte. Each pass over a list is repeated ``--repeat`` times with the servers taking turns to
go first, after one uncounted warm-up pass each. Printed: tiles/s (tiles over the summed
latencies) and median latency per zoom, collection and server, and the features both servers
put in the tiles (decoded once, outside the timing). Feature counts may differ by the features in
the tile buffer (ours: 64 of 4096 units; tipg's own default).

The tipg venv and the bench database are ``bench_ogc``'s (``--tipg-venv``; ``pip install tipg
uvicorn`` on first use). Run without ``DATABASE_URL``, on the private cluster (``UNIONMAP_STATE_DIR``
names another checkout's running one):
``.venv/bin/python scripts/bench/bench_tiles.py [--scale 10] [--repeat 3] [--sample 150] [--keep]``
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote

import httpx
import mapbox_vector_tile
import psycopg
from bench_nearest import IDENTITY, header, load_average  # same folder
from bench_ogc import bench_arguments, both_servers, on_bench_database

from geo.settings import Settings
from geo.store import cluster

ZOOMS = (8, 10, 12, 14)
# name: (our collection id, tipg table, tipg CQL2 filter)
COLLECTIONS = {
    "worker_library": ("worker_library", "public.station", "type_code='worker_library' AND deleted_at IS NULL"),
    "townships": ("townships", "public.region", "level='township'"),
}
Tile = tuple[int, int, int]  # zoom, row, col
Pass = tuple[list[float], int]  # per-tile seconds, body bytes


def tiles_of(http: httpx.Client, base: str, collection: str, zoom: int, sample: int, seed: int) -> list[Tile]:
    """The tiles of ``zoom`` inside the collection's limits (our tileset metadata), or a seeded sample."""
    limits = http.get(f"{base}/ogc/collections/{collection}/tiles/WebMercatorQuad").json()["tileMatrixSetLimits"]
    limit = limits[zoom]
    every = [(zoom, row, col) for row in range(limit["minTileRow"], limit["maxTileRow"] + 1)
             for col in range(limit["minTileCol"], limit["maxTileCol"] + 1)]
    return every if len(every) <= sample else sorted(random.Random(seed + zoom).sample(every, sample))


def read(http: httpx.Client, urls: list[str]) -> Pass:
    """GET every tile in turn; the seconds of each and the bytes of all. Any status but 200/204 stops the run."""
    seconds, size = [], 0
    for url in urls:
        begun = time.perf_counter()
        response = http.get(url)
        seconds.append(time.perf_counter() - begun)
        if response.status_code not in (200, 204):
            raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
        size += len(response.content)
    return seconds, size


def features(http: httpx.Client, urls: list[str]) -> int:
    """How many features the tiles hold in all (every layer)."""
    total = 0
    for url in urls:
        body = http.get(url).content
        if body:
            total += sum(len(layer["features"]) for layer in mapbox_vector_tile.decode(body).values())
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bench_arguments(parser, "unionmap_bench_tiles")
    parser.add_argument("--sample", type=int, default=150, help="tiles per zoom at most")
    on_bench_database(parser.parse_args(), "bench_tiles", run)


def run(settings: Settings, arguments: argparse.Namespace, python: Path, tipg_versions: str) -> None:
    """Start both servers on the bench database, read the tiles, print the table."""
    name = arguments.database
    header(("uvicorn", "fastapi", "httpx", "SQLAlchemy", "psycopg"), cluster.url(settings, name),
           f"; tipg venv: {tipg_versions}")
    with psycopg.connect(cluster.conninfo(settings, name)) as connection:
        stations, townships = connection.execute(
            "SELECT (SELECT count(*) FROM station WHERE deleted_at IS NULL AND type_code = 'worker_library'), "
            "(SELECT count(*) FROM region WHERE level = 'township')").fetchone() or (0, 0)
    print(f"database {name}: {stations:,} live worker_library stations, {townships:,} townships "
          f"(scale {arguments.scale}×)")
    with ExitStack() as stack:
        ours, tipg = stack.enter_context(both_servers(settings, name, python, ["public.station", "public.region"]))
        http = stack.enter_context(httpx.Client(headers=IDENTITY, timeout=120))
        lists = {(label, zoom): tiles_of(http, ours, collection, zoom, arguments.sample, arguments.seed)
                 for label, (collection, _, _) in COLLECTIONS.items() for zoom in ZOOMS}
        urls: dict[str, Callable[[str, Tile], str]] = {
            "unionmap": lambda label, t: (f"{ours}/ogc/collections/{COLLECTIONS[label][0]}/tiles/WebMercatorQuad/"
                                          f"{t[0]}/{t[1]}/{t[2]}"),
            "tipg": lambda label, t: (f"{tipg}/collections/{COLLECTIONS[label][1]}/tiles/WebMercatorQuad/"
                                      f"{t[0]}/{t[2]}/{t[1]}?geom-column=geom&filter={quote(COLLECTIONS[label][2])}")}
        names = list(urls)
        counts = {(key, server_name): features(http, [urls[server_name](key[0], t) for t in tiles])
                  for key, tiles in lists.items() for server_name in names}
        for key, tiles in lists.items():  # warm-up, not counted
            for server_name in names:
                read(http, [urls[server_name](key[0], t) for t in tiles])
        print(f"servers up and warm; load average {load_average()}")
        passes: dict[tuple[str, int, str], list[Pass]] = {}
        for repeat in range(arguments.repeat):
            for index, (key, tiles) in enumerate(lists.items()):
                for server_name in names if (repeat + index) % 2 == 0 else names[::-1]:
                    passes.setdefault((*key, server_name), []).append(
                        read(http, [urls[server_name](key[0], t) for t in tiles]))
            print(f"repeat {repeat + 1} done; load average {load_average()}")
    print(f"\nMVT tiles, 1 uvicorn worker each, sequential GETs on loopback, client on the same {os.cpu_count()} "
          f"cores; {arguments.repeat} passes each\n")
    print("| collection | zoom | tiles | server | features | KB | tiles/s (median pass) | median ms | p95 ms "
          "| ours / tipg (tiles/s) |\n|---|---|---|---|---|---|---|---|---|---|")
    ratios = []
    for (label, zoom), tiles in lists.items():
        rates = {server_name: statistics.median(len(tiles) / sum(p[0]) for p in passes[label, zoom, server_name])
                 for server_name in names}
        ratios.append(rates["unionmap"] / rates["tipg"])
        for server_name in names:
            runs = passes[label, zoom, server_name]
            every = sorted(second for run in runs for second in run[0])
            print(f"| {label} | {zoom} | {len(tiles)} | {server_name} | {counts[(label, zoom), server_name]:,} | "
                  f"{runs[0][1] / 1024:,.0f} | {rates[server_name]:,.0f} | {statistics.median(every) * 1000:.1f} | "
                  f"{every[int(0.95 * (len(every) - 1))] * 1000:.1f} | "
                  + (f"{ratios[-1]:.2f}× |" if server_name == "unionmap" else "|"))
    print(f"\nours / tipg (tiles/s): min {min(ratios):.2f}×, median {statistics.median(ratios):.2f}×; "
          f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
