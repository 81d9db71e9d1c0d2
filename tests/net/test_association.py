"""SCU <-> SCP flows over the in-memory transport: no sockets, no ports, no sleeps."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from helpers import run

from dicomkit.core._dataset import Dataset
from dicomkit.errors import (
    AssociationAborted,
    AssociationRejected,
    LocalProtocolError,
    NetworkTimeout,
)
from dicomkit.net import AE, AEConfig, Association, Incoming, Timeouts
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse

PRINTER = "1.2.840.10008.5.1.1.16"  # Printer SOP Class (an N-GET target)
FIND = "1.2.840.10008.5.1.4.1.2.2.1"  # Study Root Q/R FIND
LE = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]


async def pair(
    handlers: dict[Any, Any] | None = None,
    *,
    contexts: Any = None,
    scp: AE | None = None,
    config: AEConfig | None = None,
) -> tuple[Association, Association]:
    client, server = memory_pair()
    scp = scp or AE(
        "SCP", supported={PRINTER: LE, FIND: LE, "1.2.840.10008.1.1": LE}, config=config
    )
    server_assoc = await scp.serve_transport(server, handlers)
    assoc = await AE("SCU", config=config).associate(
        "", 0, transport=client, contexts=contexts or [PRINTER, FIND, "1.2.840.10008.1.1"]
    )
    return assoc, server_assoc


def test_echo_and_release() -> None:
    async def main() -> None:
        assoc, server = await pair()
        assert assoc.is_established and server.is_established
        assert assoc.calling_ae == "SCU" and server.calling_ae == "SCU"
        assert [(await assoc.echo()).status for _ in range(5)] == [0] * 5
        await assoc.release()
        await server.wait_closed()
        assert assoc.is_closed and server.is_closed
        assert server.error is None

    run(main())


def test_async_with_releases() -> None:
    async def main() -> None:
        client, server = memory_pair()
        srv = await AE("SCP").serve_transport(server)
        async with AE("SCU").associate("", 0, transport=client) as assoc:
            assert (await assoc.echo()).status == 0
        await srv.wait_closed()
        assert srv.error is None

    run(main())


def test_n_get_with_dataset_both_ways() -> None:
    async def n_get(incoming: Incoming) -> tuple[int, Dataset]:
        msg = incoming.message
        assert isinstance(msg, dimse.NGetRequest)
        assert msg.attribute_identifier_list == (0x21100010,)
        ds = Dataset()
        ds.PatientName = "DOE^JANE"
        ds.PatientID = "42"
        return 0, ds

    async def main() -> None:
        assoc, _ = await pair({dimse.NGetRequest: n_get})
        rsp = await assoc.request(
            dimse.NGetRequest(
                requested_sop_class_uid=PRINTER,
                requested_sop_instance_uid="1.2.840.10008.5.1.1.17",
                attribute_identifier_list=(0x21100010,),
            )
        )
        assert rsp.status == 0
        assert isinstance(rsp.message, dimse.NGetResponse)
        assert rsp.message.affected_sop_instance_uid == "1.2.840.10008.5.1.1.17"
        assert rsp.message.has_dataset
        assert str(rsp.dataset.PatientName) == "DOE^JANE" and rsp.dataset.PatientID == "42"
        await assoc.release()

    run(main())


def test_n_action_request_dataset_reaches_handler() -> None:
    seen: list[Any] = []

    async def action(incoming: Incoming) -> dimse.NActionResponse:
        seen.append((incoming.message, incoming.dataset.PatientID))
        return dimse.NActionResponse(
            message_id_being_responded_to=0, action_type_id=7, status=0x0000
        )

    async def main() -> None:
        assoc, _ = await pair({dimse.NActionRequest: action})
        ds = Dataset()
        ds.PatientID = "ABC"
        rsp = await assoc.request(
            dimse.NActionRequest(
                requested_sop_class_uid=PRINTER,
                requested_sop_instance_uid="1.2.3",
                action_type_id=7,
            ),
            ds,
        )
        assert rsp.status == 0 and rsp.message.message_id_being_responded_to == 1
        assert seen[0][1] == "ABC" and seen[0][0].has_dataset
        await assoc.release()

    run(main())


def test_multi_response_generator_and_request_iter() -> None:
    def find(incoming: Incoming) -> Any:  # a plain generator: runs in a worker thread
        assert threading.current_thread() is not threading.main_thread()
        for i in range(3):
            ds = Dataset()
            ds.PatientID = str(i)
            yield 0xFF00, ds

    async def main() -> None:
        assoc, _ = await pair({dimse.CFindRequest: find})
        query = Dataset()
        query.PatientID = "*"
        got = [
            r
            async for r in assoc.request_iter(
                dimse.CFindRequest(affected_sop_class_uid=FIND), query
            )
        ]
        assert [r.status for r in got] == [0xFF00, 0xFF00, 0xFF00, 0x0000]
        assert [r.dataset.PatientID for r in got[:3]] == ["0", "1", "2"]
        assert got[-1].data is None
        await assoc.release()

    run(main())


def test_cancel_ends_a_pending_stream() -> None:
    async def find(incoming: Incoming) -> AsyncIterator[Any]:
        for _ in range(1000):
            ds = Dataset()
            ds.PatientID = "x"
            yield 0xFF00, ds
            await asyncio.sleep(0)

    async def main() -> None:
        assoc, _ = await pair({dimse.CFindRequest: find})
        statuses = []
        msg = dimse.CFindRequest(message_id=77, affected_sop_class_uid=FIND)
        async for rsp in assoc.request_iter(msg, Dataset()):
            statuses.append(rsp.status)
            if len(statuses) == 2:
                await assoc.send_message(
                    rsp.context, dimse.CCancelRequest(message_id_being_responded_to=77)
                )
        assert statuses[-1] == 0xFE00 and len(statuses) < 1000
        await assoc.release()

    run(main())


def test_handler_error_unhandled_and_default_echo(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(incoming: Incoming) -> int:
        raise RuntimeError("boom")

    async def main() -> None:
        assoc, _ = await pair({dimse.NGetRequest: broken})
        with caplog.at_level(logging.ERROR):
            rsp = await assoc.request(
                dimse.NGetRequest(requested_sop_class_uid=PRINTER, requested_sop_instance_uid="1.2")
            )
        assert rsp.status == 0xC000 and "boom" in (rsp.message.error_comment or "")
        rsp = await assoc.request(
            dimse.NDeleteRequest(requested_sop_class_uid=PRINTER, requested_sop_instance_uid="1.2")
        )
        assert rsp.status == 0x0211  # no handler: unrecognized operation
        assert (await assoc.echo()).status == 0  # C-ECHO is answered without a handler
        await assoc.release()

    run(main())


def test_unaccepted_context_is_a_local_error() -> None:
    async def main() -> None:
        assoc, _ = await pair(contexts=["1.2.840.10008.1.1", "1.2.3.4.5.6"])
        assert [c.abstract_syntax for c in assoc.accepted_contexts] == ["1.2.840.10008.1.1"]
        with pytest.raises(LocalProtocolError, match="no accepted presentation context"):
            await assoc.request(
                dimse.NGetRequest(
                    requested_sop_class_uid="1.2.3.4.5.6", requested_sop_instance_uid="1"
                )
            )
        await assoc.release()

    run(main())


def test_rejected_called_ae() -> None:
    async def main() -> None:
        client, server = memory_pair()
        cfg = AEConfig(require_called_aet=True)
        await AE("REAL", config=cfg).serve_transport(server)
        with pytest.raises(AssociationRejected) as info:
            await AE("SCU").associate("", 0, transport=client, ae_title="WRONG")
        assert info.value.result == 1 and info.value.reason == 7

    run(main())


def test_dimse_timeout_then_abort() -> None:
    release = asyncio.Event()

    async def slow(incoming: Incoming) -> int:
        await release.wait()
        return 0

    async def main() -> None:
        cfg = AEConfig(timeouts=Timeouts(dimse=0.2))
        assoc, server = await pair({dimse.NGetRequest: slow}, config=cfg)
        with pytest.raises(NetworkTimeout):
            await assoc.request(
                dimse.NGetRequest(requested_sop_class_uid=PRINTER, requested_sop_instance_uid="1")
            )
        await assoc.abort()
        await server.wait_closed()
        assert isinstance(server.error, AssociationAborted)
        release.set()

    run(main())


def test_peer_abort_fails_waiting_request() -> None:
    async def aborting(incoming: Incoming) -> int:
        await incoming.association.abort()
        return 0

    async def main() -> None:
        assoc, _ = await pair({dimse.NGetRequest: aborting})
        with pytest.raises(AssociationAborted, match="aborted by"):
            await assoc.request(
                dimse.NGetRequest(requested_sop_class_uid=PRINTER, requested_sop_instance_uid="1")
            )
        await assoc.wait_closed()
        with pytest.raises(AssociationAborted):
            await assoc.echo()

    run(main())


def test_buffer_limit_aborts() -> None:
    async def main() -> None:
        cfg = AEConfig(max_buffered=1000)
        assoc, server = await pair({dimse.NSetRequest: lambda i: 0}, config=cfg)
        with pytest.raises(AssociationAborted):
            await assoc.request(
                dimse.NSetRequest(requested_sop_class_uid=PRINTER, requested_sop_instance_uid="1"),
                b"\x08\x00\x20\x00" + b"x" * 5000,
            )
        await server.wait_closed()
        assert "limit" in str(server.error)

    run(main())


def test_streamed_chunks_iterable() -> None:
    got: list[bytes] = []

    def n_set(incoming: Incoming) -> int:
        got.append(incoming.data or b"")
        return 0

    async def main() -> None:
        assoc, _ = await pair({dimse.NSetRequest: n_set})
        chunks = [b"ab" * 10, b"", b"cd" * 70000]
        rsp = await assoc.request(
            dimse.NSetRequest(requested_sop_class_uid=PRINTER, requested_sop_instance_uid="1"),
            iter(chunks),
        )
        assert rsp.status == 0 and got == [b"".join(chunks)]
        await assoc.release()

    run(main())


def test_release_from_the_acceptor_side() -> None:
    async def main() -> None:
        assoc, server = await pair()
        await server.release()
        await assoc.wait_closed()
        assert assoc.error is None and server.error is None

    run(main())


def test_config_is_frozen() -> None:
    cfg = AEConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.max_pdu = 1  # type: ignore[misc]
    assert dataclasses.replace(cfg, max_pdu=1).max_pdu == 1
    assert AE("X", config=cfg).ae_title == "X" and cfg.ae_title == "DICOMKIT"


Handler = Callable[[Incoming], Any]


def test_c_get_style_sub_operations_flow_back_on_the_same_association(tmp_path: Any) -> None:
    """An SCP handler sends C-STORE requests to the SCU on the same association while it
    yields pending C-GET responses; the SCU's storage handler (SCP role) writes the files."""
    from dicomkit.services._storage import StorageSCP

    get_model = "1.2.840.10008.5.1.4.1.2.2.3"  # Study Root Q/R GET
    sc = "1.2.840.10008.5.1.4.1.1.7"

    async def c_get(incoming: Incoming) -> AsyncIterator[Any]:
        assoc = incoming.association
        ctx = assoc.context_for(sc)
        for i in range(3):
            ds = Dataset()
            ds.SOPClassUID = sc
            ds.SOPInstanceUID = f"1.2.3.{i}"
            ds.PatientID = str(i)
            rsp = await assoc.request(
                dimse.CStoreRequest(
                    affected_sop_class_uid=sc, affected_sop_instance_uid=f"1.2.3.{i}"
                ),
                ds,
                context=ctx,
            )
            assert rsp.status == 0
            yield dimse.CGetResponse(
                message_id_being_responded_to=0,
                status=0xFF00,
                remaining=2 - i,
                completed=i + 1,
                failed=0,
                warning=0,
            )

    async def main() -> list[int]:
        client, server = memory_pair()
        scp = AE("SCP", supported={get_model: LE, sc: LE}, handlers={dimse.CGetRequest: c_get})
        await scp.serve_transport(server)
        scu = AE("SCU", handlers={dimse.CStoreRequest: StorageSCP(tmp_path, fsync=False)})
        async with scu.associate(
            "", 0, transport=client, contexts=[get_model, sc], roles={sc: (False, True)}
        ) as assoc:
            statuses = [
                r.status
                async for r in assoc.request_iter(
                    dimse.CGetRequest(affected_sop_class_uid=get_model), Dataset()
                )
            ]
        return statuses

    assert run(main()) == [0xFF00] * 3 + [0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"1.2.3.{i}.dcm" for i in range(3)]


def test_release_collision_both_sides_at_once() -> None:
    async def main() -> None:
        assoc, server = await pair()
        await asyncio.gather(assoc.release(), server.release())
        assert assoc.is_closed and server.is_closed
        assert assoc.error is None and server.error is None

    run(main())


def test_pipelined_requests_are_answered_in_order_with_backpressure() -> None:
    """A peer that sends many requests without waiting is read only as fast as it is served."""
    gate = asyncio.Event()
    served: list[int] = []

    async def n_get(incoming: Incoming) -> int:
        await gate.wait()
        served.append(incoming.message.message_id)
        return 0

    async def main() -> None:
        assoc, server = await pair({dimse.NGetRequest: n_get})
        ctx = assoc.context_for(PRINTER)
        for mid in range(1, 31):
            await assoc.send_message(
                ctx,
                dimse.NGetRequest(
                    message_id=mid, requested_sop_class_uid=PRINTER, requested_sop_instance_uid="1"
                ),
            )
        for _ in range(200):  # let the SCP read as much as it will (bounded, no timed sleep)
            await asyncio.sleep(0)
        assert len(server._incoming) <= 5  # the reader stopped instead of queueing 30
        gate.set()
        for _ in range(2000):
            if len(served) == 30:
                break
            await asyncio.sleep(0)
        assert served == list(range(1, 31))
        await assoc.abort()

    run(main())
