"""The sans-IO upper-layer engine: one per association, requestor or acceptor (PS3.8 7, 9).

In the style of h11: bytes in, events out; events in, bytes out. The engine never touches a
socket or a clock. The driver

* calls :meth:`UpperLayer.connection_made` once the TCP connection is up (Evt2 / Evt5),
* feeds received bytes to :meth:`UpperLayer.receive_data` (``b""`` = the peer closed, Evt17)
  and writes whatever bytes it returns (an A-ABORT or A-ASSOCIATE-RJ the engine sends itself),
* drains :meth:`UpperLayer.next_event` (or iterates :meth:`UpperLayer.events`),
* writes the bytes returned by :meth:`UpperLayer.send` / :meth:`UpperLayer.send_data`,
* runs the ARTIM timer: when ``artim_running`` becomes true (or ``artim_generation`` changes)
  it (re)starts a timer and calls :meth:`UpperLayer.artim_expired` with that generation when it
  fires; it cancels the timer when ``artim_running`` becomes false,
* closes the transport when ``should_close`` is true (also signalled by a :class:`Closed` event).

Every transition goes through :func:`dicomkit.net.proto.fsm.step` (PS3.8 Table 9-10), except
P-DATA in Sta6/Sta8: those cells (DT-1, AR-7, DT-2) keep the state, so they are looked up once
and applied directly (see ``_SEND_PDATA``).
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterator
from enum import Enum

from dicomkit.errors import LocalProtocolError, RemoteProtocolError
from dicomkit.net.proto import events as ev
from dicomkit.net.proto.fsm import (
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
from dicomkit.net.proto.items import (
    ABORT_INVALID_PARAMETER,
    ABORT_UNEXPECTED_PDU,
    PDUDecodeError,
)
from dicomkit.net.proto.negotiation import Negotiated, negotiate
from dicomkit.net.proto.pdu import (
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
    pdata_pdus,
)

__all__ = ["Role", "UpperLayer"]


# One P-DATA-TF holding one PDV (PS3.8 9.3.5): PDU type, reserved, PDU length, PDV length,
# presentation context ID, message control header.
_PDATA_HEAD = struct.Struct(">BBIIBB")
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
        self.role = role
        self._plain_context = Context(is_requestor=role is Role.REQUESTOR)
        self.state = State.STA1
        self._reader = PDUReader(max_pdu_size, max_associate_size)
        self._events: deque[ev.OutputEvent] = deque()
        self._transport_up = False
        self._framing_lost = False
        self.artim_running = False
        self.artim_generation = 0
        self.should_close = False
        self.error: RemoteProtocolError | None = None
        self.associate_rq: AAssociateRQ | None = None
        self.associate_ac: AAssociateAC | None = None
        self.associate_rj: AAssociateRJ | None = None
        self.accepted_context_ids: frozenset[int] = frozenset()
        self.peer_max_pdu_length = 0
        self.last_action: Action | None = None
        self._negotiated: Negotiated | None = None

    # -- properties ------------------------------------------------------------------------

    @property
    def negotiated(self) -> Negotiated | None:
        """The agreed contexts, roles and limits once the A-ASSOCIATE-AC is sent / received."""
        if (
            self._negotiated is None
            and self.associate_rq is not None
            and self.associate_ac is not None
        ):
            self._negotiated = negotiate(self.associate_rq, self.associate_ac)
        return self._negotiated

    @property
    def is_requestor(self) -> bool:
        return self.role is Role.REQUESTOR

    @property
    def is_established(self) -> bool:
        """Data may be sent (Sta6, or Sta8 after a peer's release request)."""
        return self.state in (State.STA6, State.STA8)

    @property
    def is_closed(self) -> bool:
        """The association is over: idle again after having been used."""
        return self.state is State.STA1 and self.should_close

    # -- transport inputs ------------------------------------------------------------------

    def connection_made(self) -> bytes:
        """The transport connection is open (Evt2 for the requestor, Evt5 for the acceptor).

        The requestor may call this before or after sending :class:`AssociateRequest`; the
        A-ASSOCIATE-RQ bytes are returned by whichever call comes second.
        """
        if self._transport_up:
            raise LocalProtocolError("connection_made() called twice")
        self._transport_up = True
        if self.is_requestor:
            if self.state is State.STA1:
                return b""  # AE-1 comes with the A-ASSOCIATE request
            return self._run(Event.EVT2)
        return self._run(Event.EVT5)

    @property
    def buffered(self) -> int:
        """Bytes received and not yet framed into a whole PDU (part of a PDU is in)."""
        return self._reader.buffered

    def connection_lost(self) -> None:
        """The transport connection closed (Evt17)."""
        if self.state is State.STA1:
            self.should_close = True
            return
        self._run(Event.EVT17)

    def artim_expired(self, generation: int | None = None) -> bytes:
        """The ARTIM timer fired (Evt18). Stale timers (not running, old generation) are ignored."""
        if not self.artim_running or (
            generation is not None and generation != self.artim_generation
        ):
            return b""
        if (self.state, Event.EVT18) not in TABLE:  # blank cell: a timer left running
            self.artim_running = False
            return b""
        return self._run(Event.EVT18)

    def receive_data(self, data: Buffer) -> bytes:
        """Feed bytes from the peer; ``b""`` means end of stream. Returns bytes to write."""
        if not data:
            self.connection_lost()
            return b""
        if self.state is State.STA1:
            return b""  # no association: nothing to do with stray bytes
        if self.state is State.STA4:
            raise LocalProtocolError("data received before connection_made()")
        if self._framing_lost:
            return b""  # after a framing error the stream cannot be resynchronised
        reader = self._reader
        reader.feed(data)
        out: list[bytes] = []
        while self._active():
            try:
                raw = reader.next_raw()
                if raw is None:
                    break
                if raw[0] == 0x04 and self.state is State.STA6:
                    pdvs = self._pdata_fast(raw)
                    if pdvs is not None:
                        # DT-2 (Sta6 -> Sta6, P-DATA indication), as step() would do it
                        self._events.extend(pdvs)
                        self.last_action = _RECEIVE_PDATA
                        continue
                pdu = decode_pdu(raw)
            except PDUDecodeError as exc:
                # framing is lost: drop what is buffered and ignore what follows
                self._framing_lost = True
                self._reader = PDUReader(reader.max_pdu_size, reader.max_associate_size)
                out.append(self._remote_error(Event.EVT19, exc))
                break
            out.append(self._receive_pdu(pdu))
        return b"".join(out)

    def _pdata_fast(self, raw: bytes | memoryview) -> list[ev.PDVReceived] | None:
        """The PDVs of a well-formed P-DATA-TF on accepted contexts, straight to events (no
        PDU objects); ``None`` for anything unusual, which then takes the general path
        (:meth:`PDataTF.decode`, :meth:`_receive_pdu`) and its errors."""
        mv = memoryview(raw)
        if mv.format != "B" or mv.ndim != 1:
            return None
        end = len(mv)
        pos = 6
        accepted = self.accepted_context_ids
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

    def send(self, event: ev.InputEvent) -> bytes:
        """Carry out a local request or response; return the bytes to write.

        Raises ``LocalProtocolError`` (and changes nothing) when the event is not allowed in
        the current state or role.
        """
        if isinstance(event, ev.AssociateRequest):
            self._require(self.is_requestor, "only the requestor sends A-ASSOCIATE-RQ")
            self._check(Event.EVT1)
            self.associate_rq = event.pdu
            self._run(Event.EVT1)
            return self._run(Event.EVT2) if self._transport_up else b""
        if isinstance(event, ev.AssociateAccept):
            self._require(not self.is_requestor, "only the acceptor sends A-ASSOCIATE-AC")
            self._check(Event.EVT7)
            self.associate_ac = event.pdu
            self.accepted_context_ids = frozenset(
                pc.context_id for pc in event.pdu.presentation_contexts if pc.result == 0
            )
            assert self.associate_rq is not None
            self.peer_max_pdu_length = self.associate_rq.user_information.max_length or 0
            return self._run(Event.EVT7, pdu=event.pdu)
        if isinstance(event, ev.AssociateReject):
            self._require(not self.is_requestor, "only the acceptor sends A-ASSOCIATE-RJ")
            self._check(Event.EVT8)
            self.associate_rj = event.pdu
            return self._run(Event.EVT8, pdu=event.pdu)
        if isinstance(event, ev.PData):
            self._check(Event.EVT9)
            pdu = PDataTF(event.pdvs)
            self._check_pdata(pdu)
            return self._run(Event.EVT9, pdu=pdu)
        if isinstance(event, ev.ReleaseRequest):
            return self._run(Event.EVT11)
        if isinstance(event, ev.ReleaseResponse):
            return self._run(Event.EVT14)
        if isinstance(event, ev.Abort):
            return self._run(Event.EVT15, pdu=AAbort(event.source, event.reason))
        raise TypeError(f"not an input event: {event!r}")

    def send_data(
        self, context_id: int, data: Buffer, *, is_command: bool, last: bool = True
    ) -> list[bytes]:
        """Send a command or data set fragment as P-DATA-TF PDUs (PS3.7 E.2, PS3.8 9.3.5).

        ``data`` is split to the peer's maximum PDU length, each PDU one PDV; the payload is
        copied once. ``last`` sets the last-fragment bit on the final PDV, so a large data set
        can be sent in pieces (``last=False`` for all but the final piece).
        """
        action = _SEND_PDATA.get(self.state)
        if action is None:
            self._check(Event.EVT9)  # a blank cell of Table 9-10: raises
            raise AssertionError(self.state)  # pragma: no cover
        self._check_context(context_id)
        # DT-1 / AR-7 keep the state and only send: applied without step() per PDU
        limit = self.peer_max_pdu_length
        if type(data) is bytes and (not limit or (limit >= 7 and len(data) + 6 <= limit)):
            n = len(data)
            self.last_action = action
            mch = (1 if is_command else 0) | (2 if last else 0)
            return [_PDATA_HEAD.pack(0x04, 0, n + 6, n + 2, context_id, mch) + data]
        out = list(
            pdata_pdus(
                context_id,
                data,
                is_command=is_command,
                last=last,
                max_pdu_length=limit,
            )
        )
        self.last_action = action
        return out

    def next_event(self) -> ev.OutputEvent | None:
        """The next indication or confirmation, or ``None`` when more data are needed."""
        return self._events.popleft() if self._events else None

    def events(self) -> Iterator[ev.OutputEvent]:
        """Drain the pending events."""
        while self._events:
            yield self._events.popleft()

    # -- internals -------------------------------------------------------------------------

    def _active(self) -> bool:
        return self.state is not State.STA1

    def _require(self, ok: bool, message: str) -> None:
        if not ok:
            raise LocalProtocolError(message)

    def _check(self, event: Event) -> None:
        if (self.state, event) not in TABLE:
            raise LocalProtocolError(
                f"event {event} is not allowed in state {self.state} (PS3.8 Table 9-10)"
            )

    def _check_context(self, context_id: int) -> None:
        if context_id not in self.accepted_context_ids:
            raise LocalProtocolError(f"presentation context {context_id} was not accepted")

    def _check_pdata(self, pdu: PDataTF) -> None:
        size = 0
        for p in pdu.pdvs:
            self._check_context(p.context_id)
            size += 6 + len(p.data)
        if self.peer_max_pdu_length and size > self.peer_max_pdu_length:
            raise LocalProtocolError(
                f"P-DATA-TF of {size} bytes exceeds the peer's maximum length "
                f"{self.peer_max_pdu_length}"
            )

    def _context(self, abort: AAbort | None = None, acceptable: bool = True) -> Context:
        if abort is None and acceptable:
            return self._plain_context  # the common case, built once
        return Context(
            is_requestor=self.is_requestor,
            rq_acceptable=acceptable,
            abort_from_user=abort is None or abort.source != 2,
        )

    def _receive_pdu(self, pdu: PDU) -> bytes:
        event = _PDU_EVENT[type(pdu)]
        if isinstance(pdu, PDataTF) and self.state in (State.STA6, State.STA7):
            for p in pdu.pdvs:
                if p.context_id not in self.accepted_context_ids:
                    return self._remote_error(
                        Event.EVT19,
                        PDUDecodeError(
                            f"PDV for presentation context {p.context_id}, which was not accepted",
                            where="P-DATA-TF",
                            abort_reason=ABORT_INVALID_PARAMETER,
                        ),
                    )
        if isinstance(pdu, AAssociateRQ) and self.state is State.STA2:
            self.associate_rq = pdu
            if not pdu.protocol_version & 1:
                # AE-6, not acceptable: protocol version not supported (PS3.8 9.3.4)
                self.associate_rj = AAssociateRJ(1, 2, 2)
                return self._run(event, pdu=self.associate_rj, acceptable=False)
        if isinstance(pdu, AAssociateAC) and self.state is State.STA5:
            assert self.associate_rq is not None
            try:
                self._negotiated = negotiate(self.associate_rq, pdu)
            except RemoteProtocolError as exc:
                return self._remote_error(
                    Event.EVT19, PDUDecodeError(str(exc), where="A-ASSOCIATE-AC")
                )
            self.associate_ac = pdu
            self.accepted_context_ids = frozenset(
                pc.context_id for pc in pdu.presentation_contexts if pc.result == 0
            )
            self.peer_max_pdu_length = pdu.user_information.max_length or 0
        if (self.state, event) in _UNEXPECTED:
            self.error = RemoteProtocolError(
                f"unexpected {_PDU_NAME[type(pdu)]} PDU in state {self.state}"
            )
        return self._run(event, received=pdu)

    def _remote_error(self, event: Event, exc: PDUDecodeError) -> bytes:
        self.error = exc
        return self._run(event, reason=exc.abort_reason)

    def _run(
        self,
        event: Event,
        *,
        pdu: PDU | None = None,
        received: PDU | None = None,
        acceptable: bool = True,
        reason: int = ABORT_UNEXPECTED_PDU,
    ) -> bytes:
        abort = received if isinstance(received, AAbort) else None
        action, transition = step(self.state, event, self._context(abort, acceptable))
        out: list[bytes] = []
        for o in transition.outputs:
            if o is Output.SEND_ASSOCIATE_RQ:
                assert self.associate_rq is not None
                out.append(self.associate_rq.encode())
            elif o in (Output.SEND_ASSOCIATE_AC, Output.SEND_ASSOCIATE_RJ, Output.SEND_PDATA):
                if pdu is not None:  # send_data() encodes its own P-DATA-TF
                    out.append(pdu.encode())
            elif o is Output.SEND_RELEASE_RQ:
                out.append(AReleaseRQ().encode())
            elif o is Output.SEND_RELEASE_RP:
                out.append(AReleaseRP().encode())
            elif o is Output.SEND_ABORT:
                out.append((pdu if isinstance(pdu, AAbort) else AAbort(0, 0)).encode())
            elif o is Output.SEND_ABORT_PROVIDER:
                out.append(AAbort(2, reason).encode())
            elif o is Output.INDICATE_ASSOCIATE:
                assert isinstance(received, AAssociateRQ)
                self._events.append(ev.AssociateRequested(received))
            elif o is Output.CONFIRM_ACCEPT:
                assert isinstance(received, AAssociateAC)
                self._events.append(ev.AssociateAccepted(received))
            elif o is Output.CONFIRM_REJECT:
                assert isinstance(received, AAssociateRJ)
                self.associate_rj = received
                self._events.append(ev.AssociateRejected(received))
            elif o is Output.INDICATE_PDATA:
                assert isinstance(received, PDataTF)
                self._events.extend(
                    ev.PDVReceived(p.context_id, p.is_command, p.is_last, p.data)
                    for p in received.pdvs
                )
            elif o is Output.INDICATE_RELEASE:
                self._events.append(ev.ReleaseRequested(False))
            elif o is Output.INDICATE_RELEASE_COLLISION:
                self._events.append(ev.ReleaseRequested(True))
            elif o is Output.CONFIRM_RELEASE:
                self._events.append(ev.ReleaseConfirmed())
            elif o is Output.INDICATE_ABORT:
                assert abort is not None
                self._events.append(ev.Aborted(abort.source, abort.reason, False))
            elif o is Output.INDICATE_P_ABORT:
                if abort is not None:
                    self._events.append(ev.Aborted(abort.source, abort.reason, True))
                elif event is Event.EVT17:
                    self._events.append(ev.Aborted(2, 0, True))
                else:  # AA-8: we abort because the peer broke the protocol
                    self._events.append(ev.Aborted(2, reason, True, self.error))
            elif o is Output.START_ARTIM:
                self.artim_running = True
                self.artim_generation += 1
            elif o is Output.STOP_ARTIM:
                self.artim_running = False
            elif o is Output.CLOSE_TRANSPORT:
                self.should_close = True
            # TRANSPORT_CONNECT (AE-1): the driver connects before or after; nothing to emit
        self.last_action = action
        previous, self.state = self.state, transition.state
        if self.state is State.STA1 and previous is not State.STA1:
            self.artim_running = False
            self.should_close = True
            self._events.append(ev.Closed())
        return b"".join(out)


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
