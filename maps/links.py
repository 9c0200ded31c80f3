"""Links between the planner's pages, written once: the start page and the gaps map both send a
planner to the plan that closes a gap, and to the gaps map of a target or unit.

Every same-site path is written under the request's URL root (:data:`URL_ROOT`): the region's
``/r/{code}`` prefix in a multi-region deployment (set by ``api.regions_prefix``), and a proxy's
root path, so a page of one city links to that city's pages.
"""

from __future__ import annotations

from contextvars import ContextVar
from html import escape
from typing import Any
from urllib.parse import urlencode

from geo.analysis.gaps import PlanQuestion


# The URL root of the request being answered ("" at the site's root); set per request by the server.
URL_ROOT: ContextVar[str] = ContextVar("unionmap_url_root", default="")


def rooted(path: str) -> str:
    """A same-site absolute path (``/maps/gaps``) under the request's URL root, not escaped."""
    return URL_ROOT.get() + path if path.startswith("/") else path


def href(path: str, **query: Any) -> str:
    """A same-site link under the URL root, escaped for an attribute (codes come from the region's files)."""
    path = rooted(path)
    return escape(f"{path}?{urlencode(query)}" if query else path)


def plan_href(question: PlanQuestion) -> str:
    """The plan page asked ``question`` (escaped for an attribute)."""
    return href("/maps/plan", type=question.type_code, add=question.add, min_per_county=question.min_per_county)


def gaps_href(target_code: str, unit: str | None = None) -> str:
    """The gaps map of one target, zoomed to ``unit`` when given (escaped for an attribute)."""
    return href("/maps/gaps", target=target_code, **({"unit": unit} if unit else {}))


def finder_station_url(base: str, station_id: int, lon: float, lat: float) -> str:
    """The phone finder opened at one station: ``<base>/finder?station=<id>&lon=<lon>&lat=<lat>``.

    ``base`` is the site's public base URL without a trailing slash (``api.hosts.public_base``);
    lon/lat are WGS-84, six decimals (~0.1 m), so the finder can centre on the station before it
    has read it. Written once: the printed card's QR code and the finder both use it. Not escaped
    (a QR code holds it raw); a template escapes it where it is put.
    """
    return f"{base.rstrip('/')}/finder?{urlencode({'station': station_id, 'lon': f'{lon:.6f}', 'lat': f'{lat:.6f}'})}"
