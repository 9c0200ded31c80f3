"""The server's listening socket: accepted connections must get TCP_NODELAY.

uvicorn's own bind for ``--workers N`` leaves ``proto`` 0, asyncio then skips TCP_NODELAY, and
every keep-alive response waits ~40 ms for the client's delayed ACK (Kludex/uvicorn#3149).
"""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvloop

from api.serve import listening_socket


async def accepted_nodelay(sock: socket.socket) -> int:
    """TCP_NODELAY of a connection accepted on ``sock`` by an event-loop server (as uvicorn's)."""
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
    try:
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        value = await asyncio.wait_for(seen, 5)
        writer.close()
        return value
    finally:
        server.close()


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_accepted_connections_get_tcp_nodelay(run) -> None:  # noqa: ANN001
    sock = listening_socket("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP
    assert sock.get_inheritable()  # the worker processes take it over
    assert run(accepted_nodelay(sock)) == 1


def test_plain_socket_shows_the_upstream_problem() -> None:
    """The control: a listener bound as uvicorn binds it (proto 0) hands out Nagle connections
    on the standard asyncio loop — so the test above can fail."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    assert asyncio.run(accepted_nodelay(sock)) == 0


@pytest.mark.parametrize("value", ["0", "65", "two"])
def test_bad_worker_count_is_refused_before_anything_starts(value: str) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    result = CliRunner().invoke(app, ["serve", "--workers", value])
    assert result.exit_code == 2 and "--workers" in result.output, result.output


@pytest.mark.parametrize(("field", "value"), [("workers", "-1"), ("db_pool_size", "0"), ("access_log", "perhaps")])
def test_bad_server_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch, field: str, value: str) -> None:
    from pydantic import ValidationError

    from geo.settings import Settings, worker_count

    monkeypatch.setenv(f"UNIONMAP_{field.upper()}", value)
    with pytest.raises(ValidationError, match=field):
        Settings()
    monkeypatch.delenv(f"UNIONMAP_{field.upper()}")
    assert worker_count(Settings(workers=3)) == 3 and worker_count(Settings(workers=0)) >= 1
