"""A tiny PMTiles basemap built by the tests themselves: z0–z8 over the region's map centre.

Each tile carries the two layers of the Protomaps basemap schema that its ``light`` flavour
paints first: ``earth`` (the whole tile) and ``water`` (the tile's western half), so a browser
test can look for the water colour on the drawn tiles. Tiles are gzip-compressed, as in real
extracts (protomaps-leaflet inflates them with the browser's DecompressionStream).
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import mapbox_vector_tile
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer
from shapely.geometry import box

MAX_ZOOM = 8
EXTENT = 4096
WATER_RGB = (0x80, 0xDE, 0xEA)  # protomaps-leaflet 5.1.0, flavour "light": water #80deea
# The file's own credit: markup and an attack, which the page must show as plain text.
ATTRIBUTION = '<a href="https://example.org/">&copy; 测试底图 Test basemap</a><img src=x onerror=alert(7)> &lt;b&gt;'


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_bytes() -> bytes:
    """One vector tile: earth everywhere, water on the western half (gzip)."""
    layers = [{"name": "earth", "features": [{"geometry": box(0, 0, EXTENT, EXTENT), "properties": {"kind": "earth"}}]},
              {"name": "water", "features": [{"geometry": box(0, 0, EXTENT // 2, EXTENT),
                                              "properties": {"kind": "water"}}]}]
    return gzip.compress(mapbox_vector_tile.encode(layers), mtime=0)


def write(path: Path, centre: tuple[float, float], *, half_width: float = 1.5, half_height: float = 1.0) -> Path:
    """A PMTiles file at ``path`` covering ``centre`` (lon, lat) ± the half sizes in degrees."""
    west, east = centre[0] - half_width, centre[0] + half_width
    south, north = centre[1] - half_height, centre[1] + half_height
    data = tile_bytes()
    ids = []
    for z in range(MAX_ZOOM + 1):
        (x0, y0), (x1, y1) = _tile_xy(west, north, z), _tile_xy(east, south, z)
        ids += [zxy_to_tileid(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    with path.open("wb") as file:
        writer = Writer(file)
        for tile_id in sorted(ids):
            writer.write_tile(tile_id, data)
        writer.finalize({
            "tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
            "min_lon_e7": int(west * 1e7), "min_lat_e7": int(south * 1e7),
            "max_lon_e7": int(east * 1e7), "max_lat_e7": int(north * 1e7),
            "center_zoom": 6, "center_lon_e7": int(centre[0] * 1e7), "center_lat_e7": int(centre[1] * 1e7),
        }, {"attribution": ATTRIBUTION, "vector_layers": [{"id": name, "fields": {}} for name in ("earth", "water")]})
    return path
