"""Run the app under uvicorn, one or several worker processes sharing one listening socket.

Why not ``uvicorn.run(..., workers=N)``: uvicorn binds that socket without naming the protocol
(``proto`` 0); accepted connections inherit it and asyncio then skips ``TCP_NODELAY``, so on
Linux every keep-alive response after the first waits ~40 ms for the client's delayed ACK
(Kludex/uvicorn#3149, measured here: median 52 ms against 11 ms with one worker). Binding the
socket ourselves with ``IPPROTO_TCP`` avoids it for any number of workers.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import threading
import time

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

APP = "api.app:create_app"
# The job runner (geo.services.job_runner), as a command of its own: it ends with this process.
JOB_RUNNER = [sys.executable, "-m", "api.cli", "jobs", "run", "--exit-with-parent"]
log = logging.getLogger("unionmap.serve")


class JobRunnerProcess:
    """One job runner beside the web workers, started again (after a pause) whenever it ends.

    A process of its own, not a thread of this supervisor and not a web worker: a solve can
    never hold a worker, and uvicorn's supervisor, which kills workers that miss its ping, never
    sees it. ``--exit-with-parent``: it also ends if this process is killed outright.
    """

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or JOB_RUNNER
        self.process: subprocess.Popen[bytes] | None = None
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._keep, name="job-runner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _keep(self) -> None:
        pause_s = 1.0
        while True:
            with self._lock:
                if self._stopped.is_set():
                    return
                self.process = subprocess.Popen(self.command)
            begun = time.monotonic()
            code = self.process.wait()
            if self._stopped.is_set():
                return
            pause_s = 1.0 if time.monotonic() - begun > 60 else min(2 * pause_s, 30.0)
            log.warning("job runner ended with code %s; starting it again in %.0f s", code, pause_s)
            self._stopped.wait(pause_s)

    def stop(self) -> None:
        """End the runner (it fails the jobs it was solving, as interrupted) and wait for it."""
        with self._lock:
            self._stopped.set()
            process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class HeadTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, but a connection must deliver a request's head within a time limit.

    uvicorn has no such limit: a new connection is never timed out, and its keep-alive timer is
    cancelled by any byte received, so 1,000 clients sending a header a byte at a time held
    1,000 connections for as long as they liked (slowloris). Here the head of each request
    (request line and headers) must be complete within ``header_timeout_s`` of the connection
    opening, or of the previous response ending plus the keep-alive time; otherwise the
    connection is closed.
    """

    _head_timer: asyncio.TimerHandle | None = None

    def _arm_head_timer(self, extra_s: float = 0.0) -> None:
        self._cancel_head_timer()
        limit_s = getattr(self.config, "header_timeout_s", 10.0) + extra_s
        self._head_timer = self.loop.call_later(limit_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        waiting_for_head = self.cycle is None or self.cycle.response_complete
        if waiting_for_head and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer(extra_s=self.timeout_keep_alive)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket whose accepted connections get ``TCP_NODELAY`` from asyncio/uvloop."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         proto=socket.IPPROTO_TCP)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.set_inheritable(True)  # the worker processes take it over
    return sock


def run(host: str, port: int, workers: int = 1, *, header_timeout_s: float = 10.0, healthcheck_s: int = 30,
        job_runner: bool = True, **options: object) -> None:
    """Serve ``api.app:create_app`` on ``host:port`` until interrupted (Ctrl-C stops every worker),
    with the job runner beside the workers (``job_runner``).

    ``healthcheck_s``: how long the supervisor waits for a worker's answer to its ping before
    it kills it. uvicorn's 5 s killed workers that were only busy (start-up imports, or a heavy
    request, on a loaded 2-core machine).
    """
    config = uvicorn.Config(APP, factory=True, host=host, port=port, workers=workers, http=HeadTimeoutProtocol,
                            timeout_worker_healthcheck=healthcheck_s, **options)  # type: ignore[arg-type]
    config.header_timeout_s = header_timeout_s  # type: ignore[attr-defined]  # read by HeadTimeoutProtocol
    sock = listening_socket(host, port)
    runner = JobRunnerProcess() if job_runner else None
    try:
        if runner is not None:
            runner.start()
        if workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        if runner is not None:
            runner.stop()
        sock.close()
