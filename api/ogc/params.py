"""Query parameters of OGC API - Features items: CRS URIs and their axis order, ``bbox``, the
limit rule, paging, property filters.

Pure parsing, no database: every function raises ``InputError`` naming the parameter, which
the API answers with 400. The numbers of a ``bbox`` are read by ``geo.core.bbox``, the parser
the REST station list uses too; the OGC rules (six numbers, axis order, clamping) are here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Literal

from pyproj import Transformer

from geo.core.bbox import Bbox, check_latitudes, clamped, numbers
from geo.errors import InputError

# RFC 3339 §5.6 date-time: a full date, "T", a time (fractions allowed) and a zone ("Z" or ±hh:mm).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"  # CGCS2000, China's national datum (lat, lon)
EPSG3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"  # Web Mercator (x east, y north, metres)
SUPPORTED_CRS = (CRS84, EPSG4326, EPSG4490, EPSG3857)
DEFAULT_LIMIT, MAX_LIMIT = 10, 10_000
MAX_OFFSET = 2**62  # PostgreSQL takes OFFSET as a 64-bit integer; the API documents this bound
COMMON_PARAMETERS = ("f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime")


@dataclass(frozen=True)
class CrsSpec:
    """What the server does with one supported CRS: its EPSG code (the SRID PostGIS transforms
    to), whether its coordinates come as (lat, lon) and whether its unit is the metre."""

    srid: int
    lat_lon: bool = False
    metres: bool = False


CRS_SPECS = {CRS84: CrsSpec(4326), EPSG4326: CrsSpec(4326, lat_lon=True), EPSG4490: CrsSpec(4490, lat_lon=True),
             EPSG3857: CrsSpec(3857, metres=True)}
_CRS_ALIASES = {
    CRS84: CRS84, "https://www.opengis.net/def/crs/OGC/1.3/CRS84": CRS84, "OGC:CRS84": CRS84,
    "[OGC:CRS84]": CRS84, "urn:ogc:def:crs:OGC:1.3:CRS84": CRS84, "CRS84": CRS84,
} | {
    alias: uri for uri, spec in CRS_SPECS.items() if uri != CRS84
    for alias in (uri, uri.replace("http://", "https://", 1), f"EPSG:{spec.srid}", f"[EPSG:{spec.srid}]",
                  f"urn:ogc:def:crs:EPSG::{spec.srid}")
}
# Web Mercator's x of ±180° (π times the WGS 84 semi-major axis): beyond it PROJ wraps the longitude.
_MERCATOR_HALF_WIDTH = 20037508.342789244


@dataclass(frozen=True)
class Filter:
    """A property a client may filter items on with ``?name=value`` (equality).

    ``name`` is the query parameter, the feature property and the column the store compares
    (one of ``geo.store.features.FILTERABLE``).
    """

    name: str
    kind: Literal["text", "bool", "enum"] = "text"
    values: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class ItemQuery:
    """A validated items request: page, spatial filter (lon, lat), output CRS, property filters."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: Bbox | None = None
    crs: str = CRS84
    filters: dict[str, str | bool] = field(default_factory=dict)
    # ``datetime`` as an interval (start, end), either end open (None); an instant is (t, t)
    datetime: tuple[datetime | None, datetime | None] | None = None
    # Part 3 and friends (api.ogc.cql.refine): a checked CQL2 tree, (property, descending) sort keys,
    # and the properties to keep (None: all)
    filter: Any = None
    sortby: tuple[tuple[str, bool], ...] = ()
    properties: tuple[str, ...] | None = None


def _instant(text: str) -> datetime:
    """One RFC 3339 date-time (``2024-06-04T10:00:00Z``, ``…+08:00``, fractions allowed)."""
    if not _RFC3339.fullmatch(text):
        raise InputError(f"{text!r} is not an RFC 3339 date-time such as 2024-06-04T10:00:00Z", field="datetime")
    try:
        return datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    except ValueError as error:  # month 13, day 31 of a 30-day month …
        raise InputError(f"{text!r} is not a real date-time: {error}", field="datetime") from error


def parse_datetime(value: str) -> tuple[datetime | None, datetime | None]:
    """``datetime`` per OGC 17-069r4 and RFC 3339: an instant, a closed interval ``a/b`` or a half-open
    one (``../b``, ``a/..``, ``/b``, ``a/``); ``../..``, an end before its start or anything else is
    InputError (400) naming the parameter."""
    text = value.strip()
    if "/" not in text:
        instant = _instant(text)
        return instant, instant
    first, _, second = text.partition("/")
    start = None if first in ("", "..") else _instant(first)
    end = None if second in ("", "..") else _instant(second)
    if start is None and end is None:
        raise InputError("an interval needs at least one end, e.g. 2024-01-01T00:00:00Z/..", field="datetime")
    if start is not None and end is not None and end < start:
        raise InputError(f"the interval ends ({second}) before it starts ({first})", field="datetime")
    return start, end


def parse_crs(value: str, *, field: str = "crs") -> str:
    """The canonical URI of a supported CRS; InputError naming ``field`` otherwise."""
    canonical = _CRS_ALIASES.get(value.strip())
    if canonical is None:
        raise InputError(f"unsupported CRS {value!r}; supported: {', '.join(SUPPORTED_CRS)}", field=field)
    return canonical


def lat_lon(crs: str) -> bool:
    """Whether coordinates in ``crs`` (a canonical URI) come as (lat, lon): EPSG:4326 and EPSG:4490
    define their axes so (OGC API - Features Part 2 follows the CRS); CRS84 is (lon, lat), as
    GeoJSON, and EPSG:3857 (x east, y north)."""
    return CRS_SPECS[crs].lat_lon


@lru_cache(maxsize=8)
def _to_lon_lat(srid: int) -> Transformer:
    """PROJ's default operation from EPSG:``srid`` to WGS 84 in (lon, lat) order (thread-safe since pyproj 3.1)."""
    return Transformer.from_crs(srid, 4326, always_xy=True)


def parse_bbox(value: str, *, crs: str = CRS84) -> Bbox:
    """``bbox`` as (west, south, east, north) in lon, lat degrees (``geo.core.bbox`` reads the numbers).

    EPSG:4326 and EPSG:4490 boxes come as ``minLat,minLon,maxLat,maxLon`` and are swapped; six
    numbers (with heights) are accepted and heights dropped. Values are clamped to the globe;
    west > east means the box crosses the antimeridian (allowed by the standard).

    A box in another CRS is transformed by its two corners (pyproj, PROJ's default operation, the
    one PostGIS applies to the output). That is exact, not an approximation: in Web Mercator x
    depends on the longitude alone and y on the latitude alone, so the image of a Mercator box is
    a lon, lat box and its edges need no densifying; EPSG:4490 to WGS 84 is PROJ's ballpark
    (identity) transformation. Mercator x is first clamped to ±180° (PROJ would wrap it).
    """
    values = numbers(value, counts=(4, 6))
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    spec = CRS_SPECS[crs]
    if spec.lat_lon:
        values = [values[1], values[0], values[3], values[2]]
    west, south, east, north = values
    check_latitudes(south, north)
    if spec.metres:
        west, east = (min(max(x, -_MERCATOR_HALF_WIDTH), _MERCATOR_HALF_WIDTH) for x in (west, east))
    else:
        west, south, east, north = clamped(west, south, east, north)
    if spec.srid != 4326:
        (west, east), (south, north) = _to_lon_lat(spec.srid).transform((west, east), (south, north))
    return clamped(west, south, east, north)


def _parse_int(value: str, *, field: str, low: int, high: int | None = MAX_OFFSET) -> int:
    """An integer in [low, high]: PostgreSQL's LIMIT and OFFSET take 64-bit integers."""
    try:
        number = int(value)
    except ValueError as error:
        raise InputError(f"expected an integer, got {value!r}", field=field) from error
    if number < low:
        raise InputError(f"must be at least {low}, got {number}", field=field)
    if high is not None and number > high:
        raise InputError(f"must be at most {high}, got {number}", field=field)
    return number


def _parse_filter(spec: Filter, value: str) -> str | bool:
    if spec.kind == "bool":
        lowered = value.strip().lower()
        if lowered not in ("true", "false", "1", "0"):
            raise InputError(f"expected true or false, got {value!r}", field=spec.name)
        return lowered in ("true", "1")
    if spec.kind == "enum" and value not in spec.values:
        raise InputError(f"expected one of {', '.join(spec.values)}, got {value!r}", field=spec.name)
    if len(value) > 200 or "\x00" in value:
        raise InputError("value too long or holding a NUL character", field=spec.name)
    return value


def parse_item_query(parameters: Iterable[tuple[str, str]], filters: tuple[Filter, ...] = ()) -> ItemQuery:
    """Validate an items request's query parameters; InputError naming the first bad one.

    Unknown and repeated parameters are rejected rather than ignored, so that a misspelt
    filter cannot silently return everything. Any ``limit`` above 10 000 is served as 10 000, as
    17-069r4 requires (/req/core/fc-limit-response-1 C: not an error). ``datetime`` is checked
    here and applied to stations' ``updated_at`` (regions have no temporal property: it filters
    nothing there).
    """
    accepted = COMMON_PARAMETERS + QUERY_PARAMETERS + tuple(spec.name for spec in filters)
    given: dict[str, str] = {}
    for name, value in parameters:
        if name not in accepted:
            raise InputError(f"unknown query parameter {name!r}; this collection accepts: "
                             f"{', '.join(accepted)}", field=name)
        if name in given:
            raise InputError(f"query parameter {name!r} given more than once", field=name)
        given[name] = value
    crs = parse_crs(given["crs"]) if "crs" in given else CRS84
    bbox_crs = parse_crs(given["bbox-crs"], field="bbox-crs") if "bbox-crs" in given else CRS84
    values = {spec.name: _parse_filter(spec, given[spec.name]) for spec in filters if spec.name in given}
    return ItemQuery(
        limit=min(_parse_int(given["limit"], field="limit", low=1, high=None), MAX_LIMIT)
        if "limit" in given else DEFAULT_LIMIT,
        offset=_parse_int(given["offset"], field="offset", low=0) if "offset" in given else 0,
        bbox=parse_bbox(given["bbox"], crs=bbox_crs) if "bbox" in given else None,
        crs=crs, filters=values,
        datetime=parse_datetime(given["datetime"]) if "datetime" in given else None,
    )


def refuse_unknown(parameters: Iterable[tuple[str, str]], accepted: tuple[str, ...], resource: str) -> None:
    """InputError (400) naming the first query parameter ``resource`` does not take: a misspelt
    parameter is said, never silently ignored, on every OGC resource alike."""
    for name, _ in parameters:
        if name not in accepted:
            raise InputError(f"unknown query parameter {name!r}; {resource} accepts: {', '.join(accepted)}",
                             field=name)


def parse_feature_query(parameters: Iterable[tuple[str, str]]) -> str:
    """The output CRS of a single-feature request (``f`` and ``crs`` only; others are rejected)."""
    given = list(parameters)
    refuse_unknown(given, ("f", "crs"), "a feature")
    return next((parse_crs(value) for name, value in given if name == "crs"), CRS84)


# --- filter, sortby, properties (OGC API - Features Part 3; sorting; property selection) ---------
# Accepted by parse_item_query and read by api.ogc.cql.refine, which knows the collection's queryables.
QUERY_PARAMETERS = ("filter", "filter-lang", "filter-crs", "sortby", "properties")


def parse_instant(text: str) -> datetime:
    """One RFC 3339 date-time; InputError naming ``datetime`` otherwise (callers rename the field)."""
    return _instant(text)


def _names(value: str, field: str) -> list[str]:
    names = [name.strip() for name in value.split(",")]
    if len(value) > 2000 or "\x00" in value:
        raise InputError("too long or holding a NUL character", field=field)
    return names


def parse_sortby(value: str, sortable: Iterable[str]) -> tuple[tuple[str, bool], ...]:
    """``sortby=+name,-updated_at`` as (property, descending) pairs; InputError naming ``sortby`` and
    the unknown or repeated property. ``+`` (or no sign) is ascending; a ``+`` arriving as a space
    (an unencoded URL) is read so too."""
    allowed = tuple(sortable)
    keys: list[tuple[str, bool]] = []
    for term in _names(value, "sortby"):
        descending = term.startswith("-")
        name = term[1:] if term[:1] in "+-" and term else term
        if name not in allowed:
            raise InputError(f"cannot sort on {name!r}; sortable: {', '.join(allowed)}", field="sortby")
        if name in (key for key, _ in keys):
            raise InputError(f"{name!r} given twice", field="sortby")
        keys.append((name, descending))
    return tuple(keys)


def parse_properties(value: str, known: Iterable[str]) -> tuple[str, ...]:
    """``properties=name,status`` as the names to keep, in the features' own order of the request;
    an empty value keeps none. InputError naming ``properties`` and the unknown name."""
    if not value.strip():
        return ()
    allowed = tuple(known)
    names = _names(value, "properties")
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise InputError(f"unknown properties {', '.join(map(repr, unknown))}; known: {', '.join(allowed)}",
                         field="properties")
    return tuple(dict.fromkeys(names))
