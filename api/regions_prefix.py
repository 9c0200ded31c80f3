"""``/r/{code}/…``: the same app for every region a deployment holds.

A multi-region deployment serves each city under its own prefix (``/r/360100/maps/stations``,
``/r/360100/ogc/collections``); the bare paths serve the default region. This outermost ASGI
middleware moves the prefix into the ASGI ``root_path`` and records the region in the scope, so
routing, every middleware (through :func:`app_path`) and every link built from the root path
stay inside the region without knowing about it; links written by hand take the same root from
``maps.links.URL_ROOT``, set here for every request. An unknown code is a 404 naming the regions
held.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import JSONResponse

from api.admission import ASGIApp, Receive, Scope, Send, app_path
from maps.links import URL_ROOT

PREFIX = "/r/"
REGION_KEY = "unionmap.region"  # the scope's key: the region code of this request
_PREFIXED = re.compile(r"^/r/([0-9A-Za-z_-]{1,12})(?=/|$)")


def region_of_scope(scope: Scope | dict[str, Any]) -> str | None:
    """The region code this request's path named, or None (the default region)."""
    return scope.get(REGION_KEY)


def region_prefix(scope: Scope | dict[str, Any]) -> str:
    """``/r/{code}`` when this request's path named a region, else ""."""
    code = scope.get(REGION_KEY)
    return f"{PREFIX}{code}" if code else ""


def site_root(scope: Scope | dict[str, Any]) -> str:
    """The site's own root path: the root path without this request's ``/r/{code}`` prefix."""
    root: str = scope.get("root_path", "")
    code = scope.get(REGION_KEY)
    return root[: -len(PREFIX + code)] if code and root.endswith(PREFIX + code) else root


class RegionPrefix:
    """Serve ``/r/{code}/rest`` as ``/rest`` of region ``code`` (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, held: Any) -> None:
        self.app = app
        self.held = held  # () -> the codes held, read per request (the app's regions may be reloaded)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path = app_path(scope)
            match = _PREFIXED.match(path)
            if match is not None:
                code = match.group(1)
                held = self.held()
                if code not in held:
                    response = JSONResponse(status_code=404, content={
                        "detail": f"没有地区 {code} / no region {code!r} here; regions held: {', '.join(held)}"})
                    await response(scope, receive, send)
                    return
                scope = dict(scope)
                scope["root_path"] = scope.get("root_path", "") + match.group(0)
                scope[REGION_KEY] = code
                if path == match.group(0):  # /r/360100 → the region's start page
                    scope["path"] = scope["path"] + "/"
                    scope["raw_path"] = scope["path"].encode()
            token = URL_ROOT.set(scope.get("root_path", ""))
            try:
                await self.app(scope, receive, send)
            finally:
                URL_ROOT.reset(token)
            return
        await self.app(scope, receive, send)
