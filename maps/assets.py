"""Leaflet and the project's own CSS/JS served by the app itself, so no map needs a CDN.

Folium elements list their scripts and stylesheets as (name, CDN URL) pairs. ``localize``
replaces each by the file installed from the npm registry at set-up (``maps/assets``,
``scripts/setup.sh``), or by one of the project's own files (``maps/static``), and fails on any
name it does not know, so a new Folium element can never slip a CDN URL into a page unnoticed.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path

import folium
from branca.element import Element

from maps.shell import without_folium_viewport
from maps.vector_basemap import VectorBasemap

ASSETS_DIR = Path(__file__).resolve().parent / "assets" / "node_modules"
URL_PREFIX = "/static/vendor"
OWN_DIR = Path(__file__).resolve().parent / "static"
OWN_PREFIX = "/static/unionmap"
# Our element's asset name -> file under OWN_DIR (maps.shell.ShellAssets).
OWN_ASSETS = {"unionmap_js": "unionmap.js", "unionmap_css": "unionmap.css", "plan_js": "plan.js",
              "pmtiles_basemap_js": "pmtiles-basemap.js"}

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
    # maps.vector_basemap: only on pages with the PMTiles basemap (BSD-3-Clause, 128 KB, 38 KB gzip).
    "protomaps_leaflet": "protomaps-leaflet/dist/protomaps-leaflet.js",
}


class UnknownAsset(LookupError):
    """A Folium element wants an asset that is not installed locally."""


def installed() -> bool:
    """True when ``scripts/setup.sh`` has installed the front-end packages."""
    return all((ASSETS_DIR / path).is_file() for path in LOCAL_ASSETS.values() if path)


@cache
def own_version(file: str) -> str:
    """A short hash of one of our files, for its URL: a changed file is a new URL, never a stale copy."""
    return hashlib.sha256((OWN_DIR / file).read_bytes()).hexdigest()[:10]


def own_url(file: str) -> str:
    """The URL of one of our own files (``maps/static``), versioned by its content."""
    return f"{OWN_PREFIX}/{file}?v={own_version(file)}"


def _local(pairs: list[tuple[str, str]], prefix: str) -> list[tuple[str, str]]:
    result = []
    for name, url in pairs:
        if name in OWN_ASSETS:
            result.append((name, own_url(OWN_ASSETS[name])))
            continue
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
    """The map as a complete HTML page that loads its vendor assets from ``prefix``, ours from
    ``OWN_PREFIX``.

    ``standalone``: every script and stylesheet is inlined instead, so the saved file opens
    anywhere, offline, with no server (a planner's download); a PMTiles basemap, which only the
    server has, is left out with a note (``maps.vector_basemap``).
    """
    if standalone:
        for element in _descendants(map_):
            if isinstance(element, VectorBasemap):
                element.for_download()
    localize(map_, prefix=prefix)
    html = without_folium_viewport(map_.get_root().render())
    return _inline(html, {prefix: ASSETS_DIR, OWN_PREFIX: OWN_DIR}) if standalone else html


def _descendants(element: Element) -> list[Element]:
    children = list(element._children.values())
    return [element, *(found for child in children for found in _descendants(child))]


def _inline(html: str, directories: dict[str, Path]) -> str:
    """Replace each local <script src> and <link href> (URL prefix -> directory) by the file's contents."""
    def contents(match: re.Match[str]) -> str:
        return (directories[match[1]] / match[2]).read_text(encoding="utf-8")

    # The ``?v=`` of our own files only names a version.
    path = "({})/([^\"?]+)(?:\\?[^\"]*)?".format("|".join(re.escape(prefix) for prefix in directories))
    html = re.sub(f'<script src="{path}"></script>',
                  lambda match: "<script>" + contents(match).replace("</script", "<\\/script") + "</script>", html)
    return re.sub(f'<link rel="stylesheet" href="{path}"\\s*/?>', lambda match: f"<style>{contents(match)}</style>",
                  html)
