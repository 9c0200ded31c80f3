"""Benchmark: the bytes the offline PMTiles basemap adds to a map page, as the app sends them.

The app (in process, Starlette's test client, the project's gzip at level 6) on the project's
database (``DATABASE_URL``), once without a basemap and once with ``basemap_pmtiles`` set to the
tests' tiny file (``tests/tiny_pmtiles.py``, needs the test extras): each page's HTML as stored
and as sent with ``Accept-Encoding: gzip``, and the plug-in's script (protomaps-leaflet). The
tiles a real extract sends depend on that file and the view, so they are not counted here.

Run: ``PYTHONPATH=. DATABASE_URL=... .venv/bin/python scripts/bench/bench_pmtiles_weight.py``
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from api.app import create_app  # noqa: E402
from geo.reference.region import load_config  # noqa: E402
from geo.settings import Settings  # noqa: E402
from tests import tiny_pmtiles  # noqa: E402

PAGES = ("/maps/stations", "/maps/coverage?type=love_station", "/maps/station/1")
PLUGIN = "/static/vendor/protomaps-leaflet/dist/protomaps-leaflet.js"


def weigh(client: TestClient, path: str) -> tuple[int, int]:
    """Bytes of ``path``: as stored (identity) and as sent with gzip (the body on the wire)."""
    stored = len(client.get(path, headers={"Accept-Encoding": "identity"}).content)
    with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as response:
        sent = sum(len(chunk) for chunk in response.iter_raw())
    return stored, sent


def main() -> None:
    plain = Settings(database_url=os.environ["DATABASE_URL"], solver_warm_at_start=False, trusted_hosts=["testserver"])
    with tempfile.TemporaryDirectory() as folder:
        centre = load_config(plain.region_dir).map_centre
        path = tiny_pmtiles.write(Path(folder) / "basemap.pmtiles", (centre[0], centre[1]))
        with_file = plain.model_copy(update={"basemap": "pmtiles", "basemap_pmtiles": path})
        weights = {}
        for name, settings in (("none", plain), ("pmtiles", with_file)):
            with TestClient(create_app(settings)) as client:
                weights[name] = {page: weigh(client, page) for page in PAGES}
                if name == "pmtiles":
                    plugin = weigh(client, PLUGIN)
    print("| page | HTML stored, none | with PMTiles | HTML sent (gzip), none | with PMTiles |")
    print("|---|---|---|---|---|")
    for page in PAGES:
        (s0, g0), (s1, g1) = weights["none"][page], weights["pmtiles"][page]
        print(f"| `{page}` | {s0:,} B | {s1:,} B (+{s1 - s0:,}) | {g0:,} B | {g1:,} B (+{g1 - g0:,}) |")
    print(f"| `{PLUGIN}` | | {plugin[0]:,} B | | {plugin[1]:,} B |")


if __name__ == "__main__":
    main()
