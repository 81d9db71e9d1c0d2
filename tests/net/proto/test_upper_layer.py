"""The upper-layer engine (PS3.8 7, 9.2): two engines back to back, and every cell of
Table 9-10 driven through the engine's public inputs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dicomkit.errors import LocalProtocolError, RemoteProtocolError
from dicomkit.net.proto import _events as ev
from dicomkit.net.proto._fsm import Action, State
from dicomkit.net.proto._items import PDUDecodeError
from dicomkit.net.proto._negotiation import accept
from dicomkit.net.proto._pdu import (
    PDV,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AReleaseRP,
    AReleaseRQ,
    PDataTF,
    decode_pdu,
)
from dicomkit.net.proto._upper_layer import Role, UpperLayer

from .helpers import CONFIG, CT, EXPLICIT, Pair, make_rq, sent
from .test_fsm import EXPECTED, NEXT_STATE


def test_associate_negotiated() -> None:
    pair = Pair()
    pair.associate()
    for ul in (pair.scu, pair.scp):
        assert ul.state is State.STA6 and ul.is_established
        assert ul.accepted_context_ids == {1, 3}
        n = ul.negotiated
        assert n is not None and n.find(CT) is not None
        assert n.find(CT).transfer_syntax == EXPLICIT  # type: ignore[union-attr]
        assert n.contexts[5].result == 3
    assert pair.scu.peer_max_pdu_length == CONFIG.max_pdu_length
    assert pair.scp.peer_max_pdu_length == 16384
    assert not pair.scp.artim_running and not pair.scu.artim_running


def test_pdata_both_ways_streaming() -> None:
    pair = Pair()
    pair.associate()
    payload = bytes(range(256)) * 1000  # 256000 bytes: several PDUs of at most 65536
    pair.scu.send_data(3, b"\x01" * 10, is_command=True)
    raws = pair.scu.data_to_send()
    pair.scu.send_data(3, payload, is_command=False)
    raws += pair.scu.data_to_send()
    assert pair.scu.peer_max_pdu_length == 65536
    assert all(len(r) - 6 <= 65536 for r in raws) and len(raws) == 5
    pair.to_scp += raws
    pair.pump()
    cmd = [e for e in pair.scp_events if isinstance(e, ev.PDVReceived) and e.is_command]
    data = [e for e in pair.scp_events if isinstance(e, ev.PDVReceived) and not e.is_command]
    assert len(cmd) == 1 and cmd[0].is_last and bytes(cmd[0].data) == b"\x01" * 10
    assert b"".join(bytes(e.data) for e in data) == payload
    assert [e.is_last for e in data] == [False] * (len(data) - 1) + [True]
    assert all(isinstance(e.data, memoryview) for e in data)
    # the other way, with an explicit P-DATA request carrying two PDVs
    pair.scp_send(ev.PData((PDV(1, True, True, b"rsp"), PDV(3, False, True, b"ds"))))
    pair.pump()
    got = [(e.context_id, e.is_command, bytes(e.data)) for e in pair.scu_events]
    assert got == [(1, True, b"rsp"), (3, False, b"ds")]


def test_send_data_in_pieces() -> None:
    pair = Pair()
    pair.associate()
    pair.scu.send_data(1, b"a" * 100, is_command=False, last=False)
    pair.to_scp += pair.scu.data_to_send()
    pair.scu.send_data(1, b"b" * 100, is_command=False, last=True)
    pair.to_scp += pair.scu.data_to_send()
    pair.pump()
    assert [e.is_last for e in pair.scp_events] == [False, True]  # type: ignore[union-attr]


def test_release_by_requestor() -> None:
    pair = Pair()
    pair.associate()
    pair.scu_send(ev.ReleaseRequest())
    pair.pump()
    assert pair.scp_events == [ev.ReleaseRequested(False)]
    assert pair.scp.state is State.STA8
    pair.scp_send(ev.ReleaseResponse())
    assert pair.scp.state is State.STA13 and pair.scp.artim_running
    pair.pump()
    assert pair.scu_events == [ev.ReleaseConfirmed(), ev.Closed()]
    assert pair.scu.should_close and pair.scu.state is State.STA1 and pair.scu.is_closed
    pair.scp.connection_lost()  # AR-5
    assert list(pair.scp.events()) == [ev.Closed()]
    assert pair.scp.state is State.STA1 and not pair.scp.artim_running


def test_release_by_acceptor() -> None:
    pair = Pair()
    pair.associate()
    pair.scp_send(ev.ReleaseRequest())
    pair.pump()
    assert pair.scu_events == [ev.ReleaseRequested(False)]
    pair.scu_send(ev.ReleaseResponse())
    pair.pump()
    assert pair.scp_events == [ev.ReleaseConfirmed(), ev.Closed()]
    assert pair.scu.state is State.STA13
    pair.scu.receive_data(b"")
    assert sent(pair.scu) == b""
    assert pair.scu.state is State.STA1


def test_pdata_while_awaiting_release_response() -> None:
    pair = Pair()
    pair.associate()
    pair.scu_send(ev.ReleaseRequest())
    pair.pump()
    # Sta8: the acceptor may still send P-DATA (AR-7); the requestor takes it in Sta7 (AR-6)
    pair.scp.send_data(1, b"late", is_command=False)
    pair.to_scu += pair.scp.data_to_send()
    pair.pump()
    assert pair.scp.state is State.STA8 and pair.scu.state is State.STA7
    assert [bytes(e.data) for e in pair.scu_events] == [b"late"]  # type: ignore[union-attr]


def test_release_collision() -> None:
    pair = Pair()
    pair.associate()
    pair.scu.send(ev.ReleaseRequest())
    a = sent(pair.scu)
    pair.scp.send(ev.ReleaseRequest())
    b = sent(pair.scp)
    assert pair.scu.state is State.STA7 and pair.scp.state is State.STA7
    pair.to_scu.append(b)
    pair.to_scp.append(a)
    pair.pump()
    assert pair.scu.state is State.STA9 and pair.scp.state is State.STA10
    assert pair.scu_events == [ev.ReleaseRequested(True)]
    assert pair.scp_events == [ev.ReleaseRequested(True)]
    with pytest.raises(LocalProtocolError):
        pair.scp.send(ev.ReleaseResponse())  # acceptor must wait for the RP (Sta10)
    pair.scu_send(ev.ReleaseResponse())  # AR-9 -> Sta11
    assert pair.scu.state is State.STA11
    pair.pump()
    assert pair.scp.state is State.STA12  # AR-10
    assert pair.scp_events[-1] == ev.ReleaseConfirmed()
    pair.scp_send(ev.ReleaseResponse())  # AR-4 -> Sta13
    pair.pump()
    assert pair.scu.state is State.STA1  # AR-3
    assert pair.scu_events[-2:] == [ev.ReleaseConfirmed(), ev.Closed()]
    assert pair.scp.state is State.STA13
    pair.scp.connection_lost()
    assert pair.scp.state is State.STA1


@pytest.mark.parametrize("who", ["scu", "scp"])
def test_user_abort(who: str) -> None:
    pair = Pair()
    pair.associate()
    if who == "scu":
        pair.scu_send(ev.Abort())
        me, peer_events, me_ul = pair.scu, "scp_events", pair.scu
    else:
        pair.scp_send(ev.Abort())
        me, peer_events, me_ul = pair.scp, "scu_events", pair.scp
    assert me.state is State.STA13 and me.artim_running
    pair.pump()
    assert getattr(pair, peer_events) == [ev.Aborted(0, 0, False), ev.Closed()]
    me_ul.artim_expired(me_ul.artim_generation - 1)
    assert sent(me_ul) == b""  # stale timer
    me_ul.artim_expired(me_ul.artim_generation)
    assert sent(me_ul) == b""  # AA-2
    assert me_ul.state is State.STA1 and me_ul.should_close


def test_provider_abort_pdu_gives_p_abort() -> None:
    pair = Pair()
    pair.associate()
    pair.scu.receive_data(AAbort(2, 4).encode())
    assert list(pair.scu.events()) == [ev.Aborted(2, 4, True), ev.Closed()]


def test_transport_closed_gives_p_abort() -> None:
    pair = Pair()
    pair.associate()
    pair.scu.connection_lost()
    assert list(pair.scu.events()) == [ev.Aborted(2, 0, True), ev.Closed()]


def test_reject() -> None:
    pair = Pair()
    pair.scp.connection_made()
    pair.scu_send(ev.AssociateRequest(make_rq()))
    pair.scu.connection_made()
    pair.to_scp.append(sent(pair.scu))
    pair.pump()
    pair.scp_send(ev.AssociateReject(AAssociateRJ(2, 3, 1)))
    assert pair.scp.state is State.STA13 and pair.scp.artim_running
    pair.pump()
    assert pair.scu_events == [ev.AssociateRejected(AAssociateRJ(2, 3, 1)), ev.Closed()]
    assert pair.scu.associate_rj == AAssociateRJ(2, 3, 1)


def test_unsupported_protocol_version_rejected_by_provider() -> None:
    scp = UpperLayer(Role.ACCEPTOR)
    scp.connection_made()
    rq = make_rq()
    bad = type(rq)(
        rq.called_ae,
        rq.calling_ae,
        rq.presentation_contexts,
        rq.user_information,
        rq.application_context,
        protocol_version=2,
    )
    scp.receive_data(bad.encode())
    out = sent(scp)
    assert decode_pdu(out) == AAssociateRJ(1, 2, 2)
    assert scp.state is State.STA13 and list(scp.events()) == []


def test_artim_expires_without_rq() -> None:
    scp = UpperLayer(Role.ACCEPTOR)
    scp.connection_made()
    assert scp.artim_running and scp.state is State.STA2
    scp.artim_expired(scp.artim_generation)
    assert scp.state is State.STA1 and scp.should_close
    assert list(scp.events()) == [ev.Closed()]


def test_requestor_may_connect_first() -> None:
    scu = UpperLayer(Role.REQUESTOR)
    scu.connection_made()
    assert sent(scu) == b""
    scu.send(ev.AssociateRequest(make_rq()))
    raw = sent(scu)
    assert decode_pdu(raw) == make_rq() and scu.state is State.STA5
    with pytest.raises(LocalProtocolError):
        scu.connection_made()


def test_connect_failure_gives_p_abort() -> None:
    scu = UpperLayer(Role.REQUESTOR)
    scu.send(ev.AssociateRequest(make_rq()))
    assert scu.state is State.STA4
    scu.connection_lost()  # AA-4
    assert list(scu.events()) == [ev.Aborted(2, 0, True), ev.Closed()]


# -- the peer breaks the protocol ----------------------------------------------------------------


def _established_abort(raw: bytes) -> tuple[AAbort, ev.Aborted]:
    pair = Pair()
    pair.associate()
    pair.scp.receive_data(raw)
    out = sent(pair.scp)
    assert pair.scp.state is State.STA13 and pair.scp.artim_running
    abort = decode_pdu(out)
    assert isinstance(abort, AAbort)
    events = list(pair.scp.events())
    assert len(events) == 1 and isinstance(events[0], ev.Aborted)
    return abort, events[0]


def test_unknown_pdu_type_aborts() -> None:
    abort, event = _established_abort(b"\x08\x00\x00\x00\x00\x00")
    assert abort == AAbort(2, 1)
    assert event.provider and isinstance(event.error, PDUDecodeError)
    assert "0x08" in str(event.error)


def test_malformed_pdu_aborts() -> None:
    abort, event = _established_abort(b"\x04\x00\x00\x00\x00\x06\x00\x00\x00\x09\x01\x03")
    assert abort == AAbort(2, 6)
    assert "P-DATA-TF" in str(event.error)


def test_unexpected_pdu_aborts() -> None:
    ac = accept(make_rq(), CONFIG)
    abort, event = _established_abort(ac.encode())  # an A-ASSOCIATE-AC while established
    assert abort == AAbort(2, 2)
    assert isinstance(event.error, RemoteProtocolError) and "unexpected" in str(event.error)


def test_pdv_for_unaccepted_context_aborts() -> None:
    abort, event = _established_abort(PDataTF((PDV(5, False, True, b"x"),)).encode())
    assert abort == AAbort(2, 6)
    assert "context 5" in str(event.error)


def test_huge_associate_rq_aborts_without_buffering() -> None:
    scp = UpperLayer(Role.ACCEPTOR)
    scp.connection_made()
    scp.receive_data(b"\x01\x00\xff\xff\xff\xff" + b"\x00" * 100)
    out = sent(scp)
    assert decode_pdu(out) == AAbort(0, 0)  # AA-1 in Sta2 (service-user source)
    assert scp.state is State.STA13 and isinstance(scp.error, PDUDecodeError)
    assert scp._reader.buffered == 0


def test_bogus_ac_aborts() -> None:
    scu = UpperLayer(Role.REQUESTOR)
    scu.connection_made()
    scu.send(ev.AssociateRequest(make_rq()))
    assert decode_pdu(sent(scu)) == make_rq()
    ac = AAssociateAC("STORESCP", "STORESCU", (), make_rq().user_information)
    bad = AAssociateAC(
        ac.called_ae,
        ac.calling_ae,
        (type(accept(make_rq(), CONFIG).presentation_contexts[0])(9, 0, "1.2"),),
    )
    scu.receive_data(bad.encode())
    out = sent(scu)
    assert decode_pdu(out) == AAbort(2, 6)
    assert isinstance(next(scu.events()), ev.Aborted)


def test_data_after_sta13_ignored() -> None:
    pair = Pair()
    pair.associate()
    pair.scu.send(ev.Abort())
    assert decode_pdu(sent(pair.scu)) == AAbort(0, 0)
    pair.scu.receive_data(AReleaseRQ().encode())
    assert sent(pair.scu) == b""  # AA-6
    assert pair.scu.state is State.STA13


# -- local misuse ------------------------------------------------------------------------------


def test_local_errors_change_nothing() -> None:
    pair = Pair()
    with pytest.raises(LocalProtocolError):
        pair.scp.send(ev.AssociateRequest(make_rq()))
    with pytest.raises(LocalProtocolError):
        pair.scu.send(ev.ReleaseRequest())
    pair.associate()
    with pytest.raises(LocalProtocolError):
        pair.scu.send_data(5, b"x", is_command=False)  # context 5 was rejected
    with pytest.raises(LocalProtocolError):
        pair.scu.send(ev.PData((PDV(5, False, True, b"x"),)))
    with pytest.raises(LocalProtocolError):
        pair.scu.send(ev.PData((PDV(1, False, True, bytes(65531)),)))  # above the peer's max
    assert pair.scu.state is State.STA6
    with pytest.raises(LocalProtocolError):
        pair.scu.send(ev.ReleaseResponse())
    with pytest.raises(TypeError):
        pair.scu.send(object())  # type: ignore[arg-type]


# -- every cell of Table 9-10 through the engine -------------------------------------------------

RQ = make_rq()
AC = accept(RQ, CONFIG)
assert isinstance(AC, AAssociateAC)
LOCAL_EVENTS = {1, 2, 5, 7, 8, 9, 11, 14, 15}


def _input(ul: UpperLayer, evt: int) -> Callable[[], object]:
    return {
        1: lambda: ul.send(ev.AssociateRequest(RQ)),
        2: ul.connection_made,
        3: lambda: ul.receive_data(AC.encode()),
        4: lambda: ul.receive_data(AAssociateRJ(1, 1, 1).encode()),
        5: ul.connection_made,
        6: lambda: ul.receive_data(RQ.encode()),
        7: lambda: ul.send(ev.AssociateAccept(AC)),
        8: lambda: ul.send(ev.AssociateReject(AAssociateRJ(1, 1, 1))),
        9: lambda: ul.send(ev.PData((PDV(1, True, True, b"c"),))),
        10: lambda: ul.receive_data(PDataTF((PDV(1, True, True, b"c"),)).encode()),
        11: lambda: ul.send(ev.ReleaseRequest()),
        12: lambda: ul.receive_data(AReleaseRQ().encode()),
        13: lambda: ul.receive_data(AReleaseRP().encode()),
        14: lambda: ul.send(ev.ReleaseResponse()),
        15: lambda: ul.send(ev.Abort()),
        16: lambda: ul.receive_data(AAbort(0, 0).encode()),
        17: ul.connection_lost,
        18: ul.artim_expired,
        19: lambda: ul.receive_data(b"\x0a\x00\x00\x00\x00\x00"),
    }[evt]


ENGINE_CELLS = [
    (role, sta, evt)
    for role in Role
    for (sta, evt) in sorted(EXPECTED)
    if not (role is Role.REQUESTOR and evt in (5, 7, 8))
    and not (role is Role.ACCEPTOR and evt in (1, 2))
]


@pytest.mark.parametrize(
    ("role", "sta", "evt"),
    ENGINE_CELLS,
    ids=[f"{r.value}-Sta{s}-Evt{e}" for r, s, e in ENGINE_CELLS],
)
def test_engine_cell(role: Role, sta: int, evt: int) -> None:
    ul = UpperLayer(role)
    # the state is read-only from outside: a test sets up a cell through the private fields
    ul._state = State(sta)
    ul._associate_rq = RQ
    ul._associate_ac = AC
    ul._accepted = frozenset({1, 3})
    ul._artim_running = True
    ul._transport_up = sta not in (1, 4) and evt != 2
    want = EXPECTED[(sta, evt)]
    if want is None:
        if (sta, evt) == (1, 2):
            ul.connection_made()
            assert sent(ul) == b""  # connect-first: AE-1 waits for the request
        elif evt in LOCAL_EVENTS:
            with pytest.raises(LocalProtocolError):
                _input(ul, evt)()
        elif sta == 4 and evt not in (17, 18):
            with pytest.raises(LocalProtocolError):  # no transport yet: no bytes can arrive
                _input(ul, evt)()
        else:
            _input(ul, evt)()  # ignored: no association (Sta1) or a stale timer
        assert ul.state is State(sta) and ul.last_action is None
        return
    _input(ul, evt)()
    assert ul.last_action is Action(want)
    if want in NEXT_STATE:
        assert ul.state is State(NEXT_STATE[want])
    elif want == "AR-8":
        assert ul.state is (State.STA9 if role is Role.REQUESTOR else State.STA10)
    elif want == "AE-6":
        assert ul.state is State.STA3


def test_unexpected_pdu_in_sta2_restarts_artim() -> None:
    scp = UpperLayer(Role.ACCEPTOR)
    scp.connection_made()
    first = scp.artim_generation
    scp.receive_data(AReleaseRQ().encode())  # AA-1: service-user source, ARTIM restarted
    out = sent(scp)
    assert decode_pdu(out) == AAbort(0, 0)
    assert scp.state is State.STA13 and scp.artim_running
    assert scp.artim_generation == first + 1
    assert isinstance(scp.error, RemoteProtocolError) and "A-RELEASE-RQ" in str(scp.error)
    assert list(scp.events()) == []  # no association yet: nothing to indicate
    scp.artim_expired(first)
    assert sent(scp) == b""  # the old timer is stale
    assert scp.state is State.STA13
    scp.artim_expired(first + 1)
    assert scp.state is State.STA1 and list(scp.events()) == [ev.Closed()]


def test_abort_with_nothing_to_abort_is_local_error() -> None:
    scp = UpperLayer(Role.ACCEPTOR)
    scp.connection_made()
    with pytest.raises(LocalProtocolError):
        scp.send(ev.Abort())  # Sta2: close the transport instead
    assert scp.state is State.STA2
