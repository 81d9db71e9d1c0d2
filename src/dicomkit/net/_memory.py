"""An in-memory transport pair: an SCU and an SCP in one process, no sockets, no ports.

:func:`memory_pair` returns two connected :class:`MemoryTransport` ends with the interface the
driver uses (``read``, ``write``, ``drain``, ``close``, ``wait_closed``). Each direction has a
bounded buffer: ``drain`` waits while the peer has not read enough, so back-pressure behaves
as on a socket. Use it with ``AE.associate(transport=...)`` and ``AE.serve_transport(...)``.
"""

from __future__ import annotations

import asyncio
from collections import deque

from dicomkit.errors import TransportError


class _Pipe:
    """One direction: bytes written by one end, read by the other."""

    def __init__(self, limit: int) -> None:
        self.chunks: deque[bytes] = deque()
        self.size = 0
        self.limit = limit
        self.eof = False
        self.readable = asyncio.Event()
        self.writable = asyncio.Event()
        self.writable.set()

    def put(self, data: bytes) -> None:
        if self.eof:
            raise TransportError("write on a closed in-memory transport")
        if data:
            self.chunks.append(bytes(data))
            self.size += len(data)
            self.readable.set()
            if self.size >= self.limit:
                self.writable.clear()

    def close(self) -> None:
        self.eof = True
        self.readable.set()
        self.writable.set()

    async def get(self, n: int) -> bytes:
        while not self.chunks:
            if self.eof:
                return b""
            self.readable.clear()
            await self.readable.wait()
        first = self.chunks.popleft()
        if len(first) > n:
            self.chunks.appendleft(first[n:])
            first = first[:n]
        self.size -= len(first)
        if self.size < self.limit:
            self.writable.set()
        return first


class MemoryTransport:
    """One end of an in-memory connection."""

    def __init__(self, inbox: _Pipe, outbox: _Pipe, peer: str) -> None:
        self._in = inbox
        self._out = outbox
        self.peer = peer
        self._closed = False

    async def read(self, n: int) -> bytes:
        return await self._in.get(n)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closed:
            raise TransportError("write on a closed in-memory transport")
        self._out.put(bytes(data))

    async def drain(self) -> None:
        if self._closed or self._out.eof:
            raise TransportError("in-memory peer closed the connection")
        await self._out.writable.wait()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._out.close()
            self._in.close()

    async def wait_closed(self) -> None:
        return None

    @property
    def is_closing(self) -> bool:
        return self._closed


def memory_pair(limit: int = 1 << 20) -> tuple[MemoryTransport, MemoryTransport]:
    """Two connected ends (client, server); must be called inside a running event loop."""
    a_to_b, b_to_a = _Pipe(limit), _Pipe(limit)
    return (
        MemoryTransport(b_to_a, a_to_b, "memory:server"),
        MemoryTransport(a_to_b, b_to_a, "memory:client"),
    )


__all__ = ["MemoryTransport", "memory_pair"]
