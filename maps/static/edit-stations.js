/* The editor's station finder (/edit): search and filters -> GET /api/v1/stations, a paged list
 * and every match on a Leaflet map. Names and addresses are the registry's, typed by people: they
 * go into the page as text only (textContent, DOM nodes for tooltips and popups), never as HTML. */
(function () {
  "use strict";
  var edit = window.unionmapEdit;
  var config = edit.config("stations-config");
  var form = document.getElementById("station-search");
  var list = document.getElementById("station-list");
  var count = document.getElementById("station-count");
  var pager = document.getElementById("station-pager");
  var countySelect = document.getElementById("search-county");
  var townshipSelect = document.getElementById("search-township");
  var shared = window.unionmapStations;
  var words = shared.labels(config);
  var text = shared.text;
  var stations = [];
  var pageAt = 0;
  // A phone shows the map above a shorter list page.
  var pageSize = window.matchMedia("(max-width: 860px)").matches ? Math.min(20, config.pageSize) : config.pageSize;
  var drawn = shared.baseMap("stations-map", config);
  var map = drawn.map;
  var layer = L.layerGroup().addTo(map);
  shared.showRegion(map, drawn.outlines, config);

  function place(props) {
    var county = props.county_code ? (words.regions[props.county_code] || props.county_code) : "不在任何县内";
    return props.township_code ? county + " · " + (words.regions[props.township_code] || props.township_code) : county;
  }

  /* Only townships of the chosen county are offered; a township of another county is cleared.
   * The other counties' groups are taken out of the list (a hidden or disabled <optgroup> still
   * shows in some browsers' pickers), and put back from this copy when the county changes. */
  var townshipGroups = Array.prototype.slice.call(townshipSelect.querySelectorAll("optgroup"));
  function limitTownships() {
    var county = countySelect.value;
    var chosen = townshipSelect.value;
    townshipGroups.forEach(function (group) {
      var shown = !county || group.getAttribute("data-county") === county;
      if (shown && !group.parentNode) townshipSelect.appendChild(group);
      if (!shown && group.parentNode) group.parentNode.removeChild(group);
    });
    townshipGroups.forEach(function (group) { if (group.parentNode) townshipSelect.appendChild(group); });  // in order
    townshipSelect.value = chosen;
    if (townshipSelect.value !== chosen) townshipSelect.value = "";
  }

  function query() {
    var params = new URLSearchParams();
    ["q", "type", "county", "township", "status"].forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) params.set(name, value);
    });
    return params;
  }

  function editLink(feature) {
    var link = text("a", feature.properties.name);
    link.href = config.edit + feature.id;
    return link;
  }

  function drawList() {
    list.replaceChildren();
    var first = pageAt * pageSize;
    stations.slice(first, first + pageSize).forEach(function (feature) {
      var props = feature.properties;
      var item = document.createElement("li");
      item.className = "station-item status-" + props.status;
      var title = document.createElement("div");
      title.className = "station-item-name";
      title.appendChild(editLink(feature));
      if (props.is_demo) title.appendChild(text("span", config.demo, "station-badge"));
      item.appendChild(title);
      var facts = document.createElement("div");
      facts.className = "station-item-facts";
      facts.appendChild(text("span", words.types[props.type_code] || props.type_name));
      facts.appendChild(text("span", place(props)));
      facts.appendChild(text("span", words.statuses[props.status] || props.status, "station-status"));
      item.appendChild(facts);
      if (props.address) item.appendChild(text("div", props.address, "station-item-address"));
      list.appendChild(item);
    });
    var pages = Math.max(1, Math.ceil(stations.length / pageSize));
    pager.hidden = pages <= 1;
    document.getElementById("page-at").textContent = "第 " + (pageAt + 1) + " / " + pages + " 页";
    document.getElementById("page-prev").disabled = pageAt === 0;
    document.getElementById("page-next").disabled = pageAt >= pages - 1;
  }

  function drawMap() {
    layer.clearLayers();
    var points = [];
    stations.forEach(function (feature) {
      var lonLat = feature.geometry.coordinates;
      var marker = L.circleMarker([lonLat[1], lonLat[0]], {radius: 6, weight: 1.5, color: "#1e3a8a",
        fillColor: feature.properties.status === "open" ? "#2563eb" : "#9ca3af", fillOpacity: 0.9});
      marker.bindTooltip(text("span", feature.properties.name));  // a node: Leaflet sets strings as HTML
      var popup = document.createElement("div");
      popup.appendChild(editLink(feature));
      popup.appendChild(text("div", place(feature.properties)));
      marker.bindPopup(popup);
      marker.addTo(layer);
      points.push([lonLat[1], lonLat[0]]);
    });
    if (points.length) map.fitBounds(L.latLngBounds(points).pad(0.1), {maxZoom: 15});
    else shared.showRegion(map, drawn.outlines, config);
  }

  var asked = 0;  // only the latest search's answer is drawn, whichever arrives last

  /* Every match, not just the API's first page: the largest pages the API serves, following its
   * `next` link (only its query: the page keeps its own origin) until there is none. */
  function allPages(search, found) {
    return edit.request("GET", config.api + "?" + search).then(function (answer) {
      if (!answer.ok) return answer;
      var features = found.concat(answer.body.features);
      var next = (answer.body.links || []).filter(function (link) { return link.rel === "next"; })[0];
      if (!next || !answer.body.features.length) return {ok: true, body: {features: features}};
      return allPages(new URL(next.href, window.location.href).search.slice(1), features);
    });
  }

  function search() {
    var params = query();
    var mine = ++asked;
    history.replaceState(null, "", edit.rooted("/edit") + (params.toString() ? "?" + params : ""));
    count.textContent = "正在查找… / searching…";
    var paged = new URLSearchParams(params);
    paged.set("limit", String(config.apiPageMax));
    return allPages(paged.toString(), []).then(function (answer) {
      if (mine !== asked) return;
      if (!answer.ok) {
        var detail = answer.body && answer.body.detail;
        count.textContent = "查找失败 / search failed: " +
          (typeof detail === "string" ? detail : (detail && detail[0] && detail[0].msg) || answer.status);
        return;
      }
      stations = answer.body.features;
      pageAt = 0;
      count.textContent = stations.length ? "找到 " + stations.length + " 个站点 / " + stations.length + " found"
        : "没有符合条件的站点 / no station matches";
      drawList();
      drawMap();
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    search();
  });
  countySelect.addEventListener("change", limitTownships);
  ["search-type", "search-county", "search-township", "search-status"].forEach(function (id) {
    document.getElementById(id).addEventListener("change", search);
  });
  document.getElementById("page-prev").addEventListener("click", function () { pageAt -= 1; drawList(); });
  document.getElementById("page-next").addEventListener("click", function () { pageAt += 1; drawList(); });
  limitTownships();
  search();
})();
