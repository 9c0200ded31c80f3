"""Benchmark: ``POST /api/v1/plans/evaluate`` (the plan page's what-if) on a running server, warm.

Asks the server for a greedy plan (k sites of a type, at least N per county), then evaluates its
proposals with one of them dropped and a site of the user's added (what the plan page sends when
a planner removes a proposal and clicks the map), ``--requests`` times one after another after
one warm-up call; prints the median, p90 and max in ms as the client sees them (HTTP included).

Run, with a server started by ``unionmap serve`` (see README):
``.venv/bin/python scripts/bench/bench_whatif.py --url http://127.0.0.1:8000 [--sites 64] [--requests 20]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--type", default="love_station")
    parser.add_argument("--sites", type=int, default=64, help="sites evaluated (the plan's k)")
    parser.add_argument("--min-per-county", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20)
    arguments = parser.parse_args()
    with httpx.Client(base_url=arguments.url, timeout=120, trust_env=False) as client:
        plan = client.post("/api/v1/plans", json={"type": arguments.type, "add": arguments.sites,
                                                  "min_per_county": arguments.min_per_county})
        plan.raise_for_status()
        proposals = plan.json()["proposals"]
        # the page's what-if: the second proposal removed, a clicked site (the first one's place) added
        sites = [{"lon": p["lon"], "lat": p["lat"]} for p in proposals[:1] + proposals[2:]]
        sites.append({"lon": proposals[1]["lon"] + 0.01, "lat": proposals[1]["lat"]})
        body = {"type": arguments.type, "sites": sites}
        client.post("/api/v1/plans/evaluate", json=body).raise_for_status()  # warm-up
        times_ms = []
        for _ in range(arguments.requests):
            started = time.perf_counter()
            response = client.post("/api/v1/plans/evaluate", json=body)
            times_ms.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    answer = response.json()
    times_ms.sort()
    p90 = times_ms[min(len(times_ms) - 1, int(0.9 * len(times_ms)))]
    print(f"POST /api/v1/plans/evaluate, {arguments.type}, {len(sites)} sites, {arguments.requests} requests: "
          f"median {statistics.median(times_ms):.1f} ms, p90 {p90:.1f} ms, max {times_ms[-1]:.1f} ms")
    print(f"covered before {answer['before']:,.0f}, after {answer['after']:,.0f} "
          f"(the plan: {plan.json()['covered_after']:,.0f})")


if __name__ == "__main__":
    main()
