"""No input makes the API fail: schemathesis fuzzes every operation of its own OpenAPI.

It runs as a real client against the app in a subprocess. Checks: no 5xx, every status code
documented, every body matching its documented schema, content types as documented. The siting
run (POST /api/v1/plans) is left out: random ``add``/``method=exact`` would spend minutes in the
solver per example; it has its own tests. Writes are fuzzed without a key (they must answer 401
cleanly); the OGC endpoints are tested with GDAL and OWSLib.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.db


def test_no_input_breaks_the_api(live_server: str, tmp_path: Path) -> None:
    st = shutil.which("st", path=str(Path(sys.executable).parent))
    assert st, "schemathesis is part of the test extras"
    command = [st, "run", f"{live_server}/openapi.json",
               "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance,"
                           "content_type_conformance",
               "--max-examples", "15", "--seed", "20261124", "--phases", "examples,fuzzing",
               "--exclude-operation-id", "run_plan_api_v1_plans_post", "--exclude-path-regex", "^/ogc",
               "--request-timeout", "30", "--report-dir", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    tail = "\n".join(result.stdout.splitlines()[-60:])
    assert result.returncode == 0, tail
    generated = re.search(r"(\d+) generated", result.stdout)
    assert generated and int(generated[1]) > 100, tail  # it really sent requests
