/* The shell every unionmap map page shares (maps/shell.py loads it after Leaflet, before the map).
 *
 * - Leaflet's attribution reads "Leaflet" without the flag prefix.
 * - Panels and the legend are <details>: open on a desk, closed (a button) on a phone.
 * - The honesty notice: the whole text on a desk; one line on a phone that opens on tap. It can be
 *   dismissed for this browser session (sessionStorage), and a small "⚠ 说明" button stays to bring
 *   it back: it is never hidden for good.
 * - Panels on the left start below the notice, whatever its height; a box that scrolls can be
 *   reached by keyboard.
 *
 * No inline handlers: the pages' Content-Security-Policy runs only scripts it knows.
 */
(function () {
  "use strict";

  var DISMISSED = "unionmap.notice.dismissed";
  var NARROW = "(max-width: 600px)";
  var PANEL_TOP_MIN = 90; // below Leaflet's zoom buttons (top left)

  if (window.L && L.Map) {
    L.Map.addInitHook(function () {
      if (this.attributionControl) {
        this.attributionControl.setPrefix('<a href="https://leafletjs.com" title="JavaScript 地图库 / map library">Leaflet</a>');
      }
    });
  }

  function narrow() {
    return window.matchMedia && window.matchMedia(NARROW).matches;
  }

  // sessionStorage may be refused (a sandboxed frame, strict privacy settings): then the notice
  // simply comes back on the next load.
  function remembered() {
    try { return window.sessionStorage.getItem(DISMISSED) === "1"; } catch (error) { return false; }
  }

  function remember(dismissed) {
    try {
      if (dismissed) { window.sessionStorage.setItem(DISMISSED, "1"); }
      else { window.sessionStorage.removeItem(DISMISSED); }
    } catch (error) { /* see remembered() */ }
  }

  function placePanels() {
    var notice = document.getElementById("unionmap-notice");
    var bottom = notice ? notice.getBoundingClientRect().bottom : 0;
    var top = Math.max(PANEL_TOP_MIN, Math.ceil(bottom) + 8);
    document.documentElement.style.setProperty("--unionmap-top", top + "px");
  }

  // A box that scrolls must be reachable by keyboard (Tab, then the arrow keys), as axe asks.
  function focusableWhenScrolling(body) {
    if (body.scrollHeight > body.clientHeight || body.scrollWidth > body.clientWidth) {
      body.setAttribute("tabindex", "0");
    } else {
      body.removeAttribute("tabindex");
    }
  }

  function markScrolling() {
    var bodies = document.querySelectorAll(".unionmap-box-body");
    for (var i = 0; i < bodies.length; i++) { focusableWhenScrolling(bodies[i]); }
  }

  function setUpNotice(notice) {
    var toggle = notice.querySelector(".unionmap-notice-toggle");
    var close = notice.querySelector(".unionmap-notice-close");
    var reopen = notice.querySelector(".unionmap-notice-reopen");

    function expand(open) {
      notice.classList.toggle("unionmap-open", open);
      if (toggle) { toggle.setAttribute("aria-expanded", open ? "true" : "false"); }
      placePanels();
    }

    function dismiss(dismissed) {
      notice.classList.toggle("unionmap-dismissed", dismissed);
      remember(dismissed);
      placePanels();
    }

    if (toggle) {
      toggle.addEventListener("click", function () { expand(!notice.classList.contains("unionmap-open")); });
    }
    if (close) {
      close.addEventListener("click", function () {
        dismiss(true);
        if (reopen) { reopen.focus(); }
      });
    }
    if (reopen) {
      reopen.addEventListener("click", function () {
        dismiss(false);
        expand(true);
        if (close) { close.focus(); }
      });
    }
    expand(!narrow());
    if (remembered()) { dismiss(true); }
  }

  function setUp() {
    var boxes = document.querySelectorAll(".unionmap-box > details");
    for (var i = 0; i < boxes.length; i++) {
      if (narrow()) { boxes[i].open = false; }
      boxes[i].addEventListener("toggle", markScrolling);
    }
    var notice = document.getElementById("unionmap-notice");
    if (notice) { setUpNotice(notice); }
    placePanels();
    markScrolling();
    window.addEventListener("resize", function () { placePanels(); markScrolling(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
}());
