"""The one parser of a ``bbox=`` query parameter: ``west,south,east,north`` in degrees.

Both the REST station list and OGC API - Features take a bounding box as comma-separated
numbers; they share the reading of the numbers, the latitude order and the errors (an
``InputError`` naming ``bbox``). Each adds its own rules on top: the REST list takes exactly four
numbers on the globe with west ≤ east (:func:`parse_bbox`); OGC also takes six numbers (heights),
the EPSG:4326 axis order, boxes across the antimeridian and values past the poles, clamped
(``api.ogc.params``, built on :func:`numbers`, :func:`check_latitudes` and :func:`clamped`).
"""

from __future__ import annotations

import math

from geo.errors import InputError

FIELD = "bbox"

Bbox = tuple[float, float, float, float]  # west, south, east, north (lon, lat degrees)


def numbers(text: str, *, counts: tuple[int, ...] = (4,)) -> list[float]:
    """The comma-separated finite numbers of ``text``, as many as one of ``counts``.

    Raises:
        InputError: naming ``bbox``, when a part is not a number, not finite, or the count is wrong.
    """
    expected = str(counts[0]) + "".join(f" (or {count})" for count in counts[1:])
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError as error:
        raise InputError(f"expected {expected} comma-separated numbers", field=FIELD) from error
    if len(values) not in counts or not all(math.isfinite(value) for value in values):
        raise InputError(f"expected {expected} comma-separated finite numbers", field=FIELD)
    return values


def check_latitudes(south: float, north: float) -> None:
    """InputError naming ``bbox`` when the lower corner is north of the upper one (a box never
    crosses a pole, while west > east can mean a box across the antimeridian)."""
    if south > north:
        raise InputError("the lower corner's latitude is above the upper corner's", field=FIELD)


def clamped(west: float, south: float, east: float, north: float) -> Bbox:
    """The box with every value clamped to the globe (±180° longitude, ±90° latitude)."""
    return _clamp(west, 180.0), _clamp(south, 90.0), _clamp(east, 180.0), _clamp(north, 90.0)


def _clamp(value: float, bound: float) -> float:
    return min(max(value, -bound), bound)


def parse_bbox(text: str) -> Bbox:
    """``west,south,east,north``: four numbers on the globe, west ≤ east and south ≤ north.

    The rule of the REST station list, which neither wraps the antimeridian nor clamps.

    Raises:
        InputError: naming ``bbox``, saying which rule the box breaks.
    """
    west, south, east, north = numbers(text)
    check_latitudes(south, north)
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise InputError("need -180 <= west <= east <= 180 and -90 <= south <= north <= 90", field=FIELD)
    return west, south, east, north
