"""Which Host headers the server answers, and which base URL its absolute links name.

The OGC API writes absolute links (17-069r4 asks for them), built from the URL the client
asked for. Without a check, any client could send ``Host: evil.example`` and have that host
written into the links of a page a cache or a proxy then hands to others. So: requests whose
Host is not in ``settings.trusted_hosts`` get 400 (Starlette's ``TrustedHostMiddleware``), and
with ``settings.public_url`` set, links name that URL whatever the request's Host was.
"""

from __future__ import annotations

from ipaddress import AddressValueError, IPv6Address

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp

from api.regions_prefix import region_prefix
from geo.settings import Settings


def allowed_hosts(names: list[str]) -> list[str]:
    """The names as the middleware compares them: an IPv6 literal also in brackets (``[::1]``),
    the form it has in a Host header."""
    allowed = []
    for name in names:
        allowed.append(name)
        try:
            IPv6Address(name)
        except AddressValueError:
            continue
        allowed.append(f"[{name}]")
    return allowed


class TrustedHosts(TrustedHostMiddleware):
    """400 for a request whose Host is not one of ``settings.trusted_hosts`` (``*``: any)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        # No redirect to "www." + host: an untrusted host is refused, never sent anywhere.
        super().__init__(app, allowed_hosts=allowed_hosts(settings.trusted_hosts), www_redirect=False)


def public_base(request: Request) -> str:
    """The base URL links start with, without a trailing slash: ``public_url`` when configured
    (followed by this request's ``/r/{code}`` region prefix, if any), else the server as the client
    reached it (scheme, Host and any ASGI root path, the region's prefix included)."""
    configured: str | None = request.app.state.settings.public_url
    if configured:
        return configured.rstrip("/") + region_prefix(request.scope)
    return str(request.base_url).rstrip("/")


def public_url(request: Request, query: str | None = None) -> str:
    """This request's own URL under ``public_base`` (with ``query`` instead of its own when given)."""
    path = _route_path(request)
    query = request.url.query if query is None else query
    return public_base(request) + path + (f"?{query}" if query else "")


def _route_path(request: Request) -> str:
    """The path below the ASGI root path (which ``public_base`` already holds)."""
    path: str = request.url.path
    root = request.scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path
