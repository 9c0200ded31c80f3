"""The database knows its regions: ``load reference`` records each one, adds another city beside
those held (issue 17) or, with ``--replace``, puts it in the default's place; every command and the
server take the default from the database, and the region named when one is (issue 16)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from geo.services.region_of_database import RegionMismatch, active_region_of
from geo.services.transaction import session_scope
from geo.settings import Settings, get_settings
from tests.conftest import DATA_DIR

pytestmark = pytest.mark.db
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, list(args), terminal_width=400)
    finally:
        get_settings.cache_clear()
    return result.exit_code, " ".join(result.output.split())  # rich wraps long lines


def row(settings: Settings) -> tuple[str, str, str, str]:
    with session_scope(settings) as session:
        found = session.execute(text("SELECT code, name_zh, folder, config_hash FROM deployment_region "
                                     "WHERE is_default")).one()
    return tuple(found)  # type: ignore[return-value]


def scalar(settings: Settings, sql: str) -> object:
    with session_scope(settings) as session:
        return session.execute(text(sql)).scalar_one()


@pytest.fixture
def two_regions(scratch_settings: Settings, synthetic_region: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A data folder holding Jiujiang and the synthetic region; no region named in the environment."""
    shutil.copytree(DATA_DIR / "jiujiang", synthetic_region / "jiujiang")
    monkeypatch.setenv("UNIONMAP_DATA_DIR", str(synthetic_region))
    monkeypatch.delenv("UNIONMAP_REGION", raising=False)
    return Settings(database_url=scratch_settings.database_url, data_dir=synthetic_region)


def test_another_region_is_added_then_replaces_the_default_and_every_command_follows(
        two_regions: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = two_regions
    code, output = invoke("load", "reference")  # the default folder, jiujiang
    assert code == 0, output
    assert row(settings)[:3] == ("360400", "九江市", "jiujiang")
    assert invoke("load", "demo", "--seed", "1")[0] == 0
    demo_before = scalar(settings, "SELECT count(*) FROM station WHERE is_demo")
    assert demo_before > 0

    # Another city is added beside the default, which stays the default with its demo registry.
    code, output = invoke("load", "reference", "--region", "synthetic")
    assert code == 0, output
    assert "九江市" in output and "/r/990000/" in output, output
    assert row(settings)[0] == "360400"
    assert scalar(settings, "SELECT count(*) FROM deployment_region") == 2
    assert scalar(settings, "SELECT count(*) FROM region WHERE region_code = '990000'") == 7
    assert scalar(settings, "SELECT count(*) FROM station WHERE is_demo") == demo_before

    # Commands work on the default unless told; naming a region not held is an error naming those held.
    assert active_region_of(settings).code == "360400"
    monkeypatch.setenv("UNIONMAP_REGION", "synthetic")
    assert active_region_of(settings.model_copy(update={"region": "synthetic"})).code == "990000"
    code, output = invoke("gaps")
    assert code == 0 and "0/2" in output and "每县至少" in output, output  # the synthetic city's own target
    monkeypatch.setenv("UNIONMAP_REGION", "nowhere")
    for command in (["gaps"], ["load", "demo"], ["map", "render", "stations", "-o", "/dev/null"]):
        code, output = invoke(*command)
        assert code == 2 and "'nowhere'" in output and "360400" in output, (command, output)
    started: list[object] = []
    monkeypatch.setattr("api.serve.run", lambda *args, **kwargs: started.append(args))
    code, output = invoke("serve", "--port", "1")
    assert code == 2 and "'nowhere'" in output and not started, output
    monkeypatch.delenv("UNIONMAP_REGION")
    assert invoke("serve", "--port", "1")[0] == 0 and started  # the region need not be named
    import os
    assert os.environ.pop("UNIONMAP_REGION") == "jiujiang"  # serve tells its workers the default's folder

    # --replace: the synthetic city takes the default's place; Jiujiang leaves with its demo stations.
    code, output = invoke("load", "reference", "--region", "synthetic", "--replace")
    assert code == 0, output
    assert "九江市" in output and f"{demo_before} " in output  # what was replaced, and its demo stations
    code_, name, folder, first_hash = row(settings)
    assert (code_, name, folder) == ("990000", "示例市", "synthetic")
    assert scalar(settings, "SELECT count(*) FROM deployment_region") == 1
    assert scalar(settings, "SELECT count(*) FROM station WHERE is_demo") == 0
    assert scalar(settings, "SELECT count(*) FROM region WHERE code LIKE '36%'") == 0
    assert scalar(settings, "SELECT count(*) FROM demand_cell WHERE region_code = '360400'") == 0

    # Later commands take the synthetic region without being told.
    code, output = invoke("load", "demo", "--seed", "2")
    assert code == 0, output
    assert scalar(settings, "SELECT count(*) FROM station WHERE is_demo AND county_code NOT LIKE '9900%'") == 0
    assert scalar(settings, "SELECT count(*) FROM station WHERE is_demo AND county_code LIKE '9900%'") == 9

    # Loading the same region again updates the row (a changed folder, a new hash).
    loaded_at = scalar(settings, "SELECT loaded_at FROM deployment_region")
    targets = settings.data_dir / "synthetic" / "targets.yaml"
    targets.write_text(targets.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert invoke("load", "reference")[0] == 0
    assert row(settings)[3] != first_hash
    assert scalar(settings, "SELECT loaded_at FROM deployment_region") > loaded_at  # type: ignore[operator]

    # The server: it serves the database's region; a region named that is not held stops the start.
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings.model_copy(update={"solver_warm_at_start": False,
                                                                   "trusted_hosts": ["testserver"]}))) as client:
        assert client.app.state.region.code == "990000"  # type: ignore[attr-defined]
        assert client.get("/openapi.json").json()["info"]["description"].strip().startswith("示例市总工会")
    named = Settings(database_url=settings.database_url, data_dir=settings.data_dir, region="jiujiang",
                     solver_warm_at_start=False)
    with pytest.raises(RegionMismatch, match="'jiujiang'.*示例市.*990000"), TestClient(create_app(named)):
        pass

    # A database loaded before it recorded its regions: other counties there still stop a load.
    with session_scope(settings) as session:
        session.execute(text("DELETE FROM deployment_region"))
    code, output = invoke("load", "reference", "--region", "jiujiang")
    assert code == 2 and "990001" in output and "--replace" in output, output
