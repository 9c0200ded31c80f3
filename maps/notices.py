"""Legend and honesty notices drawn on every map (Chinese first, English second).

Only their HTML is here; how they look and fold (one line on a phone, dismissed for a session,
a legend that becomes a button) is in ``maps/static`` (unionmap.css, unionmap.js).
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
from branca.element import Element

from geo.notices import DEMO, MODELLED, Notice, township_notices
from maps.basemap import figure
from maps.escape import html_text


@dataclass(frozen=True)
class DataFlags:
    """What in a map is not real or not exact; each true flag shows a notice."""

    demo: bool = False
    approximate_boundaries: bool = False
    modelled_population: bool = False
    townships: int = 0  # how many townships the map has …
    unknown_townships: int = 0  # … and how many of them were placed without a seat
    notes: tuple[str, ...] = ()  # whole sentences about the region (no settlements file, no targets)

    def flagged(self) -> list[Notice]:
        """The notices that apply: the boundary notice says what the boundaries were derived from
        (seats, or equal areas where none is known) and a township placed without a seat adds
        ``POSITION_UNKNOWN``."""
        boundaries = (township_notices(self.unknown_townships, max(self.townships, 1))
                      if self.approximate_boundaries else [])
        return ([DEMO] if self.demo else []) + boundaries + ([MODELLED] if self.modelled_population else [])


def add_notice(map_: folium.Map, flags: DataFlags) -> None:
    """Put the applicable honesty notices at the top of the map.

    On a phone they fold into one line of their labels (a toggle) that opens on tap. The close
    button hides them for the browser session and leaves "⚠ 说明" to bring them back: a notice is
    never hidden for good.
    """
    notices = flags.flagged()
    if not notices and not flags.notes:
        return
    labels = " · ".join([*(html_text(notice.label_zh) for notice in notices), *(["说明"] if flags.notes else [])])
    lines = "".join(f"<div>⚠ {html_text(text)}</div>" for text in [*(n.text for n in notices), *flags.notes])
    dismiss = "关闭说明（本次浏览）/ dismiss for this session"
    figure(map_).html.add_child(Element(
        '<div id="unionmap-notice" role="note" aria-label="数据说明 / about this data">'
        '<button type="button" class="unionmap-notice-toggle" aria-expanded="true" '
        f'aria-controls="unionmap-notice-lines">⚠ {labels}</button>'
        f'<div id="unionmap-notice-lines" class="unionmap-notice-lines">{lines}</div>'
        f'<button type="button" class="unionmap-notice-close" aria-label="{dismiss}" title="{dismiss}">×</button>'
        '<button type="button" class="unionmap-notice-reopen">⚠ 说明</button>'
        "</div>"))


def collapsible(html: str, *, summary: str, element_id: str, classes: str) -> Element:
    """A box of already-escaped ``html`` that folds into its ``summary``: open on a desk, a button on
    a phone (unionmap.js closes it there)."""
    return Element(
        f'<section id="{element_id}" class="unionmap-box {classes}" aria-label="{html_text(summary)}">'
        f'<details open><summary>{html_text(summary)}</summary><div class="unionmap-box-body">{html}</div>'
        "</details></section>")


def add_legend(map_: folium.Map, title: str, entries: list[tuple[str, str]]) -> None:
    """A legend box (bottom right) of coloured dots and labels; none without entries."""
    if not entries:
        return
    rows = "".join(f'<div><span class="unionmap-swatch" style="background:{html_text(color)}"></span>'
                   f"{html_text(label)}</div>" for label, color in entries)
    figure(map_).html.add_child(collapsible(
        f'<div class="unionmap-legend-title">{html_text(title)}</div>{rows}', summary="图例 / legend",
        element_id="unionmap-legend", classes="unionmap-legend"))
