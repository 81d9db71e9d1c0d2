"""SCP/SCU role selection granted by our acceptor (PS3.7 D.3.3.4): ``AE(roles=...)``."""

from __future__ import annotations

from typing import Any

from helpers import run

from dicomkit.core._dataset import Dataset
from dicomkit.net import AE, Incoming
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse

COMMITMENT = "1.2.840.10008.1.20.1"
COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"
GET = "1.2.840.10008.5.1.4.1.2.2.3"  # Study Root Q/R GET
LE = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]


async def connect(
    scp: AE, scu: AE, contexts: list[Any], roles: dict[str, tuple[bool, bool]] | None
) -> tuple[Any, Any]:
    client, server = memory_pair()
    srv = await scp.serve_transport(server)
    assoc = await scu.associate("", 0, transport=client, contexts=contexts, roles=roles)
    return assoc, srv


def test_scp_role_is_granted_when_the_ae_allows_it() -> None:
    async def main() -> None:
        scp = AE("SCP", roles={COMMITMENT: (True, True)})
        assoc, srv = await connect(scp, AE("SCU"), [COMMITMENT], {COMMITMENT: (True, True)})
        ctx = assoc.context_for(COMMITMENT)
        assert ctx.scu_role and ctx.scp_role
        assert srv.context_for(COMMITMENT).scp_role  # the acceptor sees the same answer
        await assoc.release()

    run(main())


def test_role_selection_is_refused_without_roles() -> None:
    async def main() -> None:
        scp = AE("SCP", supported={COMMITMENT: LE})
        assoc, _ = await connect(scp, AE("SCU"), [COMMITMENT], {COMMITMENT: (False, True)})
        ctx = assoc.context_for(COMMITMENT)
        assert (ctx.scu_role, ctx.scp_role) == (True, False)  # the default roles
        await assoc.release()

    run(main())


def test_roles_make_their_sop_class_supported() -> None:
    async def main() -> None:
        scp = AE("SCP", roles={COMMITMENT: (False, True)})
        assoc, _ = await connect(scp, AE("SCU"), [COMMITMENT], {COMMITMENT: (False, True)})
        ctx = assoc.context_for(COMMITMENT)
        assert (ctx.scu_role, ctx.scp_role) == (False, True)
        await assoc.release()

    run(main())


def test_commitment_report_from_the_requestor_as_scp() -> None:
    """The Storage Commitment SCP opens an association to deliver N-EVENT-REPORT as SCP
    (PS3.4 J.3.3): the receiving SCU grants that role and its handler gets the report."""
    got: list[int] = []

    async def report(incoming: Incoming) -> int:
        msg = incoming.message
        assert isinstance(msg, dimse.NEventReportRequest)
        got.append(msg.event_type_id)
        return 0

    async def main() -> None:
        scu_side = AE(
            "SCU", roles={COMMITMENT: (False, True)}, handlers={dimse.NEventReportRequest: report}
        )
        assoc, _ = await connect(
            scu_side, AE("COMMITSCP"), [COMMITMENT], {COMMITMENT: (False, True)}
        )
        rsp = await assoc.request(
            dimse.NEventReportRequest(
                affected_sop_class_uid=COMMITMENT,
                affected_sop_instance_uid=COMMITMENT_INSTANCE,
                event_type_id=1,
            ),
            Dataset(),
        )
        assert rsp.status == 0
        await assoc.release()

    run(main())
    assert got == [1]


def test_c_get_sub_operations_reach_the_requestor() -> None:
    """C-GET (PS3.4 C.4.3): the SCU proposes the SCP role for the storage class, the SCP
    grants it and sends C-STORE sub-operations on the same association."""
    stored: list[str] = []

    async def get(incoming: Incoming) -> Any:
        assoc = incoming.association
        ctx = assoc.context_for(CT)
        assert ctx.scp_role  # the requestor may be SCP of CT storage
        for n in range(3):
            ds = Dataset()
            ds.SOPClassUID = CT
            ds.SOPInstanceUID = f"1.2.3.{n}"
            rsp = await assoc.request(
                dimse.CStoreRequest(
                    affected_sop_class_uid=CT, affected_sop_instance_uid=f"1.2.3.{n}"
                ),
                ds,
                context=ctx,
            )
            yield (
                dimse.CGetResponse(
                    message_id_being_responded_to=incoming.message.message_id,
                    status=0xFF00,
                    remaining=2 - n,
                    completed=n + 1,
                    failed=0,
                    warning=0,
                )
                if rsp.status == 0
                else 0xA702
            )

    async def store(incoming: Incoming) -> int:
        msg = incoming.message
        assert isinstance(msg, dimse.CStoreRequest)
        stored.append(msg.affected_sop_instance_uid)
        return 0

    async def main() -> None:
        scp = AE(
            "SCP",
            handlers={dimse.CGetRequest: get},
            supported={GET: LE, CT: LE},
            roles={CT: (False, True)},
        )
        scu = AE("SCU", handlers={dimse.CStoreRequest: store})
        assoc, _ = await connect(scp, scu, [GET, CT], {CT: (False, True)})
        statuses = [
            r.status
            async for r in assoc.request_iter(
                dimse.CGetRequest(affected_sop_class_uid=GET), Dataset()
            )
        ]
        assert statuses == [0xFF00, 0xFF00, 0xFF00, 0]
        await assoc.release()

    run(main())
    assert stored == ["1.2.3.0", "1.2.3.1", "1.2.3.2"]
