"""An offline vector basemap: a local PMTiles file drawn by protomaps-leaflet, served by the app.

Why a separate element: the basemap is optional (``UNIONMAP_BASEMAP_PMTILES``), its plug-in is
128 KB of script that no other page should pay for, and a downloaded map (``?download=true``,
``unionmap map render``) cannot reach ``/tiles`` on the server: ``for_download`` turns the element
into a one-line note in the attribution instead, and the file carries no basemap.

The tiles are web-mercator tiles in WGS-84, like the overlays, so nothing is converted. The
layer is a Leaflet grid layer, drawn in the tile pane under every overlay. Its attribution credits
the file generically ("底图 / basemap: PMTiles") plus the ``attribution`` of the file's own
metadata, reduced to text and escaped in the browser (the file is user-supplied); the layer's
script is ``maps/static/pmtiles-basemap.js``, which the editor's maps use too.
"""

from __future__ import annotations

from folium.elements import JSCSSMixin
from folium.template import Template

URL = "/tiles/basemap.pmtiles"
ATTRIBUTION = "底图 / basemap: PMTiles"
DOWNLOAD_NOTE = "离线底图未随文件保存 / the offline basemap (PMTiles) is served by the app, not part of this file"
FLAVOR = "light"  # Protomaps' light colours: earth #e2dfda, water #80deea; overlays stay readable on it
LANG = "zh"  # labels from name:zh where the file has them

_SCRIPT = r"""
{% macro script(this, kwargs) %}
(function () {
    var map = {{ this._parent.get_name() }};
    {%- if this.offline %}
    if (map.attributionControl) { map.attributionControl.addAttribution({{ this.note|tojson }}); }
    {%- else %}
    unionmapPmtiles(map, {url: {{ this.url|tojson }}, flavor: {{ this.flavor|tojson }}, lang: {{ this.lang|tojson }},
                          attribution: {{ this.attribution|tojson }}});
    {%- endif %}
})();
{% endmacro %}
"""


class VectorBasemap(JSCSSMixin):
    """The PMTiles basemap layer; ``maps.assets.localize`` resolves the plug-in to the npm copy."""

    _template = Template(_SCRIPT)
    default_js = [("protomaps_leaflet", "protomaps-leaflet.js"), ("pmtiles_basemap_js", "pmtiles-basemap.js")]

    def __init__(self, url: str = URL) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._name = "VectorBasemap"
        self.url = url
        self.flavor = FLAVOR
        self.lang = LANG
        self.attribution = ATTRIBUTION
        self.note = DOWNLOAD_NOTE
        self.offline = False

    def for_download(self) -> None:
        """No layer and no plug-in, a note instead: a saved file cannot reach the server's tiles."""
        self.offline = True
        self.default_js = []
