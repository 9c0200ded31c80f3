"""The offline basemap's file: served by Range, never compressed, 404 without one; the maps draw
it only when it is there, and a downloaded map leaves it out with a note."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geo.settings import Settings
from maps import assets, vector_basemap
from tests import tiny_pmtiles

URL = "/tiles/basemap.pmtiles"
PLUGIN = "/static/vendor/protomaps-leaflet/dist/protomaps-leaflet.js"


@pytest.fixture
def pmtiles_file(tmp_path: Path) -> Path:
    return tiny_pmtiles.write(tmp_path / "jiujiang.pmtiles", (115.99, 29.70))


def app_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def tiles_client(test_settings: Settings, pmtiles_file: Path) -> Iterator[TestClient]:
    yield from app_client(test_settings.model_copy(update={"basemap": "pmtiles", "basemap_pmtiles": pmtiles_file}))


def test_range_requests_get_the_bytes_asked_for(tiles_client: TestClient, pmtiles_file: Path) -> None:
    content = pmtiles_file.read_bytes()
    answer = tiles_client.get(URL, headers={"Range": "bytes=0-126", "Accept-Encoding": "gzip"})
    assert answer.status_code == 206
    assert answer.content == content[:127] and answer.content[:7] == b"PMTiles"
    assert answer.headers["content-range"] == f"bytes 0-126/{len(content)}"
    assert answer.headers["content-type"] == "application/vnd.pmtiles"
    assert "content-encoding" not in answer.headers
    assert answer.headers["cache-control"] == "no-cache"
    tail = tiles_client.get(URL, headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == content[-100:]
    outside = tiles_client.get(URL, headers={"Range": f"bytes={len(content) + 10}-"})
    assert outside.status_code == 416


def test_whole_file_and_head(tiles_client: TestClient, pmtiles_file: Path) -> None:
    whole = tiles_client.get(URL, headers={"Accept-Encoding": "gzip"})
    assert whole.status_code == 200 and whole.content == pmtiles_file.read_bytes()
    assert "content-encoding" not in whole.headers  # the tiles inside are gzip already
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["etag"]
    modified = parsedate_to_datetime(whole.headers["last-modified"]).timestamp()
    assert modified == pytest.approx(pmtiles_file.stat().st_mtime, abs=1)
    head = tiles_client.head(URL)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(pmtiles_file.stat().st_size)
    assert head.headers["etag"] == whole.headers["etag"]


def test_no_file_configured_is_404_naming_the_setting(client: TestClient) -> None:
    answer = client.get(URL)
    assert answer.status_code == 404
    assert "UNIONMAP_BASEMAP_PMTILES" in answer.json()["detail"]
    assert client.head(URL).status_code == 404


def test_maps_draw_the_basemap_from_the_app(tiles_client: TestClient) -> None:
    page = tiles_client.get("/maps/stations").text
    assert f'src="{PLUGIN}"></script>' in page
    assert 'unionmapPmtiles(map, {url: "/tiles/basemap.pmtiles"' in page
    # the layer's own script, after the plug-in
    assert f'src="{assets.own_url("pmtiles-basemap.js")}"></script>' in page
    assert json.dumps(vector_basemap.ATTRIBUTION) in page  # as the script's string
    assert tiles_client.get(PLUGIN).status_code == 200


def test_without_the_setting_no_page_loads_the_plugin(client: TestClient) -> None:
    page = client.get("/maps/stations").text
    assert "protomaps" not in page


def test_a_download_leaves_the_basemap_out_and_says_so(tiles_client: TestClient) -> None:
    download = tiles_client.get("/maps/stations", params={"download": "true"}).text
    assert "protomapsL" not in download and "/tiles/" not in download and "unionmapPmtiles" not in download
    assert json.dumps(vector_basemap.DOWNLOAD_NOTE) in download
    assert assets.LOCAL_ASSETS["protomaps_leaflet"] is not None


def test_a_missing_file_draws_no_basemap(test_settings: Settings, tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    settings = test_settings.model_copy(update={"basemap": "pmtiles", "basemap_pmtiles": tmp_path / "gone.pmtiles"})
    assert settings.drawn_basemap == "none"
    with caplog.at_level("ERROR", logger="unionmap.app"):
        for client in app_client(settings):
            assert "protomaps" not in client.get("/maps/stations").text
            answer = client.get(URL)
            assert answer.status_code == 404 and "missing" in answer.json()["detail"]
            assert str(tmp_path) not in answer.text  # the server's paths are its own business
    assert any("gone.pmtiles" in record.getMessage() for record in caplog.records)


def test_the_file_alone_selects_the_basemap(tmp_path: Path) -> None:
    assert Settings(basemap_pmtiles=tmp_path / "a.pmtiles").basemap == "pmtiles"
    assert Settings(basemap="osm", basemap_pmtiles=tmp_path / "a.pmtiles").basemap == "osm"
    with pytest.raises(ValueError, match="UNIONMAP_BASEMAP_PMTILES"):
        Settings(basemap="pmtiles")
