"""Text from the database, made inert for every place a map puts it.

Names, addresses, phones, township and type names reach a map page in three ways, and one
escape covers them all:

- as HTML in the page body (panels, legend, badges): ``html.escape`` is enough;
- inside the JavaScript template literals (`` `…` ``) Folium wraps ``Tooltip`` and ``Popup``
  HTML in, within the page's own script, which the Content-Security-Policy trusts by nonce.
  There a backtick ends the literal, ``${…}`` runs code, and a backslash starts an escape
  (``C:\\users`` is a syntax error that stops the whole map);
- as GeoJSON properties that Folium's ``GeoJsonTooltip``/``GeoJsonPopup`` and Leaflet's layer
  control put into ``innerHTML`` in the browser.

So beyond ``& < > " '`` the three characters `` ` $ \\ `` become character references: the HTML
parser shows them as typed, and JavaScript never sees them as syntax. Escape once, where the
text enters the page; a second escape would show ``&amp;lt;`` to the user.
"""

from __future__ import annotations

from html import escape
from typing import Any

import geopandas as gpd

_TEMPLATE_LITERAL = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def html_text(value: object) -> str:
    """``value`` as HTML text, safe in element content, quoted attributes and Folium's template literals."""
    return escape(str(value), quote=True).translate(_TEMPLATE_LITERAL)


def _inert(value: Any) -> Any:
    if isinstance(value, str):
        return html_text(value)
    if isinstance(value, list | tuple):  # Folium shows lists and objects as JSON text, via innerHTML too
        return [_inert(item) for item in value]
    if isinstance(value, dict):
        return {key: _inert(item) for key, item in value.items()}
    return value


def html_properties(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame with every text property escaped by ``html_text`` (numbers, flags, None kept): for
    GeoJSON that the browser shows as HTML (a new frame)."""
    columns = [name for name in frame.columns
               if name != frame.geometry.name and frame[name].dtype.kind not in "biufcmM"]
    return frame.assign(**{name: frame[name].map(_inert) for name in columns})
