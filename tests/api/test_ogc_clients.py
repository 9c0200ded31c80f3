"""Real OGC API clients against /ogc: GDAL's OAPIF driver (ogrinfo, ogr2ogr) and OWSLib.

The app runs as a separate uvicorn process on the session's test database (its data is
committed by the session fixture): GDAL in the same process as a threaded test server can
deadlock, and a real server is what QGIS and GDAL meet in practice.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

# test extras
httpx = pytest.importorskip("httpx")
Features = pytest.importorskip("owslib.ogcapi.features").Features

pytestmark = [pytest.mark.db, pytest.mark.clients]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STATION_TYPES = ("love_station", "legal_service", "worker_library", "cultural_palace", "workers_home")
COLLECTIONS = (*STATION_TYPES, "counties", "townships", "coverage")


@pytest.fixture(scope="module")
def server(live_server: str) -> str:
    """The app in a subprocess (tests/conftest.py): GDAL must not share a process with it."""
    return live_server


def _run(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run a GDAL command line tool, which must succeed without an ERROR line."""
    if shutil.which(arguments[0]) is None:
        pytest.fail(f"{arguments[0]} not found: install gdal-bin (scripts/setup.sh does on CI)")
    env = os.environ | {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
                        "GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF"}
    result = subprocess.run(arguments, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, f"{' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}"
    assert "ERROR" not in result.stderr, result.stderr
    return result


def gdal(*arguments: str) -> str:
    """Run a GDAL command line tool; its stdout, or a failure with its output."""
    return _run(*arguments).stdout


def gdal_warnings(*arguments: str) -> str:
    """Run a GDAL command line tool; its warnings (stderr), or a failure with its output."""
    return _run(*arguments).stderr


def test_ogrinfo_lists_every_collection(server: str) -> None:
    output = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{server}/ogc")
    layers = re.findall(r"^\d+: (\w+)", output, flags=re.MULTILINE)
    assert set(COLLECTIONS) <= set(layers), output


def test_ogrinfo_reads_feature_count_and_extent(server: str) -> None:
    output = gdal("ogrinfo", "-ro", "-al", "-so", f"OAPIF:{server}/ogc", "love_station")
    assert "Feature Count: 136" in output, output
    assert re.search(r"Extent: \(11\d\.\d+, 2\d\.\d+\) - \(11\d\.\d+, \d\d\.\d+\)", output), output
    for field in ("name: String", "status: String", "is_demo: Integer(Boolean)", "amenities: String"):
        assert field in output, output


def test_ogr2ogr_copies_every_worker_library_with_the_apis_coordinates(server: str, tmp_path: Path) -> None:
    target = tmp_path / "worker_library.geojson"
    gdal("ogr2ogr", "-f", "GeoJSON", str(target), f"OAPIF:{server}/ogc", "worker_library")
    features = json.loads(target.read_text(encoding="utf-8"))["features"]
    assert len(features) == 234
    api = httpx.get(f"{server}/api/v1/stations", params={"type": "worker_library", "limit": 1000},
                    timeout=30).json()["features"]
    expected = {feature["id"]: feature["geometry"]["coordinates"] for feature in api}
    copied = {feature["properties"]["station_id"]: feature["geometry"]["coordinates"] for feature in features}
    assert set(copied) == set(expected)
    for station_id in sorted(expected)[::20]:
        assert copied[station_id] == pytest.approx(expected[station_id], abs=1e-9)
    assert {feature["properties"]["type_code"] for feature in features} == {"worker_library"}
    assert all(feature["properties"]["is_demo"] for feature in features)


def test_ogr2ogr_copies_every_township_polygon(server: str, tmp_path: Path) -> None:
    target = tmp_path / "townships.geojson"
    gdal("ogr2ogr", "-f", "GeoJSON", str(target), f"OAPIF:{server}/ogc", "townships")
    features = json.loads(target.read_text(encoding="utf-8"))["features"]
    assert len(features) == 204
    assert len({feature["properties"]["code"] for feature in features}) == 204
    assert {feature["geometry"]["type"] for feature in features} <= {"Polygon", "MultiPolygon"}


def test_gdal_sends_attribute_filters_and_bbox_to_the_server(server: str) -> None:
    expected = httpx.get(f"{server}/ogc/collections/love_station/items",
                         params={"status": "open", "limit": 1}, timeout=30).json()["numberMatched"]
    output = gdal("ogrinfo", "-ro", "-al", "-so", "-where", "status = 'open'", f"OAPIF:{server}/ogc", "love_station")
    assert f"Feature Count: {expected}" in output, output
    in_box = httpx.get(f"{server}/ogc/collections/love_station/items",
                       params={"bbox": "115.9,29.6,116.1,29.8", "limit": 1}, timeout=30).json()["numberMatched"]
    output = gdal("ogrinfo", "-ro", "-al", "-so", "-spat", "115.9", "29.6", "116.1", "29.8",
                  f"OAPIF:{server}/ogc", "love_station")
    assert f"Feature Count: {in_box}" in output, output


def test_owslib_reads_collections_conformance_and_pages(server: str) -> None:
    api = Features(f"{server}/ogc")
    assert any(link["rel"] == "data" for link in api.links)
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()["conformsTo"]
    assert set(COLLECTIONS) <= {collection["id"] for collection in api.collections()["collections"]}
    assert set(COLLECTIONS) <= set(api.feature_collections())
    assert api.collection("love_station")["title"].startswith("爱心驿站")
    assert api.api()["openapi"].startswith("3.0")
    seen: list[int] = []
    offset = 0
    while True:
        page = api.collection_items("love_station", limit=40, offset=offset)
        assert page["numberMatched"] == 136
        seen += [feature["id"] for feature in page["features"]]
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += page["numberReturned"]
    assert len(seen) == len(set(seen)) == 136
    box = api.collection_items("love_station", bbox=[115.9, 29.6, 116.1, 29.8], limit=500)
    assert 0 < box["numberReturned"] == box["numberMatched"] < 136


def _matched(server: str) -> dict[str, int]:
    return {name: httpx.get(f"{server}/ogc/collections/{name}/items", params={"limit": 1},
                            timeout=60).json()["numberMatched"] for name in COLLECTIONS}


def _known_hours(server: str) -> tuple[int, str, str]:
    """A love station with known weekly hours: its id, its hours in words and in OSM form."""
    features = httpx.get(f"{server}/ogc/collections/love_station/items", params={"limit": 1000},
                         timeout=60).json()["features"]
    known = next(feature["properties"] for feature in features
                 if feature["properties"]["opening_hours_osm"] not in ("", "24/7"))
    return known["station_id"], known["opening_hours"], known["opening_hours_osm"]


def test_ogr2ogr_saves_every_collection_to_geopackage_with_opening_hours_as_text(server: str,
                                                                                  tmp_path: Path) -> None:
    """QGIS failed here with "Unsupported type for field opening_hours" (a JSON object) on every station layer."""
    target = tmp_path / "all.gpkg"
    warnings = gdal_warnings("ogr2ogr", "-f", "GPKG", str(target), f"OAPIF:{server}/ogc", *COLLECTIONS)
    assert "Misconversion" not in warnings and "StringList" not in warnings, warnings
    matched = _matched(server)
    station_id, words, osm = _known_hours(server)
    with sqlite3.connect(target) as db:
        counts = {name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in COLLECTIONS}
        types = {row[1]: row[2] for name in STATION_TYPES for row in db.execute(f'PRAGMA table_info("{name}")')}
        saved = db.execute("SELECT opening_hours, opening_hours_text, opening_hours_osm FROM love_station "
                           "WHERE station_id = ?", (station_id,)).fetchone()
    assert counts == matched and all(matched.values()), (counts, matched)
    assert types["opening_hours"] == types["opening_hours_osm"] == types["amenities"] == "TEXT"
    assert saved == (words, words, osm)


def test_ogr2ogr_saves_every_collection_to_csv_with_opening_hours_as_text(server: str, tmp_path: Path) -> None:
    target = tmp_path / "csv"
    warnings = gdal_warnings("ogr2ogr", "-f", "CSV", str(target), f"OAPIF:{server}/ogc", *COLLECTIONS)
    assert "Misconversion" not in warnings and "StringList" not in warnings, warnings
    matched = _matched(server)
    rows = {name: list(csv.DictReader((target / f"{name}.csv").open(encoding="utf-8", newline="")))
            for name in COLLECTIONS}
    assert {name: len(found) for name, found in rows.items()} == matched and all(matched.values())
    station_id, words, osm = _known_hours(server)
    (saved,) = [row for row in rows["love_station"] if row["station_id"] == str(station_id)]
    assert (saved["opening_hours"], saved["opening_hours_text"], saved["opening_hours_osm"]) == (words, words, osm)
    assert "{" not in saved["opening_hours"] and "[" not in saved["amenities"]
