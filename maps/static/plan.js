/* The plan page (maps/plan.py draws it; this script takes it over once loaded).
 *
 * - The form re-plans with POST /api/v1/plans and redraws the proposals, table, figures and
 *   certificate in place; the URL follows (history.replaceState) so a reload gives the same plan.
 *   Without this script the form is a plain GET to /maps/plan.
 * - What-if: ✕ removes a proposal, a click on the map adds your own site (a square); the edited
 *   list is evaluated by POST /api/v1/plans/evaluate (the engine's figures, not a re-solve) and
 *   the page says it is edited until 恢复方案 / reset.
 * - Downloads POST the sites on screen to /plans/export; 保存方案 POSTs them to /plans/edited with
 *   an editor key kept in sessionStorage only.
 * - Candidates from a CSV: read with FileReader, posted as text/csv to /plans/candidates.
 *
 * Everything typed by a user or sent back by the server is put in the page with textContent,
 * never as HTML. No inline handlers: the page's Content-Security-Policy runs only known scripts.
 */
(function () {
  "use strict";

  var KEY = "unionmap.plan.editorKey";
  var PROPOSAL = "#e6550d";
  var OWN = "#6a3d9a";
  // The API beside the page (/maps/plan → /api/v1/); none for a downloaded file or a page
  // written into a blank tab: then the page shows the plan as drawn and changes nothing.
  var API = null;
  if (/^https?:$/.test(window.location.protocol)) {
    API = new URL("../api/v1/", window.location.href).href;
  }

  function byId(id) { return document.getElementById(id); }

  // --- the map's datum -------------------------------------------------------------------------
  // The API speaks WGS-84; a map drawn on GCJ-02 tiles (UNIONMAP_BASEMAP=amap) has every overlay
  // shifted to GCJ-02 by the server (maps.basemap.for_display). Sites are kept in WGS-84 here and
  // shifted only to be drawn; a click is shifted back. The same closed form as geo/core/crs.py
  // (wgs84_to_gcj02), and its inverse by the same fixed-point iteration, to well under a metre.
  var GCJ_A = 6378245.0, GCJ_EE = 0.00669342162296594323;

  function outOfChina(lon, lat) { return !(lon > 72.004 && lon < 137.8347 && lat > 0.8293 && lat < 55.8271); }

  function toGcj(lon, lat) {
    if (outOfChina(lon, lat)) { return [lon, lat]; }
    var x = lon - 105.0, y = lat - 35.0, PI = Math.PI;
    var common = (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    var dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x)) + common;
    dlon += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
    dlon += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    var dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    dlat += common + (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
    dlat += (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    var rad = lat * PI / 180.0, magic = 1.0 - GCJ_EE * Math.sin(rad) * Math.sin(rad);
    dlat = dlat * 180.0 / ((GCJ_A * (1.0 - GCJ_EE)) / (magic * Math.sqrt(magic)) * PI);
    dlon = dlon * 180.0 / (GCJ_A / Math.sqrt(magic) * Math.cos(rad) * PI);
    return [lon + dlon, lat + dlat];
  }

  function fromGcj(lon, lat) {
    var w = [lon, lat];
    for (var i = 0; i < 8; i++) {
      var g = toGcj(w[0], w[1]);
      w = [w[0] - (g[0] - lon), w[1] - (g[1] - lat)];
    }
    return w;
  }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function people(value) { return Math.round(value).toLocaleString("en-US"); }
  function percent(value) { return (value * 100).toFixed(1) + "%"; }
  function place(site) {
    return [site.county_name, site.township_name].filter(function (part) { return part; }).join(" · ");
  }

  // The message of an error answer: the API's one line ("message"), its "detail", or a status.
  function errorText(status, body) {
    var prefix = {401: "需要编辑密钥 / key needed", 403: "该密钥无权保存 / this key may not save",
                  409: "尚未建立人口网格 / no demand grid yet", 413: "文件过大 / file too large",
                  422: "输入有误 / bad input", 429: "请求过多，请稍后再试 / too many requests, retry later",
                  503: "服务繁忙，请稍后再试 / server busy, retry later"}[status] || ("错误 / error " + status);
    var detail = "";
    if (body && typeof body === "object") {
      if (body.errors && body.errors.length) {
        detail = body.errors.map(function (e) {
          return "第 " + e.row + " 行 row " + e.row + " · " + e.field + "：" + e.reason;
        }).join("；");
      } else if (typeof body.message === "string") {
        detail = body.message;
      } else if (typeof body.detail === "string") {
        detail = body.detail;
      } else if (Array.isArray(body.detail)) {
        detail = body.detail.map(function (d) { return (d.loc || []).join(".") + "：" + d.msg; }).join("；");
      }
    }
    return prefix + (detail ? "：" + detail : "");
  }

  function request(method, path, body, options) {
    options = options || {};
    var headers = {"Accept": "application/json"};
    if (options.contentType) { headers["Content-Type"] = options.contentType; }
    else if (body !== undefined) { headers["Content-Type"] = "application/json"; }
    if (options.key) { headers.Authorization = "Bearer " + options.key; }
    return fetch(API + path, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : (options.contentType ? body : JSON.stringify(body))
    }).then(function (response) {
      if (options.blob && response.ok) {
        return response.blob().then(function (blob) { return {response: response, blob: blob}; });
      }
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (error) { data = text; }
        if (!response.ok) {
          var failure = new Error(errorText(response.status, data));
          failure.status = response.status;
          throw failure;
        }
        return data;
      });
    });
  }

  function start() {
    var handles = window.unionmapPlan;
    var dataNode = byId("unionmap-plan-data");
    if (!handles || !dataNode || !window.L) { return; }
    var initial = JSON.parse(dataNode.textContent);
    var map = handles.map;
    var layer = handles.proposals;
    var form = byId("unionmap-plan-form");
    var status = byId("unionmap-plan-status");
    var offline = API === null;
    var gcj = initial.datum === "gcj02";
    function shown(site) {  // [lat, lon] where the map draws a WGS-84 site
      var point = gcj ? toGcj(site.lon, site.lat) : [site.lon, site.lat];
      return [point[1], point[0]];
    }

    // The plan as solved (to reset to) and the sites on screen now.
    var state = {
      type: initial.type, add: initial.add, min: initial.min_per_county, candidates: null,
      solved: null, sites: [], edited: false, busy: false
    };

    function setStatus(text, isError) {
      status.textContent = text || "";
      status.classList.toggle("unionmap-plan-error", !!isError);
    }

    function setBusy(busy, text) {
      state.busy = busy;
      document.body.classList.toggle("unionmap-plan-busy", busy);
      byId("unionmap-plan-submit").disabled = busy;
      form.setAttribute("aria-busy", busy ? "true" : "false");
      if (busy) { setStatus(text || "计算中… / working…"); }
    }

    // A grid plan's names are cell ids ("候选格 …"): only the names of uploaded candidates are kept.
    function fromPlan(plan, ownCandidates) {
      return plan.proposals.map(function (p) {
        return {lon: p.lon, lat: p.lat, name: ownCandidates ? p.name || null : null, own: false, order: p.order,
                county_name: p.county_name, township_name: p.township_name, added: p.added,
                cumulative: p.cumulative, share: p.share};
      });
    }

    function marker(site) {
      var icon = L.divIcon({
        className: "", iconSize: [24, 24], iconAnchor: [12, 12],
        html: '<div class="' + (site.own ? "unionmap-own-site" : "unionmap-proposal") + '" style="background:' +
              (site.own ? OWN : PROPOSAL) + '">' + Number(site.order) + "</div>"
      });
      var tip = el("span", "#" + site.order + " " + (site.own ? "自选点 own site " : "") + place(site) +
                   "：新增覆盖 " + people(site.added) + " 人");
      if (site.name) { tip.appendChild(el("span", "（" + site.name + "）")); }
      return L.marker(shown(site), {icon: icon, keyboard: false}).bindTooltip(tip);
    }

    function drawFigures(totals) {
      var count = state.sites.length;
      var kind = byId("unionmap-plan-type");
      var name = kind.options[kind.selectedIndex] ? kind.options[kind.selectedIndex].textContent : state.type;
      var head = byId("unionmap-plan-kind");
      head.textContent = "";
      head.appendChild(el("b", name + " 新增 " + count + " 处 / proposals"));
      var population = totals.population || 0;
      function share(value) { return population ? percent(value / population) : "—"; }
      byId("unionmap-plan-before").textContent = "规划前 before：" + people(totals.before) + " 人（" + share(totals.before) + "）";
      byId("unionmap-plan-after").textContent = "规划后 after：" + people(totals.after) + " 人（" + share(totals.after) + "）";
      byId("unionmap-plan-added").textContent = "新增覆盖 added：" + people(totals.after - totals.before) + " 人";
    }

    function drawTable() {
      var body = byId("unionmap-plan-table").tBodies[0];
      body.textContent = "";
      state.sites.forEach(function (site, index) {
        var row = document.createElement("tr");
        if (site.own) { row.className = "unionmap-plan-own"; }
        row.appendChild(el("td", (site.own ? "＋" : "") + site.order));
        row.appendChild(el("td", site.county_name || "—"));
        var township = el("td", site.township_name || "—");
        if (site.name) { township.appendChild(el("div", site.name, "unionmap-plan-name")); }
        row.appendChild(township);
        row.appendChild(el("td", people(site.added), "num"));
        row.appendChild(el("td", percent(site.share), "num"));
        var cell = el("td");
        var remove = el("button", "✕", "unionmap-plan-remove");
        remove.type = "button";
        remove.setAttribute("aria-label", "移除第 " + site.order + " 处 / remove #" + site.order);
        remove.addEventListener("click", function () { removeSite(index); });
        cell.appendChild(remove);
        row.appendChild(cell);
        body.appendChild(row);
      });
    }

    function drawMarkers() {
      layer.clearLayers();
      state.sites.forEach(function (site) { marker(site).addTo(layer); });
    }

    function draw(totals, certificate) {
      drawMarkers();
      drawTable();
      drawFigures(totals);
      var cert = byId("unionmap-plan-certificate");
      cert.textContent = certificate || "";
      cert.classList.toggle("unionmap-plan-void", state.edited);
      byId("unionmap-plan-edited").hidden = !state.edited;
      byId("unionmap-plan-reset").disabled = !state.edited;
      var after = document.querySelector(".unionmap-plan-after-note");
      if (after) { after.hidden = !state.edited && !state.replanned; }
      document.body.setAttribute("data-plan-state", state.edited ? "edited" : "solved");
    }

    function showPlan(plan, replanned) {
      state.solved = plan;
      state.sites = fromPlan(plan, !!plan.ownCandidates);
      state.edited = false;
      state.replanned = state.replanned || !!replanned;
      draw({before: plan.covered_before, after: plan.covered_after, population: plan.population}, plan.certificate);
    }

    function payload() {
      return {type: state.type, crs: "wgs84", sites: state.sites.map(function (s) {
        return {lon: s.lon, lat: s.lat, name: s.name || null};
      })};
    }

    function evaluate() {
      setBusy(true, "重新计算… / evaluating…");
      return request("POST", "plans/evaluate", payload()).then(function (answer) {
        answer.sites.forEach(function (row, index) {
          var site = state.sites[index];
          site.order = row.order; site.added = row.added; site.cumulative = row.cumulative;
          site.share = row.cumulative_share; site.county_name = row.county_name;
          site.township_name = row.township_name;
        });
        state.edited = true;
        draw({before: answer.before, after: answer.after, population: answer.population},
             state.solved ? state.solved.certificate : "");
        setBusy(false);
        setStatus("已按编辑后的地点重新计算 / evaluated the edited list");
      }).catch(function (error) { setBusy(false); setStatus(error.message, true); throw error; });
    }

    function removeSite(index) {
      if (state.busy) { return; }
      var removed = state.sites.splice(index, 1);
      evaluate().catch(function () { state.sites.splice(index, 0, removed[0]); });
    }

    function addSite(latlng) {
      if (state.busy || offline) { return; }
      var own = state.sites.filter(function (s) { return s.own; }).length + 1;
      var point = gcj ? fromGcj(latlng.lng, latlng.lat) : [latlng.lng, latlng.lat];
      state.sites.push({lon: +point[0].toFixed(6), lat: +point[1].toFixed(6), name: "自选点 " + own,
                        own: true, order: state.sites.length + 1, added: 0, share: 0});
      evaluate().catch(function () { state.sites.pop(); });
    }

    function query() {
      return "type=" + encodeURIComponent(state.type) + "&add=" + state.add + "&min_per_county=" + state.min;
    }

    function plan() {
      var body = {type: state.type, add: state.add, min_per_county: state.min};
      var csv = form.querySelector('input[name="source"][value="csv"]');
      if (csv && csv.checked) {
        if (!state.candidates) { setStatus("请先选择 CSV 文件 / choose a CSV file first", true); return; }
        body.candidates = state.candidates.map(function (s) { return {lon: s.lon, lat: s.lat, name: s.name}; });
        body.candidate_crs = "wgs84"; // /plans/candidates answered in WGS-84
      }
      setBusy(true, "规划中… / planning…");
      request("POST", "plans", body).then(function (answer) {
        answer.ownCandidates = !!body.candidates;
        showPlan(answer, true);
        history.replaceState(null, "", window.location.pathname + "?" + query());
        var export_ = "../api/v1/plans/export?" + query();
        byId("unionmap-plan-csv").href = export_ + "&format=csv";
        byId("unionmap-plan-xlsx").href = export_ + "&format=xlsx";
        setBusy(false);
        setStatus("已规划 " + answer.proposals.length + " 处 / planned");
      }).catch(function (error) { setBusy(false); setStatus(error.message, true); });
    }

    function filename(response, fallback) {
      var header = response.headers.get("Content-Disposition") || "";
      var star = /filename\*=UTF-8''([^;]+)/i.exec(header);
      if (star) { try { return decodeURIComponent(star[1]); } catch (error) { /* the plain name then */ } }
      var plain = /filename="([^"]+)"/i.exec(header);
      return plain ? plain[1] : fallback;
    }

    function download(format) {
      setBusy(true, "生成文件… / preparing the file…");
      request("POST", "plans/export?format=" + format, payload(), {blob: true}).then(function (answer) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(answer.blob);
        link.download = filename(answer.response, "unionmap-plan." + format);
        document.body.appendChild(link);
        link.click();
        setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
        setBusy(false);
        setStatus("已下载 / downloaded");
      }).catch(function (error) { setBusy(false); setStatus(error.message, true); });
    }

    function storedKey() {
      try { return window.sessionStorage.getItem(KEY) || ""; } catch (error) { return ""; }
    }

    function save() {
      var input = byId("unionmap-plan-key");
      var out = byId("unionmap-plan-saved");
      var key = input.value.trim();
      try { if (key) { window.sessionStorage.setItem(KEY, key); } } catch (error) { /* kept for this page only */ }
      out.textContent = "保存中… / saving…";
      out.classList.remove("unionmap-plan-error");
      request("POST", "plans/edited", payload(), {key: key}).then(function (answer) {
        out.textContent = "已保存，方案编号 " + answer.plan_id + " / saved as plan " + answer.plan_id + "：";
        var link = el("a", answer.url);
        link.href = answer.url;
        out.appendChild(link);
      }).catch(function (error) {
        out.textContent = error.message;
        out.classList.add("unionmap-plan-error");
      });
    }

    function upload(file) {
      var out = byId("unionmap-plan-upload");
      out.classList.remove("unionmap-plan-error");
      state.candidates = null;
      if (!file) { out.textContent = ""; return; }
      var reader = new FileReader();
      reader.onload = function () {
        var crs = byId("unionmap-plan-crs").value;
        out.textContent = "读取中… / reading…";
        request("POST", "plans/candidates?crs=" + encodeURIComponent(crs) + "&filename=" +
                encodeURIComponent(file.name.slice(0, 200)), reader.result,
                {contentType: "text/csv"}).then(function (answer) {
          state.candidates = answer.sites;
          out.textContent = "已读取 " + answer.count + " 个候选点（已转为 WGS-84）/ " + answer.count + " candidates read";
          var csv = form.querySelector('input[name="source"][value="csv"]');
          if (csv) { csv.checked = true; }
        }).catch(function (error) {
          out.textContent = error.message;
          out.classList.add("unionmap-plan-error");
        });
      };
      reader.onerror = function () { out.textContent = "无法读取文件 / cannot read the file"; };
      reader.readAsText(file, "utf-8");
    }

    // --- wire up -------------------------------------------------------------------------------
    if (offline) {  // a saved file: the plan as drawn; no control that needs the server is shown
      var links = document.querySelectorAll(".unionmap-plan-actions a, #unionmap-plan-submit");
      for (var j = 0; j < links.length; j++) { links[j].hidden = true; }
      setStatus("离线文件：修改、下载方案需打开服务器上的页面 / a saved file: open the page on the server to " +
                "change or download the plan");
      return;
    }
    var hidden = document.querySelectorAll(".unionmap-js-only");
    for (var i = 0; i < hidden.length; i++) { hidden[i].hidden = false; }
    showPlan({proposals: initial.proposals, covered_before: initial.before, covered_after: initial.after,
              population: initial.population, certificate: initial.certificate}, false);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (state.busy) { return; }
      if (!form.reportValidity()) { return; }
      state.type = byId("unionmap-plan-type").value;
      state.add = parseInt(byId("unionmap-plan-add").value, 10);
      state.min = parseInt(byId("unionmap-plan-min").value, 10);
      plan();
    });
    map.on("click", function (event) { addSite(event.latlng); });
    byId("unionmap-plan-reset").addEventListener("click", function () {
      if (state.solved) { showPlan(state.solved, false); setStatus("已恢复方案 / plan restored"); }
    });
    byId("unionmap-plan-csv").addEventListener("click", function (event) { event.preventDefault(); download("csv"); });
    byId("unionmap-plan-xlsx").addEventListener("click", function (event) { event.preventDefault(); download("xlsx"); });
    byId("unionmap-plan-save").addEventListener("click", save);
    byId("unionmap-plan-key").value = storedKey();
    byId("unionmap-plan-file").addEventListener("change", function (event) { upload(event.target.files[0]); });
    byId("unionmap-plan-crs").addEventListener("change", function () {
      var input = byId("unionmap-plan-file");
      if (input.files && input.files[0]) { upload(input.files[0]); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
