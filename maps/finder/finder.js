// Phone finder: nearest open union stations around the user's position (WGS-84 lon, lat).
// Plain ES2020, no framework, no build step; the map (Leaflet, no tiles) is optional and comes
// second: Leaflet loads async, the list is drawn from the API's answer without it, and the map is
// set up whenever Leaflet arrives (it then shows the position and the stations already listed).
// Each card has "报告问题": one tap opens the four choices, a tap on one sends the report.
"use strict";

const config = JSON.parse(document.getElementById("finder-config").textContent);
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const STATUS = {
  true: ["开放中", "open"], false: ["休息中", "closed"], null: ["时间未知", "unknown"],
};
const NAV = [["amap", "高德"], ["baidu", "百度"], ["apple", "Apple 地图"]];
const position = { lon: null, lat: null, source: "" };
let latest = 0; // number of the newest search: older answers arriving late are dropped
let map = null;
let youMarker = null;
let stationLayer = null;
let listed = null; // the stations on the list, for a map set up after they arrived
const start = new URLSearchParams(window.location.search);
// ?station=<id> (a printed station card's QR): that station is listed first and marked.
const pinned = /^[1-9]\d{0,14}$/.test(start.get("station") || "") ? Number(start.get("station")) : null;

/** An element with attributes and children (strings become text, never HTML). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

/** A reference to one icon of the page's SVG sprite. */
function icon(id) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS(SVG, "use");
  use.setAttribute("href", `#${id}`);
  svg.append(use);
  return svg;
}

function showStatus(text, kind = "") {
  const node = $("status");
  node.textContent = text;
  node.className = `status ${kind}`.trim();
}

function formatDistance(metres) {
  return metres < 1000 ? `${Math.round(metres)} 米` : `${(metres / 1000).toFixed(1)} 公里`;
}

function describePosition() {
  return `${position.source}：${position.lon.toFixed(5)}, ${position.lat.toFixed(5)}`;
}

/** Set the user's position (WGS-84) and search around it. */
function setPosition(lon, lat, source) {
  Object.assign(position, { lon, lat, source });
  drawPosition();
  search();
}

function drawPosition() {
  if (!map || position.lon === null) return;
  if (!youMarker) {
    youMarker = L.circleMarker([position.lat, position.lon], {
      radius: 8, color: "#fff", weight: 2, fillColor: "#1a73e8", fillOpacity: 1, interactive: false,
    }).addTo(map);
  }
  youMarker.setLatLng([position.lat, position.lon]);
}

/** The API query for the current position and filters. */
function query() {
  const params = new URLSearchParams({
    lon: position.lon.toFixed(6), lat: position.lat.toFixed(6), crs: "wgs84", limit: "5",
  });
  if ($("type").value) params.set("type", $("type").value);
  for (const box of document.querySelectorAll("input[name=amenity]:checked")) params.append("amenity", box.value);
  if ($("open-now").checked) params.set("open_now", "true");
  if (pinned) params.set("station", String(pinned));
  return params;
}

async function search() {
  if (position.lon === null) return;
  const number = ++latest;
  showStatus(`正在查找附近的站点…（${describePosition()}）`, "busy");
  try {
    const response = await fetch(`${config.api}?${query()}`, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const data = await response.json();
    if (number !== latest) return;
    render(data.stations);
  } catch (error) {
    if (number !== latest) return;
    showStatus(`查询失败，请稍后再试（${error.message}）`, "error");
  }
}

function amenityList(codes) {
  const list = el("ul", { class: "amenities", "aria-label": "设施" });
  for (const code of codes) {
    const amenity = config.amenities[code] || { name: code, icon: null };
    list.append(el("li", { title: amenity.name }, amenity.icon ? icon(amenity.icon) : null, amenity.name));
  }
  return list;
}

/** Only web links leave the page: a hand-off URL is never a javascript: or data: one. */
function webLink(url) {
  return typeof url === "string" && /^https:\/\//i.test(url) ? url : null;
}

function actions(station) {
  const row = el("div", { class: "actions" });
  if (station.phone) {
    const dial = station.phone.replace(/[^\d+]/g, "");
    row.append(el("a", { class: "button call", href: `tel:${dial}` }, icon("i-phone"), `电话 ${station.phone}`));
  }
  for (const [key, label] of NAV) {
    const link = webLink(station.navigation[key]);
    if (link) {
      row.append(el("a", {
        class: `button nav nav-${key}`, href: link, target: "_blank", rel: "noopener",
        "aria-label": `用${label}导航到${station.name}`,
      }, icon("i-nav"), label));
    }
  }
  return row;
}

/** Send a rider's report; the card then says it was received, or what went wrong (plainly). */
async function sendReport(station, kind, note, box) {
  const result = box.querySelector(".report-result");
  const buttons = box.querySelectorAll("button");
  buttons.forEach((button) => { button.disabled = true; });
  result.className = "report-result";
  result.textContent = "正在发送…";
  const body = { kind };
  if (note.value.trim()) body.note = note.value.trim();
  let message;
  try {
    const response = await fetch(`${config.stations}/${station.id}/reports`, {
      method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (response.ok) {
      const done = el("p", { class: "report-done", role: "status", tabindex: "-1" }, answer.message);
      box.replaceWith(done);
      done.focus();
      return;
    }
    const detail = Array.isArray(answer.detail) ? answer.detail.map((item) => item.msg).join("；") : answer.detail;
    message = `报告没有发出：${detail || `HTTP ${response.status}`}`;
  } catch (error) {
    message = "网络不通，报告没有发出，请稍后再试";
  }
  buttons.forEach((button) => { button.disabled = false; });
  result.className = "report-result error";
  result.textContent = message;
}

/** The report panel of a card, made on first use: an optional text, then the four choices. */
function reportPanel(station, box) {
  const id = `report-${station.id}`;
  const note = el("input", { type: "text", id: `${id}-note`, maxlength: String(config.noteMax), autocomplete: "off" });
  const choices = el("div", { class: "report-kinds", role: "group", "aria-labelledby": `${id}-ask` });
  for (const [kind, label] of config.reportKinds) {
    const button = el("button", { type: "button", "data-kind": kind }, label);
    button.addEventListener("click", () => sendReport(station, kind, note, box));
    choices.append(button);
  }
  return el("div", { class: "report-panel", id },
    el("label", { for: `${id}-note` }, "补充说明（可不填）"), note,
    el("p", { class: "report-ask", id: `${id}-ask` }, "点一下问题即发送："), choices,
    el("p", { class: "report-result", role: "status", "aria-live": "polite" }));
}

/** "报告问题": the button, and the panel it opens. */
function reportBox(station) {
  const box = el("div", { class: "report" });
  const toggle = el("button", { type: "button", class: "report-open", "aria-expanded": "false" }, "报告问题");
  toggle.addEventListener("click", () => {
    let panel = box.querySelector(".report-panel");
    if (!panel) {
      panel = reportPanel(station, box);
      toggle.setAttribute("aria-controls", panel.id);
      box.append(panel);
    } else {
      panel.hidden = !panel.hidden;
    }
    toggle.setAttribute("aria-expanded", String(!panel.hidden));
  });
  box.append(toggle);
  return box;
}

function stationItem(station, index) {
  const [statusText, statusClass] = STATUS[station.open_now ?? null];
  const isPinned = station.id === pinned;
  return el("li", { class: isPinned ? "station pinned" : "station", "data-id": station.id },
    el("div", { class: "head" },
      el("span", { class: "rank", "aria-hidden": "true" }, String(index + 1)),
      el("h2", {}, station.name),
      el("span", { class: `state ${statusClass}` }, statusText)),
    isPinned ? el("p", { class: "pinned-tag" }, "链接（二维码）中的站点") : null,
    station.reported_closed ? el("p", { class: "reported" }, `⚠ ${config.reportedClosed}`) : null,
    el("p", { class: "meta" }, el("strong", { class: "distance" }, formatDistance(station.distance_m)),
      ` · ${station.type_name}`, station.is_demo ? el("span", { class: "demo-tag" }, "演示") : null),
    el("p", { class: "address" }, station.address),
    el("p", { class: "hours" }, icon("i-clock"), station.opening_hours_text || "开放时间未登记"),
    amenityList(station.amenities),
    actions(station),
    reportBox(station));
}

function render(stations) {
  const list = $("results");
  listed = stations;
  list.replaceChildren(...stations.map(stationItem));
  $("demo-notice").hidden = !stations.some((station) => station.is_demo);
  if (stations.length === 0) {
    const hint = $("open-now").checked ? "可取消“只看正在开放”，或减少设施条件。" : "可减少设施条件，或换一个位置。";
    showStatus(`附近没有符合条件的站点。${hint}（${describePosition()}）`, "empty");
  } else {
    const missing = pinned && stations[0].id !== pinned ? `链接中的站点（编号 ${pinned}）不在开放名录中。` : "";
    showStatus(`${missing}离你最近的 ${stations.length} 个站点（${describePosition()}）`, "ok");
  }
  drawStations(stations);
}

function drawStations(stations) {
  if (!map) return;
  stationLayer.clearLayers();
  stations.forEach((station, index) => {
    const className = station.open_now === false ? "pin closed" : "pin"; // numbered like the list
    const pin = L.divIcon({ className, html: String(index + 1), iconSize: [24, 24] });
    // A node, not a string: Leaflet puts string content into innerHTML.
    const label = el("span", {}, `${index + 1}. ${station.name}`);
    L.marker([station.lat, station.lon], { icon: pin, title: station.name, keyboard: false })
      .bindTooltip(label).addTo(stationLayer);
  });
  const points = stations.map((station) => [station.lat, station.lon]).concat([[position.lat, position.lon]]);
  map.fitBounds(L.latLngBounds(points).pad(0.15), { maxZoom: 16 });
}

function setUpMap() {
  if (!window.L || map) return; // the list works without the map
  map = L.map("map", { zoomControl: true });
  // Leaflet's own credit, without the flag its 1.9 prefix carries (a link, never a request).
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" title="A JavaScript library for interactive maps">Leaflet</a>');
  const outlines = L.geoJSON(config.outlines, {
    interactive: false, style: { color: "#7a8a99", weight: 1, fill: false },
  }).addTo(map);
  stationLayer = L.layerGroup().addTo(map);
  if (outlines.getBounds().isValid()) map.fitBounds(outlines.getBounds());
  else if (config.centre) map.setView([config.centre[1], config.centre[0]], 9);
  else map.setView([0, 0], 2);
  map.on("click", (event) => setPosition(event.latlng.lng, event.latlng.lat, "地图点选"));
  drawPosition();
  if (listed) drawStations(listed);
}

function locate() {
  if (!navigator.geolocation) {
    showStatus("此浏览器不能定位，请在地图上点选或选择乡镇", "error");
    $("manual").open = true;
    return;
  }
  showStatus("正在获取你的位置…", "busy");
  navigator.geolocation.getCurrentPosition(
    (fix) => setPosition(fix.coords.longitude, fix.coords.latitude, "当前位置"),
    () => {
      showStatus("无法获取位置，请在地图上点选或选择乡镇", "error");
      $("manual").open = true;
    },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
}

/** "lon,lat" or "lat,lon" (as copied from map apps) in degrees; null when not a point in range. */
function parseCoordinates(text) {
  const numbers = text.split(/[\s,，;]+/).filter(Boolean).map(Number);
  if (numbers.length !== 2 || numbers.some(Number.isNaN)) return null;
  const [a, b] = numbers;
  const [lon, lat] = Math.abs(a) > 90 ? [a, b] : Math.abs(b) > 90 ? [b, a] : [a, b];
  return Math.abs(lon) <= 180 && Math.abs(lat) <= 90 ? [lon, lat] : null;
}

function wire() {
  $("locate").addEventListener("click", locate);
  for (const id of ["type", "open-now"]) $(id).addEventListener("change", search);
  for (const box of document.querySelectorAll("input[name=amenity]")) {
    box.addEventListener("change", () => {
      box.parentElement.classList.toggle("on", box.checked); // older phone browsers lack CSS :has()
      search();
    });
  }
  $("township").addEventListener("change", (event) => {
    const option = event.target.selectedOptions[0];
    if (!event.target.value) return;
    const [lon, lat] = event.target.value.split(",").map(Number);
    setPosition(lon, lat, option.textContent.trim());
  });
  $("coords-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const point = parseCoordinates($("coords").value);
    if (point) setPosition(point[0], point[1], "输入坐标");
    else showStatus("坐标格式不对，请输入“经度,纬度”" + (config.example ? "，例如 " + config.example : ""), "error");
  });
}

if (window.L) setUpMap();
else $("leaflet-script").addEventListener("load", setUpMap, { once: true });
wire();
const startPoint = parseCoordinates(`${start.get("lon") || ""},${start.get("lat") || ""}`);
if (startPoint) setPosition(startPoint[0], startPoint[1], "链接中的位置");
else locate();
