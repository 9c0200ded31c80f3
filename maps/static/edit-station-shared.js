/* What the editor's station pages share (edit-stations.js, edit-station.js): Chinese names of
 * regions, types, statuses and amenities from the page's vocabulary, text nodes, and the map
 * (county outlines, tiles only for a WGS-84 raster basemap). Loaded after Leaflet and edit.js. */
(function () {
  "use strict";

  /* code -> Chinese name, for each list of {code, name} in the vocabulary. */
  function labels(config) {
    function byCode(items) {
      var out = {};
      items.forEach(function (item) { out[item.code] = item.name; });
      return out;
    }
    var regions = {};
    config.counties.forEach(function (county) {
      regions[county.code] = county.name;
      county.townships.forEach(function (township) { regions[township.code] = township.name; });
    });
    return {regions: regions, types: byCode(config.types), statuses: byCode(config.statuses),
            amenities: byCode(config.amenities)};
  }

  /* An element holding ``value`` as text (never parsed as HTML). */
  function text(tag, value, className) {
    var element = document.createElement(tag);
    if (value !== undefined && value !== null) element.textContent = value;
    if (className) element.className = className;
    return element;
  }

  /* A Leaflet map in element ``id`` with the county outlines; {map, outlines}. */
  function baseMap(id, config) {
    var map = L.map(id, {zoomControl: true});
    if (config.tiles) {
      L.tileLayer(config.tiles.url, {attribution: config.tiles.attribution, subdomains: config.tiles.subdomains,
                                     maxZoom: 18}).addTo(map);
    } else if (config.pmtiles && window.unionmapPmtiles) {
      window.unionmapPmtiles(map, config.pmtiles);
    }
    var outlines = L.geoJSON(config.outlines, {interactive: false, style: {color: "#555", weight: 1.5, fill: false}})
      .addTo(map);
    return {map: map, outlines: outlines};
  }

  /* Show the whole region (its outlines, else the configured centre). */
  function showRegion(map, outlines, config) {
    var bounds = outlines.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds);
    else if (config.centre) map.setView([config.centre[1], config.centre[0]], 10);
  }

  window.unionmapStations = {labels: labels, text: text, baseMap: baseMap, showRegion: showRegion};
})();
