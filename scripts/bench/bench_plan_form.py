"""Benchmark: the plan page's form, from a click on 规划 to the table redrawn, in Chromium.

Starts the app as ``bench_pages.py`` does, opens ``/maps/plan`` (1280×800) and, ``--repeat``
times, submits the form with k alternating between two values (so each submit changes the table)
and times, in the page, from the submit to the table holding k rows (``performance.now()`` in a
MutationObserver; the POST /api/v1/plans round trip, the greedy plan with its bound included).
Also times a what-if: a ✕ click to the figures redrawn (POST /plans/evaluate). Medians printed.

Run: ``.venv/bin/python scripts/bench/bench_plan_form.py [--repeat 5] [--add 64] [--min-per-county 5]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pages import ARGS, serve  # noqa: E402

# Resolves with the milliseconds from the submit to the table holding ``rows`` rows.
TIMED = """([selector, rows]) => new Promise(resolve => {
  const body = document.querySelector('#unionmap-plan-table tbody');
  const started = performance.now();
  const observer = new MutationObserver(() => {
    if (body.rows.length === rows && document.body.dataset.planState === 'solved'
        && !document.getElementById('unionmap-plan-submit').disabled) {
      observer.disconnect();
      resolve(performance.now() - started);
    }
  });
  observer.observe(document.body, {subtree: true, childList: true, attributes: true});
  document.querySelector(selector).click();
})"""
EDITED = """() => new Promise(resolve => {
  const started = performance.now();
  const observer = new MutationObserver(() => {
    if (document.body.dataset.planState === 'edited' && !document.getElementById('unionmap-plan-submit').disabled) {
      observer.disconnect();
      resolve(performance.now() - started);
    }
  });
  observer.observe(document.body, {subtree: true, childList: true, attributes: true});
  document.querySelector('.unionmap-plan-remove').click();
})"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--add", type=int, default=64)
    parser.add_argument("--min-per-county", type=int, default=5)
    arguments = parser.parse_args()
    print(f"command: {' '.join(sys.argv)}\ndate: {datetime.now(UTC):%Y-%m-%d %H:%M UTC}; "
          f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores")
    process, url = serve()
    path = f"/maps/plan?type=love_station&add={arguments.add}&min_per_county={arguments.min_per_county}"
    try:
        urllib.request.urlopen(url + path, timeout=300).read()  # the engine warmed, as a planner meets it
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url + path, wait_until="load")
            page.wait_for_selector("body[data-plan-state=solved]")
            page.fill("#unionmap-plan-min", str(arguments.min_per_county))
            submits, edits = [], []
            for run in range(arguments.repeat):
                rows = arguments.add - 1 if run % 2 == 0 else arguments.add
                page.fill("#unionmap-plan-add", str(rows))
                submits.append(page.evaluate(TIMED, ["#unionmap-plan-submit", rows]))
                edits.append(page.evaluate(EDITED))
            browser.close()
        print(f"submit → table ({arguments.add - 1}/{arguments.add} proposals, min {arguments.min_per_county} per "
              f"county): median {statistics.median(submits):,.0f} ms of {[round(s) for s in submits]}")
        print(f"✕ remove → figures (what-if of {arguments.add - 2}/{arguments.add - 1} sites): "
              f"median {statistics.median(edits):,.0f} ms of {[round(s) for s in edits]}")
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
