"""Both OpenAPI documents say what the server does: schemathesis checks every operation against them.

It runs as a real client (``st``) against ``unionmap serve`` in a subprocess, once on FastAPI's
``/openapi.json`` and once on the OGC service description ``/ogc/api``, with an editor key, so
that writes get past authentication to their real answers. The checks are those about the
documents: no 5xx; every status code, content type, documented header and body as documented;
requests the schema forbids are refused; a missing required header is refused (428 counts: it
is what RFC 6585 made for a missing If-Match); a method a path does not take gets 405 with an
``Allow`` that lists exactly the documented methods. Any new disagreement fails the test.

The server has a database of its own (the fuzzer writes), holding Jiujiang, the demo registry and
stations whose optional fields are empty, which the reads of one station are pinned to. Left
out, for time: the siting runs (``POST /api/v1/plans`` and the plan map spend seconds in the
solver per example; they have their own tests), and the coverage phase of the other maps (a
second each). The one request left out because the OGC standard itself asks the document and
the server to differ is in ``schemathesis_hooks.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from geo.store.keys import create_key

pytestmark = [pytest.mark.db, pytest.mark.clients]

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
          "response_schema_conformance", "negative_data_rejection", "missing_required_header", "unsupported_method",
          "allow_header_conformance")
POINT = [115.99, 29.71]  # in 浔阳区


@dataclass(frozen=True)
class FuzzServer:
    url: str
    key: str
    empty_station: int  # type and name only, no county or township: the reads are pinned to it
    edited_station: int  # PUT and PATCH are pinned to it
    deleted_station: int  # DELETE is pinned to it


def _run_cli(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run([str(Path(sys.executable).parent / "unionmap"), *args], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def _post_station(url: str, key: str, properties: dict[str, object]) -> int:
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": POINT}, "properties": properties}
    request = urllib.request.Request(f"{url}/api/v1/stations", data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(json.loads(response.read())["id"])


@pytest.fixture(scope="module")
def fuzz_server(databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzServer]:  # noqa: ANN001
    """``unionmap serve`` (one worker) on a database of its own, with the stations and key above."""
    name = f"unionmap_fuzz_{os.getpid()}"
    database_url = databases.create(name)
    env = os.environ | {"DATABASE_URL": database_url, "UNIONMAP_DATA_DIR": str(ROOT / "data"),
                        "UNIONMAP_REGION": "jiujiang", "NO_PROXY": "127.0.0.1,localhost"}
    _run_cli("load", "reference", env=env)
    _run_cli("load", "demo", "--seed", "7", env=env)
    engine = create_engine(database_url)
    with Session(engine) as session:
        key = create_key(session, name="schemathesis", role="editor")
        session.commit()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("fuzz-server") / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen([str(Path(sys.executable).parent / "unionmap"), "serve", "--host", "127.0.0.1",
                                    "--port", str(port), "--workers", "1"],
                                   env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text(errors="replace")
            try:
                with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                time.sleep(0.2)
        empty, edited, deleted = (_post_station(url, key, {"type_code": "love_station", "name": name})
                                  for name in ("空字段驿站", "待修改驿站", "待删除驿站"))
        with engine.begin() as connection:  # as outside every township polygon: no county, no township
            connection.execute(text("ALTER TABLE station DISABLE TRIGGER station_assign_region"))
            connection.execute(text("UPDATE station SET county_code = NULL, township_code = NULL WHERE id = :id"),
                               {"id": empty})
            connection.execute(text("ALTER TABLE station ENABLE TRIGGER station_assign_region"))
        yield FuzzServer(url, key, empty, edited, deleted)
    finally:  # the whole process group: solver processes the server started go with it
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        engine.dispose()
        databases.drop(name)


def _config(server: FuzzServer) -> str:
    """schemathesis.toml: the hooks, 428 for a missing header, the pinned ids, the cheaper maps."""
    station = {"type_code": "love_station", "name": "模糊测试驿站"}
    body = f'"body.geometry.coordinates" = {json.dumps(POINT)}, "body.properties" = {{ {_toml(station)} }}'
    return f"""
hooks = "schemathesis_hooks"
[checks.missing_required_header]
expected-statuses = ["400", "401", "403", "406", "415", "422", "428"]

[[operations]]
include-name = ["GET /api/v1/stations/{{station_id}}", "GET /api/v1/stations/{{station_id}}/history",
                "GET /maps/station/{{station_id}}"]
parameters = {{ station_id = {server.empty_station} }}
[[operations]]
include-name = ["GET /ogc/collections/{{collection_id}}/items/{{feature_id}}"]
parameters = {{ collection_id = "love_station", feature_id = "{server.empty_station}" }}
[[operations]]
include-name = ["GET /collections/{{collectionId}}/items/{{featureId}}"]
parameters = {{ collectionId = "love_station", featureId = "{server.empty_station}" }}
[[operations]]
include-name = ["PUT /api/v1/stations/{{station_id}}", "PATCH /api/v1/stations/{{station_id}}"]
parameters = {{ station_id = {server.edited_station}, {body} }}
[[operations]]
include-name = ["DELETE /api/v1/stations/{{station_id}}"]
parameters = {{ station_id = {server.deleted_station} }}
[[operations]]
include-name = ["POST /api/v1/stations"]
parameters = {{ {body} }}
[[operations]]
include-path-regex = "^/maps/"
generation = {{ max-examples = 3 }}
phases = {{ coverage = {{ enabled = false }} }}
"""


def _toml(values: dict[str, str]) -> str:
    return ", ".join(f"{name} = {json.dumps(value, ensure_ascii=False)}" for name, value in values.items())


@pytest.mark.parametrize("document", ["/openapi.json", "/ogc/api"])
def test_the_documents_say_what_the_server_does(fuzz_server: FuzzServer, document: str, tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is part of the test extras"
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(fuzz_server), encoding="utf-8")
    command = [st, "--config-file", str(config), "run", f"{fuzz_server.url}{document}",
               "--header", f"Authorization: Bearer {fuzz_server.key}", "--checks", ",".join(CHECKS),
               "--max-examples", "10", "--seed", "20261124", "--phases", "coverage,fuzzing",
               "--exclude-operation-id", "run_plan_api_v1_plans_post", "--exclude-path", "/maps/plan",
               "--request-timeout", "30", "--report-dir", str(tmp_path), "--no-color"]
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(ROOT)])}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    failures = result.stdout.find(" FAILURES ")  # every failure, not only the last screenful
    tail = result.stdout[failures:] if failures >= 0 else "\n".join(result.stdout.splitlines()[-80:])
    assert result.returncode == 0, tail
    generated = re.search(r"(\d+) generated", result.stdout)
    assert generated and int(generated[1]) > 500, tail  # it really sent requests
