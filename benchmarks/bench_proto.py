#!/usr/bin/env python3
"""In-process microbenchmarks of the sans-IO core (``dicomkit.net.proto``): CPU per DIMSE
message, no sockets, no event loop.

    python benchmarks/bench_proto.py            # all, median of 7 runs each
    python benchmarks/bench_proto.py --repeat 11 --only echo-pair

Workloads (µs per operation, lower is better; echo-pair also as messages/s):
  encode-echo-rq / encode-echo-rsp   encode_message() of a C-ECHO-RQ / -RSP
  decode-echo-rq / decode-echo-rsp   decode_message() of those command sets
  encode-store-rsp                   encode_message() of a C-STORE-RSP
  assembler-feed                     DimseAssembler.feed() of one single-PDV C-ECHO-RQ command
  engine-recv                        UpperLayer.receive_data() of one P-DATA-TF (Sta6) + events()
  engine-send                        UpperLayer.send_data() + data_to_send() of one command
  echo-pair                          two engines back to back, a full C-ECHO round trip in
                                     memory: encode, send_data, receive_data, assemble, decode,
                                     answer (messages/s counts both the RQ and the RSP)

Timing uses time.perf_counter around batches of calls; the figure is the median over runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto import _events as ev
from dicomkit.net.proto._negotiation import AcceptorConfig, accept, build_request
from dicomkit.net.proto._pdu import AAssociateAC
from dicomkit.net.proto._upper_layer import Role, UpperLayer

VERIFICATION = "1.2.840.10008.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"
IMPLICIT = "1.2.840.10008.1.2"
INSTANCE = "1.2.826.0.1.3680043.8.498.12345678901234567890123456789012345"


def _pair() -> tuple[UpperLayer, UpperLayer]:
    """A requestor and an acceptor, associated (Sta6 both)."""
    scu, scp = UpperLayer(Role.REQUESTOR), UpperLayer(Role.ACCEPTOR)
    scp.connection_made()
    scu.send(
        ev.AssociateRequest(
            build_request(
                "SCP", "SCU", [(VERIFICATION, [IMPLICIT]), (CT, [IMPLICIT])], max_pdu_length=16384
            )
        )
    )
    scu.connection_made()
    for raw in scu.data_to_send():
        scp.receive_data(raw)
    (req,) = scp.events()
    assert isinstance(req, ev.AssociateRequested)
    ac = accept(
        req.pdu,
        AcceptorConfig(supported={VERIFICATION: [IMPLICIT], CT: [IMPLICIT]}, max_pdu_length=16384),
    )
    assert isinstance(ac, AAssociateAC)
    scp.send(ev.AssociateAccept(ac))
    for raw in scp.data_to_send():
        scu.receive_data(raw)
    (acc,) = scu.events()
    assert isinstance(acc, ev.AssociateAccepted)
    return scu, scp


def _per_call(fn: Callable[[int], None], n: int, repeat: int) -> float:
    """Median µs per call of ``fn(n)`` (which does n operations)."""
    fn(max(n // 10, 1))  # warm up
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(n)
        runs.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(runs)


def workloads() -> dict[str, tuple[Callable[[int], None], int]]:
    rq = dimse.CEchoRequest(message_id=7)
    rsp = dimse.CEchoResponse(message_id_being_responded_to=7, affected_sop_class_uid=VERIFICATION)
    store_rsp = dimse.CStoreResponse(
        message_id_being_responded_to=7,
        affected_sop_class_uid=CT,
        affected_sop_instance_uid=INSTANCE,
    )
    rq_raw, rsp_raw = dimse.encode_message(rq), dimse.encode_message(rsp)
    rq_view = memoryview(rq_raw)

    def loop(call: Callable[[], object]) -> Callable[[int], None]:
        def run(n: int) -> None:
            for _ in range(n):
                call()

        return run

    def enc(msg: dimse.DimseMessage) -> Callable[[int], None]:
        return loop(lambda: dimse.encode_message(msg))

    def dec(raw: bytes) -> Callable[[int], None]:
        return loop(lambda: dimse.decode_message(raw))

    asm = dimse.DimseAssembler()

    def feed(n: int) -> None:
        f = asm.feed
        for _ in range(n):
            f(1, True, True, rq_view)

    scu, scp = _pair()
    scu.send_data(1, rq_raw, is_command=True)
    (pdu,) = scu.data_to_send()

    def engine_recv(n: int) -> None:
        recv, events = scp.receive_data, scp.events
        for _ in range(n):
            recv(pdu)
            for _e in events():
                pass

    def engine_send(n: int) -> None:
        send, take = scu.send_data, scu.data_to_send
        for _ in range(n):
            send(1, rq_raw, is_command=True)
            take()

    a, b = _pair()
    asm_a, asm_b = dimse.DimseAssembler(), dimse.DimseAssembler()

    def echo_pair(n: int) -> None:
        for i in range(n):
            # requestor: build and send the C-ECHO-RQ
            cmd = dimse.encode_message(dimse.CEchoRequest(message_id=i & 0xFFFF))
            a.send_data(1, cmd, is_command=True)
            for raw in a.data_to_send():
                b.receive_data(raw)
            for e in b.events():
                assert isinstance(e, ev.PDVReceived)
                for m in asm_b.feed(e.context_id, e.is_command, e.is_last, e.data):
                    assert isinstance(m, dimse.MessageReceived)
                    req = m.message
                    assert isinstance(req, dimse.CEchoRequest)
                    answer = dimse.CEchoResponse(
                        message_id_being_responded_to=req.message_id,
                        affected_sop_class_uid=req.affected_sop_class_uid,
                    )
                    b.send_data(m.context_id, dimse.encode_message(answer), is_command=True)
                    for out in b.data_to_send():
                        a.receive_data(out)
            for e in a.events():
                assert isinstance(e, ev.PDVReceived)
                for m in asm_a.feed(e.context_id, e.is_command, e.is_last, e.data):
                    assert isinstance(m, dimse.MessageReceived)
                    assert m.message.status == 0  # type: ignore[attr-defined]

    return {
        "encode-echo-rq": (enc(rq), 20000),
        "encode-echo-rsp": (enc(rsp), 20000),
        "encode-store-rsp": (enc(store_rsp), 20000),
        "decode-echo-rq": (dec(rq_raw), 20000),
        "decode-echo-rsp": (dec(rsp_raw), 20000),
        "assembler-feed": (feed, 20000),
        "engine-recv": (engine_recv, 20000),
        "engine-send": (engine_send, 20000),
        "echo-pair": (echo_pair, 5000),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--only", action="append", default=[])
    args = ap.parse_args(argv)
    for name, (fn, n) in workloads().items():
        if args.only and name not in args.only:
            continue
        us = _per_call(fn, n, args.repeat)
        extra = f"   {2e6 / us:,.0f} messages/s" if name == "echo-pair" else ""
        print(f"{name:18s} {us:8.2f} µs{extra}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
