"""QGIS as a client of /ogc: run by Debian's ``/usr/bin/python3`` (python3-qgis), never by the venv.

tests/api/test_qgis.py starts the server, runs this script headless (``QT_QPA_PLATFORM=offscreen``,
a throw-away HOME so no QGIS profile of the machine is read or written) and asserts on the JSON
it writes. This script only observes what QGIS does and reports it; it judges nothing, so a
failure shows the pytest side's expected values next to what QGIS saw.

For every collection given it opens a layer with the OAPIF provider (the one behind QGIS's
"Add WFS / OGC API - Features layer" dialog), reads the feature count and fields, reads every
feature, selects those in a rectangle twice (once filtered by QGIS on the downloaded layer, once
with "only request features overlapping the view extent", where QGIS sends ``bbox=`` and pages
through ``next`` links), then saves the layer with ``QgsVectorFileWriter`` to one GeoPackage (a
table per collection), to CSV and to Shapefile.

Usage: /usr/bin/python3 tests/qgis_client.py BASE_URL OUT_DIR W,S,E,N COLLECTION...
(writes OUT_DIR/result.json)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCoordinateTransformContext,
    QgsDataSourceUri,
    QgsFeatureRequest,
    QgsRectangle,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)

KEYS = ("station_id", "code")  # the property that is the feature's id: stations, then regions


def _key(layer: QgsVectorLayer) -> str:
    names = layer.fields().names()
    return next(name for name in KEYS if name in names)


def _bounds(feature: Any) -> list[float]:
    box = feature.geometry().boundingBox()
    return [box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()]


def _save(layer: QgsVectorLayer, path: Path, driver: str, layer_name: str, append: bool,
          layer_options: list[str] | None = None) -> dict[str, Any]:
    """Save with QgsVectorFileWriter (what "Export → Save Features As…" runs); report its answer."""
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = driver
    options.fileEncoding = "UTF-8"
    options.layerName = layer_name
    options.actionOnExistingFile = (QgsVectorFileWriter.CreateOrOverwriteLayer if append
                                    else QgsVectorFileWriter.CreateOrOverwriteFile)
    if layer_options:
        options.layerOptions = layer_options
    answer = QgsVectorFileWriter.writeAsVectorFormatV3(layer, str(path), QgsCoordinateTransformContext(), options)
    return {"error": int(answer[0]), "message": answer[1], "path": str(path)}


def _layer(base: str, name: str, **params: str) -> QgsVectorLayer:
    """A layer as "Add WFS / OGC API - Features layer" makes it: the service URL and the collection."""
    uri = QgsDataSourceUri()
    uri.setParam("url", f"{base}/ogc")
    uri.setParam("typename", name)
    for key, value in params.items():
        uri.setParam(key, value)
    return QgsVectorLayer(uri.uri(False), name, "OAPIF")


def _in_rect(layer: QgsVectorLayer, key: str, rect: QgsRectangle) -> list[Any]:
    """Keys of the features that touch the rectangle. ExactIntersect (test the geometry, not only its
    bounding box) is what the server's bbox= does (ST_Intersects)."""
    request = QgsFeatureRequest().setFilterRect(rect).setFlags(QgsFeatureRequest.ExactIntersect)
    return sorted(feature[key] for feature in layer.getFeatures(request))


def read_collection(base: str, name: str, rect: QgsRectangle, out: Path, first: bool) -> dict[str, Any]:
    """Everything QGIS does with one collection, as plain data."""
    started = time.monotonic()
    layer = _layer(base, name)  # the dialog's defaults: QGIS downloads the layer and filters itself
    report: dict[str, Any] = {"valid": layer.isValid()}
    if not layer.isValid():
        report["error"] = layer.error().summary()
        return report
    key = _key(layer)
    report |= {
        "key": key,
        "crs": layer.crs().authid(),
        "geometry_type": QgsWkbTypes.displayString(layer.wkbType()),
        "fields": {field.name(): field.typeName() for field in layer.fields()},
        "feature_count": layer.featureCount(),  # before any feature is read: the server's numberMatched
    }
    features = {feature[key]: feature for feature in layer.getFeatures()}
    report["read"] = len(features)
    report["feature_count_after_read"] = layer.featureCount()
    report["bounds"] = {str(value): _bounds(feature) for value, feature in features.items()}
    if "opening_hours" in layer.fields().names():
        report["opening_hours"] = {str(value): feature["opening_hours"] for value, feature in features.items()}
    report["in_rect"] = _in_rect(layer, key, rect)
    # "Only request features overlapping the view extent": QGIS sends the rectangle as bbox= and
    # follows the pages' next links (15 a page, so a rectangle of stations takes several).
    report["in_rect_server"] = _in_rect(_layer(base, name, restrictToRequestBBOX="1", pageSize="15"), key, rect)
    report["gpkg"] = _save(layer, out / "all.gpkg", "GPKG", name, append=not first)
    report["csv"] = _save(layer, out / f"{name}.csv", "CSV", name, append=False, layer_options=["GEOMETRY=AS_WKT"])
    report["shp"] = _save(layer, out / f"{name}.shp", "ESRI Shapefile", name, append=False)
    if "status" in layer.fields().names():
        # QGIS 3.22 filters a subset string itself (it sends no filter to the server; CQL2 came in 3.32)
        layer.setSubsetString("status = 'open'")
        report["open"] = sum(1 for _ in layer.getFeatures())
    report["seconds"] = round(time.monotonic() - started, 2)
    return report


def main(argv: list[str]) -> int:
    base, out_dir, box, *collections = argv
    out = Path(out_dir)
    west, south, east, north = (float(value) for value in box.split(","))
    app = QgsApplication([], False)
    app.initQgis()
    try:
        result: dict[str, Any] = {"qgis": Qgis.QGIS_VERSION, "collections": {}}
        rect = QgsRectangle(west, south, east, north)
        for index, name in enumerate(collections):
            result["collections"][name] = read_collection(base.rstrip("/"), name, rect, out, first=index == 0)
        (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    finally:
        app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
