"""The editor's session cookie and CSRF check, between the browser and ``geo.store.sessions``.

A planner signs in once with an editor key; the browser then holds only a session cookie:
HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Secure when the
site is served over HTTPS, and it expires. Every write made with the cookie must also send the
session's CSRF token in the ``X-CSRF-Token`` header (or, for a plain form, a ``csrf_token``
field): a page of another origin cannot read the token, so it cannot forge a write even in a
browser that ignores SameSite.

A request with an API key header is judged by the key alone; the cookie is read only without one.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from fastapi import HTTPException, Request, Response
from sqlalchemy.orm import Session

from geo.services.transaction import end_reads
from geo.settings import Settings
from geo.store import sessions
from geo.store.keys import Caller
from geo.store.sessions import LiveSession
from maps.links import rooted

COOKIE = "unionmap_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SIGN_IN = "/edit/sign-in"
CSRF_MISSING = ("缺少 CSRF 令牌：浏览器会话的写操作须带 X-CSRF-Token 头 / a write with the editor's session cookie "
                "must send the session's token in the X-CSRF-Token header")
CSRF_WRONG = "CSRF 令牌不符 / the X-CSRF-Token does not belong to this session"


def editor_of(request: Request, session: Session) -> LiveSession | None:
    """The live editor session of the request's cookie, or None; read once per request."""
    if hasattr(request.state, "editor"):
        return request.state.editor  # type: ignore[no-any-return]
    token = request.cookies.get(COOKIE)
    live = sessions.live(session, token) if token else None
    end_reads(session)
    request.state.editor = live
    return live


def session_caller(request: Request, session: Session, *, form_token: str | None = None) -> Caller | None:
    """The caller of the cookie's session, when the request may act with it.

    Reads (GET, HEAD) need no token. A write needs the session's CSRF token (the header, or
    ``form_token`` from a form): a wrong one is refused (403); a missing one leaves the request
    anonymous, so a public form (a rider's report, a plan) works for a signed-in planner too,
    and a write route then explains the missing token (``require_writer``).
    """
    live = editor_of(request, session)
    if live is None:
        return None
    if request.method in SAFE_METHODS:
        return live.caller
    sent = request.headers.get(CSRF_HEADER) or form_token
    if not sent:
        request.state.csrf_missing = True
        return None
    if not secrets.compare_digest(sent.encode(), live.csrf_token.encode()):
        raise HTTPException(403, detail=CSRF_WRONG)
    return live.caller


def csrf_missing(request: Request) -> bool:
    """Whether this request came with a live session cookie but no CSRF token (a write refused)."""
    return bool(getattr(request.state, "csrf_missing", False))


def is_https(request: Request, settings: Settings) -> bool:
    """Whether the browser reached the site over HTTPS (directly, or as ``public_url`` says)."""
    return request.url.scheme == "https" or (settings.public_url or "").startswith("https://")


def set_cookie(response: Response, token: str, request: Request, settings: Settings) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure over HTTPS, for the session's hours."""
    response.set_cookie(COOKIE, token, max_age=int(settings.editor_session_hours * 3600), path="/",
                        httponly=True, samesite="strict", secure=is_https(request, settings))


def clear_cookie(response: Response, request: Request, settings: Settings) -> None:
    """Remove the session cookie from the browser (sign-out, or a session that has ended)."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=is_https(request, settings))


def sign_in_location(request: Request) -> str:
    """The sign-in page, with the page asked for to come back to (a local path only)."""
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{rooted(SIGN_IN)}?next={quote(path, safe='')}"
