/* The editor's shared script (/edit pages): writes with the session's CSRF token, and 422
 * messages shown next to the field they name. Pages add their own scripts after this one.
 * Everything from the registry or the server is put into the page as text (textContent),
 * never as HTML. */
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  /* The URL root of this page's region ("" or "/r/<code>"): every site path the editor asks for is under it. */
  var rootMeta = document.querySelector('meta[name="unionmap-root"]');
  var root = rootMeta ? rootMeta.getAttribute("content") || "" : "";
  function rooted(path) { return path.charAt(0) === "/" && path.charAt(1) !== "/" && path.indexOf(root + "/") !== 0 ? root + path : path; }

  /* fetch() for the editor: JSON in and out, the CSRF token on every write, If-Match when a
   * version is given. Resolves to {status, ok, body, headers}; body is parsed JSON or text. */
  function request(method, url, options) {
    options = options || {};
    var headers = {"Accept": "application/json"};
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrf;
    if (options.version !== undefined && options.version !== null) headers["If-Match"] = '"' + options.version + '"';
    var body = options.body;
    if (body !== undefined && !(body instanceof FormData) && !(body instanceof Blob) && typeof body !== "string") {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(body);
    } else if (typeof body === "string" && options.contentType) {
      headers["Content-Type"] = options.contentType;
    }
    return fetch(rooted(url), {method: method, headers: headers, body: body, credentials: "same-origin"})
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        var read = type.indexOf("json") >= 0 ? response.json() : response.text();
        return read.then(function (parsed) {
          return {status: response.status, ok: response.ok, body: parsed, headers: response.headers};
        });
      });
  }

  /* The field a 422 detail names: its loc without "body", "properties" and the row. */
  function fieldOf(detail) {
    var loc = (detail && detail.loc) || [];
    var parts = [];
    for (var i = 0; i < loc.length; i++) {
      var part = String(loc[i]);
      if (part === "body" || part === "query") continue;
      if (part === "row") { i++; continue; }
      parts.push(part);
    }
    var name = parts.join(".");
    return name.replace(/^properties\./, "").replace(/^geometry\.coordinates.*$/, "geometry");
  }

  /* Clear the form's field messages, then show each 422 detail next to its field (the element
   * with id "err-<field>"); messages for no known field go to the form's "err-form". */
  function showErrors(form, response) {
    clearErrors(form);
    var details = (response && response.body && response.body.detail) || [];
    if (typeof details === "string") details = [{loc: [], msg: details}];
    var general = [];
    details.forEach(function (detail) {
      var name = fieldOf(detail);
      var slot = name && form.querySelector('[id="err-' + name.replace(/"/g, "") + '"]');
      var input = name && form.querySelector('[name="' + name.replace(/"/g, "") + '"]');
      if (slot) {
        slot.textContent = (slot.textContent ? slot.textContent + "；" : "") + detail.msg;
        if (input) input.setAttribute("aria-invalid", "true");
      } else {
        general.push((name ? name + "：" : "") + detail.msg);
      }
    });
    var formSlot = form.querySelector(".edit-form-error");
    if (formSlot) formSlot.textContent = general.join("；");
    var first = form.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
  }

  function clearErrors(form) {
    form.querySelectorAll(".edit-field-error,.edit-form-error").forEach(function (slot) { slot.textContent = ""; });
    form.querySelectorAll('[aria-invalid="true"]').forEach(function (input) { input.removeAttribute("aria-invalid"); });
  }

  /* A page's JSON configuration, from a <script type="application/json" id=...> block. */
  function config(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  window.unionmapEdit = {csrf: csrf, root: root, rooted: rooted, request: request, showErrors: showErrors, clearErrors: clearErrors,
                         fieldOf: fieldOf, config: config};
})();
