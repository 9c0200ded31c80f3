"""Heavy, pure computations (siting) in processes of their own, each call bounded by the wall clock.

Why processes: a plan builds a matrix of millions of entries and runs HiGHS for up to minutes.
In a web worker's thread that held the GIL, starved the event loop (nearest p50 5 → 50 ms
under four exact plans) and made uvicorn's supervisor kill workers that missed its health
ping. Here a call runs in a child process at a lower CPU priority (``nice``), so the web
workers' requests come first on a busy machine, and the caller's thread only waits on a pipe.

Why a wall-clock limit enforced from outside: HiGHS's own ``time_limit`` covers the solve, not
building the instance or presolve (``time_limit_s: 5`` took 19 s). A call that has not answered
by its deadline has its process killed; the next call starts a fresh one.

A child is kept between calls (numpy, scipy and HiGHS imported once), so a later issue can
keep a warm siting engine in it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from typing import Any, TypeVar

from geo.errors import UnionmapError

T = TypeVar("T")
log = logging.getLogger("unionmap.solver")


class TimeLimitExceeded(UnionmapError):
    """A computation did not finish within its wall-clock limit and was stopped."""


class SolverBusy(UnionmapError):
    """Every solver process is busy; try again later."""


class Cancelled(UnionmapError):
    """The caller gave up (its client hung up) before the answer came."""


# How often a waiting call looks whether its caller has given up (seconds).
CANCEL_POLL_S = 0.2


def _serve(connection: Connection, niceness: int, nice_after_first: bool = False) -> None:
    """The child's loop: run each (function, args, kwargs) received and send back the outcome.

    ``nice_after_first``: run the first call (the start-up warm-up: imports, the grid model, the
    siting instance) at normal priority and lower it only then. At nice 10 on a busy machine the
    warm-up got a tenth of the CPU its neighbours got and took 11 s, and the first plans waited
    for it; it runs once, while the server starts.
    """
    if niceness and not nice_after_first:
        os.nice(niceness)
    first = nice_after_first
    while True:
        try:
            function, args, kwargs = connection.recv()
        except EOFError:  # the parent has gone
            return
        except Exception as error:  # noqa: BLE001 - e.g. a function this process cannot import
            connection.send((False, RuntimeError(f"the solver process could not read the call: {error!r}")))
            continue
        try:
            outcome: tuple[bool, Any] = (True, function(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - every failure goes back to the caller
            outcome = (False, error)
        connection.send(outcome)
        if first:
            first = False
            if niceness:
                os.nice(niceness)


class _Child:
    """One child process and the parent's end of its pipe."""

    def __init__(self, context: multiprocessing.context.SpawnContext, niceness: int,
                 nice_after_first: bool = False) -> None:
        self.connection, child_end = context.Pipe()
        self.process: BaseProcess = context.Process(target=_serve, args=(child_end, niceness, nice_after_first),
                                                    daemon=True, name="unionmap-solver")
        self.process.start()
        child_end.close()

    def stop(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.connection.close()


class SolverPool:
    """Up to ``processes`` concurrent calls, each in a child process, each with a deadline.

    Thread-safe; call it from worker threads (``run`` blocks until the answer or the deadline).
    """

    def __init__(self, processes: int = 1, *, niceness: int = 10, wait_s: float = 0.0) -> None:
        self._slots = threading.BoundedSemaphore(processes)
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self._niceness = niceness
        self._wait_s = wait_s
        self._closed = False
        self._not_warming = threading.Event()
        self._not_warming.set()
        self._warming_thread: int | None = None

    def warm(self) -> None:
        """Start a child now, so the first call does not pay for the imports; that first call (the
        warm-up) runs at normal priority, later ones at the pool's niceness."""
        with self._lock:
            if not self._idle and not self._closed:
                self._idle.append(_Child(self._context, self._niceness, nice_after_first=True))

    @contextmanager
    def warming(self) -> Iterator[None]:
        """A warm-up (building what later calls need) runs in this block, on this thread: calls from
        other threads wait for it to end, up to their own ``timeout_s``, instead of finding every
        process busy or building a second copy."""
        with self._lock:
            self._warming_thread = threading.get_ident()
            self._not_warming.clear()
        try:
            yield
        finally:
            with self._lock:
                self._warming_thread = None
                self._not_warming.set()

    def run(self, function: Callable[..., T], /, *args: Any, timeout_s: float,
            cancelled: threading.Event | None = None, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` in a child; its result or exception.

        ``cancelled``: when set (the client hung up), the call is abandoned and its child killed,
        so the process is free for the next caller at once.

        Raises:
            SolverBusy: no process became free within ``wait_s``.
            TimeLimitExceeded: no answer within ``timeout_s`` (the child is killed).
            Cancelled: ``cancelled`` was set first.
        """
        waited_s = 0.0  # a wait for the warm-up counts against the call's limit
        if threading.get_ident() != self._warming_thread:
            waited_s = self._wait_for_warmup(function.__name__, timeout_s, cancelled)
        free = self._slots.acquire(timeout=self._wait_s) if self._wait_s > 0 else self._slots.acquire(blocking=False)
        if not free:
            raise SolverBusy("所有求解进程都在忙，请稍后重试 / every solver process is busy; try again shortly")
        try:
            try:
                payload = ForkingPickler.dumps((function, args, kwargs))
            except (pickle.PicklingError, AttributeError, TypeError) as error:
                raise TypeError(f"{function!r} and its arguments cannot be sent to a process: {error}") from error
            with self._lock:
                child = self._idle.pop() if self._idle else None
            if child is not None and not child.process.is_alive():
                child.stop()  # close its pipe too
                child = None
            if cancelled is not None and cancelled.is_set():
                if child is not None:
                    with self._lock:
                        self._idle.append(child)
                raise Cancelled(f"solver call {function.__name__} abandoned before it started: its client has gone")
            child = child or _Child(self._context, self._niceness)
            try:
                child.connection.send_bytes(payload)
                if not self._answered(child, time.monotonic() + timeout_s - waited_s, cancelled):
                    child.stop()
                    if cancelled is not None and cancelled.is_set():
                        threading.Thread(target=self.warm, daemon=True).start()
                        raise Cancelled(f"solver call {function.__name__} abandoned: its client has gone")
                    log.warning("solver call %s stopped at its limit of %.1f s", function.__name__, timeout_s)
                    raise TimeLimitExceeded(
                        f"计算超过 {timeout_s:g} 秒的时限，已停止 / stopped at its limit of {timeout_s:g} s")
                ok, value = child.connection.recv()
            except (EOFError, OSError) as error:
                child.stop()
                raise RuntimeError(f"the solver process ended unexpectedly ({error!r})") from error
            with self._lock:
                if self._closed:
                    child.stop()
                else:
                    self._idle.append(child)
            if not ok:
                raise value
            return value  # type: ignore[no-any-return]
        finally:
            self._slots.release()

    def _wait_for_warmup(self, name: str, timeout_s: float, cancelled: threading.Event | None) -> float:
        """Wait while a warm-up runs (the call needs what it builds), within ``timeout_s`` and while
        the caller stays; the seconds waited."""
        begun = time.monotonic()
        deadline = begun + timeout_s
        while not self._not_warming.wait(min(CANCEL_POLL_S, max(0.0, deadline - time.monotonic()))):
            if cancelled is not None and cancelled.is_set():
                raise Cancelled(f"solver call {name} abandoned while the warm-up ran: its client has gone")
            if time.monotonic() >= deadline:
                raise TimeLimitExceeded(
                    f"计算超过 {timeout_s:g} 秒的时限，已停止 / stopped at its limit of {timeout_s:g} s "
                    "(waiting for the warm-up)")
        return time.monotonic() - begun

    @staticmethod
    def _answered(child: _Child, deadline: float, cancelled: threading.Event | None) -> bool:
        """Wait for the child's answer until ``deadline`` or cancellation; True if it answered."""
        while (left := deadline - time.monotonic()) > 0:
            if child.connection.poll(min(left, CANCEL_POLL_S) if cancelled is not None else left):
                return True
            if cancelled is not None and cancelled.is_set():
                return False
        return child.connection.poll(0)

    def close(self) -> None:
        """Stop every idle child (a running call's child is stopped when it returns)."""
        with self._lock:
            self._closed = True
            children, self._idle = self._idle, []
        for child in children:
            child.stop()
