"""The asyncio server on real sockets (127.0.0.1): limits, timeouts, and hostile peers.

A peer that sends garbage, P-DATA before associating, a lying PDU length, or goes silent
mid-PDU loses its own association (with a log line naming the cause); the server keeps
serving everyone else.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from typing import Any

import pytest
from helpers import run

from dicomkit.errors import AssociationRejected, TransportError
from dicomkit.net import AE, AEConfig, Timeouts
from dicomkit.net._clock import Clock
from dicomkit.net.proto._negotiation import build_request


async def _echo_ok(port: int) -> None:
    async with AE("CHECK").associate("127.0.0.1", port) as assoc:
        assert (await assoc.echo()).status == 0


async def _raw(port: int, payload: bytes, *, until_closed: bool = False) -> bytes:
    """Send raw bytes; return the first answer (or everything until the server closes).

    After an A-ABORT the server waits (Sta13) for us to close, as PS3.8 says; we do."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    data = await reader.read(65536)
    while until_closed and data and (chunk := await reader.read(65536)):
        data += chunk
    writer.close()
    return data


#: Timer tests use real-world timeouts (seconds) on a clock 200 times faster than real time.
FAST_CLOCK = Clock(scale=0.005)


def _assoc_rq() -> bytes:
    return build_request("ANY-SCP", "RAW", [("1.2.840.10008.1.1", ["1.2.840.10008.1.2"])]).encode()


@pytest.mark.parametrize(
    ("name", "payload", "answer"),
    [
        ("garbage", b"\xde\xad\xbe\xef" * 64, 0x07),
        (
            "p-data before association",
            b"\x04\x00" + struct.pack(">I", 8) + b"\x00\x00\x00\x04\x01\x03ab",
            0x07,
        ),
        ("lying length", b"\x01\x00" + struct.pack(">I", 0x7FFFFFF0) + b"\x00" * 80, 0x07),
        ("unknown pdu type", b"\x09\x00" + struct.pack(">I", 4) + b"\x00" * 4, 0x07),
    ],
    ids=["garbage", "pdata-before-association", "lying-length", "unknown-pdu-type"],
)
def test_hostile_peer_is_dropped_server_survives(
    name: str, payload: bytes, answer: int, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        server = await AE("SCP").serve(0)
        async with server:
            with caplog.at_level(logging.INFO, logger="dicomkit.net"):
                reply = await _raw(server.port, payload)
            assert reply[:1] == bytes([answer])  # A-ABORT
            await _echo_ok(server.port)

    run(main())
    assert any("broke the upper-layer protocol" in r.message for r in caplog.records)


def test_garbage_after_association_aborts_with_cause(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = await AE("SCP").serve(0)
        async with server:
            with caplog.at_level(logging.INFO, logger="dicomkit.net"):
                # a P-DATA-TF whose command is not a command set
                pdata = (
                    b"\x04\x00"
                    + struct.pack(">I", 12)
                    + struct.pack(">I", 8)
                    + b"\x01\x03"
                    + b"NOTCMD"
                )
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(_assoc_rq())
                assert (await reader.read(65536))[:1] == b"\x02"  # A-ASSOCIATE-AC
                writer.write(pdata)
                reply = await reader.read(65536)
                writer.close()
            assert reply[:2] == b"\x07\x00"  # A-ABORT
            await _echo_ok(server.port)

    run(main())
    assert any("broke the DIMSE protocol" in r.message for r in caplog.records)


def test_silent_peer_mid_pdu_times_out(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        cfg = AEConfig(timeouts=Timeouts(idle=30, acse=30))  # seconds of FAST_CLOCK
        server = await AE("SCP", config=cfg, clock=FAST_CLOCK).serve(0)
        async with server:
            rq = _assoc_rq()
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(rq)
            reply = await reader.read(65536)
            assert reply[:1] == b"\x02"
            writer.write(b"\x04\x00\x00\x00\x01\x00\x00\x00")  # half of a P-DATA-TF
            await writer.drain()
            with caplog.at_level(logging.INFO, logger="dicomkit.net"):
                while await reader.read(65536):  # closed by the idle timeout
                    pass
            writer.close()
            await _echo_ok(server.port)

    run(main())
    assert any("idle" in r.message for r in caplog.records)


def test_silent_connection_closed_by_artim() -> None:
    async def main() -> None:
        cfg = AEConfig(timeouts=Timeouts(acse=30, idle=None))  # seconds of FAST_CLOCK
        server = await AE("SCP", config=cfg, clock=FAST_CLOCK).serve(0)
        async with server:
            data = await _raw(server.port, b"", until_closed=True)  # never associates
            assert data == b""
            await _echo_ok(server.port)

    run(main())


def test_association_limit_rejects_transiently() -> None:
    async def main() -> None:
        server = await AE("SCP", config=AEConfig(max_associations=2)).serve(0)
        async with server:
            ae = AE("SCU")
            first = await ae.associate("127.0.0.1", server.port)
            second = await ae.associate("127.0.0.1", server.port)
            with pytest.raises(AssociationRejected) as info:
                await ae.associate("127.0.0.1", server.port)
            assert info.value.result == 2 and info.value.reason == 2
            await first.release()
            await second.echo()
            await second.release()
            await _echo_ok(server.port)

    run(main())


def test_many_concurrent_associations() -> None:
    async def client(port: int) -> list[int]:
        async with AE("SCU").associate("127.0.0.1", port) as assoc:
            return [(await assoc.echo()).status for _ in range(10)]

    async def main() -> None:
        server = await AE("SCP").serve(0)
        async with server:
            results = await asyncio.gather(*(client(server.port) for _ in range(30)))
            assert results == [[0] * 10] * 30

    run(main())


def test_tcp_nodelay_and_server_close_aborts() -> None:
    async def main() -> None:
        server = await AE("SCP").serve(0)
        assoc = await AE("SCU").associate("127.0.0.1", server.port)
        sock = assoc.transport.get_extra_info("socket")  # type: ignore[attr-defined]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        live = next(iter(server.associations))
        peer_sock = live.transport.get_extra_info("socket")  # type: ignore[attr-defined]
        assert peer_sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        await server.close()
        await assoc.wait_closed()
        assert assoc.error is not None

    run(main())


def test_connection_refused_is_transport_error() -> None:
    from peers import free_port

    async def main() -> None:
        with pytest.raises(TransportError, match="cannot connect"):
            await AE("SCU").associate("127.0.0.1", free_port())

    run(main())


def test_silent_scp_times_out_the_association_request() -> None:
    from dicomkit.errors import NetworkTimeout

    async def main() -> None:
        held: list[asyncio.StreamWriter] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            held.append(writer)  # accept the TCP connection, never answer

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        cfg = AEConfig(timeouts=Timeouts(acse=30))  # seconds of FAST_CLOCK
        with pytest.raises(NetworkTimeout, match="A-ASSOCIATE"):
            await AE("SCU", config=cfg, clock=FAST_CLOCK).associate("127.0.0.1", port)
        for w in held:
            w.close()
        server.close()
        await server.wait_closed()

    run(main())


def test_scu_receives_peer_release_request() -> None:
    async def main() -> None:
        server = await AE("SCP").serve(0)
        async with server:
            assoc = await AE("SCU").associate("127.0.0.1", server.port)
            live = next(iter(server.associations))
            await live.release()  # the SCP asks; our SCU answers A-RELEASE-RP
            await assoc.wait_closed()
            assert assoc.error is None

    run(main())


PRINTER = "1.2.840.10008.5.1.1.16"
SC = "1.2.840.10008.5.1.4.1.1.7"
LE = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]


def test_pipelined_requests_over_tcp_pause_reading_then_all_answered() -> None:
    """Over a socket the bytes are pushed to the association; with the handler blocked it
    pauses the transport's reading instead of reading on."""
    from dicomkit.net import Incoming
    from dicomkit.net.proto import _dimse as dimse

    gate = asyncio.Event()
    served: list[int] = []

    async def n_get(incoming: Incoming) -> int:
        await gate.wait()
        served.append(incoming.message.message_id)
        return 0

    async def main() -> None:
        scp = AE("SCP", handlers={(dimse.NGetRequest, PRINTER): n_get})
        async with (
            await scp.serve(0) as server,
            AE("SCU").associate("127.0.0.1", server.port, contexts=[PRINTER]) as assoc,
        ):
            ctx = assoc.context_for(PRINTER)
            for mid in range(1, 41):
                await assoc.send_message(
                    ctx,
                    dimse.NGetRequest(
                        message_id=mid,
                        requested_sop_class_uid=PRINTER,
                        requested_sop_instance_uid="1",
                    ),
                )
            live = next(iter(server.associations))
            for _ in range(500):
                if live.link._reading_paused:
                    break
                await asyncio.sleep(0.002)
            # what one read brought is queued (bounded by the read size), then reading stops
            assert live.link._reading_paused and not served
            gate.set()
            for _ in range(2000):
                if len(served) == 40:
                    break
                await asyncio.sleep(0.002)
            assert served == list(range(1, 41))
            assert not live.link._reading_paused

    run(main())


def test_peer_abort_mid_store_stops_the_sender(caplog: pytest.LogCaptureFixture) -> None:
    """An SCP that aborts while a large data set arrives: our SCU stops writing at once and
    reports the A-ABORT, without asyncio's "socket.send() raised exception" flood (F3)."""
    from dicomkit.core._dataset import Dataset
    from dicomkit.errors import NetworkError
    from dicomkit.net import Incoming
    from dicomkit.net.proto import _dimse as dimse

    class AbortingSink:
        def __init__(self, incoming: Incoming) -> None:
            self.assoc = incoming.association
            self.fired = False

        def write(self, data: Any) -> None:
            if not self.fired:
                self.fired = True
                asyncio.get_running_loop().create_task(self.assoc.abort())

        def discard(self) -> None:
            pass

    class Store:
        def open_stream(self, incoming: Incoming) -> AbortingSink:
            return AbortingSink(incoming)

        async def __call__(self, incoming: Incoming) -> int:
            return 0

    async def main() -> None:
        scp = AE("SCP", handlers={dimse.CStoreRequest: Store()})
        async with await scp.serve(0) as server:
            assoc = await AE("SCU").associate("127.0.0.1", server.port, contexts=[SC])
            ds = Dataset()
            ds.SOPClassUID = SC
            ds.SOPInstanceUID = "1.2.3.4"
            ds.set(0x7FE00010, b"\0" * (32 << 20), vr="OB")
            rq = dimse.CStoreRequest(affected_sop_class_uid=SC, affected_sop_instance_uid="1.2.3.4")
            with pytest.raises(NetworkError):
                await assoc.request(rq, ds)
            await assoc.wait_closed()
            assert assoc.is_closed

    with caplog.at_level(logging.WARNING, logger="asyncio"):
        run(main())
    assert not [r for r in caplog.records if "socket.send() raised" in r.getMessage()]
