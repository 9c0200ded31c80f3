/* The map of a whole collection on its /ogc page (api/ogc/html.py, collection): drawn by
 * protomaps-leaflet (loaded before this file, with Leaflet) from the collection's own vector tiles,
 * the OGC API - Tiles address {z}/{y}/{x} of the JSON block #ogc-tile-map-config: the Leaflet
 * plug-in side of "readable by QGIS and by MapLibre/Leaflet plug-ins" (issue 15), shown to planners.
 *
 * - One layer per tile, named after the collection id (config.layer): stations as circles,
 *   regions as tinted areas with an outline; the colours of ogc-map.js.
 * - protomaps-leaflet's ZXY source does not look at the HTTP status: a 404 tile's JSON body is read
 *   as an MVT and fails (a console error). The tiles outside the collection's extent are 404s
 *   (their tileMatrixSetLimits), so the layer's Leaflet `bounds` is that extent and those tiles are
 *   never asked for; a tile inside it with nothing in it is an empty 200.
 * - Tiles exist to zoom 18 (config.maxDataZoom); past it the data of 18 is drawn larger.
 * - No names are drawn: nothing from a tile reaches the DOM. No basemap from the internet: the
 *   offline PMTiles file when the page names one (pmtiles-basemap.js), else a plain background.
 * The container says how many tiles arrived (data-tiles-loaded) once the visible ones are drawn
 * (data-ready), for tests. */
(function () {
  "use strict";
  var element = document.getElementById("ogc-tile-map");
  var source = document.getElementById("ogc-tile-map-config");
  if (!element || !source || !window.L || !window.protomapsL) { return; }
  var config = JSON.parse(source.textContent);
  var west = config.bbox[0], south = config.bbox[1], east = config.bbox[2], north = config.bbox[3];
  var extent = L.latLngBounds([south, west], [north, east]);
  var map = L.map(element, {scrollWheelZoom: false, maxZoom: 20});
  if (config.basemap && window.unionmapPmtiles) { window.unionmapPmtiles(map, config.basemap); }

  var AREA = "#0b5cad", POINT = "#c0392b";
  var rules = config.kind === "stations"
    ? [{dataLayer: config.layer, symbolizer: new protomapsL.CircleSymbolizer(
        {radius: 5, fill: POINT, opacity: 0.9, stroke: "#fff", width: 1.5})}]
    : [{dataLayer: config.layer, symbolizer: new protomapsL.PolygonSymbolizer({fill: AREA, opacity: 0.15})},
       {dataLayer: config.layer, symbolizer: new protomapsL.LineSymbolizer({color: AREA, width: 1.5})}];
  var layer = protomapsL.leafletLayer({
    url: config.tiles, maxDataZoom: config.maxDataZoom, paintRules: rules, labelRules: [],
    bounds: extent, maxZoom: 20, attribution: "矢量瓦片 / vector tiles: OGC API - Tiles"
  });
  var loaded = 0;
  layer.on("tileload", function () { element.setAttribute("data-tiles-loaded", String(++loaded)); });
  layer.on("load", function () { element.setAttribute("data-ready", "true"); });
  layer.addTo(map);

  if (extent.getNorthEast().equals(extent.getSouthWest())) {
    map.setView(extent.getCenter(), 14);
  } else {
    map.fitBounds(extent, {padding: [16, 16], maxZoom: 15});
  }
  element.unionmapMap = map;  // for tests: latLngToContainerPoint of a known feature
})();
