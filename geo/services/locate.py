"""Where a point lands: a position typed or clicked in any datum, as the WGS-84 point stored and
the county and township it lies in.

The editor's form asks this before it saves, so the planner sees the county and township a
station will be counted in (the database trigger assigns them by the same rule,
``geo.store.regions.regions_at``). The conversion is ``registry.to_wgs84``, the one every write uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from geo.core.crs import CoordSystem
from geo.errors import InputError
from geo.services import registry
from geo.store import regions

# 6 decimals of a degree are at most 0.11 m on the ground: finer than any datum shift is known,
# coarse enough not to pretend a click is exact to the millimetre.
DECIMALS = 6


@dataclass(frozen=True)
class PointPlace:
    """A WGS-84 point (rounded to ``DECIMALS``) and the regions covering it."""

    lon: float
    lat: float
    county_code: str
    county_name: str
    township_code: str | None
    township_name: str | None
    township_is_approximate: bool | None
    township_position_unknown: bool | None = None  # placed without a seat (geo.store.regions.position_unknown)


def place_of(session: Session, lon: float, lat: float, source: CoordSystem) -> PointPlace:
    """The WGS-84 point of ``(lon, lat)`` given in ``source`` and its county and township.

    Raises:
        InputError: naming ``lon`` or ``lat`` when one is not a finite number in range, or
            ``lon`` when the point lies in no county of the region.
    """
    registry.raise_if_errors(registry.check_coordinates(lon, lat))
    wgs_lon, wgs_lat = registry.to_wgs84([lon], [lat], source)
    point_lon, point_lat = round(float(wgs_lon[0]), DECIMALS), round(float(wgs_lat[0]), DECIMALS)
    found = regions.regions_at(session, point_lon, point_lat)
    if found is None:
        raise InputError(f"该点（WGS-84 {point_lon}, {point_lat}）不在本地区的任何县内 / the point "
                         f"(lon, lat) lies outside every county of the region", field="lon")
    return PointPlace(lon=point_lon, lat=point_lat, county_code=str(found["county_code"]),
                      county_name=str(found["county_name"]), township_code=_text(found["township_code"]),
                      township_name=_text(found["township_name"]),
                      township_is_approximate=None if found["township_code"] is None
                      else bool(found["township_is_approximate"]),
                      township_position_unknown=None if found["township_code"] is None
                      else bool(found["township_position_unknown"]))


def _text(value: object) -> str | None:
    return None if value is None else str(value)
