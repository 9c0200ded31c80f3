"""The editor's pages: one Jinja environment that escapes everything, and the signed-in guard.

Every page of ``/edit`` is rendered here from ``api/editor/templates`` with autoescape on, so a
station's name or a rider's text is shown as text wherever a template puts it. The shell
(``base.html``) carries the session's CSRF token in a ``<meta>`` for ``edit.js`` (which sends it
with every write), the navigation and the sign-out form. Pages are never cached: they hold the
token and the registry as it is now. None of them is in the OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.deps import SessionDep
from api.editor.auth import CSRF_FIELD, editor_of, sign_in_location
from geo.services import reports
from geo.store.sessions import LiveSession
from maps.assets import own_url
from maps.links import URL_ROOT

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The shell's navigation: (path, label); a page is listed once it exists.
NAV: tuple[tuple[str, str], ...] = (("/edit", "站点 / stations"), ("/edit/bulk", "批量 / bulk"),
                                     ("/edit/reports", "骑手报告 / reports"))
NO_STORE = {"Cache-Control": "no-store"}

environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                          trim_blocks=True, lstrip_blocks=True)
environment.globals.update(asset=own_url, nav=NAV, csrf_field=CSRF_FIELD)


def require_editor(request: Request, session: SessionDep) -> LiveSession:
    """For the editor's pages: the signed-in editor, or a 303 to the sign-in page.

    Readers (no session) see nothing of ``/edit`` but the sign-in form; a session whose key has
    lost its write role since is sent there too.
    """
    live = editor_of(request, session)
    if live is None or not live.caller.can_write:
        raise HTTPException(303, detail="请先登录 / sign in first", headers={"Location": sign_in_location(request)})
    request.state.open_reports = reports.open_count(session)  # the nav's count on every page (one indexed count)
    return live


EditorDep = Annotated[LiveSession, Depends(require_editor)]


def page(template: str, request: Request, editor: LiveSession | None, *, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    """An editor page from ``template`` (``editor`` None: the signed-out sign-in page)."""
    html = environment.get_template(template).render(
        request_path=request.url.path, root=URL_ROOT.get(), editor=editor, csrf=editor.csrf_token if editor else "",
        actor=editor.caller.name if editor else "", open_reports=getattr(request.state, "open_reports", 0),
        **context)
    return HTMLResponse(html, status_code=status_code, headers=NO_STORE)
