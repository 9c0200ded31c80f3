"""Schemathesis hooks of tests/api/test_schemathesis.py (loaded by ``st`` through its config's ``hooks``).

One request is left out, because the OGC standard itself makes the document and the server
differ there: ``limit`` has a ``maximum`` in the OGC API's schema (17-069r4
/req/core/fc-limit-definition; GDAL sizes its pages from it), yet a larger limit must be served
as the maximum, not refused (/req/core/fc-limit-response-1 C). Schemathesis would call that
"schema-violating request accepted". tests/api/test_ogc.py checks the served maximum instead.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from api.ogc.params import MAX_LIMIT  # st runs with the project on PYTHONPATH


def _above_maximum(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    return isinstance(value, int) and value > MAX_LIMIT


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    """False (do not send) for an OGC items request whose ``limit`` is a number above the maximum."""
    if not case.path.endswith("/items") or not isinstance(case.query, dict):
        return True
    return not _above_maximum(case.query.get("limit"))
