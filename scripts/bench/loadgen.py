"""A lean HTTP/1.1 keep-alive client for load generators that share the machine with the server.

httpx cost 1.4–1.7 ms of client CPU per request here, this client 0.08–0.10 ms
(``scripts/bench/bench_loadgen.py``); on a 2-core machine the difference is CPU taken from the
server being measured. This client writes a GET and reads the answer by its
``Content-Length`` on reused asyncio connections, and nothing else (no redirects, cookies,
chunked bodies or TLS: the benchmarked endpoints never need them).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from contextlib import suppress
from typing import Any, TypeVar
from urllib.parse import urlsplit

import uvloop

T = TypeVar("T")

_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class Pool:
    """Up to ``size`` keep-alive connections to ``base`` (``http://host:port``); more requests wait."""

    def __init__(self, base: str, size: int = 128) -> None:
        url = urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.gate = asyncio.Semaphore(size)

    async def get(self, path: str) -> int:
        """GET ``path`` → the status code. As HTTP clients do, a GET that fails on a reused
        connection the server has meanwhile closed (its keep-alive timeout) is sent once more on
        a new one; any other failure is raised and the connection dropped."""
        async with self.gate:
            if self.idle:
                with suppress(ConnectionError, asyncio.IncompleteReadError):
                    return await self._send(*self.idle.pop(), path)
            return await self._send(*await asyncio.open_connection(self.host, self.port), path)

    async def _send(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nAccept-Encoding: identity\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = _LENGTH.search(head)
            await reader.readexactly(int(length[1]) if length else 0)
        except BaseException:
            writer.close()
            raise
        self.idle.append((reader, writer))
        return int(head[9:12])

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run the generator on uvloop, the event loop the server uses too."""
    return uvloop.run(work)
