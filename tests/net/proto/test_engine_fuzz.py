"""Property tests of the engine: hostile bytes never crash it; random interleavings of two
engines back to back never leave them in a state the standard does not allow."""

from __future__ import annotations

from helpers import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dicomkit.errors import LocalProtocolError
from dicomkit.net.proto import _events as ev
from dicomkit.net.proto._fsm import State
from dicomkit.net.proto._negotiation import accept
from dicomkit.net.proto._pdu import PDV, AAbort, AAssociateAC, decode_pdu
from dicomkit.net.proto._upper_layer import Role, UpperLayer

from .helpers import CONFIG, Pair, make_rq, sent
from .strategies import pdus

hostile = st.one_of(
    st.binary(max_size=200),
    pdus.map(lambda p: p.encode()),
    st.tuples(pdus, st.integers(0, 50)).map(lambda t: t[0].encode()[: -t[1] or None]),
    st.tuples(pdus, st.binary(min_size=1, max_size=8)).map(lambda t: t[0].encode() + t[1]),
)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(hostile, min_size=1, max_size=4))
def test_hostile_bytes_before_association(chunks: list[bytes]) -> None:
    scp = UpperLayer(Role.ACCEPTOR, max_associate_size=4096)
    scp.connection_made()
    for chunk in chunks:
        scp.receive_data(chunk)
        for part in scp.data_to_send():
            assert decode_pdu(part).PDU_TYPE in (0x03, 0x07)  # only RJ or A-ABORT
    for e in scp.events():
        assert isinstance(e, (ev.AssociateRequested, ev.Aborted, ev.Closed))
    scp.connection_lost()
    assert scp.state is State.STA1


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(hostile, min_size=1, max_size=4))
def test_hostile_bytes_when_established(chunks: list[bytes]) -> None:
    pair = Pair()
    pair.associate()
    for chunk in chunks:
        pair.scp.receive_data(chunk)
        for part in pair.scp.data_to_send():
            assert isinstance(decode_pdu(part), AAbort)  # the engine only ever aborts
    for e in pair.scp.events():
        assert isinstance(e, (ev.PDVReceived, ev.ReleaseRequested, ev.Aborted, ev.Closed))
    pair.scp.connection_lost()
    assert pair.scp.state is State.STA1


class TwoEngines(RuleBasedStateMachine):
    """Random local requests on both sides and random delivery order of the bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.pair = Pair()
        self.pair.scp.connection_made()
        self.pair.scu_send(ev.AssociateRequest(make_rq()))
        self.pair.scu.connection_made()
        self.pair.to_scp.append(sent(self.pair.scu))
        self.seen: dict[str, list[ev.OutputEvent]] = {"scu": [], "scp": []}

    def _ul(self, side: str) -> UpperLayer:
        return self.pair.scu if side == "scu" else self.pair.scp

    def _send(self, side: str, event: ev.InputEvent) -> None:
        try:
            self._ul(side).send(event)
        except LocalProtocolError:
            return
        out = sent(self._ul(side))
        if out:
            (self.pair.to_scp if side == "scu" else self.pair.to_scu).append(out)

    @rule(side=st.sampled_from(["scu", "scp"]))
    def deliver_one(self, side: str) -> None:
        queue, ul, back = (
            (self.pair.to_scp, self.pair.scp, self.pair.to_scu)
            if side == "scp"
            else (self.pair.to_scu, self.pair.scu, self.pair.to_scp)
        )
        if queue:
            ul.receive_data(queue.pop(0))
            out = sent(ul)
            if out:
                back.append(out)
        for e in ul.events():
            self.seen[side].append(e)
            if isinstance(e, ev.AssociateRequested):
                ac = accept(e.pdu, CONFIG)
                assert isinstance(ac, AAssociateAC)
                self._send("scp", ev.AssociateAccept(ac))

    @rule(
        side=st.sampled_from(["scu", "scp"]),
        kind=st.sampled_from(["pdata", "release", "release-rsp", "abort"]),
    )
    def local(self, side: str, kind: str) -> None:
        event: ev.InputEvent
        if kind == "pdata":
            event = ev.PData((PDV(1, True, True, b"x"),))
        elif kind == "release":
            event = ev.ReleaseRequest()
        elif kind == "release-rsp":
            event = ev.ReleaseResponse()
        else:
            event = ev.Abort()
        self._send(side, event)

    @precondition(lambda self: not (self.pair.to_scp or self.pair.to_scu))
    @rule(side=st.sampled_from(["scu", "scp"]))
    def transport_closes(self, side: str) -> None:
        ul = self._ul(side)
        if ul.should_close:
            ul.connection_lost()
            other = self._ul("scp" if side == "scu" else "scu")
            other.connection_lost()

    @invariant()
    def states_consistent(self) -> None:
        for side in ("scu", "scp"):
            ul = self._ul(side)
            assert ul.state is not State.STA4
            if ul.state is State.STA1:
                assert ul.should_close and not ul.artim_running
            if ul.state in (State.STA2, State.STA13) and ul.artim_running:
                assert ul.artim_generation > 0
        # once one side is in a release-collision state the other is too, or is catching up
        assert self.pair.scu.state not in (State.STA10, State.STA12)
        assert self.pair.scp.state not in (State.STA9, State.STA11)


TwoEngines.TestCase.settings = settings(
    max_examples=examples(150), stateful_step_count=30, deadline=None
)
test_two_engines = TwoEngines.TestCase
