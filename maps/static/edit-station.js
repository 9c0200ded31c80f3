/* The editor's station form (/edit/stations/new, /edit/stations/{id}).
 *
 * The position: a click on the map, a dragged marker or pasted coordinates in a chosen datum go
 * to GET /api/v1/regions/at, which answers the WGS-84 point that will be stored and the county
 * and township it lies in; the form keeps and saves that WGS-84 point. Saving is the JSON API
 * itself (POST, or PUT with If-Match of the version the form started from), so its 422 messages
 * appear next to their fields as the API words them.
 *
 * A 412 (someone saved first) is never overwritten silently: the other version is fetched and
 * shown beside the planner's, field by field, against the values the form started from (base).
 * A field only one side changed is preselected; a field both changed waits for a choice.
 *
 * Everything from the registry is put in the page as text (textContent, input values). */
(function () {
  "use strict";
  var edit = window.unionmapEdit;
  var config = edit.config("station-config");
  var form = document.getElementById("station-form");
  var panel = document.getElementById("conflict");
  var status = document.getElementById("save-status");
  var placeText = document.getElementById("point-place");
  var geometryError = document.getElementById("err-geometry");
  var station = config.station;
  var stationId = station.id || null;
  var version = station.version || null;
  var shared = window.unionmapStations;
  var words = shared.labels(config);
  var element = shared.text;
  var LABELS = {type_code: "类型", name: "名称", address: "地址", status: "状态", phone: "电话",
                managing_union: "管理工会", amenities: "设施", opening_hours: "开放时间", is_demo: "演示数据",
                source: "来源", position: "位置（WGS-84）"};
  var FIELDS = Object.keys(LABELS);

  /* ---- values: what the form holds, what the API answers, and how they compare ---- */

  function fromStation(s) {
    return {type_code: s.type_code, name: s.name || "", address: s.address || "", status: s.status,
            phone: s.phone || "", managing_union: s.managing_union || "", amenities: (s.amenities || []).slice(),
            opening_hours: isEmptyHours(s.opening_hours) ? null : s.opening_hours, is_demo: !!s.is_demo,
            source: s.source || "", lon: s.lon, lat: s.lat};
  }

  function isEmptyHours(value) {
    return value === null || value === undefined || value === "" ||
      (typeof value === "object" && Object.keys(value).length === 0);
  }

  var base = fromStation(station);
  var point = stationId ? {lon: station.lon, lat: station.lat} : null;

  function hoursInput() { return form.elements.opening_hours || null; }

  /* The hours to send: the structured editor's document (hours_editor.html keeps it, as JSON, in
   * the hidden input "opening_hours"). */
  function formHours() {
    var input = hoursInput();
    var value = input ? input.value.trim() : "";
    return value ? JSON.parse(value) : base.opening_hours;
  }

  function formValues() {
    var checked = form.querySelector('input[name="status"]:checked');
    return {type_code: form.elements.type_code.value, name: form.elements.name.value.trim(),
            address: form.elements.address.value.trim(), status: checked ? checked.value : "",
            phone: form.elements.phone.value.trim(), managing_union: form.elements.managing_union.value.trim(),
            amenities: Array.prototype.filter.call(form.querySelectorAll('input[name="amenities"]'),
              function (box) { return box.checked; }).map(function (box) { return box.value; }),
            opening_hours: formHours(), is_demo: form.elements.is_demo.checked,
            source: form.elements.source.value.trim(), lon: point ? point.lon : null, lat: point ? point.lat : null};
  }

  function canonical(value) {
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort().map(function (key) {
        return JSON.stringify(key) + ":" + canonical(value[key]);
      }).join(",") + "}";
    }
    return JSON.stringify(value === undefined ? null : value);
  }

  function key(values, field) {
    if (field === "position") return values.lon === null ? "" : values.lon.toFixed(6) + "," + values.lat.toFixed(6);
    if (field === "amenities") return values.amenities.slice().sort().join(",");
    if (field === "opening_hours") return isEmptyHours(values.opening_hours) ? "" : canonical(values.opening_hours);
    return canonical(values[field]);
  }

  var OSM_DAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];
  var DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

  /* Stored hours as the compact text the API reads back (geo.core.hours.format_simple). */
  function hoursText(doc) {
    if (isEmptyHours(doc)) return "";
    if (typeof doc === "string") return doc;
    if (doc.always_open) return "24/7" + (doc.note ? "（" + doc.note + "）" : "");
    var groups = [];
    DAYS.forEach(function (day, i) {
      var spans = (doc.weekly || {})[day];
      var same = spans && i && canonical(spans) === canonical((doc.weekly || {})[DAYS[i - 1]]);
      if (same) groups[groups.length - 1].last = i;
      else if (spans && spans.length) groups.push({first: i, last: i, spans: spans});
    });
    var text = groups.map(function (g) {
      var days = OSM_DAYS[g.first] + (g.last > g.first ? "-" + OSM_DAYS[g.last] : "");
      return days + " " + g.spans.map(function (s) { return s.start + "-" + s.end; }).join(",");
    }).join("; ");
    return text + (doc.note ? "（" + doc.note + "）" : "");
  }

  function shown(values, field) {
    var value = values[field];
    if (field === "position") return values.lon === null ? "—" : values.lon.toFixed(6) + ", " + values.lat.toFixed(6);
    if (field === "type_code") return words.types[value] || value;
    if (field === "status") return words.statuses[value] || value;
    if (field === "amenities") return value.map(function (c) { return words.amenities[c] || c; }).join("、") || "—";
    if (field === "opening_hours") return hoursText(value) || "未知 / unknown";
    if (field === "is_demo") return value ? "是 / yes" : "否 / no";
    return value === "" || value === null ? "—" : String(value);
  }

  /* ---- the form ---- */

  function fill(values) {
    form.elements.type_code.value = values.type_code;
    ["name", "address", "phone", "managing_union", "source"].forEach(function (field) {
      form.elements[field].value = values[field];
    });
    form.querySelectorAll('input[name="status"]').forEach(function (radio) { radio.checked = radio.value === values.status; });
    form.querySelectorAll('input[name="amenities"]').forEach(function (box) {
      box.checked = values.amenities.indexOf(box.value) >= 0;
    });
    form.elements.is_demo.checked = values.is_demo;
    if (window.unionmapHours && window.unionmapHours.set) window.unionmapHours.set(values.opening_hours || {});
    if (values.lon !== null) setPoint({lon: values.lon, lat: values.lat}, null);
  }

  function body(values) {
    return {type: "Feature", geometry: {type: "Point", coordinates: [values.lon, values.lat]}, properties: {
      type_code: values.type_code, name: values.name, address: values.address, status: values.status,
      phone: values.phone || null, managing_union: values.managing_union || null, amenities: values.amenities,
      opening_hours: values.opening_hours, is_demo: values.is_demo, source: values.source}};
  }

  /* 422 details of structured hours ("opening_hours.weekly.mon.0.start") go next to the hours. */
  function forForm(answer) {
    var details = (answer.body && answer.body.detail) || [];
    if (!Array.isArray(details)) return answer;
    return {body: {detail: details.map(function (detail) {
      var field = edit.fieldOf(detail);
      if (field.indexOf("opening_hours.") !== 0) return detail;
      return {loc: ["opening_hours"], msg: field.slice("opening_hours.".length) + ": " + detail.msg};
    })}};
  }

  function say(message) {
    status.textContent = message;
  }

  function save(values) {
    edit.clearErrors(form);
    say("");
    if (values.lon === null) {
      geometryError.textContent = "请先在地图上点选位置或粘贴坐标 / set the position first";
      document.getElementById("coord-text").focus();
      return Promise.resolve();
    }
    var saving = document.getElementById("save");
    saving.disabled = true;
    var url = stationId ? config.api + "/" + stationId : config.api;
    return edit.request(stationId ? "PUT" : "POST", url, {body: body(values), version: stationId ? version : null})
      .then(function (answer) {
        saving.disabled = false;
        if (answer.status === 201) {
          location.assign(config.edit + answer.body.id + "?saved=1");
        } else if (answer.ok) {
          panel.hidden = true;
          return reload("已保存（版本 " + answer.body.version + "）/ saved, version " + answer.body.version);
        } else if (answer.status === 412) {
          return showConflict(values);
        } else if (answer.status === 404) {
          edit.showErrors(form, {body: {detail: "这个站点已被删除，未保存 / the station was deleted: nothing saved"}});
        } else {
          edit.showErrors(form, forForm(answer));
        }
      }, function () {
        saving.disabled = false;
        edit.showErrors(form, {body: {detail: "网络错误，未保存 / network error: nothing saved"}});
      });
  }

  /* The station as stored now becomes the form's base: what a later conflict is judged against. */
  function reload(message) {
    return edit.request("GET", config.api + "/" + stationId).then(function (answer) {
      if (!answer.ok) return;
      base = theirsOf(answer);
      version = answer.body.features[0].properties.version;
      fill(base);
      document.getElementById("station-version").textContent = "编号 " + stationId + " · 版本 " + version;
      say(message);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    save(formValues());
  });

  /* ---- the conflict ---- */

  function theirsOf(answer) {
    var feature = answer.body.features[0];
    var props = feature.properties;
    return fromStation({type_code: props.type_code, name: props.name, address: props.address, status: props.status,
                        phone: props.phone, managing_union: props.managing_union, amenities: props.amenities,
                        opening_hours: props.opening_hours, is_demo: props.is_demo, source: props.source,
                        lon: feature.geometry.coordinates[0], lat: feature.geometry.coordinates[1]});
  }

  function showConflict(mine) {
    return edit.request("GET", config.api + "/" + stationId).then(function (answer) {
      panel.replaceChildren();
      panel.hidden = false;
      if (answer.status === 404) {
        panel.appendChild(element("h2", "别人已删除这个站点 / someone deleted this station", null)).id = "conflict-title";
        panel.appendChild(element("p", "你的修改没有保存。/ Your change was not saved."));
        panel.focus();
        return;
      }
      var theirs = theirsOf(answer);
      var theirVersion = answer.body.features[0].properties.version;
      drawConflict(mine, theirs, theirVersion, answer.body.features[0].properties);
    });
  }

  function drawConflict(mine, theirs, theirVersion, props) {
    var title = element("h2", "别人先保存了这个站点 / someone else saved this station first");
    title.id = "conflict-title";
    panel.appendChild(title);
    panel.appendChild(element("p", "对方的版本 " + theirVersion + "（" + (props.updated_at || "").slice(0, 16).replace("T", " ") +
      "）与你的修改逐项并列如下。只有一方改过的字段已预选；双方都改了的字段请你选择。你的修改尚未保存。" +
      " / Their version and yours, field by field; fields only one side changed are preselected."));
    var table = element("table", null, "conflict-table");
    var head = table.createTHead().insertRow();
    ["字段 / field", "打开时 / when you opened it", "我的 / mine", "对方的 / theirs (v" + theirVersion + ")"]
      .forEach(function (label) { head.appendChild(element("th", label)).scope = "col"; });
    var rows = table.createTBody();
    var differing = FIELDS.filter(function (field) { return key(mine, field) !== key(theirs, field); });
    differing.forEach(function (field) {
      var mineChanged = key(mine, field) !== key(base, field);
      var theirsChanged = key(theirs, field) !== key(base, field);
      var row = rows.insertRow();
      row.dataset.field = field;
      var th = element("th", LABELS[field]);
      th.scope = "row";
      if (mineChanged && theirsChanged) {
        row.className = "conflict-both";
        th.appendChild(element("div", "双方都改了，请选择 / both changed: choose", "conflict-note"));
      }
      row.appendChild(th);
      var cell = element("td", shown(base, field));
      cell.dataset.label = "打开时";
      row.appendChild(cell);
      [["mine", mine, "我的"], ["theirs", theirs, "对方的"]].forEach(function (side) {
        var td = document.createElement("td");
        td.dataset.label = side[2];
        var label = document.createElement("label");
        var radio = document.createElement("input");
        radio.type = "radio";
        radio.name = "pick-" + field;
        radio.value = side[0];
        radio.checked = side[0] === "mine" ? mineChanged && !theirsChanged : theirsChanged && !mineChanged;
        label.appendChild(radio);
        label.appendChild(element("span", shown(side[1], field)));
        td.appendChild(label);
        row.appendChild(td);
      });
    });
    if (differing.length) panel.appendChild(table);
    else panel.appendChild(element("p", "双方的修改相同。/ Both made the same change."));
    var error = element("p", "", "edit-error");
    error.id = "conflict-error";
    error.setAttribute("role", "alert");
    var actions = element("div", null, "station-actions");
    function button(id, text, className, handler) {
      var b = element("button", text, className);
      b.type = "button";
      b.id = id;
      b.addEventListener("click", handler);
      actions.appendChild(b);
    }
    button("conflict-merge", "按所选逐项合并并保存 / merge as chosen and save", "", function () {
      var merged = {};
      Object.keys(mine).forEach(function (name) { merged[name] = mine[name]; });
      var missing = null;
      differing.forEach(function (field) {
        var picked = panel.querySelector('input[name="pick-' + field + '"]:checked');
        if (!picked) { missing = missing || field; return; }
        var from = picked.value === "mine" ? mine : theirs;
        if (field === "position") { merged.lon = from.lon; merged.lat = from.lat; } else merged[field] = from[field];
      });
      if (missing) {
        error.textContent = "请为“" + LABELS[missing] + "”选择一方 / choose a side for every field both changed";
        panel.querySelector('input[name="pick-' + missing + '"]').focus();
        return;
      }
      resolve(merged, theirs, theirVersion);
    });
    button("conflict-mine", "保留我的，覆盖对方 / keep mine", "secondary", function () {
      resolve(mine, theirs, theirVersion);
    });
    button("conflict-theirs", "采用对方的（放弃我的修改）/ take theirs", "secondary", function () {
      base = theirs;
      version = theirVersion;
      fill(theirs);
      panel.hidden = true;
      document.getElementById("station-version").textContent = "编号 " + stationId + " · 版本 " + version;
      say("已载入对方的版本 " + version + "，你的修改已放弃 / their version loaded; yours discarded");
    });
    panel.appendChild(actions);
    panel.appendChild(error);
    panel.tabIndex = -1;
    panel.scrollIntoView({block: "start"});
    panel.focus();
  }

  /* Save ``values`` on top of their version: the form shows what is saved, and theirs becomes the
   * base a further conflict is judged against. */
  function resolve(values, theirs, theirVersion) {
    base = theirs;
    version = theirVersion;
    fill(values);
    return save(values);
  }

  /* ---- delete, after an in-page confirmation ---- */

  var remove = document.getElementById("delete");
  if (remove) {
    var confirmBox = document.getElementById("delete-confirm");
    remove.addEventListener("click", function () {
      confirmBox.hidden = false;
      document.getElementById("delete-yes").focus();
    });
    document.getElementById("delete-no").addEventListener("click", function () {
      confirmBox.hidden = true;
      remove.focus();
    });
    document.getElementById("delete-yes").addEventListener("click", function () {
      edit.request("DELETE", config.api + "/" + stationId, {version: version}).then(function (answer) {
        if (answer.status === 204) {
          location.assign(config.list + "?deleted=" + stationId);
          return;
        }
        confirmBox.hidden = true;
        var message = answer.status === 412
          ? "没有删除：别人在你打开后修改了这个站点。请重新打开页面，看过对方的修改再决定。/ Not deleted: someone changed it since you opened it."
          : (answer.body && answer.body.detail) || ("删除失败 / not deleted (" + answer.status + ")");
        edit.showErrors(form, {body: {detail: typeof message === "string" ? message : "删除失败 / not deleted"}});
      });
    });
  }

  /* ---- the position ---- */

  var drawn = shared.baseMap("station-map", config);
  var map = drawn.map;
  var marker = null;

  function describe(place) {
    var where = place.county ? place.county.name : "";
    if (place.township) {
      where += " · " + place.township.name + (place.township.position_unknown ? "（位置未知）" : place.township.boundary_is_approximate ? "（乡镇边界为推算）" : "");
    }
    return "WGS-84 经度 " + place.lon.toFixed(6) + "，纬度 " + place.lat.toFixed(6) + (where ? " · " + where : "");
  }

  function setPoint(next, place) {
    point = {lon: next.lon, lat: next.lat};
    var latlng = [point.lat, point.lon];
    if (!marker) {
      marker = L.marker(latlng, {draggable: true, keyboard: true, alt: "站点位置 / station position",
                                 title: "拖动以移动 / drag to move"}).addTo(map);
      marker.on("dragend", function () {
        var at = marker.getLatLng();
        locate(at.lng, at.lat, "wgs84");
      });
    } else {
      marker.setLatLng(latlng);
    }
    if (place) placeText.textContent = describe(place);
  }

  function locate(lon, lat, datum) {
    geometryError.textContent = "";
    var params = new URLSearchParams({lon: String(lon), lat: String(lat), crs: datum});
    return edit.request("GET", config.at + "?" + params).then(function (answer) {
      if (answer.ok) {
        setPoint({lon: answer.body.lon, lat: answer.body.lat}, answer.body);
        if (!map.getBounds().contains([answer.body.lat, answer.body.lon])) map.setView([answer.body.lat, answer.body.lon], 13);
        return true;
      }
      if (marker && point) marker.setLatLng([point.lat, point.lon]);  // a refused drag goes back
      var details = (answer.body && answer.body.detail) || [];
      if (typeof details === "string") details = [{loc: [], msg: details}];
      geometryError.textContent = details.map(function (d) {
        var loc = d.loc || [];
        var field = loc[loc.length - 1];
        return (field === "lon" ? "经度 lon：" : field === "lat" ? "纬度 lat：" : "") + d.msg;
      }).join("；");
    });
  }

  map.on("click", function (event) { locate(event.latlng.lng, event.latlng.lat, "wgs84"); });

  function pasted() {
    var text = document.getElementById("coord-text").value.trim();
    var parts = text.split(/[\s,，;；]+/).filter(Boolean);
    if (parts.length !== 2) {
      geometryError.textContent = "请输入“经度,纬度”两个数，例如 115.99,29.71 / enter lon,lat";
      return;
    }
    locate(parts[0], parts[1], document.getElementById("coord-datum").value).then(function (found) {
      // a pasted point is shown close up, so the planner sees where it lands
      if (found) map.setView([point.lat, point.lon], Math.max(map.getZoom(), 15));
    });
  }
  document.getElementById("coord-go").addEventListener("click", pasted);
  document.getElementById("coord-text").addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); pasted(); }
  });

  if (point) {
    setPoint(point, null);
    var county = station.county_code ? words.regions[station.county_code] || station.county_code : "不在任何县内";
    var township = station.township_code ? " · " + (words.regions[station.township_code] || station.township_code) : "";
    placeText.textContent = "WGS-84 经度 " + point.lon.toFixed(6) + "，纬度 " + point.lat.toFixed(6) + " · " + county + township;
    map.setView([point.lat, point.lon], 13);
  } else {
    shared.showRegion(map, drawn.outlines, config);
    placeText.textContent = "尚未选定位置 / no position yet";
  }
  if (new URLSearchParams(location.search).get("saved")) say("已新建并保存（版本 " + version + "）/ created");
})();
