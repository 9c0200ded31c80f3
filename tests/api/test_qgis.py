"""QGIS itself against /ogc: Debian's python3-qgis (3.22), headless, runs tests/qgis_client.py.

python3-qgis belongs to the system Python (/usr/bin/python3), not to the venv, so the client runs
as a subprocess against the live server (tests/conftest.py ``live_server``) and writes JSON; every
expected value here comes from the server by httpx (numberMatched, bbox=, the REST API), or from
the saved files read without QGIS (sqlite3 for GeoPackage, csv, GDAL's ogrinfo for Shapefile).
The vector tiles QGIS renders are checked pixel by pixel against the townships' shapes projected by
pyproj; the layer asked for in EPSG:3857/4490 against pyproj and the server's ``crs=`` answer.
The whole QGIS run takes a few seconds, so it stays in the normal suite (marker ``clients``).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy
import pytest
import shapely
from PIL import Image
from pyproj import Transformer
from shapely.geometry import Point, shape
from shapely.ops import unary_union

httpx = pytest.importorskip("httpx")  # test extras

pytestmark = [pytest.mark.db, pytest.mark.clients]

SYSTEM_PYTHON = os.environ.get("UNIONMAP_QGIS_PYTHON", "/usr/bin/python3")
CLIENT = Path(__file__).resolve().parents[1] / "qgis_client.py"
STATION_TYPES = ("love_station", "legal_service", "worker_library", "cultural_palace", "workers_home")
COLLECTIONS = (*STATION_TYPES, "counties", "townships", "coverage")
BBOX = (115.9, 29.6, 116.1, 29.8)  # around Jiujiang's centre: some of every layer, not all
STATION_FIELDS = {"station_id": "Integer", "name": "String", "address": "String", "status": "String",
                  "amenities": "String", "is_demo": "Boolean", "updated_at": "DateTime", "opening_hours": "String",
                  "opening_hours_text": "String", "opening_hours_osm": "String"}
REGION_FIELDS = {"code": "String", "name": "String", "population": "Integer", "boundary_is_approximate": "Boolean"}
COVERAGE_FIELDS = {"code": "String", "population": "Real", "love_station_stations": "Integer",
                   "love_station_covered_share": "Real"}


def _qgis_missing() -> str | None:
    """Why QGIS cannot run here, or None."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"no {SYSTEM_PYTHON}"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True,
                           env=os.environ | {"QT_QPA_PLATFORM": "offscreen"}, timeout=120)
    return probe.stderr.strip().splitlines()[-1] if probe.returncode else None


@pytest.fixture(scope="module")
def collections(live_server: str) -> list[str]:
    """Every collection the server lists: QGIS is asked for each of them."""
    listed = httpx.get(f"{live_server}/ogc/collections", timeout=30).json()["collections"]
    return [collection["id"] for collection in listed]


@pytest.fixture(scope="module")
def townships_3857(live_server: str) -> dict[str, Any]:
    """Every township's shape in EPSG:3857, projected here by pyproj from the server's CRS84 items
    (not the server's own crs=EPSG:3857), keyed by code."""
    to_mercator = Transformer.from_crs("OGC:CRS84", "EPSG:3857", always_xy=True)

    def project(lon_lat: Any) -> Any:
        return numpy.column_stack(to_mercator.transform(lon_lat[:, 0], lon_lat[:, 1]))

    return {feature["properties"]["code"]: shapely.transform(shape(feature["geometry"]), project)
            for feature in _features(live_server, "townships")}


@pytest.fixture(scope="module")
def tile_view(townships_3857: dict[str, Any]) -> dict[str, Any]:
    """What QGIS renders from the vector tiles: the largest township is the one drawn red, over a
    square around every township with a margin of empty land and water."""
    everything = unary_union(list(townships_3857.values()))
    west, south, east, north = everything.bounds
    side = max(east - west, north - south) * 1.1
    x, y = (west + east) / 2, (south + north) / 2
    code = max(townships_3857, key=lambda key: townships_3857[key].area)
    return {"code": code, "box": [x - side / 2, y - side / 2, x + side / 2, y + side / 2], "union": everything}


@pytest.fixture(scope="module")
def qgis(live_server: str, collections: list[str], tile_view: dict[str, Any],
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the QGIS client once for the module; its report, with ``out`` (the folder of saved files)."""
    missing = _qgis_missing()
    # A failure, not a skip, like a missing GDAL or Chromium: the README's test command installs it,
    # so a machine without it is not set up and a quiet skip would hide that QGIS was never tried.
    assert not missing, (f"QGIS not importable by {SYSTEM_PYTHON} ({missing}): apt-get install python3-qgis "
                         "qgis-providers (scripts/setup.sh --test does)")
    out = tmp_path_factory.mktemp("qgis")
    home = out / "home"  # a throw-away QGIS profile: nothing of the machine's own QGIS is read or changed
    runtime = out / "runtime"
    runtime.mkdir(mode=0o700)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env |= {"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime), "QT_QPA_PLATFORM": "offscreen",
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    started = time.monotonic()
    tiles = ",".join(map(str, [tile_view["code"], *tile_view["box"]]))
    run = subprocess.run([SYSTEM_PYTHON, str(CLIENT), "--tiles", tiles, live_server, str(out),
                          ",".join(map(str, BBOX)), *collections],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, f"QGIS client failed ({run.returncode}):\n{run.stdout}\n{run.stderr}"
    report: dict[str, Any] = json.loads((out / "result.json").read_text(encoding="utf-8"))
    report["out"], report["elapsed"] = out, time.monotonic() - started
    return report


@pytest.fixture(scope="module")
def matched(live_server: str, collections: list[str]) -> dict[str, int]:
    """numberMatched of every collection, asked of the server without QGIS."""
    return {name: httpx.get(f"{live_server}/ogc/collections/{name}/items", params={"limit": 1},
                            timeout=60).json()["numberMatched"] for name in collections}


def _features(server: str, name: str, **params: Any) -> list[dict[str, Any]]:
    page = httpx.get(f"{server}/ogc/collections/{name}/items", params={"limit": 10000, **params}, timeout=60).json()
    assert page["numberReturned"] == page["numberMatched"], "one page must hold the whole answer"
    features: list[dict[str, Any]] = page["features"]
    return features


@pytest.fixture(scope="module")
def known_station(live_server: str) -> dict[str, Any]:
    """A love station with weekly hours (not 24/7), from the REST API: its id, name and hours in words."""
    stations = httpx.get(f"{live_server}/api/v1/stations", params={"type": "love_station", "limit": 1000},
                         timeout=60).json()["features"]
    known: dict[str, Any] = next(station["properties"] for station in stations
                                 if station["properties"]["opening_hours"].get("weekly")
                                 and not station["properties"]["opening_hours"].get("always_open"))
    assert re.search(r"\d\d:\d\d", known["opening_hours_text"]), known
    return known


def test_qgis_opens_every_collection_with_the_servers_count(qgis: dict[str, Any], collections: list[str],
                                                            matched: dict[str, int]) -> None:
    assert set(COLLECTIONS) <= set(collections)
    assert qgis["qgis"].startswith("3."), qgis["qgis"]
    for name in collections:
        layer = qgis["collections"][name]
        assert layer["valid"], (name, layer.get("error"))
        assert layer["crs"] == "EPSG:4326", (name, layer["crs"])
        assert matched[name] > 0
        counts = (layer["feature_count"], layer["read"], layer["feature_count_after_read"])
        assert counts == (matched[name],) * 3, (name, counts, matched[name])
    kinds = {name: qgis["collections"][name]["geometry_type"] for name in COLLECTIONS}
    assert kinds == {**dict.fromkeys(STATION_TYPES, "Point"), **dict.fromkeys(COLLECTIONS[5:], "MultiPolygon")}


def test_qgis_sees_the_fields_with_their_types(qgis: dict[str, Any]) -> None:
    layers = qgis["collections"]
    for name in STATION_TYPES:
        assert STATION_FIELDS.items() <= layers[name]["fields"].items(), (name, layers[name]["fields"])
    for name in ("counties", "townships"):
        assert REGION_FIELDS.items() <= layers[name]["fields"].items(), (name, layers[name]["fields"])
    assert COVERAGE_FIELDS.items() <= layers["coverage"]["fields"].items(), layers["coverage"]["fields"]


def test_qgis_rectangle_matches_the_servers_bbox(qgis: dict[str, Any], live_server: str,
                                                 collections: list[str], matched: dict[str, int]) -> None:
    """Filtered by QGIS on the downloaded layer, and asked of the server as bbox= (paged by 15):
    both select exactly the features the server's bbox= answers."""
    for name in collections:
        layer = qgis["collections"][name]
        in_box = sorted(feature["properties"][layer["key"]]
                        for feature in _features(live_server, name, bbox=",".join(map(str, BBOX))))
        assert 0 < len(in_box) < matched[name], (name, len(in_box))
        assert layer["in_rect"] == in_box, (name, layer["in_rect"], in_box)
        assert layer["in_rect_server"] == in_box, (name, layer["in_rect_server"], in_box)


def test_qgis_subset_string_selects_what_the_servers_filter_does(qgis: dict[str, Any], live_server: str) -> None:
    for name in STATION_TYPES:
        open_ = httpx.get(f"{live_server}/ogc/collections/{name}/items", params={"status": "open", "limit": 1},
                          timeout=30).json()["numberMatched"]
        assert qgis["collections"][name]["open"] == open_, name


def _bounds(coordinates: Any) -> list[float]:
    """West, south, east, north of GeoJSON coordinates of any depth, by plain min and max."""
    points: list[list[float]] = []

    def walk(value: Any) -> None:
        if isinstance(value[0], int | float):
            points.append(value)
        else:
            for item in value:
                walk(item)

    walk(coordinates)
    return [min(p[0] for p in points), min(p[1] for p in points), max(p[0] for p in points), max(p[1] for p in points)]


def test_qgis_puts_every_feature_where_the_apis_say(qgis: dict[str, Any], live_server: str) -> None:
    """Stations against the REST API (longitude first: an axis swap would land them in the sea),
    regions against the bounds of their GeoJSON polygons."""
    for name in STATION_TYPES:
        stations = httpx.get(f"{live_server}/api/v1/stations", params={"type": name, "limit": 1000},
                             timeout=60).json()["features"]
        expected = {str(station["id"]): station["geometry"]["coordinates"] * 2 for station in stations}
        seen = qgis["collections"][name]["bounds"]
        assert seen.keys() == expected.keys(), name
        for key, bounds in expected.items():
            assert seen[key] == pytest.approx(bounds, abs=1e-9), (name, key)
    for name in ("counties", "townships", "coverage"):
        expected = {feature["properties"]["code"]: _bounds(feature["geometry"]["coordinates"])
                    for feature in _features(live_server, name)}
        seen = qgis["collections"][name]["bounds"]
        assert seen.keys() == expected.keys(), name
        for key, bounds in expected.items():
            assert seen[key] == pytest.approx(bounds, abs=1e-9), (name, key)


def test_qgis_reads_opening_hours_as_the_words_riders_read(qgis: dict[str, Any],
                                                           known_station: dict[str, Any]) -> None:
    hours = qgis["collections"]["love_station"]["opening_hours"]
    assert hours[str(known_station["id"])] == known_station["opening_hours_text"]


def test_qgis_saves_every_layer_to_one_geopackage(qgis: dict[str, Any], collections: list[str],
                                                  matched: dict[str, int], known_station: dict[str, Any]) -> None:
    """Read back with sqlite3, not QGIS: counts, text columns, the known station's hours and name."""
    for name in collections:
        assert qgis["collections"][name]["gpkg"]["error"] == 0, (name, qgis["collections"][name]["gpkg"])
    with sqlite3.connect(qgis["out"] / "all.gpkg") as db:
        tables = dict(db.execute("SELECT table_name, srs_id FROM gpkg_contents WHERE data_type = 'features'"))
        counts = {name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in collections}
        types = {name: {row[1]: row[2] for row in db.execute(f'PRAGMA table_info("{name}")')} for name in collections}
        saved = db.execute("SELECT name, opening_hours, opening_hours_text, amenities FROM love_station "
                           "WHERE station_id = ?", (known_station["id"],)).fetchone()
    assert tables == dict.fromkeys(collections, 4326)
    assert counts == matched
    for name in STATION_TYPES:
        assert {types[name][column] for column in ("opening_hours", "opening_hours_osm", "amenities")} == {"TEXT"}
    words = known_station["opening_hours_text"]
    assert saved == (known_station["name"], words, words, ",".join(known_station["amenities"]))


def test_qgis_saves_every_layer_to_csv(qgis: dict[str, Any], collections: list[str], matched: dict[str, int],
                                       known_station: dict[str, Any]) -> None:
    rows: dict[str, list[dict[str, str]]] = {}
    for name in collections:
        assert qgis["collections"][name]["csv"]["error"] == 0, (name, qgis["collections"][name]["csv"])
        with (qgis["out"] / f"{name}.csv").open(encoding="utf-8", newline="") as saved:
            rows[name] = list(csv.DictReader(saved))
    assert {name: len(found) for name, found in rows.items()} == matched
    (row,) = [row for row in rows["love_station"] if row["station_id"] == str(known_station["id"])]
    assert (row["name"], row["opening_hours"]) == (known_station["name"], known_station["opening_hours_text"])
    assert row["WKT"].startswith("POINT")


def test_qgis_saves_every_layer_to_shapefile(qgis: dict[str, Any], collections: list[str],
                                             matched: dict[str, int], known_station: dict[str, Any]) -> None:
    """Read back with GDAL's ogrinfo. Shapefile cuts names to 10 characters (opening_hours is
    opening_ho there); the Chinese text must survive (QGIS writes a UTF-8 .cpg)."""
    if shutil.which("ogrinfo") is None:
        pytest.fail("ogrinfo not found: install gdal-bin (scripts/setup.sh --test does)")
    for name in collections:
        assert qgis["collections"][name]["shp"]["error"] == 0, (name, qgis["collections"][name]["shp"])
        summary = subprocess.run(["ogrinfo", "-ro", "-so", "-al", str(qgis["out"] / f"{name}.shp")],
                                 capture_output=True, text=True, timeout=60, check=True).stdout
        assert f"Feature Count: {matched[name]}\n" in summary, (name, summary)
    station = subprocess.run(["ogrinfo", "-ro", "-q", "-al", "-where", f"station_id = {known_station['id']}",
                              str(qgis["out"] / "love_station.shp")],
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert f"opening_ho (String) = {known_station['opening_hours_text']}\n" in station, station
    assert f"name (String) = {known_station['name']}\n" in station, station


def _colour(image: Any, report: dict[str, Any], x: float, y: float) -> str:
    """#rrggbb of the pixel holding an EPSG:3857 point in the image QGIS rendered over ``report["extent"]``."""
    west, south, east, north = report["extent"]
    width, height = report["size"]
    red, green, blue = image.getpixel((int((x - west) / (east - west) * width),
                                       int((north - y) / (north - south) * height)))
    return f"#{red:02x}{green:02x}{blue:02x}"


def test_qgis_draws_the_vector_tiles_where_the_townships_are(qgis: dict[str, Any], tile_view: dict[str, Any],
                                                              townships_3857: dict[str, Any]) -> None:
    """QGIS's own MVT decoder, seen through what it draws: a point well inside the red township is
    red, well inside any other township grey (so QGIS read each feature's ``code`` from the tiles,
    in the layer named as the collection), and well outside every township white. "Well inside" is
    3 pixels from the edge, so that tile quantisation cannot flip a pixel."""
    report = qgis["tiles"]
    assert report["valid"] and report["crs"] == "EPSG:3857" and report["errors"] == [], report
    tile_urls = [url for url in report["urls"] if "/tiles/WebMercatorQuad/" in url]
    assert tile_urls and all(re.search(r"/townships/tiles/WebMercatorQuad/\d+/\d+/\d+$", url) for url in tile_urls)
    image = Image.open(report["png"]).convert("RGB")
    west, _, east, _ = report["extent"]
    margin = 3 * (east - west) / report["size"][0]
    seen: dict[str, str] = {}
    expected: dict[str, str] = {}
    for code, township in townships_3857.items():
        core = township.buffer(-margin)
        if core.is_empty:
            continue  # too small to hold a pixel 3 pixels from its edge at this scale
        inside = core.representative_point()
        seen[code] = _colour(image, report, inside.x, inside.y)
        expected[code] = "#ff0000" if code == tile_view["code"] else "#808080"
    assert len(seen) > len(townships_3857) / 2, (len(seen), len(townships_3857))
    assert list(seen.values()).count("#ff0000") == 1
    assert seen == expected
    step = (east - west) / 40
    outside = [(x, y) for x in (west + step * (i + 0.5) for i in range(40))
               for y in (report["extent"][1] + step * (j + 0.5) for j in range(40))
               if Point(x, y).distance(tile_view["union"]) > margin]
    assert len(outside) > 100
    assert {_colour(image, report, x, y) for x, y in outside} == {"#ffffff"}


def test_qgis_3_22_reads_crs84_whatever_crs_the_layer_asks(qgis: dict[str, Any], live_server: str) -> None:
    """QGIS 3.22's OAPIF provider ignores ``srsname`` (and the collection's ``crs`` list): it never
    sends ``crs=``, the layer is EPSG:4326 and QGIS projects on the fly. Its projection agrees with
    pyproj's and with the server's own ``crs=`` answer to 1 mm (EPSG:3857), and to the digit for
    CGCS2000 (PROJ's identity between the two frames, on both sides)."""
    stored = {str(feature["properties"]["station_id"]): feature["geometry"]["coordinates"]
              for feature in _features(live_server, "love_station")}
    for srsname, report in qgis["in_crs"].items():
        assert report["valid"] and report["crs"] == "EPSG:4326" and report["target"] == srsname, report
        assert report["urls"] and not [url for url in report["urls"] if "crs=" in url], report["urls"]
        assert len(report["read"]) == 5
        for key, point in report["read"].items():
            assert point == pytest.approx(stored[key], abs=1e-12), key
        to_target = Transformer.from_crs("OGC:CRS84", srsname, always_xy=True)
        server = {str(feature["properties"]["station_id"]): feature["geometry"]["coordinates"]
                  for feature in _features(live_server, "love_station", crs=srsname)}
        tolerance = 1e-3 if srsname == "EPSG:3857" else 1e-12
        for key, (x, y) in report["projected"].items():
            assert [x, y] == pytest.approx(list(to_target.transform(*stored[key])), abs=tolerance), key
            east_north = server[key] if srsname == "EPSG:3857" else server[key][::-1]  # 4490 is lat, lon
            assert [x, y] == pytest.approx(east_north, abs=tolerance), key


def test_qgis_3_22_filters_a_subset_string_itself(qgis: dict[str, Any], live_server: str) -> None:
    """No ``filter=`` goes to the server (QGIS 3.32+ sends CQL2); the selection still equals the
    server's CQL2 answer for the same expression."""
    report = qgis["subset"]
    assert report["urls"] and not [url for url in report["urls"] if "filter" in url], report["urls"]
    ours = _features(live_server, "love_station", filter=report["subset"])
    assert report["keys"] == sorted(feature["properties"]["station_id"] for feature in ours)
    assert 0 < len(ours)
