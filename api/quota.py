"""Per-client counters over a sliding window: wrong API keys, anonymous plans.

In memory, per server process: with N workers a client may get up to N times the allowance
before every process has seen it. Good enough to stop a guessing loop or a solver flood; not
an accounting system.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque

from fastapi import HTTPException

log = logging.getLogger("unionmap.quota")

# Clients remembered at most; the oldest are forgotten first (bounds memory under a spray).
MAX_CLIENTS = 10_000


class SlidingWindow:
    """At most ``allowed`` events per client in any ``window_s`` seconds."""

    def __init__(self, what: str, *, allowed: int, window_s: float) -> None:
        self.what = what
        self.allowed = allowed
        self.window_s = window_s
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        events = self._events.get(client)
        if events is None:
            if len(self._events) >= MAX_CLIENTS:
                self._events.pop(next(iter(self._events)))
            events = self._events[client] = deque()
        while events and now - events[0] > self.window_s:
            events.popleft()
        return events

    def retry_after_s(self, client: str) -> int:
        """Seconds until the client may try again (0: it may now)."""
        now = time.monotonic()
        with self._lock:
            events = self._recent(client, now)
            if len(events) < self.allowed:
                return 0
            return max(1, math.ceil(self.window_s - (now - events[0])))

    def record(self, client: str) -> None:
        """Count one event; log once when the client reaches its allowance."""
        now = time.monotonic()
        with self._lock:
            events = self._recent(client, now)
            events.append(now)
            if len(events) == self.allowed:
                log.warning("%s: client %s reached %d in %.0f s; refused until the window passes",
                            self.what, client, self.allowed, self.window_s)

    def check(self, client: str, message: str) -> None:
        """429 with Retry-After when the client has used up its allowance."""
        wait = self.retry_after_s(client)
        if wait:
            raise HTTPException(429, detail=f"{message}; retry in {wait} s", headers={"Retry-After": str(wait)})
