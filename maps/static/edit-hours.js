/* The structured opening-hours editor (api/editor/templates/hours_editor.html).
 *
 * The planner edits days and intervals; the hidden input name="opening_hours" always holds the
 * document as JSON ({always_open, weekly: {mon: [{start, end}]}, note, closed_on_public_holidays},
 * geo.core.hours), and a "change" event is fired on it whenever it changes. A preview from
 * POST /api/v1/hours/preview (debounced) shows "open now" and the text riders will see. The
 * document is built in the rows' order; the server sorts it when it saves, so the n of an error's
 * field (opening_hours.weekly.mon.<n>.start) is the row the planner sees.
 * Needs edit.js (window.unionmapEdit) first; everything shown is set as text, never as HTML.
 * window.unionmapHours = {value(), set(document)} lets the station form read or replace it. */
(function () {
  "use strict";
  var root = document.getElementById("hours-editor");
  if (!root) return;
  var DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  var NAMES = {mon: "周一", tue: "周二", wed: "周三", thu: "周四", fri: "周五", sat: "周六", sun: "周日"};
  var DEFAULT = {start: "09:00", end: "17:00"};
  var DEBOUNCE_MS = 300;
  var hidden = document.getElementById("hours-value");
  var always = document.getElementById("hours-always");
  var holidays = document.getElementById("hours-holidays");
  var note = document.getElementById("hours-note");
  var daysBox = document.getElementById("hours-days");
  var actions = document.getElementById("hours-actions");
  var state = {always: false, holidays: false, note: "", days: {}};
  var remembered = {};  // a day's intervals before it was marked closed, to bring them back
  var timer = null;
  var asked = 0;

  /* "24:00" (the end of the day) is shown as 00:00: a time input stops at 23:59. */
  function shown(value) { return value === "24:00" ? "00:00" : value; }
  function stored(end) { return end === "00:00" ? "24:00" : end; }

  function load(doc) {
    doc = doc && typeof doc === "object" ? doc : {};
    var weekly = doc.weekly && typeof doc.weekly === "object" ? doc.weekly : {};
    state.always = doc.always_open === true;
    state.holidays = doc.closed_on_public_holidays === true;
    state.note = typeof doc.note === "string" ? doc.note : "";
    DAYS.forEach(function (day) {
      var list = Array.isArray(weekly[day]) ? weekly[day] : [];
      state.days[day] = list.map(function (iv) {
        return {start: String((iv && iv.start) || ""), end: shown(String((iv && iv.end) || ""))};
      });
    });
    remembered = {};
  }

  /* The document, as geo.core.hours stores it; {} when nothing is known (unknown hours). */
  function documentOf() {
    var weekly = {};
    if (!state.always) {
      DAYS.forEach(function (day) {
        if (state.days[day].length) {
          weekly[day] = state.days[day].map(function (iv) { return {start: iv.start, end: stored(iv.end)}; });
        }
      });
    }
    var text = state.note.trim();
    if (!state.always && !Object.keys(weekly).length && !text && !state.holidays) return {};
    var doc = {always_open: state.always, weekly: weekly};
    if (text) doc.note = text;
    if (state.holidays) doc.closed_on_public_holidays = true;
    return doc;
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function timeField(day, index, part) {
    var id = "hours-" + day + "-" + index + "-" + part;
    var wrap = element("span", {"class": "hours-time"});
    wrap.appendChild(element("label", {"for": id, "class": "edit-visually-hidden"},
      NAMES[day] + " 第 " + (index + 1) + " 段" + (part === "start" ? "开始 / start" : "结束 / end")));
    var input = element("input", {type: "time", id: id, "data-day": day, "data-index": String(index),
                                  "data-part": part});
    input.value = state.days[day][index][part];
    wrap.appendChild(input);
    wrap.appendChild(element("span", {"class": "edit-field-error",
                                      id: "err-opening_hours.weekly." + day + "." + index + "." + part}));
    return wrap;
  }

  function dayRow(day) {
    var intervals = state.days[day];
    var row = element("div", {"class": "hours-day", role: "group", "aria-labelledby": "hours-" + day + "-name"});
    var head = element("div", {"class": "hours-day-head"});
    head.appendChild(element("span", {"class": "hours-day-name", id: "hours-" + day + "-name"}, NAMES[day]));
    var open = element("input", {type: "checkbox", id: "hours-" + day + "-open", "data-day": day,
                                 "class": "hours-open"});
    open.checked = intervals.length > 0;
    var openLabel = element("label", {"class": "hours-check"});
    openLabel.appendChild(open);
    openLabel.appendChild(document.createTextNode(" 营业 / open"));
    head.appendChild(openLabel);
    if (!intervals.length) head.appendChild(element("span", {"class": "hours-closed"}, "休息 / closed"));
    row.appendChild(head);
    var list = element("div", {"class": "hours-intervals"});
    intervals.forEach(function (iv, index) {
      var line = element("div", {"class": "hours-interval"});
      line.appendChild(timeField(day, index, "start"));
      line.appendChild(element("span", {"class": "hours-dash", "aria-hidden": "true"}, "–"));
      line.appendChild(timeField(day, index, "end"));
      line.appendChild(element("button", {type: "button", "class": "secondary hours-remove", "data-day": day,
        "data-index": String(index), id: "hours-" + day + "-" + index + "-remove",
        "aria-label": "删除" + NAMES[day] + "第 " + (index + 1) + " 段 / remove"}, "删除"));
      list.appendChild(line);
    });
    row.appendChild(list);
    if (intervals.length) {
      var tools = element("div", {"class": "hours-day-tools"});
      tools.appendChild(element("button", {type: "button", "class": "secondary hours-add", "data-day": day,
        id: "hours-" + day + "-add", "aria-label": NAMES[day] + "添加时段 / add a span"}, "+ 时段"));
      tools.appendChild(element("button", {type: "button", "class": "secondary hours-allday", "data-day": day,
        id: "hours-" + day + "-allday", "aria-label": NAMES[day] + "全天 00:00-24:00 / all day"}, "全天"));
      row.appendChild(tools);
    }
    return row;
  }

  /* Rebuild the rows (after a structural change), then put the focus back on ``focusId``. */
  function render(focusId) {
    always.checked = state.always;
    holidays.checked = state.holidays;
    if (note.value !== state.note) note.value = state.note;
    document.getElementById("hours-holiday-hint").hidden = !state.holidays;
    daysBox.hidden = actions.hidden = state.always;
    daysBox.replaceChildren.apply(daysBox, DAYS.map(dayRow));
    var target = focusId && document.getElementById(focusId);
    if (target) target.focus();
  }

  /* The document changed: into the hidden input ("change" fired unless ``quiet``), then a preview. */
  function changed(quiet) {
    var text = JSON.stringify(documentOf());
    if (hidden.value !== text) {
      hidden.value = text;
      if (!quiet) hidden.dispatchEvent(new Event("change", {bubbles: true}));
    }
    clearTimeout(timer);
    timer = setTimeout(preview, DEBOUNCE_MS);
  }

  function clearErrors() {
    root.querySelectorAll(".edit-field-error").forEach(function (slot) { slot.textContent = ""; });
    root.querySelectorAll('[aria-invalid="true"]').forEach(function (input) { input.removeAttribute("aria-invalid"); });
  }

  function showPreview(response) {
    var status = document.getElementById("hours-open-now");
    var text = document.getElementById("hours-text");
    var osm = document.getElementById("hours-osm");
    clearErrors();
    if (!response.ok) {
      var details = (response.body && response.body.detail) || [];
      if (typeof details === "string") details = [{loc: [], msg: details}];
      var general = [];
      details.forEach(function (detail) {
        var field = window.unionmapEdit.fieldOf(detail);
        var slot = document.getElementById("err-" + field);
        if (slot && root.contains(slot) && field !== "opening_hours") {
          slot.textContent = detail.msg;
          var input = document.getElementById(slot.id.replace(/^err-opening_hours\.weekly\.(\w+)\.(\d+)\.(\w+)$/,
                                                              "hours-$1-$2-$3"));
          if (input) input.setAttribute("aria-invalid", "true");
        } else {
          general.push(detail.msg);
        }
      });
      document.getElementById("err-opening_hours").textContent = general.join("；");
      status.textContent = "无法预览 / cannot preview";
      text.textContent = "请先改正标出的时段 / correct the marked times first";
      osm.textContent = "";
      return;
    }
    var body = response.body;
    status.textContent = body.open_now === true ? "现在营业" : body.open_now === false ? "现在休息" : "营业状态未知";
    text.textContent = body.text_zh;
    osm.textContent = body.osm || "（无 / none）";
  }

  /* Times left empty, as 422 details: named here, without asking the server. */
  function unfinished() {
    var details = [];
    if (state.always) return details;
    DAYS.forEach(function (day) {
      state.days[day].forEach(function (iv, index) {
        ["start", "end"].forEach(function (part) {
          if (!iv[part]) details.push({loc: ["opening_hours", "weekly", day, index, part], msg: "请填写时间 / enter a time"});
        });
      });
    });
    return details;
  }

  function preview() {
    var mine = ++asked;
    var missing = unfinished();
    if (missing.length) {
      showPreview({ok: false, body: {detail: missing}});
      return;
    }
    window.unionmapEdit.request("POST", root.getAttribute("data-preview-url"),
                                {body: {opening_hours: documentOf()}})
      .then(function (response) { if (mine === asked) showPreview(response); })
      .catch(function () {
        if (mine !== asked) return;
        document.getElementById("hours-open-now").textContent = "预览暂不可用 / preview unavailable";
      });
  }

  always.addEventListener("change", function () { state.always = always.checked; render(); changed(); });
  holidays.addEventListener("change", function () { state.holidays = holidays.checked; render(); changed(); });
  note.addEventListener("input", function () { state.note = note.value; changed(); });

  daysBox.addEventListener("input", function (event) {
    var input = event.target;
    if (input.type !== "time") return;
    state.days[input.dataset.day][Number(input.dataset.index)][input.dataset.part] = input.value;
    changed();
  });

  daysBox.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.classList.contains("hours-open")) return;
    var day = box.dataset.day;
    if (box.checked) {
      state.days[day] = remembered[day] || [{start: DEFAULT.start, end: DEFAULT.end}];
    } else {
      remembered[day] = state.days[day];
      state.days[day] = [];
    }
    render(box.id);
    changed();
  });

  daysBox.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    var day = button.dataset.day;
    var intervals = state.days[day];
    var focus;
    if (button.classList.contains("hours-add")) {
      var last = intervals[intervals.length - 1];
      intervals.push(last && last.end && last.end !== "00:00" ? {start: last.end, end: ""} : {start: "", end: ""});
      focus = "hours-" + day + "-" + (intervals.length - 1) + "-start";
    } else if (button.classList.contains("hours-remove")) {
      intervals.splice(Number(button.dataset.index), 1);
      focus = intervals.length ? "hours-" + day + "-add" : "hours-" + day + "-open";
    } else if (button.classList.contains("hours-allday")) {
      state.days[day] = [{start: "00:00", end: "00:00"}];
      focus = "hours-" + day + "-allday";
    } else {
      return;
    }
    render(focus);
    changed();
  });

  document.getElementById("hours-same").addEventListener("click", function () {
    var monday = state.days.mon;
    DAYS.forEach(function (day) {
      state.days[day] = monday.map(function (iv) { return {start: iv.start, end: iv.end}; });
    });
    render("hours-same");
    changed();
  });

  var initial = {};
  try { initial = JSON.parse(hidden.value || "{}"); } catch (error) { initial = {}; }
  load(initial);
  render();
  changed(true);

  window.unionmapHours = {
    value: documentOf,
    set: function (doc) { load(doc); render(); changed(); }
  };
})();
