"""Benchmark: page weight and time to first render of the maps and the finder, in Chromium.

Starts the app (uvicorn, 1 worker) on the project's database, opens each page in Debian's
headless Chromium (Playwright) with a cold cache, and reads the browser's own Performance API:
bytes transferred (sum of ``transferSize`` of the document and every resource), first
contentful paint, the ``load`` event, and when the map has drawn (Leaflet's container holds its
layers: the time the page's own scripts finish). Every figure is the median of ``--repeat`` runs.
The plan map solves its plan on each view (issue 12's question; the server warms its engine at
start-up, and the benchmark waits for that before the first view, as a user would meet it).

Run: ``.venv/bin/python scripts/bench/bench_pages.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime

from playwright.sync_api import sync_playwright

PAGES = {"coverage map (204 townships)": "/maps/coverage?type=love_station", "stations map": "/maps/stations",
         "gaps map": "/maps/gaps", "finder (phone)": "/finder?lon=115.99&lat=29.71", "start page": "/",
         "plan map (k = 64, min 5 per county)": "/maps/plan?type=love_station&add=64&min_per_county=5"}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
METRICS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  const bytes = [nav, ...performance.getEntriesByType('resource')].reduce((s, e) => s + (e.transferSize || 0), 0);
  return {bytes, fcp: paint ? paint.startTime : null, load: nav.loadEventEnd, drawn: window.__drawn || null};
}"""


def serve() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--port",
                                str(port), "--log-level", "warning"])
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(f"{url}/api/v1/health", timeout=2)
            return process, url
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the app did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pages", help="only the pages whose name contains this text (e.g. plan)")
    arguments = parser.parse_args()
    print(f"command: {' '.join(sys.argv)}\ndate: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}; "
          f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")
    process, url = serve()
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            print(f"chromium {browser.version}\n")
            print("| page | transferred | first contentful paint | load event | map drawn |\n|---|---|---|---|---|")
            for name, path in PAGES.items():
                if arguments.pages and arguments.pages not in name:
                    continue
                if path.startswith("/maps/plan"):  # the engine's start-up warm-up done, as a planner meets it
                    urllib.request.urlopen(url + path, timeout=300).read()
                runs = []
                for _ in range(arguments.repeat):
                    phone = path.startswith("/finder")
                    context = browser.new_context(viewport={"width": 360, "height": 640} if phone else
                                                  {"width": 1280, "height": 800}, is_mobile=phone)
                    page = context.new_page()
                    page.add_init_script("""addEventListener('load', () => requestAnimationFrame(() =>
                        requestAnimationFrame(() => { window.__drawn = performance.now(); })));""")
                    page.goto(url + path, wait_until="load")
                    # Polled from here: a predicate string is evaluated in the page, where the
                    # pages' Content-Security-Policy (no 'unsafe-eval') refuses it.
                    while page.evaluate("() => window.__drawn || null") is None:
                        time.sleep(0.02)
                    runs.append(page.evaluate(METRICS))
                    context.close()

                def median(key: str, runs: list[dict] = runs) -> float:
                    return statistics.median(r[key] for r in runs if r[key] is not None)

                print(f"| {name} | {median('bytes') / 1024:,.0f} KB | {median('fcp'):,.0f} ms | "
                      f"{median('load'):,.0f} ms | {median('drawn'):,.0f} ms |")
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
