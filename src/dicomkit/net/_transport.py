"""Transports: what the association driver needs of a connection, and the asyncio ones.

A :class:`Transport` is anything with ``read``, ``write``, ``drain``, ``close`` and
``wait_closed`` (an in-memory pipe in :mod:`dicomkit.net._memory`, a stream pair in
:class:`StreamTransport`). :class:`SocketTransport` is the one :class:`~dicomkit.net.AE` uses
for TCP and TLS: an ``asyncio.BufferedProtocol`` that can also *push* received bytes straight to the
association (:meth:`SocketTransport.set_receiver`), so a message costs no task hop between a
reader task and the code waiting for it.

# Why a Protocol and not StreamReader: with streams, bytes go socket -> StreamReader buffer
# -> (next loop iteration) reader task -> (next iteration) the waiting request. Pushing from
# data_received saves one event-loop iteration per message on each side, which is a third
# of the cost of a C-ECHO round trip. Writes go straight to the asyncio transport; drain()
# only waits when the transport's buffer is above its high-water mark.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl as ssl_module
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Protocol, TypeAlias, runtime_checkable

from dicomkit.errors import TransportError

Buffer: TypeAlias = bytes | bytearray | memoryview
#: ``receiver(data)`` gets each chunk read (``b""`` at end of stream); ``lost(exc)`` is called
#: instead when the connection failed with an error.
Receiver: TypeAlias = Callable[[bytes], None]
LostCallback: TypeAlias = Callable[[BaseException], None]


class Transport(Protocol):
    """What the driver needs of a connection (a socket stream or :mod:`.memory`)."""

    peer: str

    async def read(self, n: int) -> bytes: ...
    def write(self, data: Buffer) -> None: ...
    async def drain(self) -> None: ...
    def close(self) -> None: ...
    async def wait_closed(self) -> None: ...


# Optional capabilities, declared rather than probed: the driver checks each once, when the
# association is made, with isinstance (the Protocols are runtime-checkable).


@runtime_checkable
class Pushing(Protocol):
    """A transport that hands received bytes to a callback as they arrive (no reader task),
    and can stop reading from the peer for back-pressure."""

    def set_receiver(self, receiver: Receiver, lost: LostCallback | None = None) -> None: ...
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...


@runtime_checkable
class LevelReporting(Protocol):
    """A transport that says when its send buffer is above the high-water mark, so that
    ``drain`` is awaited only then."""

    @property
    def write_blocked(self) -> bool: ...


@runtime_checkable
class VectorWriting(Protocol):
    """A transport that writes several buffers with one call (one system call if it can)."""

    def writelines(self, chunks: Iterable[Buffer]) -> None: ...


#: the read buffer of the thread's connections (see SocketTransport.get_buffer)
_SCRATCH = threading.local()


def _set_nodelay(sock: socket.socket | None) -> None:
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _peer_name(peer: object) -> str:
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)


class StreamTransport:
    """An asyncio stream pair as a :class:`Transport`; TCP_NODELAY is set on the socket."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        write_buffer: int = 1 << 20,
    ) -> None:
        self._reader = reader
        self._writer = writer
        _set_nodelay(writer.get_extra_info("socket"))
        with contextlib.suppress(AttributeError, NotImplementedError):
            writer.transport.set_write_buffer_limits(high=write_buffer)
        self.peer = _peer_name(writer.get_extra_info("peername"))

    async def read(self, n: int) -> bytes:
        try:
            return await self._reader.read(n)
        except (ConnectionError, OSError) as exc:
            raise TransportError(f"read from {self.peer} failed: {exc}") from exc

    def write(self, data: Buffer) -> None:
        # writing to a lost connection makes asyncio log "socket.send() raised exception."
        # for every write: fail the first one instead
        if self._writer.transport.is_closing():
            raise TransportError(f"connection to {self.peer} is closed")
        self._writer.write(data)

    def writelines(self, chunks: Iterable[Buffer]) -> None:
        """Write several buffers at once (one system call when the socket can take them)."""
        if self._writer.transport.is_closing():
            raise TransportError(f"connection to {self.peer} is closed")
        self._writer.writelines(chunks)

    async def drain(self) -> None:
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise TransportError(f"write to {self.peer} failed: {exc}") from exc

    def close(self) -> None:
        self._writer.close()

    async def wait_closed(self) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()


class SocketTransport(asyncio.BufferedProtocol):
    """A TCP (or TLS) connection as a :class:`Transport`, built by ``loop.create_connection``
    / ``create_server`` with this class as the protocol factory.

    Without a receiver, received bytes are buffered for :meth:`read`; after
    :meth:`set_receiver` they are handed to the receiver as they arrive (what buffered
    before is delivered first). :meth:`pause_reading` / :meth:`resume_reading` apply
    back-pressure to the peer. ``write_buffer`` is the high-water mark of the send buffer:
    :meth:`drain` returns at once below it.
    """

    def __init__(self, write_buffer: int = 1 << 20, *, tls_pending: bool = False) -> None:
        self.peer = "?"
        #: a server's TLS comes with :meth:`start_tls`: nothing is read before it
        self._tls_pending = tls_pending
        self._write_buffer = write_buffer
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()
        self._chunks: deque[bytes] = deque()
        self._eof = False
        self._error: BaseException | None = None
        self._read_waiter: asyncio.Future[None] | None = None
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._write_paused = False
        self._reading_paused = False
        self._receiver: Receiver | None = None
        self._lost: LostCallback | None = None
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self.connected: asyncio.Future[None] = self._loop.create_future()

    # -- asyncio.BufferedProtocol ----------------------------------------------------------

    # Received bytes land in one buffer and are copied out as a bytes object of their own
    # size. With plain data_received, asyncio allocates a fresh 256 KiB object for every
    # recv() and shrinks it; glibc serves that from mmap (above its threshold), so each small
    # message cost an mmap, an mremap, a munmap and page faults: a third of the CPU of a
    # C-ECHO round trip. The buffer is shared by every connection of the thread's event loop:
    # asyncio calls get_buffer, recv_into and buffer_updated in one go (TLS too), and
    # buffer_updated copies the bytes out, so no connection holds it between reads. (One
    # buffer per connection cost 256 KiB of memory for each of 200 stalled connections.)
    _READ_BUFFER = 256 * 1024

    def get_buffer(self, sizehint: int) -> memoryview:
        view: memoryview | None = getattr(_SCRATCH, "view", None)
        if view is None:
            view = _SCRATCH.view = memoryview(bytearray(self._READ_BUFFER))
        return view

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(_SCRATCH.view[:nbytes].tobytes())

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        _set_nodelay(transport.get_extra_info("socket"))
        with contextlib.suppress(AttributeError, NotImplementedError):
            transport.set_write_buffer_limits(high=self._write_buffer)
        self.peer = _peer_name(transport.get_extra_info("peername"))
        if self._tls_pending:  # the ClientHello is for start_tls's SSL protocol, not for us
            transport.pause_reading()
        if not self.connected.done():
            self.connected.set_result(None)

    async def start_tls(self, context: ssl_module.SSLContext, timeout: float | None) -> None:
        """(server side) The TLS handshake on this connection, within ``timeout`` seconds;
        raises ``OSError`` / ``ssl.SSLError`` / ``TimeoutError`` when it fails (the
        connection is then closed). The peer's address is known before: a refusal can name
        it."""
        raw = self._transport
        assert raw is not None and self._tls_pending
        self._tls_pending = False
        try:
            secure = await self._loop.start_tls(
                raw, self, context, server_side=True, ssl_handshake_timeout=timeout
            )
        except BaseException as exc:
            raw.close()
            self.connection_lost(exc if isinstance(exc, Exception) else None)
            raise
        if secure is None:  # the connection went away during the handshake
            self.connection_lost(ConnectionResetError("closed during the TLS handshake"))
            raise ConnectionResetError(f"{self.peer} closed the connection during the handshake")
        self._transport = secure
        with contextlib.suppress(AttributeError, NotImplementedError):
            secure.set_write_buffer_limits(high=self._write_buffer)

    def data_received(self, data: bytes) -> None:
        receiver = self._receiver
        if receiver is not None:
            receiver(data)
            return
        self._chunks.append(data)
        self._wake_reader()

    def eof_received(self) -> bool:
        self._eof = True
        if self._receiver is not None:
            self._receiver(b"")
        self._wake_reader()
        return False  # close our side too

    def connection_lost(self, exc: BaseException | None) -> None:
        already_eof = self._eof
        self._eof = True
        if exc is not None and self._error is None:
            self._error = exc
        if self._receiver is not None:
            if exc is not None and self._lost is not None:
                self._lost(exc)
            elif not already_eof:
                self._receiver(b"")
        self._wake_reader()
        self._write_paused = False
        for fut in self._drain_waiters:
            if not fut.done():
                fut.set_result(None)
        self._drain_waiters.clear()
        if not self._closed.done():
            self._closed.set_result(None)
        if not self.connected.done():
            self.connected.set_exception(TransportError(f"connection failed: {exc}"))

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        for fut in self._drain_waiters:
            if not fut.done():
                fut.set_result(None)
        self._drain_waiters.clear()

    # -- push delivery ---------------------------------------------------------------------

    def set_receiver(self, receiver: Receiver, lost: LostCallback | None = None) -> None:
        """Deliver received bytes to ``receiver`` from now on (buffered ones first)."""
        self._receiver, self._lost = receiver, lost
        while self._chunks and self._receiver is receiver:
            receiver(self._chunks.popleft())
        if self._eof and self._receiver is receiver:
            if self._error is not None and lost is not None:
                lost(self._error)
            else:
                receiver(b"")

    def pause_reading(self) -> None:
        if (
            not self._reading_paused
            and self._transport is not None
            and not self._transport.is_closing()
        ):
            self._reading_paused = True
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._reading_paused and self._transport is not None:
            self._reading_paused = False
            with contextlib.suppress(RuntimeError):
                self._transport.resume_reading()

    # -- Transport -------------------------------------------------------------------------

    def _wake_reader(self) -> None:
        waiter = self._read_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def read(self, n: int) -> bytes:
        while not self._chunks:
            if self._eof:
                if self._error is not None:
                    raise TransportError(f"read from {self.peer} failed: {self._error}")
                return b""
            self._read_waiter = self._loop.create_future()
            try:
                await self._read_waiter
            finally:
                self._read_waiter = None
        first = self._chunks.popleft()
        if len(first) > n:
            self._chunks.appendleft(first[n:])
            first = first[:n]
        return first

    def get_extra_info(self, name: str, default: object = None) -> object:
        """The asyncio transport's ``get_extra_info`` (``"socket"``, ``"peername"`` ...)."""
        if self._transport is None:
            return default
        return self._transport.get_extra_info(name, default)

    @property
    def is_closing(self) -> bool:
        return self._transport is None or self._transport.is_closing()

    def write(self, data: Buffer) -> None:
        # writing to a lost connection makes asyncio log "socket.send() raised exception."
        # for every write: fail the first one instead
        transport = self._transport
        if transport is None or transport.is_closing():
            raise TransportError(f"connection to {self.peer} is closed")
        transport.write(data)

    def writelines(self, chunks: Iterable[Buffer]) -> None:
        """Write several buffers at once (one system call when the socket can take them)."""
        transport = self._transport
        if transport is None or transport.is_closing():
            raise TransportError(f"connection to {self.peer} is closed")
        transport.writelines(chunks)

    @property
    def write_blocked(self) -> bool:
        """The send buffer is above its high-water mark: :meth:`drain` would wait."""
        return self._write_paused

    async def drain(self) -> None:
        if self._eof and self._error is not None:
            raise TransportError(f"write to {self.peer} failed: {self._error}")
        if self._transport is None or self._transport.is_closing():
            if self._eof:
                raise TransportError(f"connection to {self.peer} is closed")
            return
        if not self._write_paused:
            return
        fut = self._loop.create_future()
        self._drain_waiters.append(fut)
        await fut
        if self._eof and self._error is not None:
            raise TransportError(f"write to {self.peer} failed: {self._error}")

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    async def wait_closed(self) -> None:
        if self._transport is not None:
            await asyncio.shield(self._closed)


async def open_socket(
    host: str,
    port: int,
    *,
    write_buffer: int = 1 << 20,
    ssl: ssl_module.SSLContext | None = None,
    server_hostname: str | None = None,
    ssl_handshake_timeout: float | None = None,
) -> SocketTransport:
    """Connect to host:port (over TLS with ``ssl``) and return the transport."""
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(
        lambda: SocketTransport(write_buffer),
        host,
        port,
        ssl=ssl,
        server_hostname=server_hostname,
        ssl_handshake_timeout=ssl_handshake_timeout or None if ssl else None,
    )
    return protocol


__all__ = [
    "Buffer",
    "LevelReporting",
    "Pushing",
    "SocketTransport",
    "StreamTransport",
    "Transport",
    "VectorWriting",
    "open_socket",
]
