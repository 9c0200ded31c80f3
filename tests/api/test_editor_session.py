"""The browser editor's door: sign-in for editor keys only, a cookie that expires, CSRF on writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.editor.auth import COOKIE
from geo.store.keys import create_key, revoke_key
from tests.editor import csrf_of, sign_in

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.db

FEATURE = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [115.99, 29.71]},
           "properties": {"type_code": "love_station", "name": "会话新建驿站", "opening_hours": "24/7"}}


def live_sessions(session: Session) -> int:
    return session.execute(text("SELECT count(*) FROM editor_session WHERE ended_at IS NULL")).scalar_one()


def test_readers_see_only_the_sign_in_form(client: TestClient) -> None:
    response = client.get("/edit", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/edit/sign-in?next=%2Fedit"
    form = client.get("/edit/sign-in")
    assert form.status_code == 200 and 'name="key"' in form.text and "csrf-token" not in form.text
    assert not any(path.startswith("/edit") for path in client.get("/openapi.json").json()["paths"])


def test_sign_in_sets_a_strict_http_only_cookie_and_names_the_actor(client: TestClient, session: Session) -> None:
    key = create_key(session, name="濂溪区总工会", role="editor")
    response = client.post("/edit/sign-in", data={"key": key, "next": "/edit"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/edit"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Max-Age=28800" in cookie and "Secure" not in cookie  # plain HTTP in the test; 8 h by default
    assert key not in cookie and key not in response.headers.get("location", "")
    page = client.get("/edit")
    assert page.status_code == 200 and "濂溪区总工会" in page.text and page.headers["cache-control"] == "no-store"
    created = client.post("/api/v1/stations", json=FEATURE, headers={"X-CSRF-Token": csrf_of(page.text)})
    assert created.status_code == 201, created.text
    actor = session.execute(text("SELECT changed_by FROM station_history WHERE station_id = :id"),
                            {"id": created.json()["id"]}).scalar_one()
    assert actor == "key:濂溪区总工会"


def test_wrong_and_read_only_keys_get_no_session(client: TestClient, session: Session) -> None:
    wrong = client.post("/edit/sign-in", data={"key": "um_nope_nope"}, follow_redirects=False)
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers and "密钥无效" in wrong.text
    reader = create_key(session, name="只读应用", role="reader")
    refused = client.post("/edit/sign-in", data={"key": reader}, follow_redirects=False)
    assert refused.status_code == 403 and "只读" in refused.text and "set-cookie" not in refused.headers
    assert live_sessions(session) == 0


def test_next_goes_to_this_site_only(client: TestClient, session: Session) -> None:
    key = create_key(session, name="甲", role="editor")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        response = client.post("/edit/sign-in", data={"key": key, "next": target}, follow_redirects=False)
        assert response.headers["location"] == "/edit", target


def test_a_write_without_the_token_is_refused(client: TestClient, session: Session) -> None:
    headers = sign_in(client, session)
    before = session.execute(text("SELECT count(*) FROM station")).scalar_one()
    missing = client.post("/api/v1/stations", json=FEATURE)
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    wrong = client.post("/api/v1/stations", json=FEATURE, headers={"X-CSRF-Token": "x" + headers["X-CSRF-Token"]})
    assert wrong.status_code == 403 and "does not belong" in wrong.json()["detail"]
    assert session.execute(text("SELECT count(*) FROM station")).scalar_one() == before
    assert client.post("/api/v1/stations", json=FEATURE, headers=headers).status_code == 201


def test_a_cross_site_sign_in_form_is_refused(client: TestClient, session: Session) -> None:
    key = create_key(session, name="甲", role="editor")
    response = client.post("/edit/sign-in", data={"key": key}, headers={"Origin": "https://evil.example"},
                           follow_redirects=False)
    assert response.status_code == 403 and "set-cookie" not in response.headers


def test_an_expired_session_is_signed_out(client: TestClient, session: Session) -> None:
    headers = sign_in(client, session)
    session.execute(text("UPDATE editor_session SET expires_at = now() - interval '1 second'"))
    assert client.get("/edit", follow_redirects=False).status_code == 303
    assert client.post("/api/v1/stations", json=FEATURE, headers=headers).status_code == 401


def test_revoking_the_key_ends_its_sessions(client: TestClient, session: Session) -> None:
    sign_in(client, session, name="将被吊销")
    prefix = session.execute(text("SELECT prefix FROM api_key WHERE name = '将被吊销'")).scalar_one()
    assert revoke_key(session, prefix)
    assert client.get("/edit", follow_redirects=False).status_code == 303


def test_sign_out_needs_the_token_and_ends_the_session(client: TestClient, session: Session) -> None:
    headers = sign_in(client, session)
    refused = client.post("/edit/sign-out", data={}, follow_redirects=False)
    assert refused.status_code == 403 and live_sessions(session) == 1
    out = client.post("/edit/sign-out", data={"csrf_token": headers["X-CSRF-Token"]}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/edit/sign-in?signed_out=1"
    assert live_sessions(session) == 0 and f'{COOKIE}=""' in out.headers["set-cookie"]
    assert client.get("/edit", follow_redirects=False).status_code == 303


def test_the_session_length_is_a_setting(client: TestClient, session: Session) -> None:
    client.app.state.settings.editor_session_hours = 0.5  # type: ignore[attr-defined]
    try:
        key = create_key(session, name="甲", role="editor")
        cookie = client.post("/edit/sign-in", data={"key": key}, follow_redirects=False).headers["set-cookie"]
        assert "Max-Age=1800" in cookie
        left = session.execute(text("SELECT expires_at - now() FROM editor_session")).scalar_one()
        assert 1790 <= left.total_seconds() <= 1800
    finally:
        client.app.state.settings.editor_session_hours = 8.0  # type: ignore[attr-defined]


def test_hostile_key_names_are_shown_as_text(client: TestClient, session: Session) -> None:
    sign_in(client, session, name='<script>alert("k")</script>')
    page = client.get("/edit").text
    assert '<script>alert("k")' not in page and "&lt;script&gt;alert(&#34;k&#34;)&lt;/script&gt;" in page


def test_every_editor_page_counts_the_open_reports(client: TestClient, session: Session) -> None:
    headers = sign_in(client, session)
    before = session.execute(text("SELECT count(*) FROM station_report r JOIN station s ON s.id = r.station_id "
                                  "WHERE r.resolution IS NULL AND s.deleted_at IS NULL")).scalar_one()
    station = client.post("/api/v1/stations", json=FEATURE, headers=headers).json()["id"]
    for kind in ("closed", "no_water"):
        assert client.post(f"/api/v1/stations/{station}/reports", json={"kind": kind}).status_code == 201
    page = client.get("/edit/bulk").text
    assert f'aria-label="{before + 2} 条待处理">{before + 2}</span>' in page
