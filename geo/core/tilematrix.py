"""WebMercatorQuad, the tile matrix set of web maps (OGC 17-083r4 annex D.1), as plain numbers.

Tile matrix ``z`` is ``2**z`` × ``2**z`` tiles of 256 × 256 cells over the Web Mercator square
(EPSG:3857, ±20 037 508.342 789 244 m), counted from the top-left corner: column from the west,
row from the north, as XYZ web maps count them. Pure arithmetic: no pyproj (the tests check
these numbers against it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from geo.core.bbox import Bbox

ID = "WebMercatorQuad"
URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
CRS = "http://www.opengis.net/def/crs/EPSG/0/3857"
WELL_KNOWN_SCALE_SET = "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible"
EARTH_RADIUS_M = 6_378_137.0  # the WGS 84 semi-major axis, Web Mercator's sphere
ORIGIN_M = math.pi * EARTH_RADIUS_M  # half the square's side
TILE_SIZE = 256
MAX_MATRIX = 24  # the deepest tile matrix the standard's definition lists
MAX_LATITUDE = math.degrees(math.atan(math.sinh(math.pi)))  # 85.0511…: the square's north edge
PIXEL_SIZE_M = 0.00028  # the standardised rendering pixel (0.28 mm) behind a scale denominator


@dataclass(frozen=True)
class TileRange:
    """The tiles of one matrix a box touches, inclusive (the TMS 2.0 ``tileMatrixSetLimits`` item)."""

    zoom: int
    min_row: int
    max_row: int
    min_col: int
    max_col: int

    def contains(self, row: int, col: int) -> bool:
        """Whether the tile at ``row``, ``col`` is in the range."""
        return self.min_row <= row <= self.max_row and self.min_col <= col <= self.max_col


def cell_size(zoom: int) -> float:
    """Metres per cell at tile matrix ``zoom``."""
    return 2 * ORIGIN_M / TILE_SIZE / (1 << zoom)


def scale_denominator(zoom: int) -> float:
    """The scale denominator of tile matrix ``zoom`` (cell size over the 0.28 mm pixel)."""
    return cell_size(zoom) / PIXEL_SIZE_M


def fraction(lon: float, lat: float) -> tuple[float, float]:
    """Where a point lies in the square, as fractions (0–1) of its side from the west and the north."""
    lat = max(-MAX_LATITUDE, min(MAX_LATITUDE, lat))
    x = (lon + 180.0) / 360.0
    y = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0
    return x, y


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """(row, col) of the tile of ``zoom`` that holds the point (the east and south edges belong to
    the last tile)."""
    x, y = fraction(lon, lat)
    last = (1 << zoom) - 1
    return min(last, max(0, math.floor(y * (1 << zoom)))), min(last, max(0, math.floor(x * (1 << zoom))))


def tile_range(bbox: Bbox, zoom: int) -> TileRange:
    """The tiles of ``zoom`` a box (west, south, east, north degrees; west ≤ east) touches."""
    west, south, east, north = bbox
    top, left = tile_of(west, north, zoom)
    bottom, right = tile_of(east, south, zoom)
    return TileRange(zoom, top, bottom, left, right)
