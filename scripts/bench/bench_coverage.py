"""Benchmark: full-city coverage recompute, unionmap vs a PostGIS geography join.

Measures, on the stored Jiujiang grid and the demo registry (and on 10× its stations, added
inside a transaction that is rolled back at the end):

- unionmap: ``coverage_table`` for every type at township, county and city level, with the
  grid model cached in memory (what the API does after a registry change) and cold (grid read
  from the database and indexed first);
- the peer: one SQL query a PostGIS user would write — an ``ST_DWithin`` join of stations and
  grid cells on ``geography`` (GiST-indexed expression), distinct covered cells per type,
  summed per township — in its index-friendly form (the rural radius in ST_DWithin, the urban
  one as a second test);
- agreement of the two answers.

Run: ``.venv/bin/python scripts/bench/bench_coverage.py [--repeat 5] [--scale 10]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import pandas as pd
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from geo.analysis.coverage import CoverageModel, coverage_tables
from geo.reference import demo
from geo.reference.layers import metric_crs_of
from geo.reference.region import load_config
from geo.services.coverage_query import ModelCache, counted_stations, type_radii
from geo.settings import get_settings
from geo.store import db, regions, service_types
from geo.store.models import Station

PEER_SQL = text("""
    WITH hits AS (
        SELECT DISTINCT s.type_code, d.id
        FROM station s
        JOIN service_type t ON t.code = s.type_code
        JOIN demand_cell d
          ON ST_DWithin(s.geom::geography, d.geom::geography, greatest(t.radius_urban_m, t.radius_rural_m))
         AND (CASE WHEN d.is_urban THEN t.radius_urban_m ELSE t.radius_rural_m END)
             >= ST_Distance(s.geom::geography, d.geom::geography)
        WHERE s.status = 'open')
    SELECT h.type_code, d.township_code AS region_code, sum(d.population) AS covered
    FROM hits h JOIN demand_cell d ON d.id = h.id
    GROUP BY h.type_code, d.township_code""")


def timed(function: Callable[[], object], repeat: int) -> tuple[list[float], object]:
    """Wall-clock seconds of each run and the last result."""
    seconds, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def ours(session: Session, model: CoverageModel) -> pd.DataFrame:
    stations = counted_stations(session)
    radii = type_radii(session)
    return coverage_tables(model, stations, radii)["township"]


def cold(session: Session) -> pd.DataFrame:
    model, _ = ModelCache().get(session)
    return ours(session, model)


def peer(session: Session) -> pd.DataFrame:
    return pd.read_sql(PEER_SQL, session.connection())


def agreement(mine: pd.DataFrame, theirs: pd.DataFrame) -> str:
    left = mine.set_index(["type_code", "region_code"])["covered_population"]
    right = theirs.set_index(["type_code", "region_code"])["covered"].reindex(left.index).fillna(0)
    difference = (left - right).abs()
    return (f"total covered {left.sum():,.0f} vs {right.sum():,.0f} "
            f"(relative difference {abs(left.sum() - right.sum()) / max(right.sum(), 1):.4%}); "
            f"largest township difference {difference.max():,.0f} people")


def add_stations(session: Session, scale: int, seed: int) -> int:
    """Add (scale − 1) × the demo registry's stations, drawn with another seed."""
    settings = get_settings()
    config = load_config(settings.region_dir)
    spec = demo.read_demo_spec(config.path(config.demo or "demo.yaml"))
    spec = spec.model_copy(update={"stations": {code: item.model_copy(update={"count": item.count * (scale - 1)})
                                                for code, item in spec.stations.items()}})
    spec.stations["cultural_palace"] = spec.stations["cultural_palace"].model_copy(update={"placement": "population"})
    spec.stations["workers_home"] = spec.stations["workers_home"].model_copy(update={"placement": "population"})
    townships = regions.regions_frame(session, "township")
    counties = regions.regions_frame(session, "county")
    types = [demo.TypeNames(t.code, t.name_zh) for t in service_types.service_types(session)]
    extra = demo.generate(townships, counties, spec, types, metric_crs=metric_crs_of(counties), seed=seed)
    rows = demo.demo_rows(extra)
    session.execute(insert(Station), rows)
    return len(rows)


def report(label: str, seconds: list[float]) -> float:
    best = min(seconds)
    print(f"  {label:<44} best {best:8.3f} s   median {statistics.median(seconds):8.3f} s   (n={len(seconds)})")
    return best


def run(session: Session, repeat: int, peer_repeat: int) -> None:
    count = session.execute(text("SELECT count(*) FROM station WHERE status = 'open'")).scalar_one()
    cells = session.execute(text("SELECT count(*) FROM demand_cell")).scalar_one()
    print(f"open stations: {count:,}; demand cells: {cells:,}")
    model, _ = ModelCache().get(session)
    warm_s, mine = timed(lambda: ours(session, model), repeat)
    cold_s, _ = timed(lambda: cold(session), max(1, repeat // 2))
    peer_s, theirs = timed(lambda: peer(session), peer_repeat)
    warm = report("unionmap, grid model in memory (3 levels)", warm_s)
    report("unionmap, cold (grid read + KD-tree + 3 levels)", cold_s)
    slow = report("PostGIS ST_DWithin geography join (1 query)", peer_s)
    print(f"  speed-up (peer / unionmap warm): {slow / warm:,.1f}×")
    print(f"  agreement: {agreement(mine, theirs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--peer-repeat", type=int, default=3)
    parser.add_argument("--scale", type=int, default=10)
    arguments = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"command: {' '.join(sys.argv)}\nmachine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}")
    settings = get_settings()
    engine = db.prepare(settings)
    with engine.connect() as connection:
        transaction = connection.begin()
        print(f"PostgreSQL/PostGIS: {connection.execute(text('SHOW server_version')).scalar()} / "
              f"{connection.execute(text('SELECT postgis_lib_version()')).scalar()}")
        session = Session(bind=connection)
        try:
            print("\n== demo registry ==")
            run(session, arguments.repeat, arguments.peer_repeat)
            added = add_stations(session, arguments.scale, seed=99)
            print(f"\n== {arguments.scale}× the demo stations ({added:,} added, rolled back afterwards) ==")
            run(session, arguments.repeat, max(1, arguments.peer_repeat - 1))
        finally:
            session.close()
            transaction.rollback()
    engine.dispose()


if __name__ == "__main__":
    main()
