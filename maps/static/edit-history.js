/* The editor's history page: "撤销此修改" asks in the page (never window.confirm), then calls
 * POST /api/v1/stations/{id}/undo with the station's current version (If-Match) and the session's
 * CSRF token (window.unionmapEdit.request); "恢复站点" calls .../restore. On success the page
 * reloads, showing the new change; otherwise the server's reason is shown, as text. */
(function () {
  "use strict";
  var edit = window.unionmapEdit;
  var config = edit && edit.config("history-config");
  if (!config) return;
  var status = document.getElementById("history-status");
  var base = "/api/v1/stations/" + encodeURIComponent(config.station);

  function say(text, failed) {
    status.textContent = text;
    status.className = failed ? "edit-error" : "edit-ok";
    if (failed) status.setAttribute("role", "alert");
  }

  function reason(response) {
    var detail = response.body && response.body.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map(function (item) { return item.msg; }).join("；");
    return "HTTP " + response.status;
  }

  /* Write, then reload on success or say why not; button disabled while the request runs. */
  function write(button, path, body, done) {
    button.disabled = true;
    say("正在保存… / saving…", false);
    edit.request("POST", base + path, {body: body, version: config.version}).then(function (response) {
      if (response.ok) {
        say(done + "，正在刷新… / done, reloading…", false);
        window.location.reload();
        return;
      }
      button.disabled = false;
      var text = reason(response);
      if (response.status === 412) text = "站点在此页面打开后被修改过，请刷新后再试 / changed since this page was loaded: reload. " + text;
      say(text, true);
    }, function () {
      button.disabled = false;
      say("网络错误，未保存 / network error: nothing saved", true);
    });
  }

  document.querySelectorAll(".history-change").forEach(function (item) {
    var undo = item.querySelector(".history-undo");
    if (!undo) return;
    var box = item.querySelector(".history-confirm");
    var yes = box.querySelector(".history-confirm-yes");
    function close() {
      box.hidden = true;
      undo.setAttribute("aria-expanded", "false");
      undo.focus();
    }
    undo.addEventListener("click", function () {
      box.hidden = false;
      undo.setAttribute("aria-expanded", "true");
      yes.focus();
    });
    box.querySelector(".history-confirm-no").addEventListener("click", close);
    box.addEventListener("keydown", function (event) { if (event.key === "Escape") close(); });
    yes.addEventListener("click", function () {
      write(yes, "/undo", {change_id: Number(item.getAttribute("data-change"))}, "已撤销");
    });
  });

  var restore = document.getElementById("history-restore");
  if (restore) restore.addEventListener("click", function () { write(restore, "/restore", undefined, "已恢复"); });
})();
