"""Modality Performed Procedure Step (PS3.4 F): state machine and statuses, both sides."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from dicomkit.core._dataset import Dataset
from dicomkit.errors import DimseError
from dicomkit.net import AE, Association
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services import _mpps as mpps
from dicomkit.services._n_common import supported_for


def run(scp: mpps.MPPSSCP, body: Callable[[Association], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        client, server = memory_pair()
        await AE(
            "MPPS", handlers=scp.handlers(), supported=supported_for([mpps.MPPS])
        ).serve_transport(server)
        async with AE("MOD").associate("", 0, transport=client, contexts=[mpps.MPPS]) as assoc:
            return await body(assoc)

    return asyncio.run(main())


def test_create_update_complete() -> None:
    changes: list[tuple[str, str]] = []
    scp = mpps.MPPSSCP(
        on_change=lambda uid, ds: changes.append((uid, ds.PerformedProcedureStepStatus))
    )

    async def body(assoc: Association) -> tuple[str, Dataset]:
        uid = await mpps.create(
            assoc, mpps.in_progress(patient_name="DOE^J", patient_id="7", modality="CT")
        )
        mods = Dataset()
        mods.PerformedProcedureStepDescription = "Head"
        set_rsp = await mpps.update(assoc, uid, mods)
        assert isinstance(set_rsp, dimse.NSetResponse) and set_rsp.status == 0
        final = Dataset()
        final.PerformedProcedureStepEndDate = "20260101"
        final.PerformedProcedureStepEndTime = "101500"
        done = await mpps.complete(assoc, uid, final)
        assert isinstance(done, dimse.NSetResponse) and done.status == 0
        return uid, await mpps.get(assoc, uid)

    uid, got = run(scp, body)
    stored = scp.store[uid]
    assert stored.PerformedProcedureStepStatus == "COMPLETED"
    assert stored.PerformedProcedureStepDescription == "Head"
    assert stored.PerformedProcedureStepEndDate == "20260101"
    assert stored.SOPInstanceUID == uid and got.PatientID == "7"
    assert [c[1] for c in changes] == ["IN PROGRESS", "IN PROGRESS", "COMPLETED"]


def test_no_update_after_final_state() -> None:
    scp = mpps.MPPSSCP()

    async def body(assoc: Association) -> list[int]:
        uid = await mpps.create(assoc, mpps.in_progress())
        stopped = await mpps.discontinue(assoc, uid)
        assert isinstance(stopped, dimse.NSetResponse) and stopped.status == 0
        statuses = []
        for again in (mpps.complete, mpps.discontinue):
            with pytest.raises(DimseError) as info:
                await again(assoc, uid)
            statuses.append(info.value.status)
        return statuses

    assert run(scp, body) == [0x0110, 0x0110]


def test_create_refusals() -> None:
    scp = mpps.MPPSSCP()

    async def body(assoc: Association) -> list[int]:
        out = []
        ds = mpps.in_progress()
        ds.PerformedProcedureStepStatus = "COMPLETED"
        msg = dimse.NCreateRequest(
            affected_sop_class_uid=mpps.MPPS, affected_sop_instance_uid="1.2.3"
        )
        out.append((await assoc.request(msg, ds)).status)
        del ds.PerformedProcedureStepStatus
        out.append((await assoc.request(msg, ds)).status)
        uid = await mpps.create(assoc, mpps.in_progress(), sop_instance_uid="1.2.4")
        assert uid == "1.2.4"
        with pytest.raises(DimseError) as info:
            await mpps.create(assoc, mpps.in_progress(), sop_instance_uid="1.2.4")
        out.append(info.value.status)
        return out

    assert run(scp, body) == [0x0106, 0x0120, 0x0111]


def test_scp_assigns_uid_and_set_refusals() -> None:
    scp = mpps.MPPSSCP()

    async def body(assoc: Association) -> list[int]:
        msg = dimse.NCreateRequest(affected_sop_class_uid=mpps.MPPS)
        rsp = await assoc.request(msg, mpps.in_progress())
        uid = rsp.message.affected_sop_instance_uid
        assert rsp.status == 0 and uid in scp.store
        out = []
        bad = Dataset()
        bad.PerformedProcedureStepStatus = "PAUSED"
        with pytest.raises(DimseError) as info:
            await mpps.update(assoc, uid, bad)
        out.append(info.value.status)
        with pytest.raises(DimseError) as info:
            await mpps.update(assoc, "9.9.9", Dataset())
        out.append(info.value.status)
        with pytest.raises(DimseError) as info:
            await mpps.get(assoc, "9.9.9")
        out.append(info.value.status)
        return out

    assert run(scp, body) == [0x0106, 0x0112, 0x0112]


def test_n_get_selected_attributes() -> None:
    scp = mpps.MPPSSCP()

    async def body(assoc: Association) -> Dataset:
        uid = await mpps.create(assoc, mpps.in_progress(patient_id="5", modality="MR"))
        return await mpps.get(assoc, uid, [0x00100020, 0x00400252])

    got = run(scp, body)
    assert got.PatientID == "5" and got.PerformedProcedureStepStatus == "IN PROGRESS"
    assert "Modality" not in got
