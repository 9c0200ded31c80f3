/* The inbox of riders' reports (/edit/reports): 已处理 resolves, 忽略 dismisses a station's open
 * reports up to the newest one the page shows (scope "station"; a report that arrived since
 * stays open), through the JSON API with the session's CSRF token (edit.js). What the server
 * says goes into the page as text only; a key's name is shown without the API's "key:" (geo.store.keys). */
(function () {
  "use strict";
  var edit = window.unionmapEdit;
  var DONE = {resolved: "已处理", dismissed: "已忽略"};

  function settle(form, action) {
    var outcome = form.querySelector(".report-outcome");
    var buttons = form.querySelectorAll("button");
    var note = form.querySelector("input[name=note]").value.trim();
    buttons.forEach(function (button) { button.disabled = true; });
    outcome.className = "report-outcome";
    outcome.textContent = "正在提交…";
    var body = {scope: "station"};
    if (note) body.note = note;
    edit.request("POST", "/api/v1/reports/" + encodeURIComponent(form.dataset.report) + "/" + action, {body: body})
      .then(function (answer) {
        if (!answer.ok) throw answer;
        var done = answer.body;
        var left = done.open_left ? "；此后又到 " + done.open_left + " 条，刷新后可见" : "";
        outcome.className = "report-outcome edit-ok";
        outcome.textContent = DONE[done.resolution] + " " + done.ids.length + " 条（" + String(done.resolved_by).replace(/^key:/, "") + "）" + left;
        form.closest(".report-group").classList.add("settled");
      })
      .catch(function (failure) {
        buttons.forEach(function (button) { button.disabled = false; });
        outcome.className = "report-outcome edit-error";
        var detail = failure && failure.body && failure.body.detail;
        if (Array.isArray(detail)) detail = detail.map(function (item) { return item.msg; }).join("；");
        outcome.textContent = "未能提交：" + (detail || (failure && failure.status ? "HTTP " + failure.status
                                                                                  : "网络不通，请稍后再试"));
      });
  }

  document.querySelectorAll("form.report-actions").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      settle(form, "resolve");
    });
    form.querySelector("button[data-action=dismiss]").addEventListener("click", function () {
      settle(form, "dismiss");
    });
  });
})();
