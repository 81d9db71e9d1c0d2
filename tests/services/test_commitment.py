"""Storage Commitment Push Model (PS3.4 J): both sides in one process."""

from __future__ import annotations

import asyncio

import pytest

from dicomkit.core._dataset import Dataset
from dicomkit.dictionary.status_codes import NoSuchObjectInstance, ReferencedSOPClassNotSupported
from dicomkit.errors import DimseError
from dicomkit.net import AE
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._commitment import (
    EVENT_FAILURES,
    EVENT_SUCCESS,
    LISTENER_ROLES,
    STORAGE_COMMITMENT,
    STORAGE_COMMITMENT_INSTANCE,
    CommitmentListener,
    CommitmentResult,
    StorageCommitmentSCP,
    action_information,
    commit,
    event_information,
    request_commitment,
)
from dicomkit.services._n_common import ServiceAE, supported_for

CT = "1.2.840.10008.5.1.4.1.1.2"
HELD = {("1.2.840.10008.5.1.4.1.1.2", "1.2.3.1"), ("1.2.840.10008.5.1.4.1.1.2", "1.2.3.2")}


def holds(sop_class: str, sop_instance: str) -> bool:
    return (sop_class, sop_instance) in HELD


def scp_ae(scp: StorageCommitmentSCP) -> AE:
    return AE("SCP", handlers=scp.handlers(), supported=supported_for([STORAGE_COMMITMENT]))


def test_event_information_round_trip() -> None:
    event, ds = event_information("1.2.9", [(CT, "1.1")], [(CT, "1.2", 0x0112)], "ARCH")
    assert event == EVENT_FAILURES
    result = CommitmentResult.from_report(event, ds)
    assert result.transaction_uid == "1.2.9" and result.committed == [(CT, "1.1")]
    assert result.failed == [(CT, "1.2", 0x0112)] and not result.ok
    event, ds = event_information("1.2.9", [(CT, "1.1")], [])
    assert event == EVENT_SUCCESS and CommitmentResult.from_report(event, ds).ok


def test_commit_same_association_success_and_failures() -> None:
    async def main() -> tuple[CommitmentResult, CommitmentResult]:
        scp = StorageCommitmentSCP(holds, report_on="same")
        client, server = memory_pair()
        await scp_ae(scp).serve_transport(server)
        listener = CommitmentListener()
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=[STORAGE_COMMITMENT], handlers=listener.handlers()
        ) as assoc:
            good = await commit(assoc, sorted(HELD), listener, timeout=10)
            bad = await commit(assoc, [(CT, "1.2.3.1"), (CT, "9.9")], listener, timeout=10)
        return good, bad

    good, bad = asyncio.run(main())
    assert good.ok and good.event_type == EVENT_SUCCESS and sorted(good.committed) == sorted(HELD)
    assert bad.event_type == EVENT_FAILURES and bad.committed == [(CT, "1.2.3.1")]
    assert bad.failed == [(CT, "9.9", NoSuchObjectInstance)]


def test_async_holds_and_failure_reason_codes() -> None:
    async def check(sop_class: str, sop_instance: str) -> int | bool:
        return 0x0122 if sop_instance == "2" else sop_instance == "1"

    async def main() -> CommitmentResult:
        scp = StorageCommitmentSCP(check)
        client, server = memory_pair()
        await scp_ae(scp).serve_transport(server)
        listener = CommitmentListener()
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=[STORAGE_COMMITMENT], handlers=listener.handlers()
        ) as assoc:
            return await commit(assoc, [(CT, "1"), (CT, "2"), (CT, "3")], listener, timeout=10)

    result = asyncio.run(main())
    assert result.committed == [(CT, "1")]
    assert result.failed == [
        (CT, "2", ReferencedSOPClassNotSupported),
        (CT, "3", NoSuchObjectInstance),
    ]


def test_report_on_new_association_with_role_selection() -> None:
    async def main() -> tuple[CommitmentResult, list[CommitmentResult]]:
        listener = CommitmentListener()
        # the SCU's own listening AE grants the SCP role to the reporting SCP
        scu_listen = ServiceAE(
            "SCU",
            handlers=listener.handlers(),
            roles=LISTENER_ROLES,
            supported=supported_for([STORAGE_COMMITMENT]),
        )
        async with await scu_listen.serve(0) as listening:
            scp = StorageCommitmentSCP(
                holds, report_on="new", addresses={"SCU": ("127.0.0.1", listening.port)}
            )
            async with await scp_ae(scp).serve(0) as server:
                async with AE("SCU").associate(
                    "127.0.0.1", server.port, ae_title="SCP", contexts=[STORAGE_COMMITMENT]
                ) as assoc:
                    txn = await request_commitment(assoc, sorted(HELD))
                result = await listener.wait(txn, timeout=10)
                await scp.join()
        return result, scp.results

    result, sent = asyncio.run(main())
    assert result.ok and result.calling_ae == "SCP" and len(sent) == 1


def test_report_auto_falls_back_to_new_association_after_release() -> None:
    async def main() -> CommitmentResult:
        listener = CommitmentListener()
        released = asyncio.Event()

        async def slow(sop_class: str, sop_instance: str) -> bool:
            await released.wait()
            return True

        scu_listen = ServiceAE(
            "SCU",
            handlers=listener.handlers(),
            roles=LISTENER_ROLES,
            supported=supported_for([STORAGE_COMMITMENT]),
        )
        async with await scu_listen.serve(0) as listening:
            scp = StorageCommitmentSCP(slow, addresses={"SCU": ("127.0.0.1", listening.port)})
            async with await scp_ae(scp).serve(0) as server:
                async with AE("SCU").associate(
                    "127.0.0.1", server.port, ae_title="SCP", contexts=[STORAGE_COMMITMENT]
                ) as assoc:
                    txn = await request_commitment(assoc, [(CT, "7")])
                # released (the SCP answered A-RELEASE-RP before we got here): the report
                # must come on a new association
                released.set()
                return await listener.wait(txn, timeout=10)

    assert asyncio.run(main()).committed == [(CT, "7")]


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"requested_sop_instance_uid": "1.2.3"}, 0x0117),
        ({"action_type_id": 2}, 0x0123),
    ],
)
def test_refusals(changes: dict[str, object], status: int) -> None:
    async def main() -> int:
        scp = StorageCommitmentSCP(holds)
        client, server = memory_pair()
        await scp_ae(scp).serve_transport(server)
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=[STORAGE_COMMITMENT]
        ) as assoc:
            msg = dimse.NActionRequest(
                requested_sop_class_uid=STORAGE_COMMITMENT,
                requested_sop_instance_uid=STORAGE_COMMITMENT_INSTANCE,
                action_type_id=1,
            ).replace(**changes)
            rsp = await assoc.request(msg, action_information("1.2", [(CT, "1")]))
            return rsp.status

    assert asyncio.run(main()) == status


def test_missing_transaction_uid_raises() -> None:
    async def main() -> None:
        scp = StorageCommitmentSCP(holds)
        client, server = memory_pair()
        await scp_ae(scp).serve_transport(server)
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=[STORAGE_COMMITMENT]
        ) as assoc:
            msg = dimse.NActionRequest(
                requested_sop_class_uid=STORAGE_COMMITMENT,
                requested_sop_instance_uid=STORAGE_COMMITMENT_INSTANCE,
                action_type_id=1,
            )
            ds = Dataset()
            ds.ReferencedSOPSequence = action_information("1", [(CT, "1")]).ReferencedSOPSequence
            rsp = await assoc.request(msg, ds)
            assert rsp.status == 0x0120
            with pytest.raises(ValueError):
                await request_commitment(assoc, [])

    asyncio.run(main())


def test_listener_wait_times_out() -> None:
    async def main() -> None:
        with pytest.raises(TimeoutError):
            await CommitmentListener().wait("1.2.3", timeout=0)

    asyncio.run(main())


def test_dimse_error_on_refusal() -> None:
    async def main() -> None:
        client, server = memory_pair()
        await AE("SCP", supported=supported_for([STORAGE_COMMITMENT])).serve_transport(server)
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=[STORAGE_COMMITMENT]
        ) as assoc:
            with pytest.raises(DimseError) as info:
                await request_commitment(assoc, [(CT, "1")])
            assert info.value.status == 0x0211

    asyncio.run(main())
