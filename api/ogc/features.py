"""A collection's features as GeoJSON text: a page of items, one feature, the FeatureCollection.

The store hands over the JSON texts PostGIS wrote (``geo.store.features``); they are framed
here as Features and a FeatureCollection without being parsed, so a page of 10 000 features
never becomes Python dicts. Added on the way: a station's opening hours as text and a
township's coverage figures (``geo.services.coverage_features``). The request's CRS becomes
the store's SRID, axis order and units here (``params.CRS_SPECS``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.orm import Session

from api.ogc.collections import Collection
from api.ogc.params import CRS84, CRS_SPECS, ItemQuery
from geo.core import hours
from geo.errors import NotFound
from geo.services.coverage_features import CoverageCache
from geo.store import features as store

# A station's opening hours in its OGC properties, all text (see ``_hours_member``).
HOURS_PROPERTIES = {
    "opening_hours": "开放时间（中文，同 opening_hours_text）/ opening hours in words (Chinese)",
    "opening_hours_text": "开放时间（中文）/ opening hours in words (Chinese), as in the REST API",
    "opening_hours_osm": "开放时间（OSM 格式，如 Mo-Fr 09:00-17:00; PH off；未知为空）/ OSM-style opening hours, "
                         "empty when unknown",
}


@dataclass(frozen=True)
class ItemsPage:
    """GeoJSON texts of one page of features and how many match in all."""

    features: list[str]
    number_matched: int

    @property
    def number_returned(self) -> int:
        """Features on this page."""
        return len(self.features)


def items(session: Session, collection: Collection, query: ItemQuery, *,
          cache: CoverageCache | None = None) -> ItemsPage:
    """One page of a collection's features as GeoJSON texts, in a stable order (id or code)."""
    spec = CRS_SPECS[query.crs]
    page = store.feature_page(session, store.PageQuery(
        kind=collection.kind, key=collection.key, limit=query.limit, offset=query.offset, bbox=query.bbox,
        swap_axes=spec.lat_lon, srid=spec.srid, metres=spec.metres, equals=query.filters, updated=query.datetime,
        where=query.filter, order=query.sortby))
    texts = _framed(session, collection, page.features, cache)
    if query.properties is not None:
        texts = [_selected(text, query.properties) for text in texts]
    return ItemsPage(texts, page.matched)


def property_names(session: Session, collection: Collection, cache: CoverageCache | None) -> tuple[str, ...]:
    """Every property a collection's features carry: the store's, opening hours in words for stations,
    and for coverage the figures of each service type (``<type>_covered_share`` …)."""
    names = store.PROPERTIES[collection.kind]
    if collection.kind == "stations":
        return names + tuple(HOURS_PROPERTIES)
    if collection.kind == "coverage" and cache is not None:
        figures = cache.get(session)
        return names + tuple(dict.fromkeys(name for row in figures.values() for name in row))
    return names


def _selected(feature_text: str, keep: tuple[str, ...]) -> str:
    """A feature's text with only the properties ``keep`` names, in that order (``properties=``).

    Parsed and written again: dearer than the framing above, paid only when a client asks for it.
    """
    document = json.loads(feature_text)
    found = document["properties"]
    document["properties"] = {name: found[name] for name in keep if name in found}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def item(session: Session, collection: Collection, feature_id: str, *, crs: str = CRS84,
         cache: CoverageCache | None = None) -> str:
    """One feature's GeoJSON text; NotFound naming the id (and collection) otherwise."""
    missing = NotFound(f"no feature {feature_id!r} in collection {collection.id!r}")
    key: int | str = feature_id
    if collection.kind == "stations":
        if not (feature_id.isascii() and feature_id.isdigit()) or len(feature_id) > 18:  # a bigint id
            raise missing
        key = int(feature_id)
    elif "\x00" in feature_id:  # PostgreSQL text cannot hold NUL: no such feature
        raise missing
    spec = CRS_SPECS[crs]
    found = store.feature(session, collection.kind, collection.key, key, swap_axes=spec.lat_lon, srid=spec.srid,
                          metres=spec.metres)
    if found is None:
        raise missing
    return _framed(session, collection, [found], cache)[0]


def _framed(session: Session, collection: Collection, texts: list[store.FeatureText],
            cache: CoverageCache | None) -> list[str]:
    if collection.kind == "stations":  # properties are a non-empty JSON object: its text ends with "}"
        return [_feature(text.id, text.geometry, text.properties[:-1] + _hours_member(text.hours) + "}")
                for text in texts]
    if collection.kind == "coverage":
        if cache is None:
            raise ValueError("the coverage collection needs a CoverageCache")
        figures = cache.get(session) if texts else {}
        return [_feature(text.id, text.geometry, append_members(text.properties, figures.get(str(text.code), {})))
                for text in texts]
    return [_feature(text.id, text.geometry, text.properties) for text in texts]


def _feature(identifier: str, geometry: str, properties: str) -> str:
    return f'{{"type":"Feature","id":{identifier},"geometry":{geometry},"properties":{properties}}}'


@lru_cache(maxsize=4096)
def _hours_member(hours_json: str | None) -> str:
    """The opening-hours members (``HOURS_PROPERTIES``) for one opening-hours JSON, as text to append.

    Text, not the stored object: QGIS and GDAL save layers to GeoPackage, Shapefile and CSV, which
    have no field type for a nested object ("Unsupported type for field opening_hours"). The
    structured hours stay in the REST API (/api/v1). Cached: a registry repeats few distinct
    schedules, so a page parses each once and serialises nothing per feature.
    """
    try:
        parsed, described = hours.read_stored(hours_json)
        osm = hours.format_simple(parsed)
    except ValueError:  # malformed hours (pydantic's ValidationError is a ValueError): say unknown
        described, osm = hours.describe_zh(hours.OpeningHours()), ""
    members = {"opening_hours": described, "opening_hours_text": described, "opening_hours_osm": osm}
    return "," + json.dumps(members, ensure_ascii=False, separators=(",", ":"))[1:-1]


def _native(value: object) -> object:
    """numpy scalars (from pandas) as the Python numbers json can write."""
    item = getattr(value, "item", None)
    if item is None:
        raise TypeError(f"not JSON serialisable: {type(value).__name__}")
    return item()


def append_members(document: str, extra: dict[str, object]) -> str:
    """Append members to a JSON object's text without parsing it (the text ends with ``}``)."""
    if not extra:
        return document
    members = json.dumps(extra, ensure_ascii=False, separators=(",", ":"), default=_native)[1:]
    return document[:-1] + ("," if document.rstrip()[:-1].strip() != "{" else "") + members


def feature_collection_text(features: list[str], members: dict[str, object]) -> str:
    """A GeoJSON FeatureCollection's text: ``members`` (links, counts …) first, then the features."""
    head = json.dumps({"type": "FeatureCollection", **members}, ensure_ascii=False, separators=(",", ":"))
    return head[:-1] + ',"features":[' + ",".join(features) + "]}"
