"""Hand-off links to navigation apps, each in the datum its app expects.

Amap (高德) reads GCJ-02, Baidu reads BD-09, Apple Maps and the ``geo:`` URI (RFC 5870) take
WGS-84. The conversion happens here, at the edge; stored coordinates stay WGS-84.
"""

from __future__ import annotations

from urllib.parse import quote

from geo.core import crs


def links(lon: float, lat: float, name: str) -> dict[str, str]:
    """Navigation URLs to a WGS-84 point: amap, baidu, apple, geo."""
    return links_many([lon], [lat], [name])[0]


def links_many(lons: list[float], lats: list[float], names: list[str]) -> list[dict[str, str]]:
    """Navigation URLs for several WGS-84 points, converted in one vectorised pass each."""
    gcj = crs.convert(lons, lats, source="wgs84", target="gcj02")
    bd = crs.convert(gcj[0], gcj[1], source="gcj02", target="bd09")
    return [_links(lon, lat, float(gx), float(gy), float(bx), float(by), name)
            for lon, lat, gx, gy, bx, by, name in zip(lons, lats, *gcj, *bd, names, strict=True)]


def _links(lon: float, lat: float, gcj_lon: float, gcj_lat: float, bd_lon: float, bd_lat: float,
           name: str) -> dict[str, str]:
    label = quote(name, safe="")
    return {
        "amap": (f"https://uri.amap.com/navigation?to={gcj_lon:.6f},{gcj_lat:.6f},{label}"
                 "&mode=walk&coordinate=gaode&callnative=1&src=unionmap"),
        "baidu": (f"https://api.map.baidu.com/marker?location={bd_lat:.6f},{bd_lon:.6f}&title={label}"
                  f"&content={label}&coord_type=bd09ll&output=html&src=unionmap"),
        "apple": f"https://maps.apple.com/?daddr={lat:.6f},{lon:.6f}&q={label}&dirflg=w",
        "geo": f"geo:{lat:.6f},{lon:.6f}?q={lat:.6f},{lon:.6f}({label})",
    }
