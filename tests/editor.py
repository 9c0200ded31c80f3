"""Signing a test client in to the browser editor, as a planner's browser would."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

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
