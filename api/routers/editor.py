"""The editor's door: sign in with an editor key, sign out, and the editor's first page.

Not in the OpenAPI document: these are pages and form posts for people in a browser; programs
write with a key in a header (``api.routers.station_writes``). The key travels only in the
body of the sign-in POST, never in a URL or a log line; what the browser keeps is the session
cookie (``api.editor.auth``).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import RegionDep, SessionDep, SettingsDep, client_of
from api.editor import auth
from api.editor.pages import EditorDep, page
from api.routers import editor_stations
from geo.services.transaction import unit_of_work
from geo.store import sessions
from geo.store.keys import authenticate
from maps.links import rooted

router = APIRouter(prefix="/edit", include_in_schema=False)


def _local(path: str | None) -> str:
    """Where to go after signing in: a path on this site only (never another host)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or urlsplit(path).netloc:
        return rooted("/edit")
    return path


def _same_origin(request: Request) -> None:
    """A form post from another site's page is refused (SameSite covers the cookie, not sign-in)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise HTTPException(403, detail="跨站提交被拒绝 / a form from another site is refused")


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, settings: SettingsDep, next: str | None = None,
                 signed_out: bool = False) -> HTMLResponse:
    """The sign-in form (the only page of /edit a reader sees); after signing out, it says so."""
    return page("sign_in.html", request, None, title="编辑登录 / sign in", page_kind="sign-in",
                next=_local(next), hours=f"{settings.editor_session_hours:g}", message=None, signed_out=signed_out)


@router.post("/sign-in", response_class=HTMLResponse, response_model=None)
def sign_in(request: Request, session: SessionDep, settings: SettingsDep,
            key: Annotated[str, Form(max_length=200)], next: Annotated[str | None, Form(max_length=2000)] = None,
            ) -> HTMLResponse | RedirectResponse:
    """Exchange an editor key for a session cookie; a wrong key counts against the client."""
    _same_origin(request)
    failures, client = request.app.state.key_failures, client_of(request)
    failures.check(client, "密钥错误次数过多，请稍后再试 / too many wrong keys from this client")
    caller = authenticate(session, key.strip())
    message = None
    if caller is None:
        failures.record(client)
        message, status = "密钥无效或已吊销 / unknown or revoked key", 401
    elif not caller.can_write:
        message, status = f"密钥“{caller.name}”是只读的，不能编辑 / key {caller.name!r} is read-only", 403
    if message is not None:
        return page("sign_in.html", request, None, status_code=status, title="编辑登录 / sign in",
                    page_kind="sign-in", next=_local(next), hours=f"{settings.editor_session_hours:g}",
                    message=message)
    assert caller is not None
    with unit_of_work(session, actor=caller.actor):
        new = sessions.start(session, caller, hours=settings.editor_session_hours)
    response = RedirectResponse(_local(next), status_code=303)
    auth.set_cookie(response, new.token, request, settings)
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep, settings: SettingsDep,
             csrf_token: Annotated[str | None, Form(max_length=200)] = None) -> RedirectResponse:
    """End the session (its token must come with the form) and forget the cookie."""
    caller = auth.session_caller(request, session, form_token=csrf_token)
    token = request.cookies.get(auth.COOKIE)
    if caller is not None and token:
        with unit_of_work(session, actor=caller.actor):
            sessions.end(session, token)
    elif auth.csrf_missing(request):
        raise HTTPException(403, detail=auth.CSRF_MISSING)
    response = RedirectResponse(f"{rooted(auth.SIGN_IN)}?signed_out=1", status_code=303)
    auth.clear_cookie(response, request, settings)
    return response


@router.get("", response_class=HTMLResponse)
def editor_home(request: Request, editor: EditorDep, session: SessionDep, settings: SettingsDep,
                region: RegionDep) -> HTMLResponse:
    """The editor's first page (signed in only): find stations by name, address, type, region, status."""
    expires = editor.expires_at.astimezone(ZoneInfo(region.timezone))
    return editor_stations.home_page(request, editor, session, settings, region,
                                     expires=expires.strftime("%Y-%m-%d %H:%M"))
