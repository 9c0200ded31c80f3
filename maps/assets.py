"""Leaflet, Bootstrap and Font Awesome served by the app itself, so no map needs a CDN.

Folium elements list their scripts and stylesheets as (name, CDN URL) pairs. ``localize``
replaces each by the file installed from the npm registry at set-up (``maps/assets``,
``scripts/setup.sh``) and fails on any name it does not know, so a new Folium element can
never slip a CDN URL into a page unnoticed.
"""

from __future__ import annotations

from pathlib import Path

import folium
from branca.element import Element

ASSETS_DIR = Path(__file__).resolve().parent / "assets" / "node_modules"
URL_PREFIX = "/static/vendor"

# Folium's asset name -> path under node_modules (None: not needed by our maps, dropped).
# Our maps draw circle markers and HTML (div) icons only, so Folium's defaults for icon markers
# (Bootstrap, Font Awesome, awesome-markers: ~500 KB) are dropped; a builder that starts using
# folium.Icon must put them back here. jQuery stays: Folium's popups are built with it.
LOCAL_ASSETS: dict[str, str | None] = {
    "leaflet": "leaflet/dist/leaflet.js",
    "jquery": "jquery/dist/jquery.min.js",
    "bootstrap": None,
    "awesome_markers": None,
    "leaflet_css": "leaflet/dist/leaflet.css",
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers_font_css": None,
    "awesome_markers_css": None,
    # Rotated awesome markers: unused.
    "awesome_rotate_css": None,
    "markerclusterjs": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/dist/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/dist/MarkerCluster.Default.css",
}


class UnknownAsset(LookupError):
    """A Folium element wants an asset that is not installed locally."""


def installed() -> bool:
    """True when ``scripts/setup.sh`` has installed the front-end packages."""
    return all((ASSETS_DIR / path).is_file() for path in LOCAL_ASSETS.values() if path)


def _local(pairs: list[tuple[str, str]], prefix: str) -> list[tuple[str, str]]:
    result = []
    for name, url in pairs:
        if name not in LOCAL_ASSETS:
            raise UnknownAsset(f"no local copy of {name!r} ({url}): add it to maps/assets")
        path = LOCAL_ASSETS[name]
        if path is not None:
            result.append((name, f"{prefix}/{path}"))
    return result


def localize(element: Element, *, prefix: str = URL_PREFIX) -> Element:
    """Point every script and stylesheet of ``element`` and its children at local copies."""
    for attribute in ("default_js", "default_css"):
        pairs = getattr(element, attribute, None)
        if pairs:
            setattr(element, attribute, _local(list(pairs), prefix))
    for child in list(element._children.values()):
        localize(child, prefix=prefix)
    return element


def render(map_: folium.Map, *, prefix: str = URL_PREFIX, standalone: bool = False) -> str:
    """The map as a complete HTML page that loads its assets from ``prefix``.

    ``standalone``: every script and stylesheet is inlined instead, so the saved file opens
    anywhere, offline, with no server (a planner's download).
    """
    localize(map_, prefix=prefix)
    html = map_.get_root().render()
    return _inline(html, prefix) if standalone else html


def _inline(html: str, prefix: str) -> str:
    """Replace each local <script src> and <link href> by the file's contents."""
    import re

    def script(match: re.Match[str]) -> str:
        body = (ASSETS_DIR / match[1][len(prefix) + 1:]).read_text(encoding="utf-8")
        return "<script>" + body.replace("</script", "<\\/script") + "</script>"

    def style(match: re.Match[str]) -> str:
        body = (ASSETS_DIR / match[1][len(prefix) + 1:]).read_text(encoding="utf-8")
        return f"<style>{body}</style>"

    html = re.sub(rf'<script src="({re.escape(prefix)}/[^"]+)"></script>', script, html)
    return re.sub(rf'<link rel="stylesheet" href="({re.escape(prefix)}/[^"]+)"\s*/?>', style, html)
