"""Benchmark: page weights, time to first render, and the phone finder on slow 3G, in Chromium.

Starts the app (uvicorn, 1 worker) on the project's database (``DATABASE_URL``), opens each page
in Debian's headless Chromium (Playwright) with a cold cache, and reads the browser's own
Performance API. Three tables, every figure the median of ``--repeat`` runs:

1. **Timings** (no throttling): first contentful paint, the ``load`` event, and when the map has
   drawn (two animation frames after ``load``: the page's own scripts have finished).
2. **Weights**: bytes as sent (``transferSize``: gzip when the server compresses, headers included)
   and as stored (``decodedBodySize``), of the HTML alone and of the page with every resource it
   loads (counted once the network is idle, so what Swagger UI or the finder fetch later is in).
3. **The finder on slow 3G**: CDP ``Network.emulateNetworkConditions`` (latency 400 ms, 50 000 B/s
   down and up) and ``Emulation.setCPUThrottlingRate`` (4), a phone viewport; the time from the
   start of navigation to the first item of the station list (a ``MutationObserver`` writes
   ``performance.now()``), and to the map (Leaflet's container). Target: the list under 4 s.

The plan map solves its plan on each view (issue 12's question; the server warms its engine at
start-up, and the benchmark waits for that before the first view, as a user would meet it).
``--app-dir`` serves another checkout (e.g. a worktree of an older commit) to compare with.

Run: ``.venv/bin/python scripts/bench/bench_pages.py [--repeat 5] [--pages finder] [--slow-repeat 0]``
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

PAGES = {"start page": "/", "finder (phone)": "/finder?lon=115.99&lat=29.71", "stations map": "/maps/stations",
         "coverage map (204 townships)": "/maps/coverage?type=love_station", "gaps map": "/maps/gaps",
         "plan map (k = 64, min 5 per county)": "/maps/plan?type=love_station&add=64&min_per_county=5",
         "station page": "/maps/station/{station}", "API docs": "/docs",
         # the editor's pages (issue 14), signed in with a key made for the run and revoked after it
         "editor: find (phone)": "/edit", "editor: station form": "/edit/stations/{station}",
         "editor: history": "/edit/stations/{station}/history", "editor: bulk": "/edit/bulk",
         "editor: reports inbox (phone)": "/edit/reports", "editor: card": "/edit/stations/{station}/card"}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 50_000, "uploadThroughput": 50_000}
CPU_SLOWDOWN = 4
PRESET = (f"CDP Network.emulateNetworkConditions latency {SLOW_3G['latency']} ms, downloadThroughput "
          f"{SLOW_3G['downloadThroughput']:,} B/s, uploadThroughput {SLOW_3G['uploadThroughput']:,} B/s "
          f"(~400 kbit/s); Emulation.setCPUThrottlingRate rate {CPU_SLOWDOWN}; viewport 360×640, cold cache")
DRAWN = """addEventListener('load', () => requestAnimationFrame(() =>
    requestAnimationFrame(() => { window.__drawn = performance.now(); })));"""
# performance.now() counts from the start of navigation (the time origin of the document).
FIRST_LIST = """new MutationObserver(() => {
  if (!window.__list && document.querySelector('#results li')) window.__list = performance.now();
  if (!window.__map && document.querySelector('#map.leaflet-container')) window.__map = performance.now();
}).observe(document, {childList: true, subtree: true, attributes: true, attributeFilter: ['class']});"""
# First contentful paint may be reported after the load event and two frames (on a quiet machine
# the maps' first text is painted later than that): waited for, up to 5 s, else null ("–").
TIMINGS = """async () => {
  const nav = performance.getEntriesByType('navigation')[0];
  const fcp = await new Promise(resolve => {
    const seen = performance.getEntriesByName('first-contentful-paint')[0];
    if (seen) return resolve(seen.startTime);
    new PerformanceObserver(list => {
      const entry = list.getEntriesByName('first-contentful-paint')[0];
      if (entry) resolve(entry.startTime);
    }).observe({type: 'paint', buffered: true});
    setTimeout(() => resolve(null), 5000);
  });
  return {fcp, load: nav.loadEventEnd, drawn: window.__drawn || null};
}"""
WEIGHTS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const all = [nav, ...performance.getEntriesByType('resource')];
  const sum = (key) => all.reduce((total, entry) => total + (entry[key] || 0), 0);
  return {html_sent: nav.transferSize, html_stored: nav.decodedBodySize, sent: sum('transferSize'),
          stored: sum('decodedBodySize'), requests: all.length};
}"""


def serve(app_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """uvicorn with one worker on a free port, serving the checkout in ``app_dir``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--port",
                                str(port), "--log-level", "warning", "--app-dir", str(app_dir)], cwd=app_dir,
                               env=os.environ | {"PYTHONPATH": str(app_dir)})
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/api/v1/health", timeout=2)
            return process, url
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the app did not start")


def median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [run[key] for run in runs if run.get(key) is not None]
    return statistics.median(values) if values else None


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def kb(value: float | None) -> str:
    return "–" if value is None else f"{value / 1024:,.1f} KB"


def open_page(browser: Browser, url: str, *, phone: bool, measure: Callable[..., dict[str, Any]],
              sign_in: str | None = None) -> dict[str, Any]:
    """One cold view of ``url`` in a fresh context (signed in to the editor with the key ``sign_in``,
    by the sign-in form's POST, before the view); what ``measure(page)`` reads."""
    context = browser.new_context(**(PHONE if phone else DESKTOP))
    try:
        if sign_in is not None:
            base = url[:url.index("/", len("http://"))]
            answer = context.request.post(f"{base}/edit/sign-in", form={"key": sign_in}, max_redirects=0)
            assert answer.status == 303, f"sign-in refused: {answer.status}"
        page = context.new_page()
        page.add_init_script(DRAWN)
        page.goto(url, wait_until="load")
        # A function, not an expression: Playwright would eval the text, which the pages' policy forbids.
        page.wait_for_function("() => window.__drawn !== undefined && window.__drawn !== null")
        return measure(page)
    finally:
        context.close()


def timings_and_weights(page: Any) -> dict[str, Any]:
    """The view's timings, then its weights once the network is idle (or after 30 s, said in the output)."""
    timings: dict[str, Any] = page.evaluate(TIMINGS)
    try:
        page.wait_for_load_state("networkidle", timeout=30_000)
        idle = True
    except PlaywrightTimeout:
        idle = False
    return timings | page.evaluate(WEIGHTS) | {"idle": idle}


def finder_on_slow_3g(browser: Browser, url: str, *, identity: bool) -> dict[str, Any]:
    """One cold view of the finder under the slow-3G preset: ms to the first listed station and to the map."""
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.add_init_script(FIRST_LIST)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        if identity:  # the same page as a server without compression would send it
            cdp.send("Network.setExtraHTTPHeaders", {"headers": {"Accept-Encoding": "identity"}})
        page.goto(url, wait_until="commit", timeout=120_000)
        page.wait_for_function("() => window.__list && window.__map", timeout=120_000)
        result: dict[str, Any] = page.evaluate("() => ({list: window.__list, map: window.__map})")
        page.wait_for_load_state("networkidle", timeout=120_000)
        paint = page.evaluate("() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime")
        return result | {"fcp": paint} | page.evaluate(WEIGHTS)
    finally:
        context.close()


def a_station(url: str) -> int:
    """The id of the first 爱心驿站 of the registry, for the single-station page."""
    with urllib.request.urlopen(f"{url}/api/v1/stations?type=love_station&limit=1", timeout=30) as answer:
        return int(json.load(answer)["features"][0]["id"])


@contextmanager
def editor_key() -> Iterator[str]:
    """An editor key on the benchmark's database (``DATABASE_URL``) for the editor's pages; revoked after."""
    from geo.services.transaction import session_scope
    from geo.settings import get_settings
    from geo.store.keys import create_key, revoke_key

    with session_scope(get_settings(), actor="bench_pages") as session:
        key = create_key(session, name="bench_pages", role="editor")
    try:
        yield key
    finally:
        with session_scope(get_settings(), actor="bench_pages") as session:
            revoke_key(session, key.split("_")[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="views of each page (timings and weights)")
    parser.add_argument("--pages", help="only the pages whose name contains this text (e.g. plan); '' for none")
    parser.add_argument("--slow-repeat", type=int, default=None, help="finder views on slow 3G (default --repeat)")
    parser.add_argument("--identity", action="store_true", help="slow 3G: the browser asks for no compression")
    parser.add_argument("--app-dir", type=Path, default=Path(__file__).resolve().parents[2],
                        help="the checkout to serve (default: this one)")
    arguments = parser.parse_args()
    slow_repeat = arguments.repeat if arguments.slow_repeat is None else arguments.slow_repeat
    commit = subprocess.run(["git", "-C", str(arguments.app_dir), "log", "-1", "--format=%h %s"],
                            capture_output=True, text=True).stdout.strip()
    print(f"command: {' '.join(sys.argv)}\ndate: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}; load average "
          f"{' '.join(f'{load:.2f}' for load in os.getloadavg())} (1, 5, 15 min); {os.cpu_count()} cores\n"
          f"serving: {arguments.app_dir} at {commit}")
    process, url = serve(arguments.app_dir)
    try:
        with sync_playwright() as driver, editor_key() as key:
            browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            print(f"chromium {browser.version}\n")
            pages = {name: path for name, path in PAGES.items()
                     if arguments.pages is None or (arguments.pages and arguments.pages in name)}
            if pages and arguments.repeat > 0:
                results: dict[str, list[dict[str, Any]]] = {}
                for name, path in pages.items():
                    path = path.format(station=a_station(url)) if "{station}" in path else path
                    if path.startswith("/maps/plan"):  # the engine's start-up warm-up done, as a planner meets it
                        urllib.request.urlopen(url + path, timeout=300).read()
                    results[name] = [open_page(browser, url + path, phone="phone" in name,
                                               measure=timings_and_weights,
                                               sign_in=key if path.startswith("/edit") else None)
                                     for _ in range(arguments.repeat)]
                    if not all(run["idle"] for run in results[name]):
                        print(f"{name}: {sum(not run['idle'] for run in results[name])} of {arguments.repeat} "
                              "views still had a request open after 30 s: weighed as they were")
                print(f"Timings, no throttling (median of {arguments.repeat})\n\n"
                      "| page | first contentful paint | load event | map drawn |\n|---|---|---|---|")
                for name, runs in results.items():
                    print(f"| {name} | {ms(median(runs, 'fcp'))} | {ms(median(runs, 'load'))} | "
                          f"{ms(median(runs, 'drawn'))} |")
                print("\nWeights: sent (compressed, with headers) / stored (decoded)\n\n| page | HTML sent | "
                      "HTML stored | all sent | all stored | requests |\n|---|---|---|---|---|---|")
                for name, runs in results.items():
                    print(f"| {name} | {kb(median(runs, 'html_sent'))} | {kb(median(runs, 'html_stored'))} | "
                          f"{kb(median(runs, 'sent'))} | {kb(median(runs, 'stored'))} | "
                          f"{median(runs, 'requests'):.0f} |")
            if slow_repeat > 0:
                finder = url + PAGES["finder (phone)"]
                runs = [finder_on_slow_3g(browser, finder, identity=arguments.identity) for _ in range(slow_repeat)]
                coding = "Accept-Encoding: identity" if arguments.identity else "Chromium's own Accept-Encoding"
                print(f"\nFinder on slow 3G: {PRESET}; {coding}\n\n"
                      "| first list (median) | runs | map | first contentful paint | all sent |\n|---|---|---|---|---|")
                each = ", ".join(f"{run['list']:,.0f}" for run in runs)
                print(f"| {ms(median(runs, 'list'))} | {each} | "
                      f"{ms(median(runs, 'map'))} | {ms(median(runs, 'fcp'))} | {kb(median(runs, 'sent'))} |")
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"\nload average at the end: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")


if __name__ == "__main__":
    main()
