"""Signing a test client in to the browser editor, as a planner's browser would."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from geo.store.keys import create_key

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(html: str) -> str:
    """The CSRF token an editor page carries for its scripts."""
    found = CSRF_META.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, session: Session, *, name: str = "县总工会规划员",
            role: str = "editor") -> dict[str, str]:
    """Sign ``client`` in with a new key of ``role``; the headers a page's script sends on writes."""
    key = create_key(session, name=name, role=role)
    response = client.post("/edit/sign-in", data={"key": key}, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get("/edit")
    assert page.status_code == 200, page.text
    return {"X-CSRF-Token": csrf_of(page.text)}


def stored_station(base_url: str, station_id: int) -> dict[str, Any]:
    """A station as a live server's API serves it now: its properties with ``lon`` and ``lat`` (WGS-84)."""
    import httpx  # a test extra

    answer = httpx.get(f"{base_url}/api/v1/stations/{station_id}", timeout=30)
    assert answer.status_code == 200, answer.text
    feature = answer.json()["features"][0]
    return feature["properties"] | {"lon": feature["geometry"]["coordinates"][0],
                                    "lat": feature["geometry"]["coordinates"][1]}
