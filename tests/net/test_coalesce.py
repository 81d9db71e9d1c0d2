"""Coalesced pending responses: many C-FIND-RSPs per write, still complete, ordered, bounded,
cancellable and fragmented to the peer's maximum PDU length."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from helpers import run

from dicomkit.core._dataset import Dataset
from dicomkit.net import AE, AEConfig, Association, Incoming
from dicomkit.net import _association as association_module
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse

FIND = "1.2.840.10008.5.1.4.1.2.2.1"  # Study Root Q/R FIND
VERIFICATION = "1.2.840.10008.1.1"
LE = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]
N = 1000


def match(i: int, pad: int = 0) -> Dataset:
    ds = Dataset()
    ds.PatientID = str(i)
    if pad:
        ds.PatientComments = "x" * pad  # LT: up to 10240 characters (LO would be invalid)
    return ds


async def async_matches(incoming: Incoming) -> AsyncIterator[Any]:
    for i in range(N):  # never blocks: everything is coalesced up to the cork limit
        yield 0xFF00, match(i)


def sync_matches(incoming: Incoming) -> Iterator[Any]:
    for i in range(N):
        yield 0xFF00, match(i)


async def direct_sends(incoming: Incoming) -> Any:
    """Like the Q/R SCP: pending responses sent by the handler, the final one returned."""
    msg, assoc = incoming.message, incoming.association
    for i in range(N):
        await assoc.send_message(
            incoming.context,
            dimse.CFindResponse(message_id_being_responded_to=msg.message_id, status=0xFF00),
            match(i),
        )
        if i % 100 == 99:
            await asyncio.sleep(0)  # "the handler blocks": the loop-callback flush
    return 0x0000


@asynccontextmanager
async def connected(
    handler: Any, kind: str, *, scu_config: AEConfig | None = None, limit: int = 1 << 20
) -> AsyncIterator[tuple[Association, Any]]:
    scp = AE("SCP", supported={FIND: LE, VERIFICATION: LE})
    handlers = {dimse.CFindRequest: handler}
    scu = AE("SCU", config=scu_config)
    if kind == "memory":
        client, server = memory_pair(limit)
        await scp.serve_transport(server, handlers)
        assoc = await scu.associate("", 0, transport=client, contexts=[FIND, VERIFICATION])
        try:
            yield assoc, client
        finally:
            await assoc.release()
    else:
        async with await scp.serve(0, handlers) as srv:
            assoc = await scu.associate("127.0.0.1", srv.port, contexts=[FIND, VERIFICATION])
            try:
                yield assoc, None
            finally:
                await assoc.release()


def find_request(mid: int = 0) -> dimse.CFindRequest:
    return dimse.CFindRequest(message_id=mid, affected_sop_class_uid=FIND)


@pytest.mark.parametrize("kind", ["memory", "tcp"])
@pytest.mark.parametrize("handler", [async_matches, sync_matches, direct_sends])
def test_many_pending_responses_arrive_complete_and_in_order(kind: str, handler: Any) -> None:
    async def main() -> None:
        async with connected(handler, kind) as (assoc, _):
            for _ in range(2):  # twice: nothing is left held between requests
                got = [r async for r in assoc.request_iter(find_request(), Dataset())]
                assert [r.status for r in got] == [0xFF00] * N + [0x0000]
                assert [r.dataset.PatientID for r in got[:-1]] == [str(i) for i in range(N)]
                assert (await assoc.echo()).status == 0

    run(main())


@pytest.mark.parametrize("kind", ["memory", "tcp"])
def test_cancel_stops_a_handler_that_never_blocks(kind: str) -> None:
    total = 20000  # ~20 MB of matches: far more than one coalesced batch

    async def flood(incoming: Incoming) -> AsyncIterator[Any]:
        for i in range(total):
            yield 0xFF00, match(i, pad=1000)

    async def main() -> None:
        async with connected(flood, kind) as (assoc, _):
            statuses = []
            async for rsp in assoc.request_iter(find_request(77), Dataset()):
                statuses.append(rsp.status)
                if len(statuses) == 10:
                    await assoc.send_message(
                        rsp.context, dimse.CCancelRequest(message_id_being_responded_to=77)
                    )
            assert statuses[-1] == 0xFE00
            assert len(statuses) < total
            assert (await assoc.echo()).status == 0  # the association is still usable

    run(main())


def _pdu_lengths(stream: bytes) -> list[tuple[int, int]]:
    out, pos = [], 0
    while pos + 6 <= len(stream):
        kind, length = stream[pos], struct.unpack(">I", stream[pos + 2 : pos + 6])[0]
        out.append((kind, length))
        pos += 6 + length
    assert pos == len(stream)
    return out


def test_a_small_max_pdu_peer_gets_valid_fragments() -> None:
    max_pdu = 512

    async def big(incoming: Incoming) -> AsyncIterator[Any]:
        for i in range(200):
            yield 0xFF00, match(i, pad=1500)  # each data set spans several PDUs

    async def main() -> None:
        async with connected(big, "memory", scu_config=AEConfig(max_pdu=max_pdu)) as (
            assoc,
            client,
        ):
            received = bytearray()
            read = client.read

            async def spy(n: int) -> bytes:
                data: bytes = await read(n)
                received.extend(data)
                return data

            client.read = spy
            got = [r async for r in assoc.request_iter(find_request(), Dataset())]
            assert [r.status for r in got] == [0xFF00] * 200 + [0x0000]
            assert [r.dataset.PatientID for r in got[:-1]] == [str(i) for i in range(200)]
            assert all(r.dataset.PatientComments == "x" * 1500 for r in got[:-1])
            pdus = _pdu_lengths(bytes(received))
            data_pdus = [length for kind, length in pdus if kind == 0x04]
            assert len(data_pdus) > 3 * 200
            assert max(data_pdus) <= max_pdu

    run(main())


def test_coalescing_respects_back_pressure() -> None:
    limit = 64 << 10

    async def main() -> None:
        async with connected(async_matches_padded, "memory", limit=limit) as (assoc, client):
            pipe = client._in  # server -> client bytes not yet read
            peak = 0
            async for _ in assoc.request_iter(find_request(), Dataset()):
                peak = max(peak, pipe.size)
                await asyncio.sleep(0)  # a slow reader
            assert peak <= limit + association_module._CORK_LIMIT + 8192

    run(main())


async def async_matches_padded(incoming: Incoming) -> AsyncIterator[Any]:
    for i in range(N):
        yield 0xFF00, match(i, pad=2000)


def test_pending_responses_share_socket_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    from dicomkit.net._transport import SocketTransport

    calls = []
    write, writelines = SocketTransport.write, SocketTransport.writelines

    def counting_write(self: SocketTransport, data: Any) -> None:
        calls.append(1)
        write(self, data)

    def counting_writelines(self: SocketTransport, chunks: Any) -> None:
        calls.append(1)
        writelines(self, chunks)

    monkeypatch.setattr(SocketTransport, "write", counting_write)
    monkeypatch.setattr(SocketTransport, "writelines", counting_writelines)

    async def main() -> None:
        async with connected(async_matches, "tcp") as (assoc, _):
            before = len(calls)
            got = [r async for r in assoc.request_iter(find_request(), Dataset())]
            assert len(got) == N + 1
            # one write for the request, then a few coalesced ones (not one per response)
            assert len(calls) - before < N // 10

    run(main())
