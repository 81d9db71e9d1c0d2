"""The asyncio driver of one association: socket <-> upper-layer engine <-> DIMSE messages.

One :class:`Association` per connection, no threads. Received bytes are fed to
:class:`~dicomkit.net.proto.upper_layer.UpperLayer` as they arrive (pushed by a
:class:`~dicomkit.net.transport.SocketTransport`, or read by a reader task from any other
:class:`~dicomkit.net.transport.Transport`), and P-DATA becomes DIMSE messages through a
:class:`~dicomkit.net.proto.dimse.DimseAssembler`. A response completes the future its request
waits on; requests from the peer are queued (a few at most: then reading pauses) for a serving
task that hands them to the dispatcher (handler calling lives in :mod:`dicomkit.net.server`).
A C-STORE data set may be streamed: its fragments go straight to a sink (a file) as they
arrive, so memory stays bounded by one PDU.

Timeouts (:class:`~dicomkit.net.config.Timeouts`): ``acse`` bounds association set-up and
release and is the ARTIM timer fed to the engine; ``dimse`` bounds the wait for a response
(SCU) and silence in the middle of a message (SCP); ``idle`` ends a silent association.

Errors from the peer (malformed PDUs, illegal DIMSE sequences) end the association with an
A-ABORT and a log line naming the cause; they never escape into other associations.
Transports live in :mod:`dicomkit.net.transport`; what handlers see (:class:`Incoming`,
:class:`Response`, the data-set codecs, :func:`response_for`) in :mod:`dicomkit.net.messages`.
These names are re-exported here so that older imports keep working.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable
from types import TracebackType
from typing import Any, Self

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
from dicomkit.net.messages import (
    AfterResponse,
    DataArg,
    DataSink,
    Dispatcher,
    Incoming,
    Response,
    SinkFactory,
    _abstract_syntax,
    _is_dataset,
    _NullSink,
    _refusal,
    decode_data,
    encode_data,
    response_for,
)
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
from dicomkit.net.transport import Buffer, StreamTransport, Transport

log = logging.getLogger("dicomkit.net")

_READ_SIZE = 256 * 1024
_SEND_CHUNK = 1 << 20
#: Requests from the peer waiting for a handler before reading pauses (back-pressure: a peer
#: that pipelines requests beyond the negotiated window is slowed down, not buffered).
_MAX_QUEUED = 4
#: The smallest peer Maximum Length we accept: a P-DATA-TF must hold a PDV with data.
_MIN_PEER_PDU = 7


class _Expired(Exception):
    """The DIMSE timer of a waiting request fired."""


def _expire(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_exception(_Expired())


class _Waiter:
    """Responses to one request, and the future its requester sleeps on."""

    __slots__ = ("future", "items")

    def __init__(self) -> None:
        self.items: deque[Response | BaseException] = deque()
        self.future: asyncio.Future[None] | None = None

    def put(self, item: Response | BaseException) -> None:
        self.items.append(item)
        fut = self.future
        if fut is not None and not fut.done():
            fut.set_result(None)


def _printable(text: str) -> str:
    """Peer-supplied text for a log line: control characters escaped (PS3.5 6.2 forbids them
    in AE titles; a peer must not forge log lines)."""
    return text if text.isprintable() else ascii(text)[1:-1]


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
        self.error: BaseException | None = None
        self._dispatcher = dispatcher
        self._sink_factory = sink_factory
        self._acceptor = acceptor
        self._admit = admit
        self._assembler = dimse.DimseAssembler(stream=self._should_stream,
                                               max_buffered=config.max_buffered)
        self._loop = asyncio.get_running_loop()
        self._established: asyncio.Future[None] = self._loop.create_future()
        self._closed = asyncio.Event()
        self._waiters: dict[int, _Waiter] = {}
        self._incoming: deque[Incoming | None] = deque()
        self._incoming_ready: asyncio.Future[None] | None = None
        self._room = asyncio.Event()  # reader-task mode: the queue has room again
        self._room.set()
        self._reading_paused = False
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
        self._reader_task: asyncio.Task[None] | None = None
        self._server_task: asyncio.Task[None] | None = None
        self._spawned: set[asyncio.Task[Any]] = set()
        # a transport that reports its send buffer level is drained only above it
        self._reports_level = isinstance(getattr(type(transport), "write_blocked", None),
                                         property)
        self._writelines = getattr(transport, "writelines", None)

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
        """Start receiving and serving (the transport is connected)."""
        self._write(self.engine.connection_made())
        self._server_task = self._loop.create_task(self._serve_loop())
        set_receiver = getattr(self.transport, "set_receiver", None)
        if set_receiver is not None:
            set_receiver(self._on_data, self._on_lost)
        else:
            self._reader_task = self._loop.create_task(self._reader_loop(),
                                                       name=f"dicom-{self.peer}")
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

    def _expect(self, message: dimse.DimseRequest, context: NegotiatedContext | None
                ) -> tuple[dimse.DimseRequest, NegotiatedContext, _Waiter]:
        if context is None:
            context = self.context_for(_abstract_syntax(message))
        if not message.message_id:
            message = message.replace(message_id=self.next_message_id())
        waiter = self._waiters[message.message_id] = _Waiter()
        self._flow_control()  # responses must get through even if requests are queued
        return message, context, waiter

    async def _next(self, waiter: _Waiter, wait: float | None, mid: int) -> Response:
        if not waiter.items:
            fut = waiter.future = self._loop.create_future()
            timer = self._loop.call_later(wait, _expire, fut) if wait is not None else None
            try:
                await fut
            except _Expired:
                raise NetworkTimeout(f"no response from {self.peer} to message {mid} "
                                     f"within {wait}s") from None
            finally:
                waiter.future = None
                if timer is not None:
                    timer.cancel()
        item = waiter.items.popleft()
        if isinstance(item, BaseException):
            raise item
        return item

    async def request_iter(self, message: dimse.DimseRequest, data: DataArg = None, *,
                           context: NegotiatedContext | None = None,
                           timeout: float | None = -1.0) -> AsyncGenerator[Response, None]:
        """Send a request and yield each response (pending ones too) until the final one.

        ``message.message_id`` 0 gets a fresh id. ``data``: a Dataset, bytes already in the
        context's transfer syntax, or an iterable of byte chunks (streamed). ``timeout``:
        seconds to wait for each response (-1: the configured DIMSE timeout).
        """
        message, context, waiter = self._expect(message, context)
        wait = self.config.timeouts.dimse if timeout == -1.0 else timeout
        try:
            await self.send_message(context, message, data)
            while True:
                item = await self._next(waiter, wait, message.message_id)
                yield item
                if not item.message.is_pending:
                    return
        finally:
            self._waiters.pop(message.message_id, None)

    async def request(self, message: dimse.DimseRequest, data: DataArg = None, *,
                      context: NegotiatedContext | None = None,
                      timeout: float | None = -1.0) -> Response:
        """Send a request and return its final response (pending ones are skipped)."""
        message, context, waiter = self._expect(message, context)
        wait = self.config.timeouts.dimse if timeout == -1.0 else timeout
        try:
            await self.send_message(context, message, data)
            while True:
                item = await self._next(waiter, wait, message.message_id)
                if not item.message.is_pending:
                    return item
        finally:
            self._waiters.pop(message.message_id, None)

    async def echo(self) -> int:
        """C-ECHO (PS3.4 A): the status of the response (0x0000 on success)."""
        rsp = await self.request(dimse.CEchoRequest(message_id=self.next_message_id()))
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
        """Send one DIMSE message (command, then its data set if any) on a context.

        The command and the first MiB of data go out in one write; the call suspends only
        when the transport's send buffer is above its high-water mark.
        """
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
                out = self.engine.send_data(cid, cmd, is_command=True)
                if data is None:
                    self._write_all(out)
                elif isinstance(data, (bytes, bytearray, memoryview)):
                    await self._send_data(cid, data, True, out)
                else:
                    held: Buffer | None = None
                    for chunk in data:
                        if held is not None:
                            await self._send_data(cid, held, False, out)
                            out = []
                        held = chunk
                    await self._send_data(cid, held if held is not None else b"", True, out)
                if self._must_drain():
                    await self._drain()
            except LocalProtocolError as exc:
                raise self._gone(exc) from None
            except TransportError:
                if isinstance(self.error, NetworkError):
                    raise self.error from None  # e.g. the peer's A-ABORT, read meanwhile
                raise

    async def _send_data(self, cid: int, data: Buffer, last: bool, head: list[bytes]) -> None:
        view = memoryview(data)
        size, step, start = len(view), _SEND_CHUNK, 0
        while True:
            if self._closed.is_set():  # the peer aborted meanwhile: stop writing
                raise self._gone(LocalProtocolError("association closed"))
            final = last and start + step >= size
            pdus = self.engine.send_data(cid, view[start:start + step], is_command=False,
                                         last=final)
            self._write_all(head + pdus if head else pdus)
            head = []
            start += step
            if self._must_drain():
                await self._drain()
            if start >= size:
                return

    def _must_drain(self) -> bool:
        return not self._reports_level or self.transport.write_blocked  # type: ignore[attr-defined]

    def _write_all(self, pdus: list[bytes]) -> None:
        if len(pdus) == 1 or self._writelines is None:
            for pdu in pdus:
                self.transport.write(pdu)
        else:
            self._writelines(pdus)

    def _gone(self, exc: Exception) -> NetworkError:
        if isinstance(self.error, NetworkError):
            return self.error
        return AssociationAborted(f"association with {self.peer} is no longer usable: {exc}")

    def _spawn(self, action: AfterResponse) -> None:
        """Run an after-response action in a task of its own (kept until it ends)."""
        async def run() -> None:
            try:
                result = action() if callable(action) else action
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("%s: after-response action failed", self.peer)

        task = self._loop.create_task(run())
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    # -- receiving -----------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        """Bytes from the peer (``b""``: end of stream): engine, events, DIMSE."""
        if self._closed.is_set():
            return
        self._last_activity = self._loop.time()
        engine = self.engine
        try:
            self._write(engine.receive_data(data))
            if engine.error is not None and self.error is None:
                self._note_engine_error()
            elif engine.associate_rj is not None and not self._rj_logged:
                self._note_engine_reject()
            self._process_events()
            if not data or engine.should_close:
                self._shutdown(None)
        except NetworkError as exc:
            self._shutdown(exc)
        except Exception as exc:  # a bug: never leave the peer hanging
            log.exception("%s: internal error, aborting the association", self.peer)
            with contextlib.suppress(Exception):
                self._write(engine.send(ev.Abort(2, 0)))
            self._shutdown(exc)
        else:
            self._flow_control()

    def _on_lost(self, exc: BaseException) -> None:
        self._shutdown(TransportError(f"read from {self.peer} failed: {exc}"))

    def _flow_control(self) -> None:
        """Pause reading while requests queue up for the handler (none of ours waiting)."""
        full = len(self._incoming) >= _MAX_QUEUED and not self._waiters
        if full == self._reading_paused:
            return
        self._reading_paused = full
        if self._reader_task is not None:
            self._room.clear() if full else self._room.set()
        elif full:
            getattr(self.transport, "pause_reading", lambda: None)()
        else:
            getattr(self.transport, "resume_reading", lambda: None)()

    async def _reader_loop(self) -> None:
        """For transports that cannot push (e.g. :mod:`.memory`): read, then as pushed."""
        try:
            while not self._closed.is_set():
                data = await self.transport.read(_READ_SIZE)
                self._on_data(data)
                if not data or self._closed.is_set():
                    break
                if self._write_pending:
                    await self._drain()
                await self._room.wait()
        except NetworkError as exc:
            self._shutdown(exc)
        except asyncio.CancelledError:
            self._shutdown(AssociationAborted("association task cancelled"))
            raise

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
                rj = event.pdu
                self.error = exc = AssociationRejected(
                    f"association rejected by {self.peer}: result {rj.result}, source "
                    f"{rj.source}, reason {rj.reason}", result=rj.result, source=rj.source,
                    reason=rj.reason)
                if not self._established.done():
                    self._established.set_exception(exc)
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
        rj, rq = self.engine.associate_rj, self.engine.associate_rq
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

    def _refuse_why(self, rq: AAssociateRQ) -> tuple[int, str] | None:
        """(reason, text) to reject an A-ASSOCIATE-RQ the negotiation would accept."""
        bad = [t for t in (rq.calling_ae, rq.called_ae) if not t.isprintable()]
        if bad:  # PS3.5 6.2: no control characters in AE titles
            return 3 if not rq.calling_ae.isprintable() else 7, \
                f"control characters in AE title {bad[0]!a}"
        max_length = rq.user_information.max_length or 0
        if 0 < max_length < _MIN_PEER_PDU:
            return 1, f"peer Maximum Length {max_length} cannot hold any PDV (minimum 7)"
        return None

    def _on_associate_rq(self, rq: AAssociateRQ) -> None:
        assert self._acceptor is not None
        admitted = self._admit(rq) if self._admit is not None else True
        answer = accept(rq, self._acceptor, limit_exceeded=not admitted)
        self._rj_logged = True
        if self.engine.state.name != "STA3":
            return  # the peer broke the protocol while we decided; the engine aborted
        refuse = self._refuse_why(rq) if isinstance(answer, AAssociateAC) else None
        calling, called = _printable(rq.calling_ae), _printable(rq.called_ae)
        if refuse is not None:
            log.warning("%s: association rejected %s -> %s: %s", self.peer, calling, called,
                        refuse[1])
            answer = AAssociateRJ(1, 1, refuse[0])
        if isinstance(answer, AAssociateAC):
            self.negotiated = negotiate(rq, answer)
            self._write(self.engine.send(ev.AssociateAccept(answer)))
            log.info("%s: association accepted %s -> %s, %d contexts", self.peer,
                     calling, called, len(self.negotiated.accepted))
            if not self._established.done():
                self._established.set_result(None)
        else:
            log.info("%s: association rejected %s -> %s (result %d source %d reason %d)",
                     self.peer, calling, called, answer.result, answer.source, answer.reason)
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

    def _on_aborted(self, event: ev.Aborted) -> None:
        if event.error is not None and self.error is not None:
            exc: NetworkError = AssociationAborted(str(self.error), source=2)
        elif event.error is not None:
            log.warning("%s: aborting, the peer broke the upper-layer protocol: %s",
                        self.peer, event.error)
            exc = AssociationAborted(f"peer {self.peer} broke the protocol: {event.error}",
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
                self._enqueue(current)
            return
        msg = item.message
        ctx = self.negotiated.contexts.get(item.context_id) if self.negotiated else None
        if ctx is None:
            self._protocol_abort(RemoteProtocolError(
                f"message on unknown presentation context {item.context_id}"))
        elif isinstance(msg, dimse.DimseResponse):
            waiter = self._waiters.get(msg.message_id_being_responded_to)
            if waiter is None:
                log.warning("%s: response to unknown message id %d ignored", self.peer,
                            msg.message_id_being_responded_to)
            else:
                waiter.put(Response(msg, ctx, item.dataset))
        elif isinstance(msg, dimse.CCancelRequest):
            active = self._active.get(msg.message_id_being_responded_to)
            if active is not None:
                active.cancelled = True
        elif isinstance(msg, dimse.DimseRequest):
            if self._current is not None and self._current.message is msg:
                return  # streamed: queued when its last fragment arrives
            self._enqueue(Incoming(self, ctx, msg, item.dataset))

    def _enqueue(self, incoming: Incoming | None) -> None:
        self._incoming.append(incoming)
        fut = self._incoming_ready
        if fut is not None and not fut.done():
            fut.set_result(None)

    async def _serve_loop(self) -> None:
        queue = self._incoming
        while True:
            while not queue:
                self._incoming_ready = self._loop.create_future()
                await self._incoming_ready
            incoming = queue.popleft()
            if incoming is None:
                return
            self._flow_control()
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
        elif engine.artim_generation != self._artim_gen:
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
        return not self._assembler.idle or self.engine.buffered > 0

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
        for waiter in self._waiters.values():
            waiter.put(gone if isinstance(gone, NetworkError) else self._gone(
                RuntimeError(str(gone))))
        if self._current is not None and self._current.sink is not None:
            with contextlib.suppress(Exception):
                self._current.sink.discard()
            self._current = None
        while self._incoming:  # requests nobody will answer
            queued = self._incoming.popleft()
            if queued is not None and queued.sink is not None:
                with contextlib.suppress(Exception):
                    queued.sink.discard()
        self._enqueue(None)
        self._room.set()
        self.transport.close()
        # nobody is left to answer: stop the reader and any handler still running
        current = asyncio.current_task()
        for task in (self._reader_task, self._server_task):
            if task is not None and task is not current:
                task.cancel()


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
