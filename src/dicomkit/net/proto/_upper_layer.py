"""The sans-IO upper-layer engine: one per association, requestor or acceptor (PS3.8 7, 9).

In the style of h11: bytes in, events out; events in, bytes out. The engine never touches a
socket or a clock. The driver

* calls :meth:`UpperLayer.connection_made` once the TCP connection is up (Evt2 / Evt5),
* feeds received bytes to :meth:`UpperLayer.receive_data` (``b""`` = the peer closed, Evt17),
* drains :meth:`UpperLayer.next_event` (or iterates :meth:`UpperLayer.events`),
* carries out local requests with :meth:`UpperLayer.send` / :meth:`UpperLayer.send_data`,
* writes what :meth:`UpperLayer.data_to_send` returns after each of the calls above. Every
  outbound byte -- a PDU the user asked for, or an A-ABORT / A-ASSOCIATE-RJ the engine sends
  by itself -- goes through that one buffer (as in h2), so none can be forgotten,
* runs the ARTIM timer: when ``artim_running`` becomes true (or ``artim_generation`` changes)
  it (re)starts a timer and calls :meth:`UpperLayer.artim_expired` with that generation when it
  fires; it cancels the timer when ``artim_running`` becomes false,
* closes the transport when ``should_close`` is true (also signalled by a :class:`Closed` event).

Every transition goes through :func:`dicomkit.net.proto._fsm.step` (PS3.8 Table 9-10), except
P-DATA in Sta6/Sta8: those cells (DT-1, AR-7, DT-2) keep the state, so they are looked up once
and applied directly (see ``_SEND_PDATA``). The outputs of a transition are carried out by a
dispatch table, one small method per :class:`~dicomkit.net.proto._fsm.Output`. The engine's
state is read-only from outside (properties).
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from enum import Enum
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar

from dicomkit.errors import LocalProtocolError, RemoteProtocolError
from dicomkit.net.proto import _events as ev
from dicomkit.net.proto._fsm import (
    ACTIONS,
    TABLE,
    Action,
    Context,
    Event,
    Output,
    State,
    Transition,
    step,
)
from dicomkit.net.proto._items import (
    ABORT_INVALID_PARAMETER,
    ABORT_UNEXPECTED_PDU,
    PDUDecodeError,
)
from dicomkit.net.proto._negotiation import Negotiated, negotiate
from dicomkit.net.proto._pdu import (
    DEFAULT_MAX_ASSOCIATE_PDU_SIZE,
    DEFAULT_MAX_PDU_SIZE,
    PDU,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AReleaseRP,
    AReleaseRQ,
    Buffer,
    PDataTF,
    PDUReader,
    decode_pdu,
    pdata_header,
    pdata_pdus,
    pdata_vectors,
)

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # cheaper to import (see _dataclass)
    from dicomkit._dataclass import dataclass

__all__ = ["Role", "UpperLayer"]


_PDV_HEADER = struct.Struct(">IBB")


class Role(Enum):
    REQUESTOR = "requestor"
    ACCEPTOR = "acceptor"


_PDU_EVENT: dict[type, Event] = {
    AAssociateAC: Event.EVT3,
    AAssociateRJ: Event.EVT4,
    AAssociateRQ: Event.EVT6,
    PDataTF: Event.EVT10,
    AReleaseRQ: Event.EVT12,
    AReleaseRP: Event.EVT13,
    AAbort: Event.EVT16,
}

_PDU_NAME: dict[type, str] = {
    AAssociateAC: "A-ASSOCIATE-AC",
    AAssociateRJ: "A-ASSOCIATE-RJ",
    AAssociateRQ: "A-ASSOCIATE-RQ",
    PDataTF: "P-DATA-TF",
    AReleaseRQ: "A-RELEASE-RQ",
    AReleaseRP: "A-RELEASE-RP",
    AAbort: "A-ABORT",
}


@dataclass(frozen=True, slots=True)
class _Step:
    """What the outputs of one transition may need besides the engine."""

    event: Event
    pdu: PDU | None  # the PDU a local request sends (AC, RJ, P-DATA, A-ABORT)
    received: PDU | None  # the PDU that caused the event
    reason: int  # the provider A-ABORT reason (AA-7, AA-8)


class UpperLayer:
    """The upper-layer protocol machine of one association (PS3.8 9.2).

    ``max_pdu_size`` caps the variable field of any received PDU and ``max_associate_size``
    that of a received A-ASSOCIATE-RQ/AC; a larger declared length aborts at once (AA-8,
    invalid PDU parameter) without buffering the body.
    """

    def __init__(
        self,
        role: Role,
        *,
        max_pdu_size: int = DEFAULT_MAX_PDU_SIZE,
        max_associate_size: int = DEFAULT_MAX_ASSOCIATE_PDU_SIZE,
    ) -> None:
        self._role = role
        self._plain_context = Context(is_requestor=role is Role.REQUESTOR)
        self._state = State.STA1
        self._reader = PDUReader(max_pdu_size, max_associate_size)
        self._events: deque[ev.OutputEvent] = deque()
        self._outbound: list[bytes] = []
        self._transport_up = False
        self._framing_lost = False
        self._artim_running = False
        self._artim_generation = 0
        self._should_close = False
        self._error: RemoteProtocolError | None = None
        self._associate_rq: AAssociateRQ | None = None
        self._associate_ac: AAssociateAC | None = None
        self._associate_rj: AAssociateRJ | None = None
        self._accepted: frozenset[int] = frozenset()
        self._peer_max_pdu_length = 0
        self._last_action: Action | None = None
        self._negotiated: Negotiated | None = None

    # -- read-only state -------------------------------------------------------------------

    @property
    def role(self) -> Role:
        return self._role

    @property
    def state(self) -> State:
        """The PS3.8 state (Sta1..Sta13)."""
        return self._state

    @property
    def artim_running(self) -> bool:
        """The ARTIM timer should be running (the driver runs it, PS3.8 9.1.5)."""
        return self._artim_running

    @property
    def artim_generation(self) -> int:
        """Changes each time the ARTIM timer is (re)started; pass it to :meth:`artim_expired`."""
        return self._artim_generation

    @property
    def should_close(self) -> bool:
        """The transport connection should be closed."""
        return self._should_close

    @property
    def error(self) -> RemoteProtocolError | None:
        """Why the engine aborted, when the peer broke the protocol."""
        return self._error

    @property
    def associate_rq(self) -> AAssociateRQ | None:
        return self._associate_rq

    @property
    def associate_ac(self) -> AAssociateAC | None:
        return self._associate_ac

    @property
    def associate_rj(self) -> AAssociateRJ | None:
        return self._associate_rj

    @property
    def accepted_context_ids(self) -> frozenset[int]:
        return self._accepted

    @property
    def peer_max_pdu_length(self) -> int:
        """The peer's Maximum Length (PS3.8 D.1); 0: no limit."""
        return self._peer_max_pdu_length

    @property
    def last_action(self) -> Action | None:
        """The PS3.8 action of the last transition (AE-1 ... AA-8)."""
        return self._last_action

    @property
    def negotiated(self) -> Negotiated | None:
        """The agreed contexts, roles and limits once the A-ASSOCIATE-AC is sent / received."""
        if (
            self._negotiated is None
            and self._associate_rq is not None
            and self._associate_ac is not None
        ):
            self._negotiated = negotiate(self._associate_rq, self._associate_ac)
        return self._negotiated

    @property
    def is_requestor(self) -> bool:
        return self._role is Role.REQUESTOR

    @property
    def is_established(self) -> bool:
        """Data may be sent (Sta6, or Sta8 after a peer's release request)."""
        return self._state in (State.STA6, State.STA8)

    @property
    def is_closed(self) -> bool:
        """The association is over: idle again after having been used."""
        return self._state is State.STA1 and self._should_close

    @property
    def buffered(self) -> int:
        """Bytes received and not yet framed into a whole PDU (part of a PDU is in)."""
        return self._reader.buffered

    # -- the outbound buffer ---------------------------------------------------------------

    def data_to_send(self) -> list[bytes]:
        """The PDUs to write, in order (each a ``bytes``), and empties the buffer. Call it
        after every input and request; an empty list means nothing to write."""
        out = self._outbound
        if out:
            self._outbound = []
        return out

    # -- transport inputs ------------------------------------------------------------------

    def connection_made(self) -> None:
        """The transport connection is open (Evt2 for the requestor, Evt5 for the acceptor).

        The requestor may call this before or after sending :class:`AssociateRequest`; the
        A-ASSOCIATE-RQ goes out with whichever call comes second.
        """
        if self._transport_up:
            raise LocalProtocolError("connection_made() called twice")
        self._transport_up = True
        if self.is_requestor:
            if self._state is not State.STA1:
                self._run(Event.EVT2)
            # else AE-1 comes with the A-ASSOCIATE request
            return
        self._run(Event.EVT5)

    def connection_lost(self) -> None:
        """The transport connection closed (Evt17)."""
        if self._state is State.STA1:
            self._should_close = True
            return
        self._run(Event.EVT17)

    def artim_expired(self, generation: int | None = None) -> None:
        """The ARTIM timer fired (Evt18). Stale timers (not running, old generation) are ignored."""
        if not self._artim_running or (
            generation is not None and generation != self._artim_generation
        ):
            return
        if (self._state, Event.EVT18) not in TABLE:  # blank cell: a timer left running
            self._artim_running = False
            return
        self._run(Event.EVT18)

    def receive_data(self, data: Buffer) -> None:
        """Feed bytes from the peer; ``b""`` means end of stream."""
        if not data:
            self.connection_lost()
            return
        if self._state is State.STA1:
            return  # no association: nothing to do with stray bytes
        if self._state is State.STA4:
            raise LocalProtocolError("data received before connection_made()")
        if self._framing_lost:
            return  # after a framing error the stream cannot be resynchronised
        reader = self._reader
        reader.feed(data)
        while self._active():
            try:
                raw = reader.next_raw()
                if raw is None:
                    break
                if raw[0] == 0x04 and self._state is State.STA6:
                    pdvs = self._pdata_fast(raw)
                    if pdvs is not None:
                        # DT-2 (Sta6 -> Sta6, P-DATA indication), as step() would do it
                        self._events.extend(pdvs)
                        self._last_action = _RECEIVE_PDATA
                        continue
                pdu = decode_pdu(raw)
            except PDUDecodeError as exc:
                # framing is lost: drop what is buffered and ignore what follows
                self._framing_lost = True
                self._reader = PDUReader(reader.max_pdu_size, reader.max_associate_size)
                self._remote_error(Event.EVT19, exc)
                break
            self._receive_pdu(pdu)

    def _pdata_fast(self, raw: bytes | memoryview) -> list[ev.PDVReceived] | None:
        """The PDVs of a well-formed P-DATA-TF on accepted contexts, straight to events (no
        PDU objects); ``None`` for anything unusual, which then takes the general path
        (:meth:`PDataTF.decode`, :meth:`_receive_pdu`) and its errors."""
        mv = memoryview(raw)
        if mv.format != "B" or mv.ndim != 1:
            return None
        end = len(mv)
        pos = 6
        accepted = self._accepted
        unpack = _PDV_HEADER.unpack_from
        found: list[ev.PDVReceived] = []
        while pos < end:
            if pos + 6 > end:
                return None
            length, ctx, mch = unpack(mv, pos)
            stop = pos + 4 + length
            if length < 2 or stop > end or mch > 3 or ctx not in accepted:
                return None
            found.append(ev.PDVReceived(ctx, bool(mch & 1), bool(mch & 2), mv[pos + 6 : stop]))
            pos = stop
        return found or None

    # -- user inputs -----------------------------------------------------------------------

    def send(self, event: ev.InputEvent) -> None:
        """Carry out a local request or response; its PDU goes to :meth:`data_to_send`.

        Raises ``LocalProtocolError`` (and changes nothing) when the event is not allowed in
        the current state or role.
        """
        if isinstance(event, ev.AssociateRequest):
            self._require(self.is_requestor, "only the requestor sends A-ASSOCIATE-RQ")
            self._check(Event.EVT1)
            self._associate_rq = event.pdu
            self._run(Event.EVT1)
            if self._transport_up:
                self._run(Event.EVT2)
        elif isinstance(event, ev.AssociateAccept):
            self._require(not self.is_requestor, "only the acceptor sends A-ASSOCIATE-AC")
            self._check(Event.EVT7)
            self._associate_ac = event.pdu
            self._accepted = frozenset(
                pc.context_id for pc in event.pdu.presentation_contexts if pc.result == 0
            )
            assert self._associate_rq is not None
            self._peer_max_pdu_length = self._associate_rq.user_information.max_length or 0
            self._run(Event.EVT7, pdu=event.pdu)
        elif isinstance(event, ev.AssociateReject):
            self._require(not self.is_requestor, "only the acceptor sends A-ASSOCIATE-RJ")
            self._check(Event.EVT8)
            self._associate_rj = event.pdu
            self._run(Event.EVT8, pdu=event.pdu)
        elif isinstance(event, ev.PData):
            self._check(Event.EVT9)
            pdu = PDataTF(event.pdvs)
            self._check_pdata(pdu)
            self._run(Event.EVT9, pdu=pdu)
        elif isinstance(event, ev.ReleaseRequest):
            self._run(Event.EVT11)
        elif isinstance(event, ev.ReleaseResponse):
            self._run(Event.EVT14)
        elif isinstance(event, ev.Abort):
            self._run(Event.EVT15, pdu=AAbort(event.source, event.reason))
        else:
            raise TypeError(f"not an input event: {event!r}")

    def send_data(
        self, context_id: int, data: Buffer, *, is_command: bool, last: bool = True
    ) -> None:
        """Send a command or data set fragment as P-DATA-TF PDUs (PS3.7 E.2, PS3.8 9.3.5).

        ``data`` is split to the peer's maximum PDU length, each PDU one PDV (by
        :func:`~dicomkit.net.proto._pdu.pdata_pdus`, the one fragmenter); the payload is copied
        once. ``last`` sets the last-fragment bit on the final PDV, so a large data set can be
        sent in pieces (``last=False`` for all but the final piece).
        """
        self._sending_pdata(context_id)
        self._outbound.extend(
            pdata_pdus(
                context_id,
                data,
                is_command=is_command,
                last=last,
                max_pdu_length=self._peer_max_pdu_length,
            )
        )

    def data_vectors(
        self, context_id: int, data: Buffer, *, is_command: bool, last: bool = True
    ) -> list[Buffer]:
        """:meth:`send_data` without the copy: the PDUs are returned, not queued, each as its
        header bytes followed by a view of ``data``
        (:func:`~dicomkit.net.proto._pdu.pdata_vectors`), for a gathering write made at once
        -- after :meth:`data_to_send`'s PDUs and before ``data`` changes."""
        self._sending_pdata(context_id)
        return pdata_vectors(
            context_id,
            data,
            is_command=is_command,
            last=last,
            max_pdu_length=self._peer_max_pdu_length,
        )

    def data_header(self, context_id: int, size: int, *, last: bool) -> bytes:
        """The 12 header bytes of one P-DATA-TF PDU of one data set PDV of ``size`` bytes
        (at most the peer's maximum PDU length less 6), for a caller that writes the value
        itself (``os.sendfile``) right after it; checked as :meth:`send_data` is."""
        self._sending_pdata(context_id)
        if self._peer_max_pdu_length and size + 6 > self._peer_max_pdu_length:
            raise LocalProtocolError(
                f"a PDV of {size} bytes does not fit the peer's maximum PDU length "
                f"{self._peer_max_pdu_length}"
            )
        return pdata_header(context_id, size, is_command=False, last=last)

    def _sending_pdata(self, context_id: int) -> None:
        """P-DATA request (Evt9) checks: the state allows it, the context is accepted."""
        action = _SEND_PDATA.get(self._state)
        if action is None:
            self._check(Event.EVT9)  # a blank cell of Table 9-10: raises
            raise AssertionError(self._state)  # pragma: no cover
        self._check_context(context_id)
        # DT-1 / AR-7 keep the state and only send: applied without step() per PDU
        self._last_action = action

    def next_event(self) -> ev.OutputEvent | None:
        """The next indication or confirmation, or ``None`` when more data are needed."""
        return self._events.popleft() if self._events else None

    def events(self) -> Iterator[ev.OutputEvent]:
        """Drain the pending events."""
        while self._events:
            yield self._events.popleft()

    # -- internals -------------------------------------------------------------------------

    def _active(self) -> bool:
        return self._state is not State.STA1  # (a call: the state changes inside the loop)

    def _require(self, ok: bool, message: str) -> None:
        if not ok:
            raise LocalProtocolError(message)

    def _check(self, event: Event) -> None:
        if (self._state, event) not in TABLE:
            raise LocalProtocolError(
                f"event {event} is not allowed in state {self._state} (PS3.8 Table 9-10)"
            )

    def _check_context(self, context_id: int) -> None:
        if context_id not in self._accepted:
            raise LocalProtocolError(f"presentation context {context_id} was not accepted")

    def _check_pdata(self, pdu: PDataTF) -> None:
        size = 0
        for p in pdu.pdvs:
            self._check_context(p.context_id)
            size += 6 + len(p.data)
        if self._peer_max_pdu_length and size > self._peer_max_pdu_length:
            raise LocalProtocolError(
                f"P-DATA-TF of {size} bytes exceeds the peer's maximum length "
                f"{self._peer_max_pdu_length}"
            )

    def _context(self, abort: AAbort | None = None, acceptable: bool = True) -> Context:
        if abort is None and acceptable:
            return self._plain_context  # the common case, built once
        return Context(
            is_requestor=self.is_requestor,
            rq_acceptable=acceptable,
            abort_from_user=abort is None or abort.source != 2,
        )

    def _receive_pdu(self, pdu: PDU) -> None:
        event = _PDU_EVENT[type(pdu)]
        if isinstance(pdu, PDataTF) and self._state in (State.STA6, State.STA7):
            for p in pdu.pdvs:
                if p.context_id not in self._accepted:
                    self._remote_error(
                        Event.EVT19,
                        PDUDecodeError(
                            f"PDV for presentation context {p.context_id}, which was not accepted",
                            where="P-DATA-TF",
                            abort_reason=ABORT_INVALID_PARAMETER,
                        ),
                    )
                    return
        if isinstance(pdu, AAssociateRQ) and self._state is State.STA2:
            self._associate_rq = pdu
            if not pdu.protocol_version & 1:
                # AE-6, not acceptable: protocol version not supported (PS3.8 9.3.4)
                self._associate_rj = AAssociateRJ(1, 2, 2)
                self._run(event, pdu=self._associate_rj, acceptable=False)
                return
        if isinstance(pdu, AAssociateAC) and self._state is State.STA5:
            assert self._associate_rq is not None
            try:
                self._negotiated = negotiate(self._associate_rq, pdu)
            except RemoteProtocolError as exc:
                self._remote_error(Event.EVT19, PDUDecodeError(str(exc), where="A-ASSOCIATE-AC"))
                return
            self._associate_ac = pdu
            self._accepted = frozenset(
                pc.context_id for pc in pdu.presentation_contexts if pc.result == 0
            )
            self._peer_max_pdu_length = pdu.user_information.max_length or 0
        if (self._state, event) in _UNEXPECTED:
            self._error = RemoteProtocolError(
                f"unexpected {_PDU_NAME[type(pdu)]} PDU in state {self._state}"
            )
        self._run(event, received=pdu)

    def _remote_error(self, event: Event, exc: PDUDecodeError) -> None:
        self._error = exc
        self._run(event, reason=exc.abort_reason)

    def _run(
        self,
        event: Event,
        *,
        pdu: PDU | None = None,
        received: PDU | None = None,
        acceptable: bool = True,
        reason: int = ABORT_UNEXPECTED_PDU,
    ) -> None:
        """One transition of Table 9-10: look the cell up, carry out its outputs in order."""
        abort = received if isinstance(received, AAbort) else None
        action, transition = step(self._state, event, self._context(abort, acceptable))
        here = _Step(event, pdu, received, reason)
        effects = self._EFFECTS
        for output in transition.outputs:
            effects[output](self, here)
        self._last_action = action
        previous, self._state = self._state, transition.state
        if self._state is State.STA1 and previous is not State.STA1:
            self._artim_running = False
            self._should_close = True
            self._events.append(ev.Closed())

    # -- the outputs of Table 9-10's actions, one method each ------------------------------

    def _send_associate_rq(self, _s: _Step) -> None:
        assert self._associate_rq is not None
        self._outbound.append(self._associate_rq.encode())

    def _send_given(self, s: _Step) -> None:
        # A-ASSOCIATE-AC / -RJ / P-DATA-TF from send(); send_data() encodes its own PDUs
        if s.pdu is not None:
            self._outbound.append(s.pdu.encode())

    def _send_release_rq(self, _s: _Step) -> None:
        self._outbound.append(AReleaseRQ().encode())

    def _send_release_rp(self, _s: _Step) -> None:
        self._outbound.append(AReleaseRP().encode())

    def _send_abort(self, s: _Step) -> None:
        self._outbound.append((s.pdu if isinstance(s.pdu, AAbort) else AAbort(0, 0)).encode())

    def _send_abort_provider(self, s: _Step) -> None:
        self._outbound.append(AAbort(2, s.reason).encode())

    def _indicate_associate(self, s: _Step) -> None:
        assert isinstance(s.received, AAssociateRQ)
        self._events.append(ev.AssociateRequested(s.received))

    def _confirm_accept(self, s: _Step) -> None:
        assert isinstance(s.received, AAssociateAC)
        self._events.append(ev.AssociateAccepted(s.received))

    def _confirm_reject(self, s: _Step) -> None:
        assert isinstance(s.received, AAssociateRJ)
        self._associate_rj = s.received
        self._events.append(ev.AssociateRejected(s.received))

    def _indicate_pdata(self, s: _Step) -> None:
        assert isinstance(s.received, PDataTF)
        self._events.extend(
            ev.PDVReceived(p.context_id, p.is_command, p.is_last, p.data) for p in s.received.pdvs
        )

    def _indicate_release(self, _s: _Step) -> None:
        self._events.append(ev.ReleaseRequested(False))

    def _indicate_release_collision(self, _s: _Step) -> None:
        self._events.append(ev.ReleaseRequested(True))

    def _confirm_release(self, _s: _Step) -> None:
        self._events.append(ev.ReleaseConfirmed())

    def _indicate_abort(self, s: _Step) -> None:
        assert isinstance(s.received, AAbort)
        self._events.append(ev.Aborted(s.received.source, s.received.reason, False))

    def _indicate_p_abort(self, s: _Step) -> None:
        if isinstance(s.received, AAbort):
            self._events.append(ev.Aborted(s.received.source, s.received.reason, True))
        elif s.event is Event.EVT17:
            self._events.append(ev.Aborted(2, 0, True))
        else:  # AA-8: we abort because the peer broke the protocol
            self._events.append(ev.Aborted(2, s.reason, True, self._error))

    def _start_artim(self, _s: _Step) -> None:
        self._artim_running = True
        self._artim_generation += 1

    def _stop_artim(self, _s: _Step) -> None:
        self._artim_running = False

    def _close_transport(self, _s: _Step) -> None:
        self._should_close = True

    def _transport_connect(self, _s: _Step) -> None:
        pass  # AE-1: the driver connects before or after; nothing to emit

    _EFFECTS: ClassVar[Mapping[Output, Callable[[UpperLayer, _Step], None]]] = MappingProxyType(
        {
            Output.TRANSPORT_CONNECT: _transport_connect,
            Output.SEND_ASSOCIATE_RQ: _send_associate_rq,
            Output.SEND_ASSOCIATE_AC: _send_given,
            Output.SEND_ASSOCIATE_RJ: _send_given,
            Output.SEND_PDATA: _send_given,
            Output.SEND_RELEASE_RQ: _send_release_rq,
            Output.SEND_RELEASE_RP: _send_release_rp,
            Output.SEND_ABORT: _send_abort,
            Output.SEND_ABORT_PROVIDER: _send_abort_provider,
            Output.INDICATE_ASSOCIATE: _indicate_associate,
            Output.CONFIRM_ACCEPT: _confirm_accept,
            Output.CONFIRM_REJECT: _confirm_reject,
            Output.INDICATE_PDATA: _indicate_pdata,
            Output.INDICATE_RELEASE: _indicate_release,
            Output.INDICATE_RELEASE_COLLISION: _indicate_release_collision,
            Output.CONFIRM_RELEASE: _confirm_release,
            Output.INDICATE_ABORT: _indicate_abort,
            Output.INDICATE_P_ABORT: _indicate_p_abort,
            Output.START_ARTIM: _start_artim,
            Output.STOP_ARTIM: _stop_artim,
            Output.CLOSE_TRANSPORT: _close_transport,
        }
    )
    if set(_EFFECTS) != set(Output):
        raise RuntimeError("every Output of the state table needs its effect in UpperLayer")


# The P-DATA fast paths (send_data, and a P-DATA-TF received in Sta6) apply these Table 9-10
# cells without calling step() for each PDU: each keeps the state and only sends, or only
# indicates. Checked here, so an edit of the table cannot be silently bypassed.
_SEND_PDATA: dict[State, Action] = {
    state: action for (state, event), action in TABLE.items() if event is Event.EVT9
}
_RECEIVE_PDATA: Action = TABLE[(State.STA6, Event.EVT10)]


def _check_fast_paths() -> None:
    for is_requestor in (True, False):
        ctx = Context(is_requestor=is_requestor)
        for state, action in _SEND_PDATA.items():
            if ACTIONS[action](ctx) != Transition(state, (Output.SEND_PDATA,)):
                raise RuntimeError(f"P-DATA send fast path does not match {action}")
        if ACTIONS[_RECEIVE_PDATA](ctx) != Transition(State.STA6, (Output.INDICATE_PDATA,)):
            raise RuntimeError(f"P-DATA receive fast path does not match {_RECEIVE_PDATA}")


_check_fast_paths()

# Cells where a well-formed PDU arrives at the wrong time: Table 9-10 answers with an abort.
_UNEXPECTED = frozenset(
    cell
    for cell, action in TABLE.items()
    if action in (Action.AA_1, Action.AA_7, Action.AA_8) and cell[1] in _PDU_EVENT.values()
)
