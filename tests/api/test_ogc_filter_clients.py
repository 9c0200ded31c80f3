"""CQL2 filters from real clients against a live server: GDAL 3.6's OAPIF driver pushes ``-where``
down as ``filter=…&filter-lang=cql-text`` (it finds that value in /ogc/api), and OWSLib reads the
queryables and sends ``filter``. Counts are checked against the REST API."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

httpx = pytest.importorskip("httpx")
Features = pytest.importorskip("owslib.ogcapi.features").Features

pytestmark = [pytest.mark.db, pytest.mark.clients]


@pytest.fixture(scope="module")
def server(live_server: str) -> str:
    """The app in a subprocess (tests/conftest.py): GDAL must not share a process with it."""
    return live_server


def rest_ids(server: str, **params: object) -> list[int]:
    stations = httpx.get(f"{server}/api/v1/stations", params={"type": "love_station", "limit": 1000, **params},
                         timeout=30).json()["features"]
    return sorted(int(feature["id"]) for feature in stations)


def ogrinfo(server: str, *arguments: str) -> tuple[int, str]:
    """Feature count ogrinfo reports for love_station, and its debug log (the URLs GDAL fetched)."""
    if shutil.which("ogrinfo") is None:
        pytest.fail("ogrinfo not found: install gdal-bin (scripts/setup.sh does on CI)")
    env = os.environ | {"NO_PROXY": "127.0.0.1,localhost", "GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "ON"}
    result = subprocess.run(["ogrinfo", "-ro", "-al", "-so", f"OAPIF:{server}/ogc", "love_station", *arguments],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "ERROR" not in result.stderr, result.stderr
    found = re.search(r"Feature Count: (\d+)", result.stdout)
    assert found, result.stdout
    return int(found[1]), result.stderr


def test_gdal_where_on_a_value_no_station_has_is_zero_features_sent_as_cql(server: str) -> None:
    count, log = ogrinfo(server, "-where", "status = 'bogus'")
    assert count == 0
    assert "filter-lang=cql-text" in log and "filter=status" in log  # evaluated by the server


def test_gdal_where_matches_the_rest_count(server: str) -> None:
    count, _ = ogrinfo(server, "-where", "status = 'open'")
    everything = rest_ids(server)
    open_ids = [i for i in everything if i in set(rest_ids(server, status="open"))]
    assert count == len(open_ids) and 0 < count < len(everything)


def test_gdal_where_and_spat_together(server: str) -> None:
    count, log = ogrinfo(server, "-where", "status = 'open'", "-spat", "115.9", "29.6", "116.05", "29.75")
    ours = httpx.get(f"{server}/ogc/collections/love_station/items", params={
        "filter": "status = 'open'", "bbox": "115.9,29.6,116.05,29.75", "limit": 1000}, timeout=30).json()
    assert count == ours["numberMatched"] > 0
    assert "bbox=" in log


def test_owslib_reads_queryables_and_filters(server: str) -> None:
    api = Features(f"{server}/ogc")
    queryables = api.collection_queryables("love_station")
    assert queryables["properties"]["status"]["enum"] == ["open", "closed", "planned"]
    assert queryables["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"
    page = api.collection_items("love_station", filter="status = 'open' AND station_id < 60", limit=1000)
    expected = [i for i in rest_ids(server, status="open") if i < 60]
    assert sorted(feature["properties"]["station_id"] for feature in page["features"]) == expected
    assert page["numberMatched"] == len(expected) > 0
    none = api.collection_items("love_station", filter="status = 'bogus'")
    assert none["numberMatched"] == 0
