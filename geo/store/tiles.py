"""SQL of the vector tiles (OGC API - Tiles): one Mapbox Vector Tile per statement, made by PostGIS.

``ST_TileEnvelope`` gives the tile's square in Web Mercator (EPSG:3857, the WebMercatorQuad tile
matrix set), ``ST_AsMVTGeom`` moves each geometry into the tile's 4096 × 4096 grid, clips it to
the tile plus a 64-unit buffer (so that a line or a symbol drawn across the tile edge joins its
neighbour) and drops what the grid cannot show, which is all the simplification by zoom there
is; ``ST_AsMVT`` encodes the layer. Rows are chosen with the GiST index on ``geom`` (EPSG:4326)
through the buffered square transformed to degrees (Mercator keeps a lon/lat rectangle a
rectangle, so that box is exact).

What the features carry is what the OGC feature pages carry (``geo.store.features``) less what a
tile cannot hold: scalar properties only, with the same honesty flags (``is_demo``,
``region_is_approximate``, ``boundary_is_approximate``, ``position_is_unknown``, ``population_is_modelled``);
a station's
opening hours stay on its feature page (they are JSON put into words by the caller there). Times
are ISO 8601 text, as in the GeoJSON. The MVT feature id is the station id, or the region code
when it is all digits (an MVT id is an unsigned integer); the code is also a property.

Live stations only (``geo.store.counting.live_sql``). An empty result is an empty tile: zero
bytes, which is a valid MVT with no layers. Values are bound; the statements are constants.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.core.bbox import Bbox
from geo.store.counting import live_sql
from geo.store.regions import position_unknown_sql
from geo.store.scope import IN_SCOPE_R, IN_SCOPE_S, scope_param

TileKind = Literal["stations", "regions"]
EXTENT = 4096  # tile grid units per side (the MVT default)
BUFFER = 64  # grid units kept beyond each edge

_LIVE = f"{live_sql('s')} AND {IN_SCOPE_S}"  # the session's cities (geo.store.scope)
_UNKNOWN_R = position_unknown_sql("r")
# The tile's square (EPSG:3857) and the buffered one in degrees, for the index.
_TILE = """
    WITH tile AS (
        SELECT ST_TileEnvelope(CAST(:z AS integer), CAST(:x AS integer), CAST(:y AS integer)) AS box,
               ST_Transform(ST_TileEnvelope(CAST(:z AS integer), CAST(:x AS integer), CAST(:y AS integer),
                                            margin => CAST(:margin AS float8)), 4326) AS near)"""
# The layer, and the extent of all the rows the collection has (a tile outside it is not served):
# one round trip, and the extent costs one pass over the type's stations, not a count and a join.
_STATIONS_SQL = text(f"""{_TILE},
    extent AS (SELECT ST_Extent(s.geom) AS e FROM station s WHERE {_LIVE} AND s.type_code = :key)
    SELECT ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north, (
        SELECT ST_AsMVT(layer, CAST(:layer AS text), {EXTENT}, 'geom', 'fid') FROM (
            SELECT s.id AS fid,
                   ST_AsMVTGeom(ST_Transform(s.geom, 3857), tile.box, {EXTENT}, {BUFFER}, true) AS geom,
                   s.id AS station_id, s.type_code, t.name_zh AS type_name, s.name, s.address, s.status,
                   array_to_string(s.amenities, ',') AS amenities, s.phone, s.managing_union,
                   s.county_code, s.township_code, s.is_demo,
                   coalesce(r.boundary_is_approximate, false) AS region_is_approximate, s.source, s.version,
                   to_json(s.created_at) #>> '{{}}' AS created_at, to_json(s.updated_at) #>> '{{}}' AS updated_at
            FROM tile, station s JOIN service_type t ON t.code = s.type_code
                 LEFT JOIN region r ON r.code = s.township_code
            WHERE {_LIVE} AND s.type_code = :key AND s.geom && tile.near) AS layer
        WHERE layer.geom IS NOT NULL) AS data
    FROM extent""")
_REGIONS_SQL = text(f"""{_TILE},
    extent AS (SELECT ST_Extent(r.geom) AS e FROM region r WHERE r.level = :key AND {IN_SCOPE_R})
    SELECT ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north, (
        SELECT ST_AsMVT(layer, CAST(:layer AS text), {EXTENT}, 'geom', 'fid') FROM (
            SELECT CASE WHEN r.code ~ '^[0-9]{{1,18}}$' THEN CAST(r.code AS bigint) END AS fid,
                   ST_AsMVTGeom(ST_Transform(r.geom, 3857), tile.box, {EXTENT}, {BUFFER}, true) AS geom,
                   r.code, r.name, r.level, r.parent_code, r.kind, r.population, r.urban_population,
                   r.population_is_modelled, r.boundary_is_approximate, {_UNKNOWN_R} AS position_is_unknown,
                   r.source
            FROM tile, region r
            WHERE r.level = :key AND {IN_SCOPE_R} AND r.geom && tile.near) AS layer
        WHERE layer.geom IS NOT NULL) AS data
    FROM extent""")
_STATEMENTS = {"stations": _STATIONS_SQL, "regions": _REGIONS_SQL}


class Tile(NamedTuple):
    """One tile's bytes and the extent (lon, lat degrees) of everything its collection holds."""

    data: bytes  # empty: nothing in the tile
    extent: Bbox | None  # None: the collection is empty


def tile(session: Session, kind: TileKind, key: str, *, layer: str, z: int, x: int, y: int) -> Tile:
    """The MVT of one WebMercatorQuad tile (``z``, column ``x``, row ``y`` from the top) holding the
    live stations of type ``key`` or the regions of level ``key``, as one layer named ``layer``, with
    the extent of all of them (the caller refuses a tile outside it: the tileset's limits).

    The caller checks that the tile exists in the matrix set.
    """
    row = session.execute(_STATEMENTS[kind], {"z": z, "x": x, "y": y, "margin": BUFFER / EXTENT,
                                              "key": key, "layer": layer} | scope_param(session)).one()
    extent = None if row.west is None else (float(row.west), float(row.south), float(row.east), float(row.north))
    return Tile(bytes(row.data or b""), extent)
