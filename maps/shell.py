"""The page every map is drawn in: language, a viewport that allows zoom, landmarks, own CSS/JS.

Folium's page (branca's ``Figure``) has no ``lang``, no landmark and a viewport that forbids
zooming. ``dress`` gives the figure our page template instead (``<html lang="zh-CN">``, the
whole page inside ``<main>``, a heading for screen readers) and adds the project's own
stylesheet and script (``maps/static``: notices, collapsible panels, station details), which
load after Leaflet's. Folium's own viewport tag comes from the map's template, so it is taken
out of the rendered page (``without_folium_viewport``), leaving ours.
"""

from __future__ import annotations

import re

import folium
from folium.elements import JSCSSMixin
from jinja2 import Template

from maps.basemap import figure
from maps.escape import html_text

LANG = "zh-CN"
VIEWPORT = "width=device-width, initial-scale=1"  # no maximum-scale, no user-scalable=no: pinch zoom works
# Folium's, in the map's header: ``maximum-scale=1.0, user-scalable=no``.
_FOLIUM_VIEWPORT = re.compile(r'<meta name="viewport" content="[^"]*user-scalable=no[^"]*"\s*/?>\s*')

PAGE = Template("""<!DOCTYPE html>
<html lang="{{ this.unionmap_lang }}">
<head>
    {{ this.header.render(**kwargs) }}
</head>
<body class="unionmap-page unionmap-page-{{ this.unionmap_kind }}">
<main id="unionmap-main">
    <h1 class="unionmap-visually-hidden">{{ this.unionmap_heading }}</h1>
    {{ this.html.render(**kwargs) }}
</main>
</body>
<script>
    {{ this.script.render(**kwargs) }}
</script>
</html>
""")


class ShellAssets(JSCSSMixin):
    """The project's own stylesheet and script; ``maps.assets.localize`` resolves the names.

    A child of the map, so Folium writes its links after Leaflet's (children render after their
    parent): the CSS overrides Leaflet's, and the script may hook into ``L.Map`` before the map
    is made.
    """

    default_js = [("unionmap_js", "unionmap.js")]
    default_css = [("unionmap_css", "unionmap.css")]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "UnionmapShell"


def dress(map_: folium.Map, *, kind: str, title: str) -> folium.Map:
    """Put ``map_`` in the shared page: template, title, viewport, own CSS and JS (in place)."""
    page = figure(map_)
    page._template = PAGE
    page.unionmap_lang = LANG  # type: ignore[attr-defined]  # read by PAGE
    page.unionmap_kind = kind  # type: ignore[attr-defined]
    page.unionmap_heading = html_text(f"unionmap · {title}")  # type: ignore[attr-defined]
    page.header.add_child(folium.Element(
        f'<title>unionmap · {html_text(title)}</title><meta name="viewport" content="{VIEWPORT}">'))
    ShellAssets().add_to(map_)
    return map_


def without_folium_viewport(html: str) -> str:
    """The rendered page without Folium's zoom-blocking viewport tag (ours stays)."""
    return _FOLIUM_VIEWPORT.sub("", html)
