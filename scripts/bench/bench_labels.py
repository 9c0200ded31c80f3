"""Benchmark: what the place names cost a map page, in bytes and in the browser's collision pass.

Against a running app (``--base``): the uncompressed bytes of each map page and of its labels
(their stylesheet and script, names included), then, in Debian's headless Chromium at 1366×768,
the time of each collision pass (``performance.now()`` around it, kept by the page in the labels
layer's ``unionmapTimes``) while the map is zoomed from its opening view to zoom 13 and back,
``--rounds`` times; the median and the slowest pass per page.

Run: ``.venv/bin/python scripts/bench/bench_labels.py --base http://127.0.0.1:8000 [--rounds 3]``
"""

from __future__ import annotations

import argparse
import re
import statistics
import urllib.request

from playwright.sync_api import sync_playwright

PAGES = {"coverage": "/maps/coverage?type=love_station", "gaps": "/maps/gaps", "stations": "/maps/stations"}
# The labels' <style> and their script, as maps.labels writes them.
LABEL_PARTS = [re.compile(r"<style>\s*\.leaflet-unionmapLabels-pane.*?</style>", re.S),
               re.compile(r"var place_labels_\w+ = L\.layerGroup\(\);.*?place_labels_\w+, \[.*?\]\);", re.S)]
MAP = ("Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])"
       ".find(v => v && typeof v.eachLayer === 'function')")
ZOOM = f"async (zoom) => {{ {MAP}.setZoom(zoom, {{animate: false}}); await new Promise(r => setTimeout(r, 50)); }}"
TIMES = "() => Object.keys(window).filter(k => k.startsWith('place_labels_')).map(k => window[k])[0].unionmapTimes"


def page_bytes(base: str, path: str) -> tuple[int, int, int]:
    """Bytes of the page (identity encoding), of its labels, and the number of names labelled."""
    request = urllib.request.Request(base + path, headers={"Accept-Encoding": "identity"})
    with urllib.request.urlopen(request, timeout=120) as response:
        html = response.read()
    parts = [match[0] for pattern in LABEL_PARTS for match in pattern.finditer(html.decode("utf-8"))]
    names = len(re.findall(r'\[-?[\d.]+,-?[\d.]+,"', parts[-1])) if parts else 0
    return len(html), sum(len(part.encode("utf-8")) for part in parts), names


def pass_times(base: str, path: str, rounds: int) -> list[float]:
    """Every collision pass's milliseconds while zooming in to 13 and out again, ``rounds`` times
    (the passes of the opening view left out)."""
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": 1366, "height": 768})
        tab.goto(base + path, wait_until="load")
        tab.wait_for_timeout(500)  # Folium's opening fitBounds animates
        opening = len(tab.evaluate(TIMES))
        for _ in range(rounds):
            for zoom in [*range(9, 14), *range(12, 7, -1)]:
                tab.evaluate(ZOOM, zoom)
        times: list[float] = tab.evaluate(TIMES)
        browser.close()
    return times[opening:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the running app, e.g. http://127.0.0.1:8000")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    for name, path in PAGES.items():
        total, labels, rows = page_bytes(options.base, path)
        times = pass_times(options.base, path, options.rounds)
        print(f"{name:9} page {total:>9,} B  labels {labels:>7,} B ({rows} names)  collision pass: "
              f"median {statistics.median(times):.1f} ms, slowest {max(times):.1f} ms over {len(times)} passes")


if __name__ == "__main__":
    main()
