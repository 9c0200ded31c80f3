"""What the printable card at a station's door says: one station in words a rider reads.

The hours are described by the same function the finder uses (``geo.core.hours.read_stored``),
so the door and the phone never disagree; amenities are named in Chinese from the region's
vocabulary (a code it does not know is shown as the code, never dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from geo.core import hours
from geo.errors import NotFound
from geo.reference.service_types import Amenity
from geo.store import catalogue

STATUS_ZH = {"open": None, "closed": "已关闭 / closed", "planned": "规划中 / planned"}


@dataclass(frozen=True)
class StationCard:
    """One live station as its card shows it (WGS-84 position, for the finder link)."""

    id: int
    name: str
    type_name: str
    address: str
    hours_text: str
    amenities: tuple[str, ...]
    phone: str | None
    managing_union: str | None
    status_note: str | None  # None when open
    is_demo: bool
    lon: float
    lat: float


def card_of(row: dict[str, Any], amenities: dict[str, Amenity]) -> StationCard:
    """The card of one row of ``catalogue.station_rows``."""
    try:
        hours_text = hours.read_stored(row["opening_hours_json"])[1]
    except ValueError:  # a malformed stored document: say unknown, as the OGC pages do
        hours_text = "时间未知"
    names = tuple(amenities[code].name_zh if code in amenities else code for code in row["amenities"])
    return StationCard(id=row["id"], name=row["name"], type_name=row["type_name"], address=row["address"],
                       hours_text=hours_text, amenities=names, phone=row["phone"] or None,
                       managing_union=row["managing_union"] or None, status_note=STATUS_ZH.get(row["status"]),
                       is_demo=bool(row["is_demo"]), lon=float(row["lon"]), lat=float(row["lat"]))


def station_card(session: Session, station_id: int, amenities: dict[str, Amenity]) -> StationCard:
    """The card of a live (not deleted) station.

    Raises:
        NotFound: If there is no such live station.
    """
    rows = catalogue.station_rows(session, catalogue.StationFilter(ids=(station_id,)))
    if not rows:
        raise NotFound(f"station {station_id} does not exist")
    return card_of(rows[0], amenities)
