"""The job runner: one process per server that solves queued exact plans, each in a process of its own.

Where it runs, and why there: ``unionmap serve`` starts one runner beside its web workers
(``api.serve``), and starts it again if it ends; a server started some other way (uvicorn
directly, several machines) runs ``unionmap jobs run`` beside it. Not one per web worker (N
workers would mean N runners competing for two cores), not inside a web worker (a solve there
held the GIL and starved the event loop; a worker restarted by its supervisor would take its
jobs with it), and not started lazily by whichever worker first sees a job (its life would then
be tied to that worker's). The runner takes a PostgreSQL advisory lock (``geo.store.jobs``) and
works only while it holds it: a second runner on the same database (a second server, a stray
``jobs run``) waits as a standby and takes over when the first one's connection closes, however
it ended. Holding the lock also proves that any job still ``running`` was left by a runner that
died, so at start-up such jobs are failed with the reason (``INTERRUPTED``).

Each job is solved in a child process (``spawn``: nothing of the runner's state is forked) at a
lower CPU priority (``nice``), so web requests come first on a busy machine. The child sends its
progress and its answer over a pipe; the runner writes them to the job's row, which every web
worker reads. The runner stops a child when its job is cancelled (a flag in the row, read every
``job_poll_s``) or past its time limit; a child that dies (kill -9, out of memory) ends its job
``failed`` with the signal or exit code.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from typing import Any, cast

from sqlalchemy import Connection as DatabaseConnection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from geo.analysis.siting_exact import ExactProgress
from geo.errors import UnionmapError
from geo.services import plan_jobs
from geo.services.transaction import end_reads, unit_of_work
from geo.settings import Settings
from geo.store import jobs
from geo.store.db import make_engine, make_session_factory

log = logging.getLogger("unionmap.jobs")

ACTOR = "job runner"
INTERRUPTED = "服务重启时中断 / interrupted by a server restart"
SHUT_DOWN = "服务停止时中断 / interrupted: the server stopped"
OVERRAN = "求解超过时限且未停止，已终止 / the solve overran its time limit and was killed"
# A standby runner tries the lock this often; the holder checks its lock connection as often (s).
LOCK_CHECK_S = 5.0
# Points of incumbent and bound kept per job: when full, every other one is dropped (the series
# keeps its first point and spans the whole run, ever more coarsely).
MAX_HISTORY = 240
# Beyond its own time limit and stop grace, a solve process gets this long (reading the grid,
# building the matrix, saving) before the runner kills it (seconds).
OVERRUN_S = 60.0


@dataclass
class Solve:
    """One job being solved: its process, the runner's end of the pipe, and what it has reported."""

    job_id: int
    process: BaseProcess
    connection: Connection
    stop: Event
    deadline: float                   # monotonic: past it the process is killed
    begun: float = field(default_factory=time.monotonic)
    history: list[list[float | None]] = field(default_factory=list)
    cancelled: bool = False
    answer: tuple[str, Any] | None = None  # ("result", plan document) or ("error", reason)


def solve_in_child(settings: Settings, parameters: dict[str, Any], actor: str, connection: Connection,
                   stop: Event) -> None:
    """The solve process: run the job's plan, send progress and the answer, then end at once.

    It stops too when the runner has gone (its parent changes), so no solve outlives its runner.
    ``os._exit``: a solver thread that did not obey a stop in time must not hold the process.
    """
    os.nice(settings.job_niceness)
    runner = os.getppid()
    sending = threading.Lock()

    class Stop:
        @staticmethod
        def is_set() -> bool:
            return stop.is_set() or os.getppid() != runner

    def send(message: tuple[str, Any]) -> None:
        with sending:
            connection.send(message)

    def progress(update: ExactProgress) -> None:
        send(("progress", (round(update.seconds, 2), update.incumbent, update.bound)))

    try:
        send(("result", plan_jobs.solve_job(settings, parameters, actor=actor, progress=progress, stop=Stop())))
    except UnionmapError as error:
        send(("error", str(error)))
    except BaseException as error:  # noqa: BLE001 - every failure is the job's reason
        send(("error", f"{type(error).__name__}: {error}"))
    finally:
        os._exit(0)


def exit_reason(code: int | None) -> str:
    """Why a solve process ended without an answer, from its exit code (negative: a signal)."""
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return f"求解进程被信号 {name} 终止 / the solve process was killed by signal {-code} ({name})"
    return f"求解进程意外退出（代码 {code}）/ the solve process exited unexpectedly with code {code}"


class JobRunner:
    """Claims queued jobs and solves up to ``settings.job_processes`` of them at once."""

    def __init__(self, settings: Settings, *, stop: threading.Event | None = None,
                 parent_pid: int | None = None) -> None:
        self.settings = settings
        self.stop = stop or threading.Event()
        self.parent_pid = parent_pid  # end when this process is no longer the parent
        self.solves: dict[int, Solve] = {}
        self._context = multiprocessing.get_context("spawn")

    def run(self) -> None:
        """Wait for the lock, fail the jobs a dead runner left, then run jobs until ``stop``."""
        engine = make_engine(self.settings)
        sessions = make_session_factory(engine)
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock:
                while not jobs.take_runner_lock(lock):
                    if self._stopping(LOCK_CHECK_S):
                        return
                with sessions() as session, unit_of_work(session, actor=ACTOR):
                    left = jobs.fail_running(session, INTERRUPTED)
                log.info("job runner %d ready (%d solve process(es)); failed %d job(s) a dead runner left",
                         os.getpid(), self.settings.job_processes, len(left))
                self._loop(sessions, lock)
        finally:
            self._shut_down(sessions)
            engine.dispose()

    def _stopping(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True when the runner should end (asked to, or its parent has gone)."""
        orphaned = self.parent_pid is not None and os.getppid() != self.parent_pid
        return orphaned or self.stop.wait(seconds)

    def _loop(self, sessions: sessionmaker[Session], lock: DatabaseConnection) -> None:
        checked = time.monotonic()
        while not self._stopping(0):
            with sessions() as session:
                self._claim(session)
                self._watch(session)
            if self.solves:  # until a solve process sends or ends, or the poll interval passes
                wait([item for s in self.solves.values() for item in (s.connection, s.process.sentinel)],
                     timeout=self.settings.job_poll_s)
            else:
                self.stop.wait(self.settings.job_poll_s)
            with sessions() as session:
                for solve in list(self.solves.values()):
                    self._read(session, solve)
            if time.monotonic() - checked > LOCK_CHECK_S:  # the lock lives only as long as its connection
                jobs.check_connection(lock)
                checked = time.monotonic()

    def _claim(self, session: Session) -> None:
        """Start solving queued jobs while a solve process is free."""
        while len(self.solves) < self.settings.job_processes:
            with unit_of_work(session, actor=ACTOR):
                job = jobs.claim_next(session, runner_pid=os.getpid())
            if job is None:
                return
            parameters = job["parameters"]
            # The job's city, whatever the runner's settings name: one runner serves every region.
            settings = self.settings.model_copy(update={"region": job["region_code"]})
            receiver, sender = self._context.Pipe(duplex=False)
            stop = self._context.Event()
            process = self._context.Process(target=solve_in_child, name=f"unionmap-job-{job['id']}", daemon=True,
                                            args=(settings, parameters, job["created_by"], sender, stop))
            process.start()
            sender.close()
            limit_s = float(parameters.get("time_limit_s", 60)) + self.settings.exact_stop_grace_s + OVERRUN_S
            self.solves[job["id"]] = Solve(job["id"], process, receiver, stop, time.monotonic() + limit_s)
            with unit_of_work(session, actor=ACTOR):
                jobs.set_solver_pid(session, job["id"], process.pid or 0)
            log.info("job %d: solving in process %s (%s)", job["id"], process.pid, parameters)

    def _watch(self, session: Session) -> None:
        """Pass cancel requests on to the solve processes; kill one that overran every limit."""
        if not self.solves:
            return
        for job_id in jobs.cancel_requested(session, list(self.solves)):
            solve = self.solves[job_id]
            if not solve.cancelled:
                solve.cancelled = True
                solve.stop.set()
                log.info("job %d: cancel requested", job_id)
        end_reads(session)
        for solve in self.solves.values():
            if time.monotonic() > solve.deadline and solve.process.is_alive():
                log.warning("job %d: process %s overran its limit; killed", solve.job_id, solve.process.pid)
                solve.answer = ("error", OVERRAN)
                solve.process.kill()

    def _read(self, session: Session, solve: Solve) -> None:
        """Take in what a solve process sent; end its job when it has answered or died."""
        try:
            while solve.connection.poll():
                kind, value = solve.connection.recv()
                if kind == "progress":
                    self._progress(session, solve, value)
                elif solve.answer is None:
                    solve.answer = (kind, value)
        except (EOFError, OSError):
            pass  # it has ended; whatever it sent before is read
        if solve.answer is None and solve.process.is_alive():
            return
        solve.process.join(5)
        if solve.answer is None:
            solve.answer = ("error", exit_reason(solve.process.exitcode))
        self._finish(session, solve)

    def _progress(self, session: Session, solve: Solve, point: list[float | None]) -> None:
        solve.history.append(list(point))
        if len(solve.history) > MAX_HISTORY:
            solve.history[:] = solve.history[::2]
        _, incumbent, bound = point
        with unit_of_work(session, actor=ACTOR):
            jobs.record_progress(session, solve.job_id, incumbent=incumbent, bound=bound or 0.0,
                                 history=solve.history)

    def _finish(self, session: Session, solve: Solve) -> None:
        kind, value = solve.answer or ("error", "no answer")
        result = cast(dict[str, Any], value) if kind == "result" else None
        status = "cancelled" if solve.cancelled else "succeeded" if result is not None else "failed"
        with unit_of_work(session, actor=ACTOR):
            jobs.finish(session, solve.job_id, status=status, result=result,
                        error=None if result is not None or solve.cancelled else str(value))
        solve.connection.close()
        del self.solves[solve.job_id]
        log.info("job %d: %s after %.1f s%s", solve.job_id, status, time.monotonic() - solve.begun,
                 "" if result is not None else f" ({value})")

    def _shut_down(self, sessions: sessionmaker[Session]) -> None:
        """Kill the solve processes still running; their jobs fail as interrupted (if the database answers)."""
        if not self.solves:
            return
        for solve in self.solves.values():
            solve.process.kill()
            solve.process.join(5)
        try:
            with sessions() as session, unit_of_work(session, actor=ACTOR):
                jobs.fail_running(session, SHUT_DOWN, job_ids=list(self.solves))
        except Exception as error:  # noqa: BLE001 - the next runner fails them at its start instead
            log.warning("could not mark %d interrupted job(s): %s", len(self.solves), error)
        self.solves.clear()


def run_forever(settings: Settings, *, parent_pid: int | None = None) -> None:
    """Run the job runner in this process until SIGTERM or SIGINT (or the parent ends).

    Raises:
        SystemExit: code 1 when the database has gone (one log line, no traceback).
    """
    runner = JobRunner(settings, parent_pid=parent_pid)

    def ask_to_stop(signum: int, _: Any) -> None:
        log.info("job runner: %s, stopping", signal.Signals(signum).name)
        runner.stop.set()

    signal.signal(signal.SIGTERM, ask_to_stop)
    signal.signal(signal.SIGINT, ask_to_stop)
    try:
        runner.run()
    except SQLAlchemyError as error:  # the database went away (its lock with it): end; serve starts it again
        log.warning("job runner: lost its database connection (%s); ending", type(error).__name__)
        raise SystemExit(1) from None
