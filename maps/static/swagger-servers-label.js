/* Swagger UI's server chooser (shown when the OpenAPI document lists servers, as /ogc/api does)
 * is a <select id="servers"> with no accessible name (axe-core "select-name", critical): name it
 * when Swagger UI draws it. Loaded by api/docs_page.py after Swagger UI, from this app. */
(function () {
  "use strict";
  function name() {
    var select = document.getElementById("servers");
    if (select && !select.hasAttribute("aria-label")) { select.setAttribute("aria-label", "服务器 / servers"); }
  }
  new MutationObserver(name).observe(document.body, {childList: true, subtree: true});
  name();
})();
