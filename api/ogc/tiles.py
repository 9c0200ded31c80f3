"""OGC API - Tiles 1.0 (vector tiles) over the /ogc collections: the documents and the tile address.

- ``/tileMatrixSets`` and ``/tileMatrixSets/WebMercatorQuad``: the one tile matrix set, as the
  OGC 2D TMS 2.0 JSON definition (its numbers from ``geo.core.tilematrix``).
- ``/collections/{id}/tiles`` (tilesets list) and ``…/tiles/WebMercatorQuad`` (tileset metadata:
  ``dataType`` vector, the ``item`` link template, ``tileMatrixSetLimits`` from the collection's
  extent, one layer with its property schema), and the tiles ``…/{tileMatrix}/{tileRow}/{tileCol}``
  as Mapbox Vector Tiles that PostGIS makes (``geo.store.tiles``).

Station collections, counties and townships have tiles; coverage has none (its figures are
computed in Python per township, not in SQL). Errors, per /req/core/tc-error: a tileMatrix, row
or column that is not a non-negative integer is a 400 naming it; a well-formed address outside
the tile matrix set, outside the served tile matrices (0–``MAX_ZOOM``) or outside the limits
(the collection's extent) is a 404. A tile inside the limits with nothing in it is a 200 with an
empty body (an MVT without layers): every client reads that, and it gets an ETag like any other
tile (``api.etags``); a 204 would not.
"""

from __future__ import annotations

import re
from typing import Any

from api.ogc.collections import Collection
from api.ogc.documents import link
from api.ogc.params import CRS84
from geo.core import tilematrix
from geo.errors import InputError, NotFound
from geo.store.tiles import TileKind

MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 18  # deepest tile matrix served; clients overzoom past it (a point needs no more)
REL_TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
REL_TILING_SCHEMES = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"
TMS_TITLE = "Web 墨卡托四叉树 / Google Maps Compatible for the World"
_INTEGER = re.compile(r"[0-9]{1,9}")

# The properties each kind of tile carries (geo.store.tiles) and their JSON types, for ``layers``.
_STRING, _INTEGER_T, _BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
_TIME = {"type": "string", "format": "date-time"}
PROPERTIES: dict[TileKind, dict[str, dict[str, str]]] = {
    "stations": {
        "station_id": _INTEGER_T, "type_code": _STRING, "type_name": _STRING, "name": _STRING, "address": _STRING,
        "status": _STRING, "amenities": _STRING, "phone": _STRING, "managing_union": _STRING,
        "county_code": _STRING, "township_code": _STRING, "is_demo": _BOOLEAN, "region_is_approximate": _BOOLEAN,
        "source": _STRING, "version": _INTEGER_T, "created_at": _TIME, "updated_at": _TIME},
    "regions": {
        "code": _STRING, "name": _STRING, "level": _STRING, "parent_code": _STRING, "kind": _STRING,
        "population": _INTEGER_T, "urban_population": _INTEGER_T, "population_is_modelled": _BOOLEAN,
        "boundary_is_approximate": _BOOLEAN, "position_is_unknown": _BOOLEAN, "source": _STRING},
}


def tile_kind(collection: Collection) -> TileKind:
    """The kind of tiles a collection has; NotFound for one without tiles (coverage)."""
    if collection.kind == "coverage":
        raise NotFound(f"collection {collection.id!r} has no tiles (its figures are not in the database)")
    return collection.kind


def tile_matrix_set(root: str) -> dict[str, Any]:
    """The 2D TMS 2.0 JSON definition of WebMercatorQuad, tile matrices 0–24.

    With the 2.0 draft's member names beside the standard's (``identifier``, ``supportedCRS``, a
    ``boundingBox`` with ``lowerCorner``/``upperCorner``, ``topLeftCorner``): GDAL before 3.7 (Debian
    12 ships 3.6) reads only those and cannot open the tiles otherwise. JSON readers of 2.0 ignore them.
    """
    corner = [-tilematrix.ORIGIN_M, tilematrix.ORIGIN_M]
    matrices = [{"id": str(zoom), "scaleDenominator": tilematrix.scale_denominator(zoom),
                 "cellSize": tilematrix.cell_size(zoom), "cornerOfOrigin": "topLeft", "pointOfOrigin": corner,
                 "tileWidth": tilematrix.TILE_SIZE, "tileHeight": tilematrix.TILE_SIZE,
                 "matrixWidth": 1 << zoom, "matrixHeight": 1 << zoom}
                | {"identifier": str(zoom), "topLeftCorner": corner}  # the draft's names (GDAL < 3.7)
                for zoom in range(tilematrix.MAX_MATRIX + 1)]
    square = {"lowerLeft": [-tilematrix.ORIGIN_M, -tilematrix.ORIGIN_M],
              "upperRight": [tilematrix.ORIGIN_M, tilematrix.ORIGIN_M], "crs": tilematrix.CRS}
    return {"id": tilematrix.ID, "title": TMS_TITLE, "uri": tilematrix.URI, "crs": tilematrix.CRS,
            "orderedAxes": ["X", "Y"], "wellKnownScaleSet": tilematrix.WELL_KNOWN_SCALE_SET,
            "boundingBox": square | {"lowerCorner": square["lowerLeft"], "upperCorner": square["upperRight"]},
            # the 2.0 draft's names, which GDAL before 3.7 reads instead of id, crs and tileMatrices[].id
            "identifier": tilematrix.ID, "supportedCRS": tilematrix.CRS,
            "links": [link(_tms_url(root), "self", "application/json", TMS_TITLE)],
            "tileMatrices": matrices}


def tile_matrix_sets(root: str) -> dict[str, Any]:
    """The list of tile matrix sets: WebMercatorQuad alone."""
    url = _tms_url(root)
    return {"tileMatrixSets": [{"id": tilematrix.ID, "title": TMS_TITLE, "uri": tilematrix.URI,
                                "crs": tilematrix.CRS, "links": [link(url, "self", "application/json", TMS_TITLE),
                                                                 link(url, REL_TILING_SCHEME, "application/json",
                                                                      TMS_TITLE)]}],
            "links": [link(f"{root}/tileMatrixSets", "self", "application/json", "瓦片矩阵集 / tile matrix sets")]}


def find_tile_matrix_set(tms_id: str) -> None:
    """NotFound unless ``tms_id`` is the one set served."""
    if tms_id != tilematrix.ID:
        raise NotFound(f"no tile matrix set {tms_id!r}; this API serves {tilematrix.ID}")


def _tms_url(root: str) -> str:
    return f"{root}/tileMatrixSets/{tilematrix.ID}"


def _tileset_url(root: str, collection: Collection) -> str:
    return f"{root}/collections/{collection.id}/tiles/{tilematrix.ID}"


def limits(collection: Collection) -> list[tilematrix.TileRange]:
    """The tiles of each served matrix that the collection's extent touches; none without an extent."""
    if collection.bbox is None:
        return []
    return [tilematrix.tile_range(collection.bbox, zoom) for zoom in range(MAX_ZOOM + 1)]


def _tileset_summary(root: str, collection: Collection) -> dict[str, Any]:
    """What the tilesets list and the tileset metadata both say."""
    url = _tileset_url(root, collection)
    return {"title": collection.title, "dataType": "vector", "crs": tilematrix.CRS,
            "tileMatrixSetURI": tilematrix.URI,
            "links": [link(url, "self", "application/json", collection.title),
                      link(_tms_url(root), REL_TILING_SCHEME, "application/json", TMS_TITLE)]}


def tilesets(root: str, collection: Collection) -> dict[str, Any]:
    """The tilesets list of a collection: one, in WebMercatorQuad."""
    url = f"{root}/collections/{collection.id}"
    tile_kind(collection)
    return {"links": [link(f"{url}/tiles", "self", "application/json", "矢量瓦片集 / vector tilesets"),
                      link(url, "collection", "application/json", collection.title)],
            "tilesets": [_tileset_summary(root, collection)]}


def tileset(root: str, collection: Collection) -> dict[str, Any]:
    """The tileset metadata (OGC API - Tiles 1.0 tileset, TMS 2.0 tile set metadata)."""
    kind = tile_kind(collection)
    document = _tileset_summary(root, collection)
    document["description"] = collection.description
    document["links"] += [
        link(_tileset_url(root, collection) + "/{tileMatrix}/{tileRow}/{tileCol}", "item", MVT,
             "Mapbox 矢量瓦片 / Mapbox Vector Tile") | {"templated": True},
        link(f"{root}/collections/{collection.id}", "collection", "application/json", collection.title)]
    found = limits(collection)
    if found:
        document["tileMatrixSetLimits"] = [
            {"tileMatrix": str(item.zoom), "minTileRow": item.min_row, "maxTileRow": item.max_row,
             "minTileCol": item.min_col, "maxTileCol": item.max_col} for item in found]
    if collection.bbox is not None:
        west, south, east, north = collection.bbox
        document["boundingBox"] = {"lowerLeft": [west, south], "upperRight": [east, north], "crs": CRS84}
    document["layers"] = [{
        "id": collection.id, "title": collection.title, "description": collection.description,
        "dataType": "vector", "geometryDimension": 0 if kind == "stations" else 2,
        "featureType": collection.id, "minTileMatrix": "0", "maxTileMatrix": str(MAX_ZOOM),
        "propertiesSchema": {"type": "object", "properties": PROPERTIES[kind]},
        "links": [link(f"{root}/collections/{collection.id}/items", "items", "application/geo+json",
                       "要素 / features")]}]
    return document


def _integer(value: str, name: str) -> int:
    if not _INTEGER.fullmatch(value):
        raise InputError(f"{value!r} is not a non-negative integer", field=name)
    return int(value)


def tile_address(tms_id: str, matrix: str, row: str, col: str) -> tuple[int, int, int]:
    """(zoom, row, col) of a tile request; InputError (400) for a malformed value, NotFound (404)
    for a tile outside the set or the served matrices (the limits are :func:`check_limits`')."""
    find_tile_matrix_set(tms_id)
    zoom, y, x = _integer(matrix, "tileMatrix"), _integer(row, "tileRow"), _integer(col, "tileCol")
    if zoom > MAX_ZOOM:
        raise NotFound(f"tile matrix {zoom} is not served; this tileset has 0–{MAX_ZOOM}")
    if y >= (1 << zoom) or x >= (1 << zoom):
        raise NotFound(f"no tile {zoom}/{y}/{x}: tile matrix {zoom} has rows and columns 0–{(1 << zoom) - 1}")
    return zoom, y, x


def check_limits(collection: Collection, zoom: int, row: int, col: int) -> None:
    """NotFound (404) for a tile outside the collection's ``tileMatrixSetLimits`` (``collection.bbox``,
    its extent, taken with the tile); none without an extent (an empty collection has empty tiles)."""
    if collection.bbox is not None and not tilematrix.tile_range(collection.bbox, zoom).contains(row, col):
        raise NotFound(f"tile {zoom}/{row}/{col} is outside the limits of {collection.id!r} (its extent)")
