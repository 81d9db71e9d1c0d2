"""The upper-layer connection under an association: bytes <-> engine, ACSE, timers.

:class:`Link` feeds what its transport receives to
:class:`~dicomkit.net.proto._upper_layer.UpperLayer` (pushed by a
:class:`~dicomkit.net._transport.SocketTransport`, else read by a reader task), writes what the
engine returns, answers the A-ASSOCIATE / A-RELEASE / A-ABORT events (PS3.8 7.1-7.3), keeps
the ARTIM timer in step with the engine (PS3.8 9.1.5), and runs one watchdog for the idle and
DIMSE timeouts. P-DATA goes up to the layer that owns the link -- the DIMSE half,
:class:`~dicomkit.net._association.Association` -- through the small :class:`LinkUser`
protocol (composition: the association *has* a link; neither subclasses the other).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from dicomkit.errors import (
    AssociationAborted,
    AssociationRejected,
    LocalProtocolError,
    NetworkError,
    NetworkTimeout,
    RemoteProtocolError,
    TransportError,
)
from dicomkit.net import _log as netlog
from dicomkit.net._clock import REAL_TIME, Clock
from dicomkit.net._config import AEConfig, IdentityCheck, UserIdentity
from dicomkit.net._loglimit import bad_input
from dicomkit.net._transport import Buffer, Pushing, Transport
from dicomkit.net.proto import _events as ev
from dicomkit.net.proto._items import (
    SOPClassExtendedNegotiationItem,
    UserIdentityACItem,
    UserInformationItem,
    UserSubItem,
)
from dicomkit.net.proto._negotiation import (
    AcceptorConfig,
    Negotiated,
    NegotiatedContext,
    accept,
    negotiate,
)
from dicomkit.net.proto._pdu import AAssociateAC, AAssociateRJ, AAssociateRQ
from dicomkit.net.proto._upper_layer import Role, UpperLayer

log = logging.getLogger("dicomkit.net")

_READ_SIZE = 256 * 1024
#: The smallest peer Maximum Length we accept: a P-DATA-TF must hold a PDV with data.
_MIN_PEER_PDU = 7


def _printable(text: str) -> str:
    """Peer-supplied text for a log line: control characters escaped (PS3.5 6.2 forbids them
    in AE titles; a peer must not forge log lines)."""
    return text if text.isprintable() else ascii(text)[1:-1]


#: ``_answer_rq``'s identity argument when no identity check is configured.
_NO_CHECK: Any = object()


def _is_coroutine_function(fn: Any) -> bool:
    """A coroutine function, or an object whose ``__call__`` is one."""
    return inspect.iscoroutinefunction(fn) or (
        not inspect.isfunction(fn) and inspect.iscoroutinefunction(type(fn).__call__)
    )


class LinkUser(Protocol):
    """What a :class:`Link` asks of the layer above it (the DIMSE half of an association)."""

    def on_pdv(self, event: ev.PDVReceived) -> bool:
        """A PDV arrived; False when it ended the association."""
        ...

    def reading_should_pause(self) -> bool:
        """The layer above is full: stop reading from the peer for now."""
        ...

    def has_work(self) -> bool:
        """Work is outstanding (the idle timeout does not apply)."""
        ...

    def in_message(self) -> bool:
        """Part of a DIMSE message is in, the rest is awaited (the DIMSE timeout applies)."""
        ...

    def before_write(self) -> None:
        """The link is about to write (ACSE, A-ABORT): write what the layer above holds."""
        ...

    def on_closing(self, gone: BaseException) -> None:
        """The association ended (``gone`` says why): wake and stop what waits on it."""
        ...


class Link:
    """The connection half of an association (see the module docstring)."""

    _write_pending = False

    def __init__(
        self,
        transport: Transport,
        role: Role,
        config: AEConfig,
        user: LinkUser,
        *,
        acceptor: AcceptorConfig | None = None,
        admit: Callable[[AAssociateRQ], bool] | None = None,
        clock: Clock = REAL_TIME,
    ) -> None:
        self.transport = transport
        self._user = user
        #: every timer of the association reads this clock (tests scale it down)
        self.clock = clock
        #: the transport pushes received bytes (else a reader task reads them)
        self._push = transport if isinstance(transport, Pushing) else None
        self.config = config
        self.engine = UpperLayer(
            role,
            max_pdu_size=max(config.max_pdu, 1 << 20) + 6,
            max_associate_size=config.max_request_bytes,
        )
        self.negotiated: Negotiated | None = None
        self.error: BaseException | None = None
        self._acceptor = acceptor
        self._admit = admit
        self._loop = asyncio.get_running_loop()
        self._established: asyncio.Future[None] = self._loop.create_future()
        self._closed = asyncio.Event()
        self._room = asyncio.Event()  # reader-task mode: the layer above has room again
        self._room.set()
        self._reading_paused = False
        self._artim: asyncio.TimerHandle | None = None
        self._artim_gen = -1
        self._last_activity = clock.time()
        #: when the PDU now partly received began to arrive (None: between PDUs)
        self._pdu_started: float | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._release_collision_pending = False
        self._rj_logged = False
        self._reader_task: asyncio.Task[None] | None = None
        self._identity_task: asyncio.Task[None] | None = None

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

    @property
    def user_identity(self) -> UserIdentity | None:
        """The requestor's user identity (PS3.7 D.3.3.7), as proposed."""
        item = self.negotiated.user_identity if self.negotiated else None
        return UserIdentity.from_item(item) if item is not None else None

    @property
    def user_identity_response(self) -> bytes | None:
        """The acceptor's server response in the A-ASSOCIATE-AC (None: no positive response)."""
        return self.negotiated.user_identity_response if self.negotiated else None

    @property
    def extended(self) -> dict[str, bytes]:
        """SOP class -> application information the acceptor answered (PS3.7 D.3.3.5)."""
        return {k: bytes(v) for k, v in self.negotiated.extended.items()} if self.negotiated else {}

    @property
    def async_ops(self) -> tuple[int, int]:
        """The negotiated (max invoked, max performed) operations window (PS3.7 D.3.3.3)."""
        neg = self.negotiated
        return (neg.max_operations_invoked, neg.max_operations_performed) if neg else (1, 1)

    async def wait_established(self) -> None:
        """Until the association is accepted (raises if it was rejected or never made)."""
        await asyncio.shield(self._established)

    async def wait_closed(self) -> None:
        """Until the association is over, the reader task (if any) has stopped and the
        transport has closed (a TLS close_notify exchange included, within the ACSE timeout):
        a caller that ends its event loop next leaves no socket behind."""
        await self._closed.wait()
        task = self._reader_task
        if task is not None and task is not asyncio.current_task() and not task.done():
            await asyncio.wait({task})
        with contextlib.suppress(TimeoutError, NetworkError, OSError):
            async with self.clock.timeout(self.config.timeouts.acse):
                await self.transport.wait_closed()

    def start(self) -> None:
        """Bytes go to the engine from now on: pushed by the transport, or read by a task."""
        if self._push is not None:
            self._push.set_receiver(self._on_data, self._on_lost)
        else:
            self._reader_task = self._loop.create_task(
                self._reader_loop(), name=f"dicom-{self.peer}"
            )
        self.sync_artim()
        self._arm_watchdog()

    # -- receiving -----------------------------------------------------------------------

    def _on_data(self, data: bytes) -> None:
        """Bytes from the peer (``b""``: end of stream): engine, events, DIMSE."""
        if self._closed.is_set():
            return
        self._last_activity = now = self.clock.time()
        engine = self.engine
        before = engine.buffered
        if self._pdu_started is None:
            self._pdu_started = now  # minimum progress: a PDU begun must end in time
        try:
            engine.receive_data(data)
            if engine.buffered < before + len(data):  # a PDU was completed (consumed)
                self._pdu_started = now if engine.buffered else None
            self.flush()
            if engine.error is not None and self.error is None:
                self._note_engine_error()
            elif engine.associate_rj is not None and not self._rj_logged:
                self._note_engine_reject()
            self._process_events()
            if not data or engine.should_close:
                self.shutdown(None)
        except NetworkError as exc:
            self.shutdown(exc)
        except Exception as exc:  # a bug: never leave the peer hanging
            log.exception("%s: internal error, aborting the association", self.peer)
            with contextlib.suppress(Exception):
                engine.send(ev.Abort(2, 0))
                self.flush()
            self.shutdown(exc)
        else:
            self.flow_control()

    def _on_lost(self, exc: BaseException) -> None:
        self.shutdown(TransportError(f"read from {self.peer} failed: {exc}"))

    def flow_control(self) -> None:
        """Pause reading while the layer above is full (:meth:`LinkUser.reading_should_pause`),
        resume when it has room again."""
        full = self._user.reading_should_pause()
        if full == self._reading_paused:
            return
        self._reading_paused = full
        if self._push is None:
            self._room.clear() if full else self._room.set()
        elif full:
            self._push.pause_reading()
        else:
            self._push.resume_reading()

    async def _reader_loop(self) -> None:
        """For transports that cannot push (e.g. :mod:`.memory`): read, then as pushed."""
        try:
            while not self._closed.is_set():
                data = await self.transport.read(_READ_SIZE)
                self._on_data(data)
                if not data or self._closed.is_set():
                    break
                if self._write_pending:
                    await self.drain()
                await self._room.wait()
        except NetworkError as exc:
            self.shutdown(exc)
        except asyncio.CancelledError:
            self.shutdown(AssociationAborted("association task cancelled"))
            raise

    def flush(self) -> None:
        """Write what the engine has to send (its one outbound buffer)."""
        pdus = self.engine.data_to_send()
        if pdus:
            self._user.before_write()  # engine output never overtakes what the user holds
            for pdu in pdus:
                self.write(pdu)

    def write(self, data: Buffer) -> None:
        """Write ``data`` to the transport; a transport already gone is noticed by the reader."""
        if data:
            try:
                self.transport.write(data)
            except (TransportError, ConnectionError, OSError, RuntimeError):
                return
            self._write_pending = True

    async def drain(self) -> None:
        """Wait until the transport can take more (what the user holds is written first)."""
        self._user.before_write()
        self._write_pending = False
        await self.transport.drain()

    def _process_events(self) -> None:
        engine = self.engine
        while (event := engine.next_event()) is not None:
            if isinstance(event, ev.PDVReceived):
                if not self._user.on_pdv(event):
                    return
            elif isinstance(event, ev.AssociateRequested):
                self._on_associate_rq(event.pdu)
            elif isinstance(event, ev.AssociateAccepted):
                self._on_associate_ac(event.pdu)
            elif isinstance(event, ev.AssociateRejected):
                rj = event.pdu
                self.error = exc = AssociationRejected(
                    f"association with {self.peer} "
                    + netlog.reject_words(rj.result, rj.source, rj.reason, hint=True),
                    result=rj.result,
                    source=rj.source,
                    reason=rj.reason,
                )
                if not self._established.done():
                    self._established.set_exception(exc)
            elif isinstance(event, ev.ReleaseRequested):
                if not event.collision or engine.is_requestor:
                    engine.send(ev.ReleaseResponse())
                    self.flush()
                else:
                    self._release_collision_pending = True
            elif isinstance(event, ev.ReleaseConfirmed):
                if self._release_collision_pending:
                    self._release_collision_pending = False
                    engine.send(ev.ReleaseResponse())
                    self.flush()
            elif isinstance(event, ev.Aborted):
                self._on_aborted(event)
            elif isinstance(event, ev.Closed):
                self.shutdown(self.error)
        self.sync_artim()

    def _note_engine_reject(self) -> None:
        """An A-ASSOCIATE-RJ: the peer's answer to our request, or the engine's own answer to
        the peer's (e.g. protocol version); the words name the source the PDU gives."""
        self._rj_logged = True
        rj, rq = self.engine.associate_rj, self.engine.associate_rq
        assert rj is not None
        why = (
            f" (protocol version 0x{rq.protocol_version:04X})"
            if rq is not None and not rq.protocol_version & 1
            else ""
        )
        # as requestor the answer is the peer's (raised as AssociationRejected): INFO only
        log.log(
            logging.INFO if self.engine.is_requestor else logging.WARNING,
            "%s: association %s%s",
            self.peer,
            netlog.reject_words(rj.result, rj.source, rj.reason),
            why,
        )

    def _note_engine_error(self) -> None:
        err = self.engine.error
        bad_input(log, "%s: aborting, the peer broke the upper-layer protocol: %s", self.peer, err)
        self.error = AssociationAborted(f"peer {self.peer} broke the protocol: {err}", source=2)

    def protocol_abort(self, exc: RemoteProtocolError) -> None:
        """The peer broke the DIMSE protocol: A-ABORT, log why, end the association."""
        bad_input(log, "%s: aborting, the peer broke the DIMSE protocol: %s", self.peer, exc)
        self.error = exc
        with contextlib.suppress(LocalProtocolError):
            self.engine.send(ev.Abort(0, 0))
            self.flush()
        self.shutdown(AssociationAborted(f"peer {self.peer} broke the protocol: {exc}"))

    def _refuse_why(self, rq: AAssociateRQ) -> tuple[int, str] | None:
        """(reason, text) to reject an A-ASSOCIATE-RQ the negotiation would accept."""
        bad = [t for t in (rq.calling_ae, rq.called_ae) if not (t.isprintable() and t.isascii())]
        if bad:  # PS3.5 6.2: AE titles are ASCII (G0) without control characters
            calling_bad = not (rq.calling_ae.isprintable() and rq.calling_ae.isascii())
            return (
                3 if calling_bad else 7,
                f"non-ASCII or control characters in AE title {bad[0]!a}",
            )
        max_length = rq.user_information.max_length or 0
        if 0 < max_length < _MIN_PEER_PDU:
            return 1, f"peer Maximum Length {max_length} cannot hold any PDV (minimum 7)"
        return None

    def _on_associate_rq(self, rq: AAssociateRQ) -> None:
        assert self._acceptor is not None
        check = self.config.identity_check
        if check is not None:
            # titles, limits and the request itself first: a check (maybe a directory
            # look-up) only for requests that would otherwise be accepted
            admitted = self._admit(rq) if self._admit is not None else True
            first = accept(rq, self._acceptor, limit_exceeded=not admitted)
            if isinstance(first, AAssociateAC) and self._refuse_why(rq) is None:
                self._identity_task = self._loop.create_task(self._check_identity(rq, check))
                return
        self._answer_rq(rq, _NO_CHECK)

    async def _check_identity(self, rq: AAssociateRQ, check: IdentityCheck) -> None:
        """Run ``identity_check`` (PS3.7 D.3.3.7), then answer the A-ASSOCIATE-RQ."""
        item = rq.user_information.user_identity
        identity = UserIdentity.from_item(item) if item is not None else None
        result: Any = False
        try:
            async with self.clock.timeout(self.config.timeouts.acse):
                if _is_coroutine_function(check):
                    result = check(identity)
                else:
                    result = await asyncio.to_thread(check, identity)
                if inspect.isawaitable(result):
                    result = await result
        except Exception as exc:  # TimeoutError too: no decision is a rejection
            log.warning(
                "%s: user identity check failed: %s",
                self.peer,
                _printable(f"{type(exc).__name__}: {exc}"),
                exc_info=not isinstance(exc, TimeoutError),
            )
            result = False
        if self._closed.is_set():
            return
        try:
            self._answer_rq(rq, result)
            self.sync_artim()
            if self.engine.should_close:
                self.shutdown(None)
            with contextlib.suppress(NetworkError):
                await self.drain()
        except Exception as exc:  # a bug: never leave the peer hanging
            log.exception("%s: internal error, aborting the association", self.peer)
            with contextlib.suppress(Exception):
                self.engine.send(ev.Abort(2, 0))
                self.flush()
            self.shutdown(exc)

    def _answer_rq(self, rq: AAssociateRQ, identity: Any) -> None:
        """Accept or reject ``rq``; ``identity`` is the identity check's result (``_NO_CHECK``:
        none configured)."""
        assert self._acceptor is not None
        checked = identity is not _NO_CHECK
        allowed = identity is True or isinstance(identity, bytes | bytearray | memoryview)
        response = bytes(identity) if allowed and identity is not True else None
        admitted = self._admit(rq) if self._admit is not None else True
        answer = accept(
            rq, self._acceptor, limit_exceeded=not admitted, user_identity_response=response
        )
        self._rj_logged = True
        if self.engine.state.name != "STA3":
            return  # the peer broke the protocol while we decided; the engine aborted
        refuse = self._refuse_why(rq) if isinstance(answer, AAssociateAC) else None
        if refuse is None and isinstance(answer, AAssociateAC) and checked and not allowed:
            refuse = 1, "user identity rejected"
        calling, called = _printable(rq.calling_ae), _printable(rq.called_ae)
        if netlog.pdu_log.isEnabledFor(logging.INFO):
            text = netlog.describe_rq(rq)
            netlog.log_lines(netlog.pdu_log, logging.INFO, self.peer, "received " + text)
        if refuse is not None:
            bad_input(
                log, "%s: association rejected %s -> %s: %s", self.peer, calling, called, refuse[1]
            )
            answer = AAssociateRJ(1, 1, refuse[0])
        policy = self.config.extended
        if (
            isinstance(answer, AAssociateAC)
            and policy is not None
            and not isinstance(policy, Mapping)
        ):
            answer = self._extended_answer(rq, answer, policy)
        if isinstance(answer, AAssociateAC):
            self.negotiated = negotiate(rq, answer)
            self.engine.send(ev.AssociateAccept(answer))
            self.flush()
            if netlog.pdu_log.isEnabledFor(logging.INFO):
                text = netlog.describe_ac(answer, rq)
                netlog.log_lines(netlog.pdu_log, logging.INFO, self.peer, "sent " + text)
            log.info(
                "%s: association accepted %s -> %s, %d contexts",
                self.peer,
                calling,
                called,
                len(self.negotiated.accepted),
            )
            if not self._established.done():
                self._established.set_result(None)
        else:
            if refuse is None:  # (a refused request had its one, rate-limited, line above)
                log.info(
                    "%s: association %s -> %s %s",
                    self.peer,
                    calling,
                    called,
                    netlog.reject_words(answer.result, answer.source, answer.reason),
                )
            self.engine.send(ev.AssociateReject(answer))
            self.flush()

    def _extended_answer(
        self, rq: AAssociateRQ, ac: AAssociateAC, policy: Callable[[str, bytes], bytes | None]
    ) -> AAssociateAC:
        """``ac`` with its SOP class extended negotiation answers decided by ``policy``."""
        answers: list[UserSubItem] = []
        for ext in rq.user_information.extended_negotiations:
            try:
                info = policy(ext.sop_class_uid, bytes(ext.application_info))
            except Exception:
                log.exception(
                    "%s: extended negotiation policy failed for %s",
                    self.peer,
                    _printable(ext.sop_class_uid),
                )
                continue
            if info is not None:
                answers.append(SOPClassExtendedNegotiationItem(ext.sop_class_uid, bytes(info)))
        subs: list[UserSubItem] = [
            s
            for s in ac.user_information.sub_items
            if not isinstance(s, SOPClassExtendedNegotiationItem)
        ]
        # before the user identity answer, where accept() puts them
        at = next((i for i, s in enumerate(subs) if isinstance(s, UserIdentityACItem)), len(subs))
        subs[at:at] = answers
        return dataclasses.replace(ac, user_information=UserInformationItem(tuple(subs)))

    def _on_associate_ac(self, ac: AAssociateAC) -> None:
        assert self.engine.associate_rq is not None
        if netlog.pdu_log.isEnabledFor(logging.INFO):
            text = netlog.describe_ac(ac, self.engine.associate_rq)
            netlog.log_lines(netlog.pdu_log, logging.INFO, self.peer, "received " + text)
        try:
            self.negotiated = negotiate(self.engine.associate_rq, ac)
        except RemoteProtocolError as exc:
            self.protocol_abort(exc)
            return
        if not self._established.done():
            self._established.set_result(None)

    def _on_aborted(self, event: ev.Aborted) -> None:
        exc = netlog.aborted_error(event, self.peer, self.error)
        if self.error is None:
            self.error = exc
        self.shutdown(exc)

    def sync_artim(self) -> None:
        """Start, restart or stop the ARTIM timer as the engine says (PS3.8 9.1.5)."""
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
            self._artim = self.clock.call_later(delay, self._artim_fired, self._artim_gen)

    def _artim_fired(self, generation: int) -> None:
        self._artim = None
        log.info("%s: ARTIM timer expired", self.peer)
        self.engine.artim_expired(generation)
        self.flush()
        self._process_events()
        if self.engine.should_close:
            self.shutdown(self.error or NetworkTimeout(f"ARTIM timer expired ({self.peer})"))

    def _mid_message(self) -> bool:
        """Part of a PDU or of a DIMSE message is in, the rest is awaited."""
        return self._user.in_message() or self.engine.buffered > 0

    def _arm_watchdog(self) -> None:
        """Idle timeout (nothing received, nothing pending) and DIMSE timeout (silence in the
        middle of a PDU or message); one timer, re-armed for the nearest deadline."""
        timeouts = self.config.timeouts
        idle, dimse_timeout = timeouts.idle, timeouts.dimse
        if self._closed.is_set() or (idle is None and dimse_timeout is None):
            return
        quiet = self.clock.time() - self._last_activity
        cause = None
        if idle is not None and quiet >= idle and not self._user.has_work():
            cause = f"idle for {quiet:.1f}s (idle timeout {idle}s)"
        elif dimse_timeout is not None and quiet >= dimse_timeout and self._mid_message():
            cause = (
                f"timed out: silent for {quiet:.1f}s in the middle of a message "
                f"(DIMSE timeout {dimse_timeout}s)"
            )
        elif (
            dimse_timeout is not None
            and self._pdu_started is not None
            and (slow := self.clock.time() - self._pdu_started) >= dimse_timeout
        ):  # a byte now and then keeps "quiet" short: the PDU itself must end in time
            cause = (
                f"too slow: a PDU still incomplete after {slow:.1f}s "
                f"(DIMSE timeout {dimse_timeout}s)"
            )
        if cause is not None:
            bad_input(log, "%s: %s, aborting the association", self.peer, cause)
            with contextlib.suppress(LocalProtocolError):
                self.engine.send(ev.Abort(0, 0))
                self.flush()
            self.shutdown(NetworkTimeout(f"{self.peer}: {cause}"))
            return
        left = [t - quiet if quiet < t else t for t in (idle, dimse_timeout) if t is not None]
        if dimse_timeout is not None and self._pdu_started is not None:
            left.append(dimse_timeout - (self.clock.time() - self._pdu_started))
        self._watchdog = self.clock.call_later(max(min(left), 0.01), self._arm_watchdog)

    def shutdown(self, exc: BaseException | None) -> None:
        """End the association (``exc``: why, ``None``: normally) and close the transport."""
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
        gone = exc if exc is not None else AssociationAborted(f"association with {self.peer} ended")
        if not self._established.done():
            self._established.set_exception(
                gone
                if isinstance(gone, NetworkError)
                else TransportError(f"connection to {self.peer} closed before the association")
            )
            self._established.exception()  # an acceptor may have no one waiting for it
        self._user.on_closing(gone)
        self._room.set()
        self.transport.close()
        # nobody is left to answer: stop the reader (the layer above stops its handlers)
        current = asyncio.current_task()
        if self._reader_task is not None and self._reader_task is not current:
            self._reader_task.cancel()
        if self._identity_task is not None and self._identity_task is not current:
            self._identity_task.cancel()


__all__ = ["Link", "LinkUser"]
