"""Handler routing by (request class, SOP class), ``supported`` derived from handlers, the
after-response hook, and C-STORE requests the driver refuses itself. In memory, no sleeps."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from helpers import run

from dicomkit.core._dataset import Dataset
from dicomkit.net import AE, Association, Incoming
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse

MPPS = "1.2.840.10008.3.1.2.3.3"
UPS_PUSH = "1.2.840.10008.5.1.4.34.6.1"
COMMITMENT = "1.2.840.10008.1.20.1"
PRINTER = "1.2.840.10008.5.1.1.16"
SC = "1.2.840.10008.5.1.4.1.1.7"
CT = "1.2.840.10008.5.1.4.1.1.2"
LE = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]


async def connect(scp: AE, contexts: list[Any]) -> tuple[Association, Association]:
    client, server = memory_pair()
    srv = await scp.serve_transport(server)
    assoc = await AE("SCU").associate("", 0, transport=client, contexts=contexts)
    return assoc, srv


def n_create(sop_class: str) -> dimse.NCreateRequest:
    return dimse.NCreateRequest(
        affected_sop_class_uid=sop_class, affected_sop_instance_uid="1.2.3.4"
    )


def test_handlers_keyed_by_sop_class_share_a_request_type() -> None:
    seen: list[str] = []

    def handler(name: str) -> Any:
        async def handle(incoming: Incoming) -> int:
            seen.append(name)
            return 0

        return handle

    async def main() -> None:
        scp = AE(
            "SCP",
            handlers={
                (dimse.NCreateRequest, MPPS): handler("mpps"),
                (dimse.NCreateRequest, UPS_PUSH): handler("ups"),
            },
        )
        # supported derived from the keys: both SOP classes are accepted
        assoc, _ = await connect(scp, [MPPS, UPS_PUSH])
        assert {c.abstract_syntax for c in assoc.accepted_contexts} == {MPPS, UPS_PUSH}
        assert (await assoc.request(n_create(UPS_PUSH), Dataset())).status == 0
        assert (await assoc.request(n_create(MPPS), Dataset())).status == 0
        await assoc.release()

    run(main())
    assert seen == ["ups", "mpps"]


def test_keyed_handler_for_another_sop_class_answers_0122() -> None:
    async def main() -> None:
        scp = AE(
            "SCP",
            handlers={(dimse.NCreateRequest, MPPS): lambda i: 0},
            supported={MPPS: LE, UPS_PUSH: LE},
        )
        assoc, _ = await connect(scp, [MPPS, UPS_PUSH])
        assert (await assoc.request(n_create(UPS_PUSH), Dataset())).status == 0x0122
        # a request type with no handler at all stays "unrecognized operation"
        rsp = await assoc.request(
            dimse.NSetRequest(requested_sop_class_uid=MPPS, requested_sop_instance_uid="1"),
            Dataset(),
        )
        assert rsp.status == 0x0211
        await assoc.release()

    run(main())


def test_plain_handler_is_the_fallback_for_other_sop_classes() -> None:
    seen: list[str] = []

    async def keyed(incoming: Incoming) -> int:
        seen.append("keyed")
        return 0

    async def plain(incoming: Incoming) -> int:
        seen.append("plain")
        return 0

    async def main() -> None:
        scp = AE(
            "SCP",
            handlers={(dimse.NCreateRequest, MPPS): keyed, dimse.NCreateRequest: plain},
            supported={MPPS: LE, UPS_PUSH: LE},
        )
        assoc, _ = await connect(scp, [MPPS, UPS_PUSH])
        await assoc.request(n_create(UPS_PUSH), Dataset())
        await assoc.request(n_create(MPPS), Dataset())
        await assoc.release()

    run(main())
    assert seen == ["plain", "keyed"]


def test_handler_sop_classes_attribute_feeds_supported() -> None:
    class Printer:
        sop_classes = (PRINTER,)

        async def __call__(self, incoming: Incoming) -> int:
            return 0

    class Methodical:
        def sop_classes(self) -> list[str]:
            return [COMMITMENT]

        async def __call__(self, incoming: Incoming) -> int:
            return 0

    scp = AE("SCP", handlers={dimse.NGetRequest: Printer(), dimse.NActionRequest: Methodical()})
    supported = scp.acceptor_config(scp.handlers).supported
    assert set(supported) == {"1.2.840.10008.1.1", PRINTER, COMMITMENT}
    # given explicitly, supported is taken as it is
    given = AE("SCP", handlers={dimse.NGetRequest: Printer()}, supported={PRINTER: LE})
    assert set(given.acceptor_config(given.handlers).supported) == {PRINTER}


def test_without_a_handler_the_sop_class_is_not_negotiated() -> None:
    async def main() -> None:
        assoc, _ = await connect(AE("SCP"), [MPPS, "1.2.840.10008.1.1"])
        assert [c.abstract_syntax for c in assoc.accepted_contexts] == ["1.2.840.10008.1.1"]
        await assoc.release()

    run(main())


def test_after_returned_with_the_response_runs_once_it_was_sent() -> None:
    order: list[str] = []

    async def action(incoming: Incoming) -> Any:
        assoc = incoming.association

        async def report() -> None:
            order.append("report sent")
            rsp = await assoc.request(
                dimse.NEventReportRequest(
                    affected_sop_class_uid=COMMITMENT,
                    affected_sop_instance_uid="1.2.3",
                    event_type_id=1,
                ),
                Dataset(),
                context=incoming.context,
            )
            order.append(f"report answered {rsp.status:#06x}")

        order.append("handler")
        return 0, None, report

    async def on_report(incoming: Incoming) -> int:
        order.append("report received")
        return 0

    async def main() -> None:
        client, server = memory_pair()
        scp = AE("SCP", handlers={(dimse.NActionRequest, COMMITMENT): action})
        srv = await scp.serve_transport(server)
        scu = AE("SCU", handlers={dimse.NEventReportRequest: on_report})
        assoc = await scu.associate("", 0, transport=client, contexts=[COMMITMENT])
        rsp = await assoc.request(
            dimse.NActionRequest(
                requested_sop_class_uid=COMMITMENT,
                requested_sop_instance_uid="1.2.3",
                action_type_id=1,
            ),
            Dataset(),
        )
        order.append("response received")
        while len(order) < 5:
            await asyncio.sleep(0)
        assert rsp.status == 0
        await assoc.release()
        await srv.wait_closed()

    run(main())
    assert (
        order.index("handler") < order.index("response received") < order.index("report received")
    )
    assert order[-1] == "report answered 0x0000"


def test_after_response_and_responded_future() -> None:
    events: list[str] = []

    async def handle(incoming: Incoming) -> int:
        incoming.after_response(lambda: events.append("plain callable"))

        async def later() -> None:
            events.append("coroutine function")

        incoming.after_response(later)

        async def watch(fut: asyncio.Future[None]) -> None:
            await fut
            events.append("responded")

        asyncio.get_running_loop().create_task(watch(incoming.responded))
        return 0

    async def main() -> None:
        scp = AE("SCP", handlers={dimse.NGetRequest: handle}, supported={PRINTER: LE})
        assoc, _ = await connect(scp, [PRINTER])
        rsp = await assoc.request(
            dimse.NGetRequest(requested_sop_class_uid=PRINTER, requested_sop_instance_uid="1")
        )
        assert rsp.status == 0
        while len(events) < 3:
            await asyncio.sleep(0)
        await assoc.release()

    run(main())
    assert sorted(events) == ["coroutine function", "plain callable", "responded"]


def _sc_dataset(sop_class: str = SC) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = "1.2.3.9"
    ds.PatientID = "X"
    return ds


@pytest.mark.parametrize("streamed", [False, True])
def test_cstore_with_a_sop_class_other_than_the_contexts_is_refused(streamed: bool) -> None:
    stored: list[str] = []

    class Store:
        async def __call__(self, incoming: Incoming) -> int:
            stored.append("handled")
            return 0

    class StreamingStore(Store):
        def open_stream(self, incoming: Incoming) -> Any:
            stored.append("opened")
            return None

    async def main() -> None:
        handler = StreamingStore() if streamed else Store()
        scp = AE("SCP", handlers={dimse.CStoreRequest: handler})
        assoc, _ = await connect(scp, [SC])
        msg = dimse.CStoreRequest(affected_sop_class_uid=CT, affected_sop_instance_uid="1.2.3")
        rsp = await assoc.request(msg, _sc_dataset(CT), context=assoc.context_for(SC))
        assert rsp.status == 0x0122
        ok = dimse.CStoreRequest(affected_sop_class_uid=SC, affected_sop_instance_uid="1.2.3")
        assert (await assoc.request(ok, _sc_dataset())).status == 0
        await assoc.release()

    run(main())
    assert stored == (["opened", "handled"] if streamed else ["handled"])


def test_cstore_without_a_data_set_is_refused() -> None:
    async def main() -> None:
        scp = AE("SCP", handlers={dimse.CStoreRequest: lambda incoming: 0})
        assoc, _ = await connect(scp, [SC])
        ctx = assoc.context_for(SC)
        msg = dimse.CStoreRequest(
            message_id=7,
            affected_sop_class_uid=SC,
            affected_sop_instance_uid="1.2.3",
            has_dataset=False,
        )
        rsp = await assoc.request(msg, None, context=ctx)
        assert rsp.status == 0xC000
        await assoc.release()

    run(main())
