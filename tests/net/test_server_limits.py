"""Server limits over real sockets (127.0.0.1): simultaneous associations and memory.

* ``AEConfig.max_associations``: one association more is rejected with the standard's
  answer -- A-ASSOCIATE-RJ result 2 (rejected-transient), source 3 (service-provider,
  presentation related), reason 2 (local-limit-exceeded), PS3.8 9.3.4 -- and the slot is
  usable again once an association ends.
* Memory per association stays bounded: a C-STORE streamed to :class:`StorageSCP` keeps the
  process's tracemalloc peak far below the data set size; a data set that is buffered (no
  streaming sink) beyond ``AEConfig.max_buffered`` aborts that association only.

No sleeps: waits are bounded polls; no timing assertions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import HANG_GUARD, poll
from helpers import run as _run

from dicomkit.errors import AssociationAborted, AssociationRejected
from dicomkit.net import AE, AEConfig, Association, Incoming, Server, Timeouts
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto._negotiation import build_request
from dicomkit.services._storage import StorageSCP

VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
LOGGER = "dicomkit.net"
WAIT = 15.0
#: A-ASSOCIATE-RJ PDU: rejected-transient, service-provider (presentation), local-limit-exceeded
#: How long a flood is observed (an observation window, not a timing assertion).
OBSERVE = 6.0
LIMIT_RJ = b"\x03\x00\x00\x00\x00\x04\x00\x02\x03\x02"


def run(coro: Any) -> Any:
    """The floods here take longest on a loaded machine: twice the usual hang guard."""
    return _run(coro, timeout=2 * HANG_GUARD)


async def raw_associate(port: int) -> bytes:
    """Send an A-ASSOCIATE-RQ on a raw socket; return the whole answer PDU."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(build_request("SCP", "RAW", [(VERIFICATION, [IMPLICIT_LE])]).encode())
        await writer.drain()
        async with asyncio.timeout(WAIT):
            head = await reader.readexactly(6)
            body = await reader.readexactly(struct.unpack(">I", head[2:])[0])
    finally:
        writer.close()
    return head + body


async def associate(port: int, title: str = "SCU") -> Association:
    return await AE(title).associate("127.0.0.1", port, ae_title="SCP")


def established(server: Server) -> int:
    return sum(1 for a in server.associations if a.is_established)


# -- simultaneous associations -----------------------------------------------------------------


def test_one_more_than_max_associations_is_rejected_local_limit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        server = await AE("SCP", config=AEConfig(max_associations=3)).serve(0)
        async with server:
            live = [await associate(server.port, f"SCU{i}") for i in range(3)]
            assert established(server) == 3
            with (
                caplog.at_level(logging.INFO, logger=LOGGER),
                pytest.raises(AssociationRejected) as info,
            ):
                await associate(server.port, "EXTRA")
            assert (info.value.result, info.value.source, info.value.reason) == (2, 3, 2)
            # the exact PDU on the wire, seen by a raw client
            assert await raw_associate(server.port) == LIMIT_RJ
            # the rejected ones did not disturb the others
            assert [(await a.echo()).status for a in live] == [0, 0, 0]
            await live[0].release()
            # the slot is free again once the server has seen the release
            await poll(lambda: len(server.associations) == 2, "the released slot")
            again = await associate(server.port, "AGAIN")
            assert (await again.echo()).status == 0
            for a in (again, *live[1:]):
                await a.release()

    run(main())
    assert any(
        "rejected (transient)" in r.getMessage() and "local limit exceeded" in r.getMessage()
        for r in caplog.records
    ), "no log line for the rejection"


def test_max_associations_one_serves_clients_in_turn() -> None:
    async def main() -> None:
        server = await AE("SCP", config=AEConfig(max_associations=1)).serve(0)
        async with server:
            for i in range(5):
                await poll(lambda: not server.associations, "the previous association to end")
                async with AE(f"SCU{i}").associate("127.0.0.1", server.port, ae_title="SCP") as a:
                    assert (await a.echo()).status == 0
                    with pytest.raises(AssociationRejected) as info:
                        await associate(server.port, "EXTRA")
                    assert info.value.reason == 2

    run(main())


def test_concurrent_burst_respects_the_limit() -> None:
    """Twelve clients at once against a limit of eight: eight are accepted, the other four
    are rejected with local-limit-exceeded, and no client is left hanging.
    (docs/dev/findings-net.md F2: today all twelve are rejected.)"""

    async def client(port: int, hold: asyncio.Event) -> str:
        try:
            assoc = await associate(port)
        except AssociationRejected as exc:
            assert (exc.result, exc.source, exc.reason) == (2, 3, 2)
            return "rejected"
        await hold.wait()
        status = (await assoc.echo()).status
        await assoc.release()
        return "ok" if status == 0 else f"status {status:#x}"

    async def main() -> None:
        server = await AE("SCP", config=AEConfig(max_associations=8)).serve(0)
        async with server:
            hold = asyncio.Event()
            tasks = [asyncio.create_task(client(server.port, hold)) for _ in range(12)]
            await poll(
                lambda: sum(t.done() for t in tasks) + established(server) == 12,
                "every client to be accepted or rejected",
            )
            assert established(server) <= 8
            hold.set()
            results = await asyncio.gather(*tasks)
            assert sorted(results) == ["ok"] * 8 + ["rejected"] * 4

    run(main())


def test_unassociated_connection_does_not_take_an_association_slot() -> None:
    """A TCP connection that has not (yet) sent an A-ASSOCIATE-RQ is not an association: with
    ``max_associations=1`` and one such connection open, a real client is still accepted.
    (docs/dev/findings-net.md F2)"""

    async def main() -> None:
        cfg = AEConfig(max_associations=1, timeouts=Timeouts(acse=30, idle=None))
        server = await AE("SCP", config=cfg).serve(0)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
            await poll(lambda: len(server.associations) == 1, "the server to see the connection")
            try:
                a = await associate(server.port)
                assert (await a.echo()).status == 0
                await a.release()
            finally:
                writer.close()

    run(main())


# -- memory per association --------------------------------------------------------------------


def dataset_chunks(instance: str, pixel_bytes: int, step: int = 1 << 20) -> Iterator[bytes]:
    """An explicit VR LE data set with a large OB Pixel Data, produced chunk by chunk."""

    def ui(tag: int, value: str) -> bytes:
        raw = value.encode() + (b"\x00" if len(value) % 2 else b"")
        return (
            struct.pack("<HHcc", tag >> 16, tag & 0xFFFF, b"U", b"I")
            + struct.pack("<H", len(raw))
            + raw
        )

    yield (
        ui(0x00080016, SECONDARY_CAPTURE)
        + ui(0x00080018, instance)
        + b"\xe0\x7f\x10\x00OB\x00\x00"
        + struct.pack("<I", pixel_bytes)
    )
    block = bytes(step)
    left = pixel_bytes
    while left:
        n = min(step, left)
        left -= n
        yield block if n == step else block[:n]


def store_request(instance: str) -> dimse.CStoreRequest:
    return dimse.CStoreRequest(
        affected_sop_class_uid=SECONDARY_CAPTURE, affected_sop_instance_uid=instance
    )


@pytest.mark.slow
def test_streamed_cstore_memory_stays_bounded(tmp_path: Path) -> None:
    """96 MiB streamed through one association (SCU and SCP in this process): the traced
    peak stays under 16 MiB, so neither side held the data set in memory."""
    size = 96 << 20
    out = tmp_path / "out"

    async def main() -> float:
        server = await AE("SCP").serve(0, {dimse.CStoreRequest: StorageSCP(out, fsync=False)})
        async with (
            server,
            AE("SCU").associate(
                "127.0.0.1",
                server.port,
                ae_title="SCP",
                contexts=[(SECONDARY_CAPTURE, [EXPLICIT_LE])],
            ) as a,
        ):
            tracemalloc.start()
            try:
                rsp = await a.request(store_request("1.2.3.77"), dataset_chunks("1.2.3.77", size))
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert rsp.status == 0
        return peak

    peak = run(main())
    stored = out / "1.2.3.77.dcm"
    assert stored.stat().st_size > size
    assert peak < 16 << 20, f"tracemalloc peak {peak / 2**20:.1f} MiB for a 96 MiB data set"


def test_buffered_dataset_over_max_buffered_aborts_that_association_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A C-STORE handler without ``open_stream`` gets the data set in memory: past
    ``max_buffered`` the association is aborted (with a log line), others carry on."""
    got: list[int] = []

    def handler(incoming: Incoming) -> int:
        got.append(len(incoming.data or b""))
        return 0

    async def main() -> None:
        cfg = AEConfig(max_buffered=1 << 20)
        server = await AE("SCP", config=cfg).serve(0, {dimse.CStoreRequest: handler})
        async with server:
            contexts = [(SECONDARY_CAPTURE, [EXPLICIT_LE])]
            bystander = await AE("BY").associate(
                "127.0.0.1", server.port, ae_title="SCP", contexts=contexts
            )
            big = await AE("BIG").associate(
                "127.0.0.1", server.port, ae_title="SCP", contexts=contexts
            )
            with caplog.at_level(logging.INFO, logger=LOGGER):
                with pytest.raises(AssociationAborted):
                    await big.request(
                        store_request("1.2.3.8"),
                        dataset_chunks("1.2.3.8", 4 << 20, step=256 * 1024),
                    )
                await big.wait_closed()
                await poll(lambda: len(server.associations) == 1, "the big one to end")
            # under the limit is fine, on the surviving association
            small = b"".join(dataset_chunks("1.2.3.9", 64 * 1024))
            rsp = await bystander.request(store_request("1.2.3.9"), small)
            assert rsp.status == 0
            await bystander.release()

    run(main())
    assert got == [len(b"".join(dataset_chunks("1.2.3.9", 64 * 1024)))]
    assert any("buffer limit" in r.getMessage() for r in caplog.records), (
        "no log line naming the buffer limit"
    )


def test_silent_connections_do_not_outlive_artim() -> None:
    """TCP connections that never send an A-ASSOCIATE-RQ are closed by the ARTIM timer
    (``Timeouts.acse``), so they cannot hold association slots for long."""

    async def main() -> None:
        cfg = AEConfig(max_associations=2, timeouts=Timeouts(acse=0.3, idle=None))
        server = await AE("SCP", config=cfg).serve(0)
        async with server:
            conns = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(2)]
            for reader, writer in conns:
                async with asyncio.timeout(WAIT):
                    assert await reader.read(100) == b""  # closed by the server
                writer.close()
            await poll(lambda: not server.associations, "the silent connections to go")
            a = await associate(server.port)
            assert (await a.echo()).status == 0
            await a.release()

    run(main())


@pytest.mark.slow
def test_pipelined_requests_beyond_the_window_do_not_grow_memory() -> None:
    """The association negotiated one outstanding operation (the default window). The C-ECHO
    handler is stuck on the first request while the peer pipelines 200,000 more (16 MB on
    the wire): the server must not queue them all -- it stops reading (TCP back-pressure) or
    aborts. Observed until the peer has sent everything or for ``OBSERVE`` seconds (without
    a bound on the queue, everything is read within about a second, ~40 MiB traced); the
    traced peak must stay under 8 MiB. (docs/dev/findings-net.md F5)"""

    def pdu(body: bytes) -> bytes:
        return b"\x04\x00" + struct.pack(">I", len(body)) + body

    batch = b"".join(
        pdu(struct.pack(">I", len(cmd) + 2) + b"\x01\x03" + cmd)
        for cmd in (dimse.encode_message(dimse.CEchoRequest(message_id=i + 1)) for i in range(1000))
    )

    async def main() -> int:
        gate = asyncio.Event()

        async def stuck(incoming: Incoming) -> int:
            await gate.wait()
            return 0

        server = await AE("SCP").serve(0, {dimse.CEchoRequest: stuck})  # idle timeout 300 s
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(build_request("SCP", "RAW", [(VERIFICATION, [IMPLICIT_LE])]).encode())
            async with asyncio.timeout(WAIT):
                assert (await reader.read(65536))[:1] == b"\x02"
            tracemalloc.start()

            async def flood() -> None:
                for _ in range(200):
                    writer.write(batch)
                    await writer.drain()

            task = asyncio.create_task(flood())
            try:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + OBSERVE
                while not task.done() and server.associations and loop.time() < deadline:
                    if tracemalloc.get_traced_memory()[1] > 8 << 20:
                        break  # already too much: no need to watch the rest
                    await asyncio.sleep(0.05)
                # give the server the chance to read what the kernel already holds
                for _ in range(20):
                    await asyncio.sleep(0)
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
                gate.set()
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
                writer.close()

    peak = run(main())
    assert peak < 8 << 20, f"{peak / 2**20:.1f} MiB traced while the peer flooded requests"
