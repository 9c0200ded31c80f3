"""GeoDataFrame → GeoJSON FeatureCollection schema, in the coordinate system the client asked for."""

from __future__ import annotations

import json
from dataclasses import dataclass
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
from geo.store import counting
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


@dataclass(frozen=True)
class StationState:
    """A station row with its hours read: the text riders see and whether it is open now."""

    row: dict[str, Any]
    hours_text: str
    open_now: bool | None


def station_states(rows: list[dict[str, Any]], *, at: datetime, timezone: str) -> list[StationState]:
    """Each row's hours parsed once per distinct schedule (``hours.read_stored``) and its
    ``open_now`` by the counting rule (``geo.store.counting.open_now``: a closed or planned
    station is never open now), read at ``at`` in the region's ``timezone``."""
    local = at.astimezone(ZoneInfo(timezone))
    states = []
    for row in rows:
        parsed, text = hours.read_stored(row["opening_hours_json"])
        states.append(StationState(row, text, counting.open_now(row["status"], parsed, local)))
    return states


def station_collection_json(states: list[StationState], *, crs: CoordSystem,
                            extra: dict[str, Any] | None = None) -> bytes:
    """Stations (:func:`station_states`) as a GeoJSON FeatureCollection of ``StationProperties``,
    serialised once, in ``crs``; ``extra`` members (a page's ``numberMatched``, ``links``) follow.

    The hot path of the station list: one vectorised coordinate conversion, no DataFrame and no
    second validation pass (tests compare it with the schema's own serialisation).
    """
    lon, lat = coords.convert([state.row["lon"] for state in states], [state.row["lat"] for state in states],
                              source="wgs84", target=crs)
    features = []
    for state, x, y in zip(states, lon.tolist(), lat.tolist(), strict=True):
        row = state.row
        properties = {name: row.get(name) for name in _PLAIN}
        properties["created_at"] = _iso(row["created_at"])
        properties["updated_at"] = _iso(row["updated_at"])
        properties["opening_hours_text"] = state.hours_text
        properties["open_now"] = state.open_now
        features.append({"type": "Feature", "id": row["id"],
                         "geometry": {"type": "Point", "coordinates": [x, y]}, "properties": properties})
    body = {"type": "FeatureCollection", "features": features, "numberReturned": len(features), **(extra or {})}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _iso(value: datetime) -> str:
    """A timestamp as pydantic writes it (``Z`` for UTC), so both serialisations agree."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
