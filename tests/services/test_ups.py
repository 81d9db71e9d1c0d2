"""Unified Procedure Step (PS3.4 CC): Push, Pull, Watch, Event and Query in one process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.errors import DimseError
from dicomkit.net import AE, Association, NActionResponse, NSetResponse
from dicomkit.net._memory import memory_pair
from dicomkit.services import _mpps as mpps
from dicomkit.services import _ups as ups
from dicomkit.services._n_common import ServiceAE, SopClassRouter, supported_for

CONTEXTS = [ups.UPS_PUSH, ups.UPS_PULL, ups.UPS_WATCH, ups.UPS_QUERY]


def run(scp: ups.UPSSCP, body: Callable[[Association], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        client, server = memory_pair()
        await AE(
            "UPSSCP", handlers=scp.handlers(), supported=supported_for(ups.UPS_SOP_CLASSES)
        ).serve_transport(server)
        async with AE("PERFORMER").associate("", 0, transport=client, contexts=CONTEXTS) as assoc:
            return await body(assoc)

    return asyncio.run(main())


async def status_of(call: Awaitable[Any]) -> int:
    try:
        rsp = await call
        assert isinstance(rsp, (NSetResponse, NActionResponse))
        return int(rsp.status)
    except DimseError as exc:
        assert exc.status is not None
        return exc.status


def test_push_pull_lifecycle() -> None:
    scp = ups.UPSSCP()

    async def body(assoc: Association) -> list[int]:
        uid = await ups.create(assoc, ups.scheduled(label="Recon", patient_id="P1"))
        txn = "1.2.826.0.1.3680043.10.99.1"
        out = [await status_of(ups.change_state(assoc, uid, ups.IN_PROGRESS, txn))]
        # a second performer cannot take it
        out.append(await status_of(ups.change_state(assoc, uid, ups.IN_PROGRESS, "9.9")))
        mods = Dataset()
        mods.ProcedureStepLabel = "Recon 2"
        out.append(await status_of(ups.update(assoc, uid, mods)))  # no Transaction UID
        out.append(await status_of(ups.update(assoc, uid, mods, txn)))
        out.append(await status_of(ups.change_state(assoc, uid, ups.COMPLETED, "9.9")))
        out.append(await status_of(ups.change_state(assoc, uid, ups.COMPLETED, txn)))
        out.append(await status_of(ups.change_state(assoc, uid, ups.COMPLETED, txn)))
        out.append(await status_of(ups.update(assoc, uid, mods, txn)))
        got = await ups.get(assoc, uid)
        assert got.ProcedureStepLabel == "Recon 2" and got.ProcedureStepState == "COMPLETED"
        assert "TransactionUID" not in got
        return out

    assert run(scp, body) == [0x0000, 0xC302, 0xC301, 0x0000, 0xC301, 0x0000, 0xB306, 0xC300]


def test_create_and_state_refusals() -> None:
    scp = ups.UPSSCP()

    async def body(assoc: Association) -> list[int]:
        bad = ups.scheduled(label="x")
        bad.ProcedureStepState = "IN PROGRESS"
        out = [await status_of(ups.create(assoc, bad))]
        uid = await ups.create(assoc, ups.scheduled(label="y"), sop_instance_uid="1.2.3.4")
        out.append(
            await status_of(ups.create(assoc, ups.scheduled(label="y"), sop_instance_uid="1.2.3.4"))
        )
        out.append(await status_of(ups.change_state(assoc, uid, ups.COMPLETED, "1.1")))
        out.append(await status_of(ups.change_state(assoc, uid, ups.SCHEDULED, "1.1")))
        out.append(await status_of(ups.change_state(assoc, "7.7", ups.IN_PROGRESS, "1.1")))
        out.append(await status_of(ups.get(assoc, "7.7")))
        mods = Dataset()
        mods.ProcedureStepLabel = "z"
        out.append(await status_of(ups.update(assoc, uid, mods, "1.1")))  # SCHEDULED + txn
        out.append(await status_of(ups.update(assoc, uid, mods)))  # SCHEDULED, no txn: ok
        return out

    assert run(scp, body) == [0xC309, 0x0111, 0xC310, 0xC303, 0xC307, 0xC307, 0xC310, 0x0000]


def test_request_cancel() -> None:
    scp = ups.UPSSCP()

    async def body(assoc: Association) -> list[int]:
        a = await ups.create(assoc, ups.scheduled(label="a"))
        out = [await status_of(ups.request_cancel(assoc, a, reason="not needed"))]
        out.append(await status_of(ups.request_cancel(assoc, a)))
        b = await ups.create(assoc, ups.scheduled(label="b"))
        await ups.change_state(assoc, b, ups.IN_PROGRESS, "1.5")
        out.append(await status_of(ups.request_cancel(assoc, b)))  # performer is told
        await ups.change_state(assoc, b, ups.COMPLETED, "1.5")
        out.append(await status_of(ups.request_cancel(assoc, b)))
        return out

    assert run(scp, body) == [0x0000, 0xB304, 0x0000, 0xC311]
    states = sorted(ups._state(ds) for ds in scp.store.values())
    assert states == ["CANCELED", "COMPLETED"]


def test_c_find_pull_and_query() -> None:
    scp = ups.UPSSCP()

    async def body(assoc: Association) -> tuple[list[Dataset], list[Dataset]]:
        await ups.create(assoc, ups.scheduled(label="one", patient_name="DOE^A"))
        two = await ups.create(assoc, ups.scheduled(label="two", patient_name="ROE^B"))
        await ups.change_state(assoc, two, ups.IN_PROGRESS, "1.6")
        q = Dataset()
        q.ProcedureStepState = "SCHEDULED"
        q.ProcedureStepLabel = ""
        q.TransactionUID = ""
        q2 = Dataset()
        q2.PatientName = "*OE^B"
        q2.ProcedureStepState = ""
        return (await ups.find(assoc, q), await ups.find(assoc, q2, sop_class=ups.UPS_QUERY))

    pulled, queried = run(scp, body)
    assert [d.ProcedureStepLabel for d in pulled] == ["one"]
    assert "TransactionUID" not in pulled[0]
    assert [d.ProcedureStepState for d in queried] == ["IN PROGRESS"]


def test_watch_subscriptions_and_event_reports() -> None:
    async def main() -> tuple[list[ups.UPSEvent], int, int]:
        listener = ups.UPSEventListener()
        watcher = AE(
            "WATCHER", handlers=listener.handlers(), supported=supported_for([ups.UPS_EVENT])
        )
        async with await watcher.serve(0) as listening:
            scp = ups.UPSSCP(addresses={"WATCHER": ("127.0.0.1", listening.port)})
            client, server = memory_pair()
            await AE(
                "UPSSCP", handlers=scp.handlers(), supported=supported_for(ups.UPS_SOP_CLASSES)
            ).serve_transport(server)
            async with AE("WATCHER").associate("", 0, transport=client, contexts=CONTEXTS) as assoc:
                first = await ups.create(assoc, ups.scheduled(label="before"))
                unknown = await status_of(ups.subscribe(assoc, "NOBODY"))
                await ups.subscribe(assoc, "WATCHER", deletion_lock=True)
                # an initial state report for the existing UPS
                await listener.wait_for(1, timeout=10)
                second = await ups.create(assoc, ups.scheduled(label="after"))
                await ups.change_state(assoc, second, ups.IN_PROGRESS, "1.7")
                await ups.request_cancel(assoc, second, reason="stop")
                progress = Dataset()
                info = Dataset()
                info.ProcedureStepProgress = 50
                progress.ProcedureStepProgressInformationSequence = Sequence([info])
                await ups.update(assoc, second, progress, "1.7")
                await ups.change_state(assoc, second, ups.CANCELED, "1.7")
                await ups.unsubscribe(assoc, "WATCHER")
                await ups.change_state(assoc, first, ups.IN_PROGRESS, "1.8")  # not reported
                suspend_bad = await status_of(ups.suspend_global(assoc, "WATCHER"))
                await scp.join()
            return listener.events, unknown, suspend_bad

    events, unknown, suspend = asyncio.run(main())
    assert unknown == 0xC308 and suspend == 0x0000
    summary = [(e.event_type, e.state or e.dataset.get("RequestingAE", "")) for e in events]
    assert summary == [
        (1, "SCHEDULED"),
        (1, "SCHEDULED"),
        (1, "IN PROGRESS"),
        (2, "WATCHER"),
        (3, ""),
        (1, "CANCELED"),
    ]
    assert events[3].dataset.ReasonForCancellation == "stop"
    assert all(e.calling_ae == "UPSSCP" for e in events)


def test_router_shares_an_ae_with_mpps() -> None:
    router = SopClassRouter()
    scp = ups.UPSSCP()
    scp.add_to(router)
    router.add(mpps.MPPS, mpps.MPPSSCP().handlers())

    async def main() -> tuple[str, str, int]:
        client, server = memory_pair()
        await ServiceAE(
            "NODE", handlers=router.handlers(), supported=supported_for(router.sop_classes())
        ).serve_transport(server)
        async with AE("MOD").associate(
            "", 0, transport=client, contexts=[*CONTEXTS, mpps.MPPS]
        ) as assoc:
            a = await ups.create(assoc, ups.scheduled(label="u"))
            b = await mpps.create(assoc, mpps.in_progress())
            from dicomkit.net.proto import _dimse as dimse

            rsp = await assoc.request(
                dimse.NCreateRequest(affected_sop_class_uid="1.2.3.4"),
                Dataset(),
                context=assoc.context_for(mpps.MPPS),
            )
            return a, b, rsp.status

    a, b, status = asyncio.run(main())
    assert a in scp.store and b and status == 0x0122


@pytest.mark.parametrize("action", [9])
def test_unknown_action(action: int) -> None:
    scp = ups.UPSSCP()

    async def body(assoc: Association) -> int:
        uid = await ups.create(assoc, ups.scheduled(label="a"))
        return await status_of(ups._action(assoc, uid, action, Dataset(), "x", ups.UPS_PUSH))

    assert run(scp, body) == 0x0123


def test_instance_subscription_and_suspend_global() -> None:
    async def main() -> tuple[list[tuple[str, str]], dict[str, str]]:
        listener = ups.UPSEventListener()
        watcher = AE("W", handlers=listener.handlers(), supported=supported_for([ups.UPS_EVENT]))
        async with await watcher.serve(0) as listening:
            scp = ups.UPSSCP(addresses={"W": ("127.0.0.1", listening.port)})
            client, server = memory_pair()
            await AE(
                "UPSSCP", handlers=scp.handlers(), supported=supported_for(ups.UPS_SOP_CLASSES)
            ).serve_transport(server)
            async with AE("W").associate("", 0, transport=client, contexts=CONTEXTS) as assoc:
                a = await ups.create(assoc, ups.scheduled(label="a"))
                b = await ups.create(assoc, ups.scheduled(label="b"))
                assert await status_of(ups.subscribe(assoc, "W", "9.9.9")) == 0xC307
                await ups.subscribe(assoc, "W", a)  # initial report: a SCHEDULED
                await ups.subscribe(assoc, "W")  # global: reports for a and b
                await scp.join()
                await ups.suspend_global(assoc, "W")
                c = await ups.create(assoc, ups.scheduled(label="c"))  # not followed
                await ups.change_state(assoc, c, ups.IN_PROGRESS, "1.1")
                await ups.change_state(assoc, b, ups.IN_PROGRESS, "1.2")  # still followed
                await ups.unsubscribe(assoc, "W", b)
                await ups.change_state(assoc, b, ups.CANCELED, "1.2")  # no longer
                await ups.change_state(assoc, a, ups.IN_PROGRESS, "1.3")
                await scp.join()
            names = {a: "a", b: "b", c: "c"}
            return [(names[e.sop_instance_uid], e.state) for e in listener.events], names

    events, _ = asyncio.run(main())
    assert events[0] == ("a", "SCHEDULED")
    assert sorted(events[1:3]) == [("a", "SCHEDULED"), ("b", "SCHEDULED")]
    assert events[3:] == [("b", "IN PROGRESS"), ("a", "IN PROGRESS")]
