"""The printable station card: ``GET /edit/stations/{id}/card?size=a5|a4`` (editors only).

A page to print and post at the station's door: its name, type, hours (the finder's own text),
amenities, phone, managing union, and a QR code that opens the station in the phone finder
(``maps.links.finder_station_url`` under ``public_url``, else the address the editor reached).
Readable on screen as well; the print stylesheet drops the editor's bar and the buttons. Not in
the OpenAPI document, like every page of /edit.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from api.deps import ReadSessionDep, SettingsDep, StationId
from api.editor.pages import EditorDep, page
from api.hosts import public_base
from geo.notices import DEMO
from geo.reference import service_types
from geo.services.station_card import station_card
from maps.links import finder_station_url
from maps.qr import qr_svg

router = APIRouter(prefix="/edit", include_in_schema=False)

PAPER = {"a5": "A5", "a4": "A4"}


@router.get("/stations/{station_id}/card", response_class=HTMLResponse)
def station_card_page(station_id: StationId, request: Request, editor: EditorDep, session: ReadSessionDep,
                      settings: SettingsDep,
                      size: Annotated[Literal["a5", "a4"], Query(description="纸张 / paper")] = "a5") -> HTMLResponse:
    """The card of one live station, for paper of ``size``; 404 for a deleted or unknown station."""
    card = station_card(session, station_id, service_types.read_amenities(settings.data_dir / "amenities.yaml"))
    url = finder_station_url(public_base(request), card.id, card.lon, card.lat)
    return page("card.html", request, editor, title=f"站点卡片 / station card · {card.name}", page_kind="card",
                card=card, size=size, paper=PAPER[size], finder_url=url, demo=DEMO,
                qr=Markup(qr_svg(url)))  # noqa: S704 - segno's SVG holds no text, only the code's squares
