"""The asyncio driver of one association: socket <-> upper-layer engine <-> DIMSE messages.

One :class:`Association` per connection, one reader task per association, no threads. The
reader loop reads the transport, feeds :class:`~dicomkit.net.proto.upper_layer.UpperLayer`,
writes what it returns, and turns P-DATA into DIMSE messages with a
:class:`~dicomkit.net.proto.dimse.DimseAssembler`. Responses wake the request that waits for
them; requests from the peer are queued (a few at most: then the reader stops reading) for a
serving task that hands them to the dispatcher (handler calling lives in
:mod:`dicomkit.net.server`). A C-STORE data set may be streamed: its fragments go straight to
a sink (a file) as they arrive, so memory stays bounded by one PDU.

Timeouts (:class:`~dicomkit.net.config.Timeouts`): ``acse`` bounds association set-up and
release and is the ARTIM timer fed to the engine; ``dimse`` bounds the wait for a response
(SCU) and silence in the middle of a message (SCP); ``idle`` ends a silent association.

Errors from the peer (malformed PDUs, illegal DIMSE sequences) end the association with an
A-ABORT and a log line naming the cause; they never escape into other associations.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self, TypeAlias

from dicomkit.errors import (
    AssociationAborted,
    AssociationRejected,
    LocalProtocolError,
    NetworkError,
    NetworkTimeout,
    RemoteProtocolError,
    TransportError,
)
from dicomkit.net.config import AEConfig
from dicomkit.net.proto import dimse
from dicomkit.net.proto import events as ev
from dicomkit.net.proto.negotiation import (
    AcceptorConfig,
    Negotiated,
    NegotiatedContext,
    accept,
    negotiate,
)
from dicomkit.net.proto.pdu import AAssociateAC, AAssociateRJ, AAssociateRQ
from dicomkit.net.proto.upper_layer import Role, UpperLayer

log = logging.getLogger("dicomkit.net")

Buffer: TypeAlias = bytes | bytearray | memoryview
DataArg: TypeAlias = "bytes | bytearray | memoryview | Iterable[bytes] | Any | None"
_READ_SIZE = 256 * 1024
_SEND_CHUNK = 1 << 20
#: Requests from the peer waiting for a handler before the reader stops reading (back-pressure:
#: a peer that pipelines requests beyond the negotiated window is slowed down, not buffered).
_MAX_QUEUED = 4


class Transport(Protocol):
    """What the driver needs of a connection (a socket stream or :mod:`.memory`)."""

    peer: str

    async def read(self, n: int) -> bytes: ...
    def write(self, data: Buffer) -> None: ...
    async def drain(self) -> None: ...
    def close(self) -> None: ...
    async def wait_closed(self) -> None: ...


class StreamTransport:
    """An asyncio stream pair as a :class:`Transport`; TCP_NODELAY is set on the socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 write_buffer: int = 1 << 20) -> None:
        self._reader = reader
        self._writer = writer
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with contextlib.suppress(AttributeError, NotImplementedError):
            writer.transport.set_write_buffer_limits(high=write_buffer)
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)

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


class DataSink(Protocol):
    """Where a streamed data set goes (e.g. a Part 10 file being written)."""

    def write(self, data: Buffer) -> None: ...
    def discard(self) -> None: ...


@dataclass(slots=True)
class Incoming:
    """A request from the peer as a handler sees it.

    ``data`` is the data set bytes in the context's transfer syntax (None when the message
    has none or it was streamed into ``sink``); :attr:`dataset` decodes them on first use.
    """

    association: Association
    context: NegotiatedContext
    message: dimse.DimseRequest
    data: bytes | None = None
    sink: DataSink | None = None
    cancelled: bool = False
    _dataset: Any = None

    @property
    def dataset(self) -> Any:
        if self._dataset is None and self.data is not None:
            self._dataset = decode_data(self.data, self.context.transfer_syntax)
        return self._dataset


@dataclass(slots=True)
class Response:
    """A response received by :meth:`Association.request`; ``dataset`` decodes ``data``."""

    message: dimse.DimseResponse
    context: NegotiatedContext
    data: bytes | None = None
    _dataset: Any = None

    @property
    def status(self) -> int:
        return self.message.status

    @property
    def dataset(self) -> Any:
        if self._dataset is None and self.data is not None:
            self._dataset = decode_data(self.data, self.context.transfer_syntax)
        return self._dataset


def decode_data(data: bytes, transfer_syntax: str) -> Any:
    """Decode data set bytes received on a context (deflated syntaxes inflated first)."""
    from dicomkit.io.decoder import decode_dataset
    from dicomkit.io.deflate import inflate
    from dicomkit.io.part10 import ts_encoding

    implicit, little, deflated = ts_encoding(transfer_syntax)
    raw = inflate(data) if deflated else data
    ds = decode_dataset(raw, implicit=implicit, little=little)
    ds.transfer_syntax = transfer_syntax
    return ds


def encode_data(dataset: Any, transfer_syntax: str) -> bytes:
    """Encode a Dataset for a context's transfer syntax (deflated syntaxes deflated)."""
    from dicomkit.io.deflate import deflate
    from dicomkit.io.encoder import encode_dataset
    from dicomkit.io.part10 import ts_encoding

    implicit, little, deflated = ts_encoding(transfer_syntax)
    raw = encode_dataset(dataset, implicit=implicit, little=little)
    return deflate(raw) if deflated else raw


#: Called for each request from the peer; set by the server module (handler dispatch).
Dispatcher: TypeAlias = Callable[["Incoming"], Any]
#: Decides whether a request's data set is streamed: returns a sink, or None to buffer it.
SinkFactory: TypeAlias = Callable[["Incoming"], "DataSink | None"]


class Association:
    """One association, either side. Made by :class:`dicomkit.net.AE`; use as SCU with
    :meth:`echo`, :meth:`store`, :meth:`request` / :meth:`request_iter`, :meth:`release`."""

    def __init__(self, transport: Transport, role: Role, config: AEConfig, *,
                 dispatcher: Dispatcher | None = None, sink_factory: SinkFactory | None = None,
                 acceptor: AcceptorConfig | None = None,
                 admit: Callable[[AAssociateRQ], bool] | None = None) -> None:
        self.transport = transport
        self.config = config
        self.engine = UpperLayer(role, max_pdu_size=max(config.max_pdu, 1 << 20) + 6)
        self.negotiated: Negotiated | None = None
        self._dispatcher = dispatcher
        self._sink_factory = sink_factory
        self._acceptor = acceptor
        self._admit = admit
        self._assembler = dimse.DimseAssembler(stream=self._should_stream,
                                               max_buffered=config.max_buffered)
        self._loop = asyncio.get_running_loop()
        self._established: asyncio.Future[None] = self._loop.create_future()
        self._released: asyncio.Future[None] = self._loop.create_future()
        self._closed = asyncio.Event()
        self._waiters: dict[int, asyncio.Queue[Response | BaseException]] = {}
        self._incoming: asyncio.Queue[Incoming | None] = asyncio.Queue()
        self._queue_room = asyncio.Event()
        self._queue_room.set()
        self._current: Incoming | None = None  # streamed request being received
        self._active: dict[int, Incoming] = {}  # message id -> request being served
        self._send_lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self._artim: asyncio.TimerHandle | None = None
        self._artim_gen = -1
        self._last_activity = self._loop.time()
        self._watchdog: asyncio.TimerHandle | None = None
        self._release_collision_pending = False
        self._rj_logged = False
        self.error: BaseException | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._server_task: asyncio.Task[None] | None = None

    # -- properties ----------------------------------------------------------------------

    @property
    def is_established(self) -> bool:
        return self.engine.is_established

    @property
    def is_closed(self) -> bool:
        return self._closed.is_set()

    @property
    def peer(self) -> str:
        return self.transport.peer

    @property
    def calling_ae(self) -> str:
        return self.negotiated.calling_ae if self.negotiated else ""

    @property
    def called_ae(self) -> str:
        return self.negotiated.called_ae if self.negotiated else ""

    @property
    def accepted_contexts(self) -> list[NegotiatedContext]:
        return self.negotiated.accepted if self.negotiated else []

    @property
    def peer_max_pdu(self) -> int:
        return self.engine.peer_max_pdu_length

    def next_message_id(self) -> int:
        """A fresh Message ID (1..65535, wrapping)."""
        mid = next(self._ids) & 0xFFFF
        return mid or next(self._ids) & 0xFFFF

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the reader and serving tasks (the transport is connected)."""
        self._write(self.engine.connection_made())
        self._reader_task = self._loop.create_task(self._reader_loop(), name=f"dicom-{self.peer}")
        self._server_task = self._loop.create_task(self._serve_loop())
        self._sync_artim()
        self._arm_watchdog()

    async def request_association(self, rq: AAssociateRQ) -> None:
        """Send an A-ASSOCIATE-RQ and wait for the answer (requestor)."""
        self._write(self.engine.send(ev.AssociateRequest(rq)))
        await self._drain()
        self._sync_artim()
        try:
            async with asyncio.timeout(self.config.timeouts.acse):
                await asyncio.shield(self._established)
        except TimeoutError:
            await self.abort()
            raise NetworkTimeout(f"no A-ASSOCIATE response from {self.peer} within "
                                 f"{self.config.timeouts.acse}s") from None

    async def wait_established(self) -> None:
        await asyncio.shield(self._established)

    async def wait_closed(self) -> None:
        await self._closed.wait()
        current = asyncio.current_task()
        tasks = {t for t in (self._reader_task, self._server_task)
                 if t is not None and t is not current and not t.done()}
        if tasks:
            await asyncio.wait(tasks)

    async def release(self) -> None:
        """A-RELEASE: ask the peer to release and wait until it has (or time out and abort)."""
        if self._closed.is_set() or not self.engine.is_established:
            return
        try:
            self._write(self.engine.send(ev.ReleaseRequest()))
            await self._drain()
        except (LocalProtocolError, NetworkError):
            return
        self._sync_artim()
        try:
            async with asyncio.timeout(self.config.timeouts.acse):
                await self._closed.wait()
        except TimeoutError:
            log.warning("%s: no A-RELEASE-RP within %ss, aborting", self.peer,
                        self.config.timeouts.acse)
            await self.abort()
        await self.wait_closed()

    async def abort(self, reason: int = 0) -> None:
        """A-ABORT (service-user): tell the peer and close the connection at once."""
        if not self._closed.is_set():
            with contextlib.suppress(LocalProtocolError):
                self._write(self.engine.send(ev.Abort(0, reason)))
            with contextlib.suppress(NetworkError):
                await self._drain()
            self._shutdown(AssociationAborted("association aborted locally"))
        await self.wait_closed()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        # an error in the caller's code (not the network, not a cancellation) still leaves
        # the association in a state where a polite release is possible
        if exc is None or (isinstance(exc, Exception) and not isinstance(exc, NetworkError)):
            await self.release()
        else:
            await self.abort()

    # -- SCU operations ------------------------------------------------------------------

    def context_for(self, abstract_syntax: str,
                    transfer_syntax: str | None = None) -> NegotiatedContext:
        """The accepted context for an abstract syntax (and transfer syntax, if given)."""
        found = self.negotiated.find(abstract_syntax, transfer_syntax) if self.negotiated else None
        if found is None:
            what = abstract_syntax + (f" / {transfer_syntax}" if transfer_syntax else "")
            raise LocalProtocolError(f"no accepted presentation context for {what}")
        return found

    async def request_iter(self, message: dimse.DimseRequest, data: DataArg = None, *,
                           context: NegotiatedContext | None = None,
                           timeout: float | None = -1.0) -> AsyncGenerator[Response, None]:
        """Send a request and yield each response (pending ones too) until the final one.

        ``message.message_id`` 0 gets a fresh id. ``data``: a Dataset, bytes already in the
        context's transfer syntax, or an iterable of byte chunks (streamed). ``timeout``:
        seconds to wait for each response (-1: the configured DIMSE timeout).
        """
        if context is None:
            context = self.context_for(_abstract_syntax(message))
        if not message.message_id:
            message = message.replace(message_id=self.next_message_id())
        queue: asyncio.Queue[Response | BaseException] = asyncio.Queue()
        self._waiters[message.message_id] = queue
        self._queue_room.set()  # responses must get through even if requests are queued
        wait = self.config.timeouts.dimse if timeout == -1.0 else timeout
        try:
            await self.send_message(context, message, data)
            while True:
                try:
                    async with asyncio.timeout(wait):
                        item = await queue.get()
                except TimeoutError:
                    raise NetworkTimeout(f"no response from {self.peer} to message "
                                         f"{message.message_id} within {wait}s") from None
                if isinstance(item, BaseException):
                    raise item
                yield item
                if not item.message.is_pending:
                    return
        finally:
            self._waiters.pop(message.message_id, None)

    async def request(self, message: dimse.DimseRequest, data: DataArg = None, *,
                      context: NegotiatedContext | None = None,
                      timeout: float | None = -1.0) -> Response:
        """Send a request and return its final response (pending ones are skipped)."""
        last: Response | None = None
        async for last in self.request_iter(message, data, context=context, timeout=timeout):
            pass
        assert last is not None
        return last

    async def echo(self) -> int:
        """C-ECHO (PS3.4 A): the status of the response (0x0000 on success)."""
        rsp = await self.request(dimse.CEchoRequest(message_id=0))
        return rsp.status

    async def store(self, source: Any, **kw: Any) -> dimse.CStoreResponse:
        """C-STORE a Dataset or a Part 10 file path; returns the response (check ``status``).

        Files are sent from disk in chunks (never loaded); see
        :func:`dicomkit.services.storage.store`. Keyword arguments go there.
        """
        # services sit above net: the storage service is imported on use, not at import time
        from dicomkit.services.storage import store

        return await store(self, source, **kw)

    async def send_message(self, context: NegotiatedContext | int,
                           message: dimse.DimseMessage, data: DataArg = None) -> None:
        """Send one DIMSE message (command, then its data set if any) on a context."""
        if isinstance(context, int):
            found = self.negotiated.contexts.get(context) if self.negotiated else None
            if found is None:
                raise LocalProtocolError(f"no presentation context {context}")
            context = found
        cid = context.context_id
        if data is not None and not isinstance(data, (bytes, bytearray, memoryview)) and \
                _is_dataset(data):
            data = encode_data(data, context.transfer_syntax)
        has = data is not None
        if message.has_dataset != has:
            message = message.replace(has_dataset=has)
        cmd = dimse.encode_message(message)
        async with self._send_lock:
            try:
                for pdu in self.engine.send_data(cid, cmd, is_command=True):
                    self.transport.write(pdu)
                if isinstance(data, (bytes, bytearray, memoryview)):
                    await self._send_data(cid, data, True)
                elif data is not None:
                    held: Buffer | None = None
                    for chunk in data:
                        if held is not None:
                            await self._send_data(cid, held, False)
                        held = chunk
                    await self._send_data(cid, held if held is not None else b"", True)
                await self._drain()
            except LocalProtocolError as exc:
                raise self._gone(exc) from None

    async def _send_data(self, cid: int, data: Buffer, last: bool) -> None:
        view = memoryview(data)
        step = _SEND_CHUNK
        for start in range(0, max(len(view), 1), step):
            piece = view[start:start + step]
            final = last and start + step >= len(view)
            for pdu in self.engine.send_data(cid, piece, is_command=False, last=final):
                self.transport.write(pdu)
            await self._drain()

    def _gone(self, exc: Exception) -> NetworkError:
        if isinstance(self.error, NetworkError):
            return self.error
        return AssociationAborted(f"association with {self.peer} is no longer usable: {exc}")

    # -- reading -------------------------------------------------------------------------

    async def _reader_loop(self) -> None:
        try:
            while not self._closed.is_set():
                data = await self.transport.read(_READ_SIZE)
                self._last_activity = self._loop.time()
                self._write(self.engine.receive_data(data))
                if self.engine.error is not None and self.error is None:
                    self._note_engine_error()
                elif self.engine.associate_rj is not None and not self._rj_logged:
                    self._note_engine_reject()
                self._process_events()
                if not data or self.engine.should_close:
                    break
                if self._write_pending:
                    await self._drain()
                if self._incoming.qsize() >= _MAX_QUEUED and not self._waiters:
                    self._queue_room.clear()
                    await self._queue_room.wait()
            if not self._closed.is_set():
                self._shutdown(None)
        except NetworkError as exc:
            self._shutdown(exc)
        except asyncio.CancelledError:
            self._shutdown(AssociationAborted("association task cancelled"))
            raise
        except Exception as exc:  # a bug: never leave the peer hanging
            log.exception("%s: internal error, aborting the association", self.peer)
            with contextlib.suppress(Exception):
                self._write(self.engine.send(ev.Abort(2, 0)))
            self._shutdown(exc)

    _write_pending = False

    def _write(self, data: Buffer) -> None:
        if data:
            try:
                self.transport.write(data)
            except (TransportError, ConnectionError, OSError, RuntimeError):
                return
            self._write_pending = True

    async def _drain(self) -> None:
        self._write_pending = False
        await self.transport.drain()

    def _process_events(self) -> None:
        engine = self.engine
        while (event := engine.next_event()) is not None:
            if isinstance(event, ev.PDVReceived):
                try:
                    out = self._assembler.feed(event.context_id, event.is_command,
                                               event.is_last, event.data)
                except RemoteProtocolError as exc:
                    self._protocol_abort(exc)
                    return
                for item in out:
                    self._on_dimse(item)
            elif isinstance(event, ev.AssociateRequested):
                self._on_associate_rq(event.pdu)
            elif isinstance(event, ev.AssociateAccepted):
                self._on_associate_ac(event.pdu)
            elif isinstance(event, ev.AssociateRejected):
                self._on_associate_rj(event.pdu)
            elif isinstance(event, ev.ReleaseRequested):
                if not event.collision or engine.is_requestor:
                    self._write(engine.send(ev.ReleaseResponse()))
                else:
                    self._release_collision_pending = True
            elif isinstance(event, ev.ReleaseConfirmed):
                if self._release_collision_pending:
                    self._release_collision_pending = False
                    self._write(engine.send(ev.ReleaseResponse()))
            elif isinstance(event, ev.Aborted):
                self._on_aborted(event)
            elif isinstance(event, ev.Closed):
                self._shutdown(self.error)
        self._sync_artim()

    def _note_engine_reject(self) -> None:
        """The engine rejected an A-ASSOCIATE-RQ by itself (e.g. protocol version)."""
        self._rj_logged = True
        rj = self.engine.associate_rj
        rq = self.engine.associate_rq
        assert rj is not None
        why = (f"protocol version 0x{rq.protocol_version:04X} not supported"
               if rq is not None and not rq.protocol_version & 1 else "rejected by the provider")
        log.warning("%s: association rejected: %s (result %d source %d reason %d)", self.peer,
                    why, rj.result, rj.source, rj.reason)

    def _note_engine_error(self) -> None:
        err = self.engine.error
        log.warning("%s: aborting, the peer broke the upper-layer protocol: %s", self.peer, err)
        self.error = AssociationAborted(f"peer {self.peer} broke the protocol: {err}",
                                        source=2)

    def _protocol_abort(self, exc: RemoteProtocolError) -> None:
        log.warning("%s: aborting, the peer broke the DIMSE protocol: %s", self.peer, exc)
        self.error = exc
        with contextlib.suppress(LocalProtocolError):
            self._write(self.engine.send(ev.Abort(0, 0)))
        self._shutdown(AssociationAborted(f"peer {self.peer} broke the protocol: {exc}"))

    def _on_associate_rq(self, rq: AAssociateRQ) -> None:
        assert self._acceptor is not None
        admitted = self._admit(rq) if self._admit is not None else True
        answer = accept(rq, self._acceptor, limit_exceeded=not admitted)
        self._rj_logged = True
        if self.engine.state.name != "STA3":
            return  # the peer broke the protocol while we decided; the engine aborted
        if isinstance(answer, AAssociateAC):
            self.negotiated = negotiate(rq, answer)
            self._write(self.engine.send(ev.AssociateAccept(answer)))
            log.info("%s: association accepted %s -> %s, %d contexts", self.peer,
                     rq.calling_ae, rq.called_ae, len(self.negotiated.accepted))
            if not self._established.done():
                self._established.set_result(None)
        else:
            log.info("%s: association rejected %s -> %s (result %d source %d reason %d)",
                     self.peer, rq.calling_ae, rq.called_ae, answer.result, answer.source,
                     answer.reason)
            self._write(self.engine.send(ev.AssociateReject(answer)))

    def _on_associate_ac(self, ac: AAssociateAC) -> None:
        assert self.engine.associate_rq is not None
        try:
            self.negotiated = negotiate(self.engine.associate_rq, ac)
        except RemoteProtocolError as exc:
            self._protocol_abort(exc)
            return
        if not self._established.done():
            self._established.set_result(None)

    def _on_associate_rj(self, rj: AAssociateRJ) -> None:
        exc = AssociationRejected(
            f"association rejected by {self.peer}: result {rj.result}, source {rj.source}, "
            f"reason {rj.reason}", result=rj.result, source=rj.source, reason=rj.reason)
        self.error = exc
        if not self._established.done():
            self._established.set_exception(exc)

    def _on_aborted(self, event: ev.Aborted) -> None:
        if event.error is not None and self.error is not None:
            exc: NetworkError = AssociationAborted(str(self.error), source=2)
        elif event.error is not None:
            log.warning("%s: aborting, the peer broke the upper-layer protocol: %s",
                        self.peer, event.error)
            exc = AssociationAborted(
                f"peer {self.peer} broke the protocol: {event.error}",
                source=event.source, reason=event.reason)
        elif event.provider:
            exc = AssociationAborted(f"connection to {self.peer} lost (A-P-ABORT)",
                                     source=event.source, reason=event.reason)
        else:
            exc = AssociationAborted(f"association aborted by {self.peer} (source "
                                     f"{event.source}, reason {event.reason})",
                                     source=event.source, reason=event.reason)
        if self.error is None:
            self.error = exc
        self._shutdown(exc)

    # -- DIMSE dispatch ------------------------------------------------------------------

    def _should_stream(self, context_id: int, message: dimse.DimseMessage) -> bool:
        if self._sink_factory is None or not isinstance(message, dimse.CStoreRequest):
            return False
        ctx = self.negotiated.contexts.get(context_id) if self.negotiated else None
        if ctx is None:
            return False
        incoming = Incoming(self, ctx, message)
        try:
            incoming.sink = self._sink_factory(incoming)
        except Exception as exc:  # noqa: BLE001 -- any handler error refuses this instance
            log.warning("%s: cannot open a sink for %s: %s", self.peer,
                        message.affected_sop_instance_uid, exc)
            incoming.sink = _NullSink()
        if incoming.sink is None:
            return False
        self._current = incoming
        return True

    def _on_dimse(self, item: dimse.AssemblerEvent) -> None:
        if isinstance(item, dimse.DatasetFragment):
            current = self._current
            assert current is not None and current.sink is not None
            try:
                current.sink.write(item.data)
            except Exception as exc:  # noqa: BLE001 -- a sink error fails this C-STORE only
                log.warning("%s: writing a streamed data set failed: %s", self.peer, exc)
                with contextlib.suppress(Exception):
                    current.sink.discard()
                current.sink = _NullSink(exc)
            if item.last:
                self._current = None
                self._incoming.put_nowait(current)
            return
        msg = item.message
        ctx = self.negotiated.contexts.get(item.context_id) if self.negotiated else None
        if ctx is None:
            self._protocol_abort(RemoteProtocolError(
                f"message on unknown presentation context {item.context_id}"))
            return
        if isinstance(msg, dimse.DimseResponse):
            queue = self._waiters.get(msg.message_id_being_responded_to)
            if queue is None:
                log.warning("%s: response to unknown message id %d ignored", self.peer,
                            msg.message_id_being_responded_to)
            else:
                queue.put_nowait(Response(msg, ctx, item.dataset))
        elif isinstance(msg, dimse.CCancelRequest):
            active = self._active.get(msg.message_id_being_responded_to)
            if active is not None:
                active.cancelled = True
        elif isinstance(msg, dimse.DimseRequest):
            if self._current is not None and self._current.message is msg:
                return  # streamed: queued when its last fragment arrives
            self._incoming.put_nowait(Incoming(self, ctx, msg, item.dataset))

    async def _serve_loop(self) -> None:
        while True:
            incoming = await self._incoming.get()
            if self._incoming.qsize() < _MAX_QUEUED:
                self._queue_room.set()
            if incoming is None:
                return
            mid = incoming.message.message_id
            self._active[mid] = incoming
            try:
                if self._dispatcher is None:
                    await self.send_message(incoming.context, _refusal(incoming.message))
                else:
                    await self._dispatcher(incoming)
            except NetworkError as exc:
                log.info("%s: could not answer message %d: %s", self.peer, mid, exc)
            except Exception:
                log.exception("%s: handler failed for message %d", self.peer, mid)
            finally:
                self._active.pop(mid, None)

    # -- timers and shutdown -------------------------------------------------------------

    def _sync_artim(self) -> None:
        engine = self.engine
        if not engine.artim_running:
            if self._artim is not None:
                self._artim.cancel()
                self._artim = None
            return
        if engine.artim_generation != self._artim_gen:
            if self._artim is not None:
                self._artim.cancel()
            self._artim_gen = engine.artim_generation
            delay = self.config.timeouts.acse or 30.0
            self._artim = self._loop.call_later(delay, self._artim_fired, self._artim_gen)

    def _artim_fired(self, generation: int) -> None:
        self._artim = None
        log.info("%s: ARTIM timer expired", self.peer)
        self._write(self.engine.artim_expired(generation))
        self._process_events()
        if self.engine.should_close:
            self._shutdown(self.error or NetworkTimeout(f"ARTIM timer expired ({self.peer})"))

    def _mid_message(self) -> bool:
        """Part of a PDU or of a DIMSE message is in, the rest is awaited."""
        reader = getattr(self.engine, "_reader", None)  # TODO: ask for a public accessor
        return not self._assembler.idle or bool(getattr(reader, "buffered", 0))

    def _arm_watchdog(self) -> None:
        """Idle timeout (nothing received, nothing pending) and DIMSE timeout (silence in the
        middle of a PDU or message); one timer, re-armed for the nearest deadline."""
        timeouts = self.config.timeouts
        idle, dimse_timeout = timeouts.idle, timeouts.dimse
        if self._closed.is_set() or (idle is None and dimse_timeout is None):
            return
        quiet = self._loop.time() - self._last_activity
        cause = None
        if idle is not None and quiet >= idle and not (self._waiters or self._active):
            cause = f"idle for {quiet:.1f}s (idle timeout {idle}s)"
        elif dimse_timeout is not None and quiet >= dimse_timeout and self._mid_message():
            cause = (f"timed out: silent for {quiet:.1f}s in the middle of a message "
                     f"(DIMSE timeout {dimse_timeout}s)")
        if cause is not None:
            log.warning("%s: %s, aborting the association", self.peer, cause)
            with contextlib.suppress(LocalProtocolError):
                self._write(self.engine.send(ev.Abort(0, 0)))
            self._shutdown(NetworkTimeout(f"{self.peer}: {cause}"))
            return
        left = [t - quiet if quiet < t else t for t in (idle, dimse_timeout) if t is not None]
        self._watchdog = self._loop.call_later(max(min(left), 0.01), self._arm_watchdog)

    def _shutdown(self, exc: BaseException | None) -> None:
        if self._closed.is_set():
            return
        if exc is not None and self.error is None:
            self.error = exc
        self._closed.set()
        for handle in (self._artim, self._watchdog):
            if handle is not None:
                handle.cancel()
        if not self.engine.is_closed:
            with contextlib.suppress(Exception):
                self.engine.connection_lost()
        gone = exc if exc is not None else AssociationAborted(
            f"association with {self.peer} ended")
        if not self._established.done():
            self._established.set_exception(
                gone if isinstance(gone, NetworkError) else
                TransportError(f"connection to {self.peer} closed before the association"))
            self._established.exception()  # an acceptor may have no one waiting for it
        for queue in self._waiters.values():
            queue.put_nowait(gone if isinstance(gone, NetworkError) else self._gone(
                RuntimeError(str(gone))))
        if self._current is not None and self._current.sink is not None:
            with contextlib.suppress(Exception):
                self._current.sink.discard()
            self._current = None
        self._drop_queued()
        self._incoming.put_nowait(None)
        self.transport.close()
        # nobody is left to answer: stop the reader and any handler still running
        current = asyncio.current_task()
        for task in (self._reader_task, self._server_task):
            if task is not None and task is not current:
                task.cancel()

    def _drop_queued(self) -> None:
        while True:
            try:
                queued = self._incoming.get_nowait()
            except asyncio.QueueEmpty:
                return
            if queued is not None and queued.sink is not None:
                with contextlib.suppress(Exception):
                    queued.sink.discard()


class _NullSink:
    """Swallows a data set whose sink failed; ``error`` says why (the handler answers)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error

    def write(self, data: Buffer) -> None:
        pass

    def discard(self) -> None:
        pass


def _is_dataset(obj: Any) -> bool:
    from dicomkit.core.dataset import Dataset

    return isinstance(obj, Dataset)


def _abstract_syntax(message: dimse.DimseMessage) -> str:
    for name in ("affected_sop_class_uid", "requested_sop_class_uid"):
        value = getattr(message, name, None)
        if value:
            return str(value)
    raise LocalProtocolError(f"{type(message).__name__} names no SOP class: give a context")


def response_for(request: dimse.DimseRequest, status: int = 0,
                 **fields: Any) -> dimse.DimseResponse:
    """The response message type for a request, with the identifying fields copied over."""
    cls = dimse.RESPONSE_FOR[type(request)]
    kw: dict[str, Any] = {"message_id_being_responded_to": request.message_id,
                          "status": status}
    names = {f for f in cls.__dataclass_fields__}
    affected_class = getattr(request, "affected_sop_class_uid", None) or getattr(
        request, "requested_sop_class_uid", None)
    affected_inst = getattr(request, "affected_sop_instance_uid", None) or getattr(
        request, "requested_sop_instance_uid", None)
    if "affected_sop_class_uid" in names:
        kw["affected_sop_class_uid"] = affected_class
    if "affected_sop_instance_uid" in names:
        kw["affected_sop_instance_uid"] = affected_inst
    for name in ("event_type_id", "action_type_id"):
        if name in names:
            kw[name] = getattr(request, name, None)
    kw.update(fields)
    return cls(**kw)


def _refusal(message: dimse.DimseRequest) -> dimse.DimseResponse:
    return response_for(message, 0x0211)  # unrecognized operation


__all__ = [
    "Association",
    "DataSink",
    "Incoming",
    "Response",
    "StreamTransport",
    "Transport",
    "decode_data",
    "encode_data",
    "response_for",
]
