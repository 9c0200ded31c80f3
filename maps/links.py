"""Links between the planner's pages, written once: the start page and the gaps map both send a
planner to the plan that closes a gap, and to the gaps map of a target or unit."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from geo.analysis.gaps import PlanQuestion


def href(path: str, **query: Any) -> str:
    """A same-site link, escaped for an attribute (codes come from the region's files)."""
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
