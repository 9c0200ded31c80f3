/* The bulk page (/edit/bulk): "检查" uploads the file with dry_run=true and shows the report;
 * "全部导入" is enabled only when that report has no error, and sends the same file again for real
 * (all or nothing). The body is the file itself (the API reads the raw body, not a form). Every
 * text from the file or the server is put in the page with textContent, never as HTML. */
(function () {
  "use strict";
  var edit = window.unionmapEdit;
  var cfg = edit.config("bulk-config");
  var form = document.getElementById("bulk-form");
  var fileInput = document.getElementById("bulk-file");
  var crsSelect = document.getElementById("bulk-crs");
  var checkButton = document.getElementById("bulk-check");
  var applyButton = document.getElementById("bulk-apply");
  var statusLine = document.getElementById("bulk-status");
  var errorSlot = document.getElementById("bulk-error");
  var reportSection = document.getElementById("bulk-report");
  var resultSection = document.getElementById("bulk-result");
  var checked = null;  // the bytes, name and coordinate system whose check found no error
  var busy = false;

  var FORMATS = {csv: "csv", xlsx: "xlsx", geojson: "geojson", json: "geojson"};

  function formatOf(name) {
    var dot = name.lastIndexOf(".");
    return dot < 0 ? null : FORMATS[name.slice(dot + 1).toLowerCase()] || null;
  }

  function megabytes(bytes) {
    return String(Number((bytes / 1048576).toPrecision(3)));  // as the server says it: 20, 0.05
  }

  /* The upload limit the server announced; read when a file is sent, not once at load. */
  function limitBytes() {
    return edit.config("bulk-config").maxUploadBytes;
  }

  /* ``limit`` unknown (a proxy's 413 says no number): the message names none. */
  function tooLarge(limit) {
    var split = "请把文件拆成几个较小的文件分别导入。";
    if (!limit) return "文件太大：超过服务器允许的上限，没有导入任何数据。" + split +
      " / The file is larger than the server allows; nothing was imported.";
    var mb = megabytes(limit);
    return "文件太大：超过 " + mb + " MB 的上限，没有导入任何数据。" + split +
      " / The file is larger than the limit of " + mb + " MB; nothing was imported.";
  }

  /* What a refused request means, in plain Chinese first. */
  function problem(response) {
    var body = response.body || {};
    switch (response.status) {
      case 413: return tooLarge(typeof body === "object" ? body.limit_bytes : null);
      case 401: case 403: return "登录已失效或页面已过期，请刷新页面并重新登录。没有导入任何数据。" +
        " / Your session has ended: reload the page and sign in again.";
      case 408: return "上传超时，没有导入任何数据，请重试。 / The upload took too long; nothing was imported.";
      case 412: return "检查之后有站点被他人修改，没有导入任何数据。请重新检查。" +
        " / A station changed since the check; nothing was imported. Check again.";
      case 422: return "文件有错误，没有导入任何数据（见下表）。 / The file has errors; nothing was imported.";
      default: return "服务器出错（状态 " + response.status + "），没有导入任何数据，请稍后重试。" +
        " / Server error " + response.status + "; nothing was imported.";
    }
  }

  function setBusy(value, text) {
    busy = value;
    checkButton.disabled = value;
    applyButton.disabled = value || checked === null;
    form.setAttribute("aria-busy", value ? "true" : "false");
    if (text !== undefined) statusLine.textContent = text;
  }

  function forget() {
    checked = null;
    applyButton.disabled = true;
    reportSection.hidden = true;
    errorSlot.textContent = "";
    fileInput.removeAttribute("aria-invalid");
  }

  function fieldLabel(field) {
    if (!field) return "—";
    return cfg.fieldLabels[field] || field;
  }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
  }

  /* Fill a table's body with rows of texts; show its block, and say when the list is cut short. */
  function fill(name, rows, total) {
    var block = document.getElementById("bulk-" + name + "-block");
    var body = document.querySelector("#bulk-" + name + " tbody");
    var more = document.getElementById("bulk-" + name + "-more");
    body.textContent = "";
    rows.forEach(function (texts) {
      var tr = document.createElement("tr");
      texts.forEach(function (text) { cell(tr, text); });
      body.appendChild(tr);
    });
    block.hidden = rows.length === 0;
    more.hidden = total <= rows.length;
    more.textContent = "只列出前 " + rows.length + " 条，共 " + total + " 条。 / The first " + rows.length +
      " of " + total + ".";
  }

  function show(report) {
    var counts = {rows: report.rows, "to-add": report.to_add, "to-change": report.to_change,
                  unchanged: report.unchanged, skipped: report.skipped.length, "error-count": report.error_count};
    Object.keys(counts).forEach(function (key) {
      document.getElementById("bulk-" + key).textContent = String(counts[key]);
    });
    fill("errors", report.errors.map(function (error) {
      return [error.row === null ? "整个文件" : String(error.row), fieldLabel(error.field), error.reason];
    }), report.error_count);
    fill("changes", report.changes.map(function (change) {
      return [String(change.row), String(change.id), change.name, change.fields.map(fieldLabel).join("、")];
    }), report.to_change);
    fill("additions", report.additions.map(function (addition) {
      return [String(addition.row), addition.name];
    }), report.to_add);
    reportSection.hidden = false;
  }

  /* The rows of a 422 (an import refused after its check) in the report's shape. */
  function refusedReport(body) {
    var errors = (body && body.errors) || [];
    return {rows: 0, to_add: 0, to_change: 0, unchanged: 0, skipped: [], error_count: errors.length,
            errors: errors, changes: [], additions: []};
  }

  /* Send the file's bytes as read for the check (a file saved again on disk after its check is
   * not what gets imported): the body is the file itself. */
  function upload(snapshot, dryRun) {
    var params = new URLSearchParams({format: formatOf(snapshot.name), crs: snapshot.crs,
                                      filename: snapshot.name.slice(0, 200), mode: "upsert",
                                      dry_run: dryRun ? "true" : "false"});
    return edit.request("POST", cfg.importUrl + "?" + params.toString(), {body: snapshot.bytes});
  }

  /* The file chosen, or why it cannot be sent (before a byte is uploaded). */
  function chosenFile() {
    var file = fileInput.files && fileInput.files[0];
    if (!file) return {error: "请先选择文件。 / Choose a file first."};
    if (!formatOf(file.name)) {
      return {error: "不支持的文件类型：请上传 .csv、.xlsx 或 .geojson 文件。 / Use a .csv, .xlsx or .geojson file."};
    }
    if (file.size > limitBytes()) return {error: tooLarge(limitBytes())};
    return {file: file};
  }

  function failed(text) {
    errorSlot.textContent = text;
    setBusy(false, "");
  }

  function networkError(snapshot) {
    // A server that refuses an oversized body may close the connection before the browser reads the 413.
    failed(snapshot.size > limitBytes() ? tooLarge(limitBytes()) :
      "网络中断，没有导入任何数据，请重试。 / The connection failed; nothing was imported.");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) return;
    forget();
    resultSection.hidden = true;
    var chosen = chosenFile();
    if (chosen.error) {
      fileInput.setAttribute("aria-invalid", "true");
      failed(chosen.error);
      fileInput.focus();
      return;
    }
    var file = chosen.file;
    var snapshot = {name: file.name, crs: crsSelect.value, size: file.size};
    setBusy(true, "正在检查 " + file.name + " …（不会写入） / checking, nothing is written …");
    file.arrayBuffer().then(function (buffer) {
      snapshot.bytes = new Blob([buffer]);
      return upload(snapshot, true).then(function (response) {
        if (!response.ok) { failed(problem(response)); return; }
        var report = response.body;
        show(report);
        var todo = report.to_add + report.to_change;
        if (report.error_count === 0 && todo > 0) checked = snapshot;
      setBusy(false, report.error_count > 0 ?
        "检查完成：有 " + report.error_count + " 个错误，改正后再检查。 / " + report.error_count + " error(s): fix them and check again." :
        todo === 0 ? "检查完成：没有需要导入的内容。 / Nothing to import." :
        "检查完成：新增 " + report.to_add + "，修改 " + report.to_change + "，没有错误，可以导入。 / No errors: ready to import.");
      }, function () { networkError(snapshot); });
    }, function () {
      failed("无法读取该文件（可能已被移动或修改），请重新选择。 / The file cannot be read; choose it again.");
    });
  });

  applyButton.addEventListener("click", function () {
    if (busy || checked === null) return;
    var snapshot = checked;
    setBusy(true, "正在导入 " + snapshot.name + " … / importing …");
    upload(snapshot, false).then(function (response) {
      checked = null;
      if (!response.ok) {
        if (response.status === 422) show(refusedReport(response.body));
        failed(problem(response));
        return;
      }
      var result = response.body;
      resultSection.hidden = false;
      document.getElementById("bulk-result-text").textContent = "已导入：新增 " + result.imported + " 个站点，修改 " +
        result.changed_ids.length + " 个站点，" + result.unchanged + " 个不变。修改记录中的操作人为您的密钥名称。 / Imported: " +
        result.imported + " added, " + result.changed_ids.length + " changed.";
      setBusy(false, "导入完成。 / Done.");
      document.getElementById("bulk-result-title").focus();
    }, function () { checked = null; networkError(snapshot); });
  });

  function changed() {
    if (!busy) { forget(); statusLine.textContent = ""; }
  }
  fileInput.addEventListener("change", changed);
  crsSelect.addEventListener("change", function () {
    changed();
    document.querySelectorAll("a.bulk-export").forEach(function (link) {
      link.href = cfg.exportUrl + "?format=" + link.getAttribute("data-format") + "&crs=" + crsSelect.value;
    });
  });
})();
