"""What pages say about the city comes from its region folder: title, report, map centre, example point."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from api.app import create_app
from geo.reference.region import load_config
from geo.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

BeautifulSoup = pytest.importorskip("bs4").BeautifulSoup  # a test extra

pytestmark = pytest.mark.db


def test_the_finder_and_the_api_take_jiujiang_from_its_folder(client: TestClient, test_settings: Settings) -> None:
    region = load_config(test_settings.region_dir)
    assert (region.union_name, region.report_zh) == ("九江市总工会", "2019 年工作报告")
    page = BeautifulSoup(client.get("/finder").text, "html.parser")
    config = json.loads(page.find(id="finder-config").get_text())
    assert config["centre"] == [115.99, 29.70] and config["example"] == "115.99,29.71"
    assert page.find(id="coords")["placeholder"] == "经度,纬度 例 115.99,29.71"
    assert client.get("/openapi.json").json()["info"]["description"].strip().startswith("九江市总工会服务阵地目录")
    gaps = BeautifulSoup(client.get("/maps/gaps").text, "html.parser").find(id="unionmap-all-targets")
    assert gaps.find("summary").get_text() == "目标 / targets（2019 年工作报告）"


def test_another_city_names_itself_and_no_report_it_lacks(synthetic_region: Path) -> None:
    settings = Settings(database_url="postgresql+psycopg://nobody@/none", data_dir=synthetic_region,
                        region="synthetic")
    region = load_config(settings.region_dir)
    assert (region.union_name, region.report_zh, region.map_centre, region.example_point) == (
        "示例市总工会", None, None, None)
    description = create_app(settings).openapi()["info"]["description"]
    assert description.strip().startswith("示例市总工会服务阵地目录") and "九江" not in description
