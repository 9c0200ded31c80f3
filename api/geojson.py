"""GeoDataFrame → GeoJSON FeatureCollection schema."""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import shapely
from pydantic import BaseModel

from api.schemas import Feature, FeatureCollection


def feature_collection(frame: gpd.GeoDataFrame, properties: type[BaseModel], *,
                       id_column: str) -> FeatureCollection[Any]:
    """Wrap every row as a Feature; property columns are those the schema declares."""
    columns = [name for name in properties.model_fields if name in frame.columns]
    records = frame[columns].to_dict("records")
    geometries = shapely.to_geojson(frame.geometry.values)
    features = [
        Feature[properties].model_construct(  # type: ignore[valid-type]
            type="Feature", id=identifier, geometry=json.loads(geometry),
            properties=properties.model_validate(record))
        for identifier, geometry, record in zip(frame[id_column], geometries, records, strict=True)
    ]
    return FeatureCollection[properties](features=features, numberReturned=len(features))  # type: ignore[valid-type]

