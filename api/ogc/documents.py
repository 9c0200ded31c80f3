"""The JSON documents of /ogc and their links: content negotiation, link objects, paging,
a collection's metadata, the media types and conformance classes.

Every URL starts from the public base (``api.hosts``), so links stay right behind a proxy.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import Request

from api import hosts
from api.ogc import params
from api.ogc.collections import Collection
from api.ogc.exceptions import PREFIX
from api.ogc.features import ItemsPage
from geo.core.bbox import Bbox
from geo.errors import InputError
from geo.reference.region import RegionConfig
from geo.services.rollup import ProvinceArea
from geo.store.features import POLYGON_DECIMALS

GEOJSON = "application/geo+json"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    # Part 3 and CQL2 1.0 (api/ogc/cql.py): only the classes whose every requirement works here
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    # OGC API - Tiles 1.0 and 2D TMS 2.0 (api.ogc.tiles)
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/tilesetmetadata",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilesetmetadata",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixsetlimits",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixsetlimits",
)
REL_TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"  # a collection's vector tiles
FORMATS = {"json": False, "geojson": False, "html": True}
# OpenAPI's JSON media types (the version is a parameter, split off), as JSON for /ogc/api's negotiation
OPENAPI_MEDIA = ("application/vnd.oai.openapi+json", "application/openapi+json")


def wants_html(request: Request) -> bool:
    """HTML for ``?f=html`` or an Accept header that prefers text/html; JSON otherwise.

    JSON wins ties, so a missing header (OWSLib), ``*/*`` and ``application/json`` get JSON.
    """
    fmt = request.query_params.get("f")
    if fmt is not None:
        if fmt not in FORMATS:
            raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", field="f")
        return FORMATS[fmt]
    html_q = json_q = 0.0
    for part in request.headers.get("accept", "").split(","):
        media, *options = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for option in options:
            if option.startswith("q="):
                try:
                    quality = float(option[2:])
                except ValueError:
                    quality = 0.0
        if media in ("text/html", "application/xhtml+xml"):
            html_q = max(html_q, quality)
        elif media in ("application/json", GEOJSON, "application/*", "*/*", *OPENAPI_MEDIA):
            json_q = max(json_q, quality)
    return html_q > json_q


def root_url(request: Request) -> str:
    """Absolute URL of the landing page: under ``public_url`` when set, else as the client reached
    the server (whose Host ``trusted_hosts`` has checked)."""
    return hosts.public_base(request) + PREFIX


def link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    """One link object."""
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def url_with(request: Request, **changes: object) -> str:
    """This request's URL with some query parameters replaced (None drops one), others kept."""
    names = {name.replace("_", "-") for name in changes}
    pairs = [(name, value) for name, value in request.query_params.multi_items() if name not in names]
    pairs += [(name.replace("_", "-"), str(value)) for name, value in changes.items() if value is not None]
    return hosts.public_url(request, urlencode(pairs))


def self_links(request: Request, media_type: str, title: str) -> list[dict[str, str]]:
    """``self`` in the format served and ``alternate`` in the other one."""
    as_html = wants_html(request)
    return [link(hosts.public_url(request), "self", "text/html" if as_html else media_type, title),
            link(url_with(request, f="json" if as_html else "html"), "alternate",
                 media_type if as_html else "text/html", "其他格式 / other format")]


def paging_links(request: Request, query: params.ItemQuery, page: ItemsPage,
                 media_type: str) -> list[dict[str, str]]:
    """``next`` while features remain and ``prev`` after the first page; other parameters kept."""
    links = []
    if query.offset + page.number_returned < page.number_matched:
        links.append(link(url_with(request, offset=query.offset + query.limit, limit=query.limit), "next",
                          media_type, "下一页 / next page"))
    if query.offset > 0:
        links.append(link(url_with(request, offset=max(0, query.offset - query.limit), limit=query.limit), "prev",
                          media_type, "上一页 / previous page"))
    return links


def collection_document(root: str, collection: Collection) -> dict[str, object]:
    """A collection's metadata: extent, CRS list (Part 2) and links to its items."""
    url = f"{root}/collections/{collection.id}"
    document: dict[str, object] = {
        "id": collection.id, "title": collection.title, "description": collection.description,
        "itemType": "feature", "crs": list(params.SUPPORTED_CRS), "storageCrs": params.CRS84,
        "links": [link(url, "self", "application/json", collection.title),
                  link(f"{url}?f=html", "alternate", "text/html", collection.title),
                  link(f"{url}/items", "items", GEOJSON, "要素 / features"),
                  link(f"{url}/items?f=html", "items", "text/html", "要素（网页）/ features as HTML"),
                  link(f"{url}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                       "application/schema+json", "可查询属性 / queryables")],
    }
    links = document["links"]
    if collection.kind != "coverage" and isinstance(links, list):  # coverage has no tiles (api.ogc.tiles)
        links.append(link(f"{url}/tiles", REL_TILESETS_VECTOR, "application/json", "矢量瓦片集 / vector tilesets"))
    extent: dict[str, object] = {}
    if collection.bbox is not None:
        extent["spatial"] = {"bbox": [outward_bbox(collection.bbox)], "crs": params.CRS84}
    if collection.temporal is not None:  # stations' updated_at, the property ``datetime`` filters
        extent["temporal"] = {"interval": [[_instant(moment) for moment in collection.temporal]], "trs": GREGORIAN}
    if extent:
        document["extent"] = extent
    return document


def outward_bbox(bbox: Bbox) -> list[float]:
    """The extent rounded outward to the decimals boundaries are served with.

    Boundaries are written to 9 decimals; a vertex on the extent's edge may round past the exact
    extent by up to half of the last digit, and the extent must hold every geometry served
    (17-069r4 /req/core/fc-md-extent). Outward to the same digits, it does.
    """
    scale = 10**POLYGON_DECIMALS
    west, south, east, north = bbox
    return [math.floor(west * scale) / scale, math.floor(south * scale) / scale,
            math.ceil(east * scale) / scale, math.ceil(north * scale) / scale]


def _instant(moment: datetime) -> str:
    """RFC 3339 in UTC (``2024-06-04T10:00:00Z``, fractions of a second kept)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def landing_title(region: RegionConfig | ProvinceArea) -> str:
    """Chinese first, with the region's name."""
    return f"{region.name_zh}工会服务阵地 OGC API - Features / {region.name_en} trade-union service points"
