/* The offline PMTiles basemap on a Leaflet map, drawn by protomaps-leaflet (loaded before this
 * file): window.unionmapPmtiles(map, {url, flavor, lang, attribution}). Used by the Folium maps
 * (maps/vector_basemap.py) and the editor's maps (api/editor) alike.
 *
 * The file's metadata is user-supplied: its attribution is shown as text, never as HTML. Tags
 * are dropped and common entities read by string operations, not by an HTML parser: even an
 * inert parsed document reports the event handlers it meets as CSP violations. */
(function () {
  "use strict";
  var ENTITIES = {amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " ", copy: "©"};

  function asText(html) {
    return String(html).replace(/<[^>]*>?/g, " ").replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, function (all, name) {
      var code = name[0] !== "#" ? null : name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16)
        : parseInt(name.slice(1), 10);
      if (code === null) { return ENTITIES[name.toLowerCase()] || all; }
      return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : all;
    }).replace(/\s+/g, " ");
  }

  function escaped(text) {
    return text.replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
  }

  window.unionmapPmtiles = function (map, options) {
    var archive = new protomapsL.PmtilesSource(options.url, true).p;
    return archive.getHeader().then(function (header) {
      var layer = protomapsL.leafletLayer({url: archive, flavor: options.flavor, lang: options.lang,
                                           maxDataZoom: header.maxZoom, attribution: options.attribution});
      layer.addTo(map);
      return archive.getMetadata().then(function (metadata) {
        var given = metadata && typeof metadata.attribution === "string" ? metadata.attribution : "";
        var credit = asText(given).trim();
        if (credit && map.attributionControl) {
          map.attributionControl.addAttribution(escaped(credit.slice(0, 300)));
        }
      });
    }).catch(function (error) {
      console.warn("unionmap: 离线底图不可用 / offline basemap unavailable:", error);
    });
  };
})();
