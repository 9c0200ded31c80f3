"""Run the app under uvicorn, one or several worker processes sharing one listening socket.

Why not ``uvicorn.run(..., workers=N)``: uvicorn binds that socket without naming the protocol
(``proto`` 0); accepted connections inherit it and asyncio then skips ``TCP_NODELAY``, so on
Linux every keep-alive response after the first waits ~40 ms for the client's delayed ACK
(Kludex/uvicorn#3149, measured here: median 52 ms against 11 ms with one worker). Binding the
socket ourselves with ``IPPROTO_TCP`` avoids it for any number of workers.
"""

from __future__ import annotations

import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

APP = "api.app:create_app"


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket whose accepted connections get ``TCP_NODELAY`` from asyncio/uvloop."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         proto=socket.IPPROTO_TCP)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.set_inheritable(True)  # the worker processes take it over
    return sock


def run(host: str, port: int, workers: int = 1, **options: object) -> None:
    """Serve ``api.app:create_app`` on ``host:port`` until interrupted (Ctrl-C stops every worker)."""
    config = uvicorn.Config(APP, factory=True, host=host, port=port, workers=workers, **options)  # type: ignore[arg-type]
    sock = listening_socket(host, port)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
