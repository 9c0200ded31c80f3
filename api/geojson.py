"""GeoDataFrame → GeoJSON FeatureCollection schema, in the coordinate system the client asked for."""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from pydantic import BaseModel

from api.schemas import Feature, FeatureCollection
from geo import crs as coords
from geo.catalogue import missing_as_none
from geo.crs import CoordSystem


def geometries(frame: gpd.GeoDataFrame, crs: CoordSystem = "wgs84") -> list[dict[str, Any]]:
    """GeoJSON geometries of a WGS-84 frame, converted to ``crs`` (GCJ-02, BD-09) at the edge."""
    values = frame.geometry.values
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
