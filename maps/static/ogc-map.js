/* The small map of an /ogc HTML page (api/ogc/html.py): the page's features from the JSON block
 * #ogc-map-config, drawn by Leaflet (loaded before this file) as circle markers and outlines,
 * fitted to them. A click opens the feature's name, set with textContent (names come from the
 * registry and may hold markup), and a link to its page. No basemap from the internet: the
 * offline PMTiles file when the page names one (pmtiles-basemap.js), else a plain background.
 * The container says how many features it drew (data-drawn), for tests and assistive tools. */
(function () {
  "use strict";
  var element = document.getElementById("ogc-map");
  var source = document.getElementById("ogc-map-config");
  if (!element || !source || !window.L) { return; }
  var config = JSON.parse(source.textContent);
  var map = L.map(element, {scrollWheelZoom: false});
  if (config.basemap && window.unionmapPmtiles) { window.unionmapPmtiles(map, config.basemap); }

  function popup(feature) {
    var box = document.createElement("div");
    var name = document.createElement("strong");
    name.className = "ogc-map-name";
    name.textContent = feature.properties.name;
    var link = document.createElement("a");
    link.href = config.itemsUrl + "/" + encodeURIComponent(String(feature.id)) + "?f=html";
    link.textContent = "详情 / details";
    box.appendChild(name);
    box.appendChild(document.createElement("br"));
    box.appendChild(link);
    return box;
  }

  var area = {color: "#0b5cad", weight: 2, fillColor: "#0b5cad", fillOpacity: 0.15};
  var point = {radius: 7, color: "#fff", weight: 2, fillColor: "#c0392b", fillOpacity: 0.9};
  var layer = L.geoJSON(config.features, {
    style: function (feature) { return /Point$/.test(feature.geometry.type) ? point : area; },
    pointToLayer: function (feature, latlng) { return L.circleMarker(latlng, point); },
    onEachFeature: function (feature, drawn) { drawn.bindPopup(popup(feature)); }
  }).addTo(map);
  element.setAttribute("data-drawn", String(layer.getLayers().length));
  var bounds = layer.getBounds();
  if (!bounds.isValid()) {
    map.setView([0, 0], 1);
  } else if (bounds.getNorthEast().equals(bounds.getSouthWest())) {
    map.setView(bounds.getCenter(), 14);
  } else {
    map.fitBounds(bounds, {padding: [16, 16], maxZoom: 15});
  }
})();
