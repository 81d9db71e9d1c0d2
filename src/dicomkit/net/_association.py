"""The asyncio driver of one association: socket <-> upper-layer engine <-> DIMSE messages.

One :class:`Association` per connection, no threads. Received bytes are fed to
:class:`~dicomkit.net.proto._upper_layer.UpperLayer` as they arrive (pushed by a
:class:`~dicomkit.net._transport.SocketTransport`, or read by a reader task from any other
:class:`~dicomkit.net._transport.Transport`), and P-DATA becomes DIMSE messages through a
:class:`~dicomkit.net.proto._dimse.DimseAssembler`. A response completes the future its request
waits on; requests from the peer are queued (a few at most: then reading pauses) for a serving
task that hands them to the dispatcher (handler calling lives in :mod:`dicomkit.net._server`).
A C-STORE data set may be streamed: its fragments go straight to a sink (a file) as they
arrive, so memory stays bounded by one PDU.

Timeouts (:class:`~dicomkit.net._config.Timeouts`): ``acse`` bounds association set-up and
release and is the ARTIM timer fed to the engine; ``dimse`` bounds the wait for a response
(SCU) and silence in the middle of a message (SCP); ``idle`` ends a silent association.

Errors from the peer (malformed PDUs, illegal DIMSE sequences) end the association with an
A-ABORT and a log line naming the cause; they never escape into other associations.
The connection half (engine feeding, ACSE, ARTIM and the idle / DIMSE watchdog) is
:class:`~dicomkit.net._link.Link`, which an :class:`Association` owns (composition) and serves
as its :class:`~dicomkit.net._link.LinkUser`.
Transports live in :mod:`dicomkit.net._transport`; what handlers see (:class:`Incoming`,
:class:`Response`, the data-set codecs, :func:`response_for`) in :mod:`dicomkit.net._messages`.
Service calls over an association (C-STORE of a file, C-FIND ...) are functions in
:mod:`dicomkit.services`, which sits above this layer.
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
    LocalProtocolError,
    NetworkError,
    NetworkTimeout,
    RemoteProtocolError,
    TransportError,
)
from dicomkit.net import _log as netlog
from dicomkit.net._clock import REAL_TIME, Clock
from dicomkit.net._config import AEConfig, UserIdentity
from dicomkit.net._link import Link
from dicomkit.net._loglimit import bad_input
from dicomkit.net._messages import (
    AfterResponse,
    DataArg,
    Dispatcher,
    Incoming,
    Response,
    SinkFactory,
    _abstract_syntax,
    _is_dataset,
    _NullSink,
    _refusal,
    check_response,
    encode_data,
)
from dicomkit.net._transport import Buffer, LevelReporting, Transport, VectorWriting
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto import _events as ev
from dicomkit.net.proto._negotiation import AcceptorConfig, Negotiated, NegotiatedContext
from dicomkit.net.proto._pdu import AAssociateRQ
from dicomkit.net.proto._upper_layer import Role, UpperLayer

log = logging.getLogger("dicomkit.net")

_SEND_CHUNK = 1 << 20
#: Requests from the peer waiting for a handler before reading pauses (back-pressure: a peer
#: that pipelines requests beyond the negotiated window is slowed down, not buffered).
_MAX_QUEUED = 4
#: The most C-STORE handlers run at once on one association (concurrent stores)
_MAX_CONCURRENT = 64
#: Pending responses (C-FIND matches, C-MOVE / C-GET progress) are coalesced: their PDUs are
#: held until the sender would block (flushed by a loop callback), a non-pending message
#: follows, or this many bytes are held -- then written with one ``writelines``.
_CORK_LIMIT = 256 << 10


class _Expired(Exception):
    """The DIMSE timer of a waiting request fired."""


def _log_message(
    peer: str, message: dimse.DimseMessage, context: NegotiatedContext, data: Any, *, sent: bool
) -> None:
    """``dicomkit.net.dimse``: one line per message (INFO), its data set below it (DEBUG)."""
    line = netlog.describe_message(message, sent=sent, context_id=context.context_id)
    netlog.dimse_log.info("%s: %s", peer, line)
    if data is not None and netlog.dimse_log.isEnabledFor(logging.DEBUG):
        if _is_dataset(data) or isinstance(data, (bytes, bytearray, memoryview)):
            shown = netlog.describe_dataset(data, context.transfer_syntax)
        else:
            shown = "  (streamed from its source, not shown)"
        what = f"data set of the {line.split(' on ')[0]}:\n{shown}"
        netlog.log_lines(netlog.dimse_log, logging.DEBUG, peer, what)


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


class Association:
    """One association, either side. Made by :class:`dicomkit.net.AE`; use as SCU with
    :meth:`echo`, :meth:`request` / :meth:`request_iter`, :meth:`release`.

    Composition: the association *has* a :class:`~dicomkit.net._link.Link` (``link``, the
    connection half: engine, ACSE, timers) and is that link's
    :class:`~dicomkit.net._link.LinkUser` (the DIMSE half: requests, responses, handler
    dispatch). The connection's facts (``peer``, ``negotiated``, ``error`` ...) are read
    through to the link."""

    def __init__(
        self,
        transport: Transport,
        role: Role,
        config: AEConfig,
        *,
        dispatcher: Dispatcher | None = None,
        sink_factory: SinkFactory | None = None,
        acceptor: AcceptorConfig | None = None,
        admit: Callable[[AAssociateRQ], bool] | None = None,
        clock: Clock = REAL_TIME,
        concurrent_stores: bool = False,
    ) -> None:
        #: C-STORE requests within the negotiated window run their handlers at once
        self._concurrent_stores = concurrent_stores and role is Role.ACCEPTOR
        # coalesced pending responses (see _CORK_LIMIT), set before Link may write
        self._cork: list[bytes] = []
        #: the last message sent and its encoding (messages are immutable)
        self._last_message: dimse.DimseMessage | None = None
        self._last_has = False
        self._last_command = b""
        self._cork_size = 0
        self._cork_scheduled = False
        self._undrained = False  # a callback flush wrote without draining
        self._loop = asyncio.get_running_loop()
        #: the connection half (engine, ACSE, timers); this object is its :class:`LinkUser`
        self.link = Link(transport, role, config, self, acceptor=acceptor, admit=admit, clock=clock)
        self._dispatcher = dispatcher
        self._sink_factory = sink_factory
        self._assembler = dimse.DimseAssembler(
            stream=self._should_stream, max_buffered=config.max_buffered
        )
        self._waiters: dict[int, _Waiter] = {}
        self._incoming: deque[Incoming | None] = deque()
        self._incoming_ready: asyncio.Future[None] | None = None
        self._current: Incoming | None = None  # streamed request being received
        self._active: dict[int, Incoming] = {}  # message id -> request being served
        self._send_lock = asyncio.Lock()
        self._ids = itertools.count(1)
        self._server_task: asyncio.Task[None] | None = None
        self._spawned: set[asyncio.Task[Any]] = set()
        # a transport that reports its send buffer level is drained only above it
        self._level = transport if isinstance(transport, LevelReporting) else None
        self._writelines = transport.writelines if isinstance(transport, VectorWriting) else None

    # -- the connection, as the link knows it ---------------------------------------------

    @property
    def engine(self) -> UpperLayer:
        """The sans-IO upper-layer engine (read-only state: PDUs received, limits ...)."""
        return self.link.engine

    @property
    def transport(self) -> Transport:
        """The connection the association runs over (socket, TLS or in-memory)."""
        return self.link.transport

    @property
    def config(self) -> AEConfig:
        """The configuration of the AE that made this association."""
        return self.link.config

    @property
    def clock(self) -> Clock:
        """The clock the association's timers read."""
        return self.link.clock

    @property
    def negotiated(self) -> Negotiated | None:
        """The agreed contexts, roles and limits (None until the association is made)."""
        return self.link.negotiated

    @property
    def error(self) -> BaseException | None:
        """Why the association ended, if it did not end normally."""
        return self.link.error

    @property
    def is_established(self) -> bool:
        """Data may be sent (PS3.8 Sta6, or Sta8 while the peer waits for our release)."""
        return self.link.is_established

    @property
    def is_closed(self) -> bool:
        """The association has ended (released, rejected or aborted)."""
        return self.link.is_closed

    @property
    def peer(self) -> str:
        """The peer's address (``host:port``) for log lines."""
        return self.link.peer

    @property
    def calling_ae(self) -> str:
        """The requestor's AE title, as negotiated (empty before negotiation)."""
        return self.link.calling_ae

    @property
    def called_ae(self) -> str:
        """The acceptor's AE title, as negotiated (empty before negotiation)."""
        return self.link.called_ae

    @property
    def accepted_contexts(self) -> list[NegotiatedContext]:
        """The presentation contexts the acceptor accepted."""
        return self.link.accepted_contexts

    @property
    def peer_max_pdu(self) -> int:
        """The peer's Maximum Length (PS3.8 D.1); 0: no limit."""
        return self.link.peer_max_pdu

    @property
    def user_identity(self) -> UserIdentity | None:
        """The requestor's user identity (PS3.7 D.3.3.7), as proposed."""
        return self.link.user_identity

    @property
    def user_identity_response(self) -> bytes | None:
        """The acceptor's server response in the A-ASSOCIATE-AC (None: no positive response)."""
        return self.link.user_identity_response

    @property
    def extended(self) -> dict[str, bytes]:
        """SOP class -> application information the acceptor answered (PS3.7 D.3.3.5)."""
        return self.link.extended

    @property
    def async_ops(self) -> tuple[int, int]:
        """The negotiated (max invoked, max performed) operations window (PS3.7 D.3.3.3)."""
        return self.link.async_ops

    def next_message_id(self) -> int:
        """A fresh Message ID (1..65535, wrapping)."""
        mid = next(self._ids) & 0xFFFF
        return mid or next(self._ids) & 0xFFFF

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start receiving and serving (the transport is connected)."""
        self.link.engine.connection_made()
        self.link.flush()
        self._server_task = self._loop.create_task(self._serve_loop())
        self.link.start()

    async def request_association(self, rq: AAssociateRQ) -> None:
        """Send an A-ASSOCIATE-RQ and wait for the answer (requestor)."""
        self.link.engine.send(ev.AssociateRequest(rq))
        self.link.flush()
        await self._drain()
        self.link.sync_artim()
        try:
            async with self.link.clock.timeout(self.link.config.timeouts.acse):
                await self.link.wait_established()
        except TimeoutError:
            await self.abort()
            raise NetworkTimeout(
                f"no A-ASSOCIATE response from {self.peer} within {self.link.config.timeouts.acse}s"
            ) from None

    async def wait_established(self) -> None:
        """Wait until the association is accepted (raises if it is rejected or aborted first)."""
        await self.link.wait_established()

    async def release(self) -> None:
        """A-RELEASE: ask the peer to release and wait until it has (or time out and abort)."""
        if self.link.is_closed or not self.link.engine.is_established:
            return
        try:
            self.link.engine.send(ev.ReleaseRequest())
            self.link.flush()
            await self._drain()
        except (LocalProtocolError, NetworkError):
            return
        self.link.sync_artim()
        try:
            async with self.link.clock.timeout(self.link.config.timeouts.acse):
                await self.link.wait_closed()
        except TimeoutError:
            log.warning(
                "%s: no A-RELEASE-RP within %ss, aborting",
                self.peer,
                self.link.config.timeouts.acse,
            )
            await self.abort()
        await self.wait_closed()

    async def abort(self, reason: int = 0) -> None:
        """A-ABORT (service-user): tell the peer and close the connection at once."""
        if not self.link.is_closed:
            with contextlib.suppress(LocalProtocolError):
                self.link.engine.send(ev.Abort(0, reason))
                self.link.flush()
            with contextlib.suppress(NetworkError):
                await self._drain()
            self.link.shutdown(AssociationAborted("association aborted locally"))
        await self.wait_closed()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # an error in the caller's code (not the network, not a cancellation) still leaves
        # the association in a state where a polite release is possible
        if exc is None or (isinstance(exc, Exception) and not isinstance(exc, NetworkError)):
            await self.release()
        else:
            await self.abort()

    # -- SCU operations ------------------------------------------------------------------

    def context_for(
        self, abstract_syntax: str, transfer_syntax: str | None = None
    ) -> NegotiatedContext:
        """The accepted context for an abstract syntax (and transfer syntax, if given)."""
        found = (
            self.link.negotiated.find(abstract_syntax, transfer_syntax)
            if self.link.negotiated
            else None
        )
        if found is None:
            what = abstract_syntax + (f" / {transfer_syntax}" if transfer_syntax else "")
            raise LocalProtocolError(f"no accepted presentation context for {what}")
        return found

    def _expect(
        self, message: dimse.DimseRequest, context: NegotiatedContext | None
    ) -> tuple[dimse.DimseRequest, NegotiatedContext, _Waiter]:
        if context is None:
            context = self.context_for(_abstract_syntax(message))
        if not message.message_id:
            message = message.replace(message_id=self.next_message_id())
        waiter = self._waiters[message.message_id] = _Waiter()
        self.link.flow_control()  # responses must get through even if requests are queued
        return message, context, waiter

    async def _next(self, waiter: _Waiter, wait: float | None, mid: int) -> Response:
        if not waiter.items:
            fut = waiter.future = self._loop.create_future()
            timer = self.link.clock.call_later(wait, _expire, fut) if wait is not None else None
            try:
                await fut
            except _Expired:
                raise NetworkTimeout(
                    f"no response from {self.peer} to message {mid} within {wait}s"
                ) from None
            finally:
                waiter.future = None
                if timer is not None:
                    timer.cancel()
        item = waiter.items.popleft()
        if isinstance(item, BaseException):
            raise item
        return item

    async def request_iter(
        self,
        message: dimse.DimseRequest,
        data: DataArg = None,
        *,
        context: NegotiatedContext | None = None,
        timeout: float | None = -1.0,
    ) -> AsyncGenerator[Response, None]:
        """Send a request and yield each response (pending ones too) until the final one.

        ``message.message_id`` 0 gets a fresh id. ``data``: a Dataset, bytes already in the
        context's transfer syntax, or an iterable of byte chunks (streamed). ``timeout``:
        seconds to wait for each response (-1: the configured DIMSE timeout).
        """
        message, context, waiter = self._expect(message, context)
        wait = self.link.config.timeouts.dimse if timeout == -1.0 else timeout
        try:
            await self.send_message(context, message, data)
            while True:
                item = await self._next(waiter, wait, message.message_id)
                yield item
                if not item.message.is_pending:
                    return
        finally:
            self._waiters.pop(message.message_id, None)

    async def request(
        self,
        message: dimse.DimseRequest,
        data: DataArg = None,
        *,
        context: NegotiatedContext | None = None,
        timeout: float | None = -1.0,
    ) -> Response:
        """Send a request and return its final response (pending ones are skipped)."""
        message, context, waiter = self._expect(message, context)
        wait = self.link.config.timeouts.dimse if timeout == -1.0 else timeout
        try:
            await self.send_message(context, message, data)
            while True:
                item = await self._next(waiter, wait, message.message_id)
                if not item.message.is_pending:
                    return item
        finally:
            self._waiters.pop(message.message_id, None)

    async def echo(self, *, timeout: float | None = -1.0) -> dimse.CEchoResponse:
        """C-ECHO (PS3.4 A): the response (success); a failure status raises ``DimseError``."""
        rsp = await self.request(
            dimse.CEchoRequest(message_id=self.next_message_id()), timeout=timeout
        )
        message = check_response(rsp).message
        assert isinstance(message, dimse.CEchoResponse)
        return message

    async def send_message(
        self, context: NegotiatedContext | int, message: dimse.DimseMessage, data: DataArg = None
    ) -> None:
        """Send one DIMSE message (command, then its data set if any) on a context.

        The command and the first MiB of data go out in one write; the call suspends only
        when the transport's send buffer is above its high-water mark. Pending responses
        (with at most 256 KiB of data) are coalesced: held until the caller would block
        (the event loop gets control), the next non-pending message, or 256 KiB are held,
        then written in order with one ``writelines``.
        """
        if isinstance(context, int):
            found = self.link.negotiated.contexts.get(context) if self.link.negotiated else None
            if found is None:
                raise LocalProtocolError(f"no presentation context {context}")
            context = found
        cid = context.context_id
        if netlog.dimse_log.isEnabledFor(logging.INFO):
            _log_message(self.peer, message, context, data, sent=True)
        if (
            data is not None
            and not isinstance(data, (bytes, bytearray, memoryview))
            and _is_dataset(data)
        ):
            data = encode_data(data, context.transfer_syntax)
        has = data is not None
        if message is self._last_message and has is self._last_has:
            cmd = self._last_command  # the same response again (C-FIND matches): encoded once
        else:
            original = message
            if message.has_dataset != has:
                message = message.replace(has_dataset=has)
            cmd = dimse.encode_message(message)
            self._last_message, self._last_has, self._last_command = original, has, cmd
        corkable = (
            isinstance(message, dimse.DimseResponse)
            and message.is_pending
            and (
                data is None
                or (isinstance(data, (bytes, bytearray, memoryview)) and len(data) <= _CORK_LIMIT)
            )
        )
        async with self._send_lock:
            try:
                if corkable:
                    await self._send_corked(cid, cmd, data)  # type: ignore[arg-type]
                    return
                self.link.engine.send_data(cid, cmd, is_command=True)
                out = self.link.engine.data_to_send()
                if self._cork:  # held pending responses go first, in the same write
                    out = self._take_cork() + out
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
                if isinstance(self.link.error, NetworkError):
                    raise self.link.error from None  # e.g. the peer's A-ABORT, read meanwhile
                raise

    async def _send_corked(self, cid: int, cmd: bytes, data: Buffer | None) -> None:
        """Encode one pending response into the cork; write the cork when it is full."""
        if self.link.is_closed:  # the peer aborted meanwhile: stop at once
            raise self._gone(LocalProtocolError("association closed"))
        if self._undrained and self._must_drain():
            await self._drain()  # back-pressure for what loop-callback flushes wrote
        self.link.engine.send_data(cid, cmd, is_command=True)
        if data is not None:
            self.link.engine.send_data(cid, data, is_command=False)
        pdus = self.link.engine.data_to_send()
        self._cork += pdus
        self._cork_size += sum(map(len, pdus))
        if self._cork_size >= _CORK_LIMIT:
            self._write_all(self._take_cork())
            if self._must_drain():
                await self._drain()
            # let received bytes in (a C-CANCEL, an A-ABORT) between batches of a handler
            # that never blocks
            await asyncio.sleep(0)
        elif not self._cork_scheduled:
            self._cork_scheduled = True
            self._loop.call_soon(self._flush_cork)

    def _take_cork(self) -> list[bytes]:
        pdus = self._cork
        self._cork = []
        self._cork_size = 0
        return pdus

    def _flush_cork(self) -> None:
        """Write the held pending responses (the sender blocked, or other bytes go out)."""
        self._cork_scheduled = False
        if not self._cork:
            return
        pdus = self._take_cork()
        if self.link.is_closed:
            return
        try:
            self._write_all(pdus)
        except (TransportError, ConnectionError, OSError, RuntimeError):
            return  # the connection is gone: the link notices and ends the association
        self._undrained = True

    async def _drain(self) -> None:
        self._undrained = False
        await self.link.drain()  # writes the cork first (before_write)

    def before_write(self) -> None:
        """(:class:`LinkUser`) Engine output (ACSE, A-ABORT) never overtakes held responses."""
        if self._cork:
            self._flush_cork()

    async def _send_data(self, cid: int, data: Buffer, last: bool, head: list[bytes]) -> None:
        view = memoryview(data)
        size, step, start = len(view), _SEND_CHUNK, 0
        while True:
            if self.link.is_closed:  # the peer aborted meanwhile: stop writing
                raise self._gone(LocalProtocolError("association closed"))
            final = last and start + step >= size
            self.link.engine.send_data(
                cid, view[start : start + step], is_command=False, last=final
            )
            pdus = self.link.engine.data_to_send()
            self._write_all(head + pdus if head else pdus)
            head = []
            start += step
            if self._must_drain():
                await self._drain()
            if start >= size:
                return

    def _must_drain(self) -> bool:
        return self._level is None or self._level.write_blocked

    def _write_all(self, pdus: list[bytes]) -> None:
        if len(pdus) == 1 or self._writelines is None:
            for pdu in pdus:
                self.link.transport.write(pdu)
        else:
            self._writelines(pdus)

    def _gone(self, exc: Exception) -> NetworkError:
        if isinstance(self.link.error, NetworkError):
            return self.link.error
        return AssociationAborted(f"association with {self.peer} is no longer usable: {exc}")

    def spawn(self, action: AfterResponse) -> None:
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

    # -- the DIMSE layer's side of the link ----------------------------------------------

    def on_pdv(self, event: ev.PDVReceived) -> bool:
        """(:class:`LinkUser`) A PDV: into the DIMSE assembler, messages to their waiters."""
        try:
            out = self._assembler.feed(
                event.context_id, event.is_command, event.is_last, event.data
            )
        except RemoteProtocolError as exc:
            self.link.protocol_abort(exc)
            return False
        for item in out:
            self._on_dimse(item)
        return True

    def reading_should_pause(self) -> bool:
        """(:class:`LinkUser`) Requests queue up beyond the window and nothing is awaited."""
        return len(self._incoming) >= _MAX_QUEUED and not self._waiters

    def has_work(self) -> bool:
        """(:class:`LinkUser`) A request waits for its response, or a handler runs."""
        return bool(self._waiters or self._active)

    def in_message(self) -> bool:
        """(:class:`LinkUser`) Part of a DIMSE message is in."""
        return not self._assembler.idle

    def on_closing(self, gone: BaseException) -> None:
        """(:class:`LinkUser`) The association ended: fail waiters, drop queued work."""
        self._take_cork()  # unsent pending responses: nobody will read them
        for waiter in self._waiters.values():
            waiter.put(
                gone if isinstance(gone, NetworkError) else self._gone(RuntimeError(str(gone)))
            )
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
        # nobody is left to answer: stop any handler still running
        if self._server_task is not None and self._server_task is not asyncio.current_task():
            self._server_task.cancel()

    async def wait_closed(self) -> None:
        """Wait until the association has ended (released or aborted) and its tasks are done."""
        await self.link.wait_closed()
        task = self._server_task
        if task is not None and task is not asyncio.current_task() and not task.done():
            await asyncio.wait({task})

    # -- DIMSE dispatch ------------------------------------------------------------------

    def _should_stream(self, context_id: int, message: dimse.DimseMessage) -> bool:
        if self._sink_factory is None or not isinstance(message, dimse.CStoreRequest):
            return False
        ctx = self.link.negotiated.contexts.get(context_id) if self.link.negotiated else None
        if ctx is None:
            return False
        incoming = Incoming(self, ctx, message)
        try:
            incoming.sink = self._sink_factory(incoming)
        except Exception as exc:  # noqa: BLE001 -- any handler error refuses this instance
            bad_input(
                log,
                "%s: cannot open a sink for %s: %s",
                self.peer,
                ascii(message.affected_sop_instance_uid)[1:-1],
                exc,
            )
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
        ctx = self.link.negotiated.contexts.get(item.context_id) if self.link.negotiated else None
        if ctx is not None and netlog.dimse_log.isEnabledFor(logging.INFO):
            _log_message(self.peer, msg, ctx, item.dataset, sent=False)
        if ctx is None:
            self.link.protocol_abort(
                RemoteProtocolError(f"message on unknown presentation context {item.context_id}")
            )
        elif isinstance(msg, dimse.DimseResponse):
            waiter = self._waiters.get(msg.message_id_being_responded_to)
            if waiter is None:
                log.warning(
                    "%s: response to unknown message id %d ignored",
                    self.peer,
                    msg.message_id_being_responded_to,
                )
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

    def _store_window(self) -> int:
        """How many C-STORE handlers may run at once: the operations the requestor may
        invoke (PS3.7 D.3.3.3; 0 = unlimited, taken as :data:`_MAX_CONCURRENT`) when the AE
        allows concurrent stores (as acceptor only), else 1."""
        if not self._concurrent_stores:
            return 1
        invoked = self.link.async_ops[0]
        return _MAX_CONCURRENT if invoked == 0 else min(invoked, _MAX_CONCURRENT)

    async def _serve_loop(self) -> None:
        """Perform the peer's requests in the order they came, one after the other; with
        concurrent stores, consecutive C-STOREs within the window run at once (their
        responses go out as each finishes, each with its own Message ID), and any other
        request waits until they are done."""
        queue = self._incoming
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                while not queue:
                    self._incoming_ready = self._loop.create_future()
                    await self._incoming_ready
                incoming = queue.popleft()
                if incoming is None:
                    return
                self.link.flow_control()
                window = self._store_window()
                if window > 1 and isinstance(incoming.message, dimse.CStoreRequest):
                    while len(running) >= window:
                        await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    task = self._loop.create_task(self._perform(incoming))
                    running.add(task)
                    task.add_done_callback(running.discard)
                    continue
                if running:
                    await asyncio.wait(running)
                await self._perform(incoming)
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running)

    async def _perform(self, incoming: Incoming) -> None:
        """Answer one request from the peer (its handler, or a refusal without one)."""
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


__all__ = ["Association"]
