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
table per collection), to CSV and to Shapefile. Every URL QGIS fetches is recorded, so the
pytest side can tell what QGIS asked the server (``crs=``, ``filter=``) from what it did itself.

Two more observations: a layer opened asking for another CRS (``srsname``, the URI key QGIS's
WFS provider reads), and, with ``--tiles``, the collection's vector tiles as a vector tile layer
(3.22 has no Python MVT decoder, so the layer is rendered offscreen: one township's code red,
every other township grey, nothing white) to a PNG the pytest side samples.

Usage: /usr/bin/python3 tests/qgis_client.py [--tiles CODE,XMIN,YMIN,XMAX,YMAX] BASE_URL OUT_DIR
W,S,E,N COLLECTION... (writes OUT_DIR/result.json, and OUT_DIR/tiles.png with --tiles; the
--tiles box is EPSG:3857 metres)
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
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCoordinateTransformContext,
    QgsDataSourceUri,
    QgsFeatureRequest,
    QgsFillSymbol,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsNetworkAccessManager,
    QgsProject,
    QgsRectangle,
    QgsVectorFileWriter,
    QgsVectorLayer,
    QgsVectorTileBasicRenderer,
    QgsVectorTileBasicRendererStyle,
    QgsVectorTileLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

KEYS = ("station_id", "code")  # the property that is the feature's id: stations, then regions
FETCHED: list[str] = []  # every URL QGIS fetched, in order (QgsNetworkAccessManager's finished signal)
TILE_SIZE = 1024  # pixels of the rendered tile layer, square
HIT, OTHER, BACKGROUND = "#ff0000", "#808080", "#ffffff"


def _fetched_since(mark: int, app: QgsApplication) -> list[str]:
    """URLs fetched since ``mark``; the signal reaches the main thread queued, so let it run."""
    app.processEvents()
    return FETCHED[mark:]


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


def read_in_crs(base: str, name: str, srsname: str, app: QgsApplication) -> dict[str, Any]:
    """A layer asked for in another CRS: what CRS QGIS gives it, the URLs it fetched, and the first
    features' points as read and as QGIS itself projects them to that CRS (what a project in that
    CRS shows)."""
    mark = len(FETCHED)
    layer = _layer(base, name, srsname=srsname)
    target = QgsCoordinateReferenceSystem(srsname)
    transform = QgsCoordinateTransform(layer.crs(), target, QgsProject.instance())
    read: dict[str, list[float]] = {}
    projected: dict[str, list[float]] = {}
    for feature in layer.getFeatures(QgsFeatureRequest().setLimit(5)):
        point = feature.geometry().asPoint()
        read[str(feature[_key(layer)])] = [point.x(), point.y()]
        moved = transform.transform(point)
        projected[str(feature[_key(layer)])] = [moved.x(), moved.y()]
    return {"valid": layer.isValid(), "crs": layer.crs().authid(), "target": target.authid(), "read": read,
            "projected": projected, "urls": _fetched_since(mark, app)}


def read_subset(base: str, name: str, subset: str, app: QgsApplication) -> dict[str, Any]:
    """A fresh layer with a subset string (Filter…): what it selects and which URLs QGIS fetched."""
    mark = len(FETCHED)
    layer = _layer(base, name)
    layer.setSubsetString(subset)
    keys = sorted(feature[_key(layer)] for feature in layer.getFeatures())
    return {"subset": subset, "keys": keys, "urls": _fetched_since(mark, app)}


def render_tiles(base: str, name: str, code: str, box: QgsRectangle, out: Path,
                 app: QgsApplication) -> dict[str, Any]:
    """The collection's vector tiles as "Add Vector Tile Layer" opens them, rendered offscreen over
    ``box`` (EPSG:3857): the feature whose ``code`` is ``code`` red, other features grey, no outlines
    and no antialiasing, so every pixel is one of three colours. QGIS 3.22 exposes no MVT decoder
    to Python; rendering is how its own decoder is observed."""
    mark = len(FETCHED)
    uri = QgsDataSourceUri()
    uri.setParam("type", "xyz")
    uri.setParam("url", f"{base}/ogc/collections/{name}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}")
    uri.setParam("zmin", "0")
    uri.setParam("zmax", "18")
    layer = QgsVectorTileLayer(bytes(uri.encodedUri()).decode(), name)
    report: dict[str, Any] = {"valid": layer.isValid(), "crs": layer.crs().authid()}
    if not layer.isValid():
        return report
    styles = []
    for style_name, expression, colour in (("hit", f"\"code\" = '{code}'", HIT),
                                           ("other", f"\"code\" <> '{code}'", OTHER)):
        style = QgsVectorTileBasicRendererStyle(style_name, name, QgsWkbTypes.PolygonGeometry)
        style.setFilterExpression(expression)
        style.setSymbol(QgsFillSymbol.createSimple({"color": QColor(colour).name(), "outline_style": "no"}))
        styles.append(style)
    renderer = QgsVectorTileBasicRenderer()
    renderer.setStyles(styles)
    layer.setRenderer(renderer)
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    settings.setOutputSize(QSize(TILE_SIZE, TILE_SIZE))
    settings.setExtent(box)
    settings.setBackgroundColor(QColor(BACKGROUND))
    settings.setFlag(QgsMapSettings.Antialiasing, False)
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    image.save(str(out / "tiles.png"))
    visible = settings.visibleExtent()
    return report | {
        "errors": [error.message for error in job.errors()],
        "extent": [visible.xMinimum(), visible.yMinimum(), visible.xMaximum(), visible.yMaximum()],
        "size": [image.width(), image.height()],
        "png": str(out / "tiles.png"),
        "urls": _fetched_since(mark, app),
    }


def main(argv: list[str]) -> int:
    tiles = None
    if argv[0] == "--tiles":
        tiles, argv = argv[1].split(","), argv[2:]
    base, out_dir, box, *collections = argv
    base = base.rstrip("/")
    out = Path(out_dir)
    west, south, east, north = (float(value) for value in box.split(","))
    app = QgsApplication([], False)
    app.initQgis()
    QgsNetworkAccessManager.instance().finished.connect(lambda reply: FETCHED.append(reply.request().url().toString()))
    try:
        result: dict[str, Any] = {"qgis": Qgis.QGIS_VERSION, "collections": {}}
        rect = QgsRectangle(west, south, east, north)
        for index, name in enumerate(collections):
            result["collections"][name] = read_collection(base, name, rect, out, first=index == 0)
        if "love_station" in collections:
            result["in_crs"] = {srsname: read_in_crs(base, "love_station", srsname, app)
                                for srsname in ("EPSG:3857", "EPSG:4490")}
            result["subset"] = read_subset(base, "love_station", "status = 'open' AND station_id < 60", app)
        if tiles:
            code, *corners = tiles
            result["tiles"] = render_tiles(base, "townships", code, QgsRectangle(*map(float, corners)), out, app)
        (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    finally:
        app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
