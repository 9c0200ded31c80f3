"""Benchmark: ``region init-province`` and loading each prefecture of a province on its own.

Why it matters: these are the inputs to a province deployment (Jiangxi: 11 prefectures, 10 of them
written by init-province with counties as units, Jiujiang committed with its townships): how long the
folders take to write, and for each prefecture how long ``unionmap load reference`` and
``unionmap load demo`` take and how big its database is, loaded alone into a scratch database.

Every step runs the real command in a process of its own (``python -m api.cli``), so the times
include start-up, as a user meets them. The generated folders go to a temporary state folder; each
prefecture is loaded into a fresh database on the server of ``--admin-url`` (created with PostGIS,
dropped afterwards). Until the commands look regions up with ``geo.reference.region.region_folder``,
a scratch data folder links every member folder by name.

Run: ``.venv/bin/python scripts/bench/bench_province_regions.py --admin-url
"postgresql+psycopg://postgres@/postgres?host=$PWD/.state/pgdata&port=5432" [--province 360000]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from geo.reference.province import province_folder, read_province  # noqa: E402
from geo.reference.region import region_folder  # noqa: E402
from geo.settings import Settings  # noqa: E402


def run(arguments: list[str], env: dict[str, str]) -> float:
    """Seconds the CLI command took (wall); its output is shown when it fails."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "api.cli", *arguments], env=env, cwd=ROOT, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin-url", required=True, help="a database URL on the server (scratch databases are "
                        "created beside it)")
    parser.add_argument("--province", default="360000")
    parser.add_argument("--only", nargs="*", help="prefecture codes to load (default: all)")
    options = parser.parse_args()
    admin = make_url(options.admin_url)
    print(f"machine: {os.cpu_count()} cores, load average at start {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench-province-") as scratch:
        base = Path(scratch)
        env = {**os.environ, "UNIONMAP_STATE_DIR": str(base / "state"), "COLUMNS": "200",
               "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        seconds = run(["region", "init-province", options.province], env)
        settings = Settings(state_dir=base / "state")
        province = read_province(province_folder(settings, options.province) / "province.yaml")
        print(f"region init-province {options.province}: {seconds:.2f} s, "
              f"{sum(m.generated for m in province.members)} folders written")
        data = base / "data"
        data.mkdir()
        for name in ("service_types.yaml", "amenities.yaml"):
            shutil.copy(settings.data_dir / name, data / name)
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        print("code   name      units  reference_s  demo_s  stations  grid_cells  db_MB")
        for member in province.members:
            if options.only and member.code not in options.only:
                continue
            (data / member.folder).symlink_to(region_folder(settings, member.folder))
            name = f"unionmap_bench_{member.code}"
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            url = admin.set(database=name).render_as_string(hide_password=False)
            local = {**env, "DATABASE_URL": url, "UNIONMAP_DATA_DIR": str(data)}
            try:
                reference_s = run(["load", "reference", "--region", member.folder], local)
                demo_s = run(["load", "demo"], local)
                figures = create_engine(url)
                with figures.connect() as connection:
                    units, stations, cells, size = connection.execute(text(
                        "SELECT (SELECT count(*) FROM region WHERE level = 'township'), (SELECT count(*) FROM station),"
                        " (SELECT count(*) FROM demand_cell), pg_database_size(current_database())")).one()
                figures.dispose()
            finally:
                with engine.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            print(f"{member.code} {member.name_zh:<6} {units:>5} {reference_s:>12.2f} {demo_s:>7.2f} {stations:>9} "
                  f"{cells:>11} {size / 2**20:>6.1f}", flush=True)
        engine.dispose()
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
