"""GeoDataFrame → GeoJSON FeatureCollection schema, in the coordinate system the client asked for."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel

from api.schemas import Feature, FeatureCollection, StationProperties
from geo.core import crs as coords
from geo.core import hours
from geo.core.crs import CoordSystem, GeometryLike
from geo.store.catalogue import missing_as_none


def geometries(frame: gpd.GeoDataFrame, crs: CoordSystem = "wgs84") -> list[dict[str, Any]]:
    """GeoJSON geometries of a WGS-84 frame, converted to ``crs`` (GCJ-02, BD-09) at the edge, polygons
    with RFC 7946's ring orientation (exterior counterclockwise, holes clockwise)."""
    values: GeometryLike = shapely.orient_polygons(np.asarray(frame.geometry.values), exterior_cw=False)
    if crs != "wgs84":
        values = coords.convert_geometry(values, source="wgs84", target=crs)
    return [json.loads(text) for text in shapely.to_geojson(values)]


def feature_collection(frame: gpd.GeoDataFrame, properties: type[BaseModel], *,
                       id_column: str, crs: CoordSystem = "wgs84") -> FeatureCollection[Any]:
    """Wrap every row as a Feature; property columns are those the schema declares.

    Missing values reach the schema as None (JSON null), whichever frame it is: a NaN would be
    refused by ``str | None`` and make the whole answer a 500.
    """
    columns = [name for name in properties.model_fields if name in frame.columns]
    records = missing_as_none(pd.DataFrame(frame[columns])).to_dict("records")
    features = [
        Feature[properties].model_construct(  # type: ignore[valid-type]
            type="Feature", id=identifier, geometry=geometry, properties=properties.model_validate(record))
        for identifier, geometry, record in zip(frame[id_column], geometries(frame, crs), records, strict=True)
    ]
    return FeatureCollection[properties](features=features, numberReturned=len(features))  # type: ignore[valid-type]


# The columns of a station row that are properties as they are (the rest are made below).
_PLAIN = [name for name in StationProperties.model_fields if name not in ("opening_hours_text", "open_now")]


def station_collection_json(rows: list[dict[str, Any]], *, crs: CoordSystem, at: datetime, timezone: str,
                            open_now: bool | None = None) -> bytes:
    """Station rows (``geo.catalogue.station_rows``) as a GeoJSON FeatureCollection of
    ``StationProperties``, serialised once, in ``crs``.

    The hot path of the station list: hours parsed once per distinct schedule
    (``hours.read_stored``), one vectorised coordinate conversion, no DataFrame and no second
    validation pass (tests compare it with the schema's own serialisation).
    """
    local = at.astimezone(ZoneInfo(timezone))
    kept, states = [], []
    for row in rows:
        parsed, text = hours.read_stored(row["opening_hours_json"])
        state = hours.is_open(parsed, local)
        if open_now is None or state == open_now:
            kept.append((row, text))
            states.append(state)
    lon, lat = coords.convert([row["lon"] for row, _ in kept], [row["lat"] for row, _ in kept],
                              source="wgs84", target=crs)
    features = []
    for (row, text), state, x, y in zip(kept, states, lon.tolist(), lat.tolist(), strict=True):
        properties = {name: row.get(name) for name in _PLAIN}
        properties["created_at"] = _iso(row["created_at"])
        properties["updated_at"] = _iso(row["updated_at"])
        properties["opening_hours_text"] = text
        properties["open_now"] = state
        features.append({"type": "Feature", "id": row["id"],
                         "geometry": {"type": "Point", "coordinates": [x, y]}, "properties": properties})
    body = {"type": "FeatureCollection", "features": features, "numberReturned": len(features)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _iso(value: datetime) -> str:
    """A timestamp as pydantic writes it (``Z`` for UTC), so both serialisations agree."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
