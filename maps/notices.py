"""Legend and honesty notices drawn on every map (Chinese first, English second)."""

from __future__ import annotations

from dataclasses import dataclass

import folium
from branca.element import Element

from geo.notices import APPROXIMATE, DEMO, MODELLED
from maps.basemap import figure
from maps.escape import html_text


@dataclass(frozen=True)
class DataFlags:
    """What in a map is not real or not exact; each true flag shows a notice."""

    demo: bool = False
    approximate_boundaries: bool = False
    modelled_population: bool = False

    def notices(self) -> list[str]:
        """The notice lines that apply."""
        flagged = ((DEMO, self.demo), (APPROXIMATE, self.approximate_boundaries),
                   (MODELLED, self.modelled_population))
        return [notice.text for notice, flag in flagged if flag]


def _overlay(html: str) -> Element:
    """Raw HTML placed in the page body, above the map."""
    return Element(html)


def add_notice(map_: folium.Map, flags: DataFlags) -> None:
    """Put the applicable honesty notices at the top of the map, always visible."""
    lines = flags.notices()
    if not lines:
        return
    items = "".join(f"<div>⚠ {html_text(line)}</div>" for line in lines)
    figure(map_).html.add_child(_overlay(
        '<div id="unionmap-notice" role="note" style="position:fixed;top:10px;left:60px;right:60px;'
        "z-index:1000;background:#fff8e1;border:1px solid #f0b429;border-radius:4px;padding:4px 8px;"
        f'font:12px/1.5 sans-serif;color:#5c3c00;box-shadow:0 1px 4px rgba(0,0,0,.2)">{items}</div>'
    ))


def add_legend(map_: folium.Map, title: str, entries: list[tuple[str, str]]) -> None:
    """A legend box (bottom right) of coloured dots and labels."""
    rows = "".join(
        f'<div><span style="display:inline-block;width:10px;height:10px;border-radius:50%;'
        f'background:{html_text(color)};margin-right:6px"></span>{html_text(label)}</div>'
        for label, color in entries
    )
    figure(map_).html.add_child(_overlay(
        '<div id="unionmap-legend" style="position:fixed;bottom:24px;right:10px;z-index:1000;'
        'background:#fff;border:1px solid #999;border-radius:4px;padding:6px 10px;'
        f'font:12px/1.6 sans-serif"><b>{html_text(title)}</b>{rows}</div>'
    ))
