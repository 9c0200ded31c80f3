"""The live line of ``unionmap plan --method exact``: elapsed time, incumbent, bound and gap; Ctrl-C stops.

On a terminal the line is redrawn in place (rich ``Live``); into a file or a pipe, a line is
printed whenever the incumbent or the bound changes. The first Ctrl-C asks the solver to stop and
keep the best plan found (``geo.services.exact_plans``); a second one aborts at once.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from rich.live import Live
from rich.text import Text

from geo.analysis.siting_exact import ExactProgress
from geo.cli.common import console


class ProgressLine:
    """The exact solver's progress callback, and the line that shows it."""

    def __init__(self, stop: threading.Event, *, live: bool) -> None:
        self.stop = stop
        self.live = live
        self.started = time.monotonic()
        self.update: ExactProgress | None = None

    def __call__(self, update: ExactProgress) -> None:
        changed = self.update is None or (update.incumbent, update.bound) != (self.update.incumbent, self.update.bound)
        self.update = update
        if changed and not self.live:
            console.print(self.text())

    def text(self) -> str:
        """One line: elapsed seconds, incumbent, bound, gap (people)."""
        elapsed = f"精确求解 / exact {time.monotonic() - self.started:6.1f} s"
        if self.update is None:
            line = f"{elapsed}  建模中 / building the instance"
        else:
            incumbent = "—" if self.update.incumbent is None else f"{self.update.incumbent:,.0f}"
            gap = "—" if self.update.gap is None else f"{self.update.gap:.2%}"
            line = f"{elapsed}  最好 incumbent {incumbent}  上界 bound {self.update.bound:,.0f}  差距 gap {gap}"
        return line + ("  正在停止 / stopping (Ctrl-C again: abort)" if self.stop.is_set() else "")

    def __rich__(self) -> Text:
        return Text(self.text())


@contextmanager
def exact_progress() -> Iterator[ProgressLine]:
    """A progress line for the block; Ctrl-C in it sets ``line.stop`` (the second one aborts)."""
    stop = threading.Event()
    line = ProgressLine(stop, live=console.is_terminal)

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        if not line.live:
            console.print(line.text())

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        if line.live:
            with Live(line, console=console, refresh_per_second=4):
                yield line
        else:
            yield line
    finally:
        signal.signal(signal.SIGINT, previous)
