"""405 answers whose ``Allow`` names every method of the path, not only one route's.

Starlette answers a method no route takes with the first route that matches the path alone,
and lists *that route's* methods: ``/api/v1/stations/{id}`` is served by a GET route in one
router and PUT/PATCH/DELETE routes in another, so ``OPTIONS`` or ``POST`` there was told
``Allow: GET`` although the resource takes four methods (RFC 9110 §15.5.6: Allow lists the
methods the *target resource* supports). Routers whose paths are shared use this route class.
"""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from api import head
from api.admission import app_path

# Methods a route of this app may take, in the order Allow lists them.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(scope: Scope) -> list[str]:
    """Every method some route of the app takes on this request's path.

    Asks each top-level route of the app (included routers answer for their own routes) whether
    it would fully match the path with that method, through the public ``matches`` of
    Starlette's routes: no copy of the routing table to keep in step.
    """
    routes = scope["app"].router.routes
    probe_keys = ("type", "path", "raw_path", "root_path", "app_root_path", "query_string", "headers")
    allowed = []
    for method in METHODS:
        probe: Scope = {key: scope[key] for key in probe_keys if key in scope} | {"method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in routes):
            allowed.append(method)
    if "GET" in allowed and "HEAD" not in allowed and app_path(scope).startswith(head.PREFIXES):
        allowed.insert(allowed.index("GET") + 1, "HEAD")  # api.head answers HEAD wherever GET is
    return allowed


class AllowRoute(APIRoute):
    """An APIRoute whose 405 lists every method of its path (see the module's docstring)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, or 405 with the path's full ``Allow`` when no route takes the method."""
        # APIRoute always sets ``methods``: Starlette's None ("any method") never occurs here.
        if (scope["type"] == "http" and self.methods is not None and scope["method"] not in self.methods
                and "app" in scope):
            methods = allowed_methods(scope)
            if scope["method"] not in methods:
                raise HTTPException(status_code=405, headers={"Allow": ", ".join(methods)})
        await super().handle(scope, receive, send)
