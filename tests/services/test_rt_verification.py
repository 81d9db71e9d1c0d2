"""RT Machine Verification (PS3.4 DD): the flow and its states, both SOP classes, statuses."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.dictionary import tags
from dicomkit.errors import DimseError
from dicomkit.net import AE, Association
from dicomkit.net._memory import memory_pair
from dicomkit.services import (
    MACHINE_VERIFICATION_CLASSES,
    RT_CONVENTIONAL_MACHINE_VERIFICATION,
    RT_ION_MACHINE_VERIFICATION,
    MachineVerificationSCP,
    RangeVerifier,
    VerificationListener,
    rt_verification,
)
from dicomkit.services._n_common import n_request, supported_for

CONV, ION = RT_CONVENTIONAL_MACHINE_VERIFICATION, RT_ION_MACHINE_VERIFICATION


def run(
    scp: MachineVerificationSCP,
    body: Callable[[Association, VerificationListener], Awaitable[Any]],
) -> Any:
    async def main() -> Any:
        client, server = memory_pair()
        await AE(
            "MPV", handlers=scp.handlers(), supported=supported_for(MACHINE_VERIFICATION_CLASSES)
        ).serve_transport(server)
        listener = VerificationListener()
        async with AE("TDS").associate(
            "", 0, transport=client, contexts=list(MACHINE_VERIFICATION_CLASSES),
            handlers=listener.handlers(),
        ) as assoc:  # fmt: skip
            return await body(assoc, listener)

    return asyncio.run(main())


def beams(*metersets: float, seq: str = "ConventionalMachineVerificationSequence") -> Dataset:
    ds = Dataset()
    items = []
    for n, mu in enumerate(metersets, 1):
        item = Dataset()
        item.ReferencedBeamNumber = n
        item.SpecifiedPrimaryMeterset = mu
        items.append(item)
    setattr(ds, seq, Sequence(items))
    return ds


VERIFIER = RangeVerifier({"SpecifiedPrimaryMeterset": (0, 300)})


KINDS = {CONV: "ConventionalMachineVerificationSequence", ION: "IonMachineVerificationSequence"}


@pytest.mark.parametrize("sop_class, ion", [(CONV, False), (ION, True)])
def test_flow_verified_and_not_verified(sop_class: str, ion: bool) -> None:
    scp = MachineVerificationSCP(VERIFIER)
    attrs = rt_verification.creation_attributes("1.2.3.9", "P1", ion=ion, fraction_group=1)

    async def body(assoc: Association, listener: VerificationListener) -> Any:
        seq = KINDS[sop_class]
        ok = await rt_verification.verify(
            assoc, listener, sop_class, attrs, beams(120, 80, seq=seq)
        )
        bad = await rt_verification.verify(
            assoc, listener, sop_class, attrs, beams(120, 950, seq=seq), keep=True
        )
        wrong = KINDS[ION if sop_class == CONV else CONV]
        (uid,) = scp.instances
        rsp = await raw(assoc, _set(sop_class, uid), beams(1, seq=wrong))
        assert rsp.status == 0x0106
        assert rsp.offending_element == (getattr(tags, wrong),)
        read = await rt_verification.get_result(assoc, sop_class, uid)
        return ok, bad, read, uid

    ok, bad, read, uid = run(scp, body)
    assert ok.status == "VERIFIED" and ok.failed == ()
    assert bad.status == "NOT_VERIFIED"
    assert [(p.tag, p.sequence, p.item) for p in bad.failed] == [
        (tags.SpecifiedPrimaryMeterset, getattr(tags, KINDS[sop_class]), 2)
    ]
    assert read == bad  # N-GET reads what the event reported
    assert scp.state(uid) == "NOT_VERIFIED"


def test_overridden_and_required() -> None:
    verifier = RangeVerifier(
        {"SpecifiedPrimaryMeterset": (0, 300)},
        overrides=["SpecifiedPrimaryMeterset"],
        required=["SpecifiedTreatmentTime"],
    )
    got = verifier(beams(400))
    assert got.status == "NOT_VERIFIED"
    assert [p.tag for p in got.failed] == [tags.SpecifiedTreatmentTime]
    assert [p.tag for p in got.overridden] == [tags.SpecifiedPrimaryMeterset]
    params = beams(400)
    params.SpecifiedTreatmentTime = 12.0
    assert verifier(params).status == "VERIFIED_OVR"
    ds = verifier(params).to_dataset()
    assert ds.OverriddenAttributesSequence[0].SelectorAttribute == tags.SpecifiedPrimaryMeterset


def test_states_and_refusals() -> None:
    release = asyncio.Event()

    async def slow(ds: Dataset) -> Any:
        await release.wait()
        return VERIFIER(ds)

    scp = MachineVerificationSCP(slow)

    async def body(assoc: Association, listener: VerificationListener) -> dict[str, Any]:
        out: dict[str, Any] = {}

        async def fails(name: str, call: Awaitable[Any]) -> None:
            with pytest.raises(DimseError) as info:
                await call
            out[name] = (info.value.status, info.value)

        async def offending(name: str, msg: Any, data: Dataset) -> None:
            rsp = await raw(assoc, msg, data)
            out[name] = (rsp.status, rsp.offending_element)

        attrs = rt_verification.creation_attributes("1.2.3.9", "P1")
        no_plan = Dataset()
        no_plan.PatientID = "P1"
        await offending("no plan", _create(), no_plan)
        ion_plan = rt_verification.creation_attributes("1.2.3.9", "P1", ion=True)
        await offending("ion plan to conventional", _create(), ion_plan)
        uid = await rt_verification.create(assoc, CONV, attrs)
        await fails("duplicate", rt_verification.create(assoc, CONV, attrs, sop_instance_uid=uid))
        await fails("action before set", rt_verification.request_verification(assoc, CONV, uid))
        not_allowed = beams(10)
        not_allowed.PatientID = "OTHER"
        await offending("set create-only", _set(CONV, uid), not_allowed)
        await rt_verification.set_parameters(assoc, CONV, uid, beams(10))
        await rt_verification.request_verification(assoc, CONV, uid)
        out["verifying"] = scp.state(uid)
        await fails(
            "set while verifying", rt_verification.set_parameters(assoc, CONV, uid, beams(5))
        )
        await fails("action twice", rt_verification.request_verification(assoc, CONV, uid))
        await fails("delete while verifying", rt_verification.delete(assoc, CONV, uid))
        release.set()
        out["result"] = await listener.wait(uid, 10)
        await fails("unknown action", n_request(assoc, _action(uid, 5), what="t"))
        await fails("other class", rt_verification.get_result(assoc, ION, uid))
        await rt_verification.delete(assoc, CONV, uid)
        await fails("get deleted", rt_verification.get_result(assoc, CONV, uid))
        await fails("set deleted", rt_verification.set_parameters(assoc, CONV, uid, beams(1)))
        await fails("action deleted", rt_verification.request_verification(assoc, CONV, uid))
        await fails("delete deleted", rt_verification.delete(assoc, CONV, uid))
        return out

    out = run(scp, body)
    assert out["no plan"][0] == 0x0120
    assert out["no plan"][1] == (tags.ReferencedRTPlanSequence,)
    assert out["ion plan to conventional"][0] == 0x0106
    assert out["ion plan to conventional"][1] == (tags.ReferencedSOPClassUID,)
    assert out["duplicate"][0] == 0x0111
    assert out["action before set"][0] == 0x0110
    assert out["set create-only"][0] == 0x0106
    assert out["set create-only"][1] == (tags.PatientID,)
    assert out["verifying"] == "VERIFYING"
    for name in ("set while verifying", "action twice", "delete while verifying"):
        assert out[name][0] == 0x0110, name
    assert out["result"].status == "VERIFIED"
    assert out["unknown action"][0] == 0x0123
    assert out["other class"][0] == 0x0112
    assert out["get deleted"][0] == 0x0112
    assert out["set deleted"][0] == 0x0112
    assert out["action deleted"][0] == 0xC112
    assert "Machine Verification instance not found" in str(out["action deleted"][1])
    assert out["delete deleted"][0] == 0x0112


def _action(uid: str, action: int) -> Any:
    from dicomkit.net.proto import _dimse as dimse

    return dimse.NActionRequest(
        requested_sop_class_uid=CONV, requested_sop_instance_uid=uid, action_type_id=action
    )


def _set(sop_class: str, uid: str) -> Any:
    from dicomkit.net.proto import _dimse as dimse

    return dimse.NSetRequest(requested_sop_class_uid=sop_class, requested_sop_instance_uid=uid)


def _create() -> Any:
    from dicomkit.net.proto import _dimse as dimse

    return dimse.NCreateRequest(affected_sop_class_uid=CONV, affected_sop_instance_uid="1.2.3.77")


async def raw(assoc: Association, msg: Any, data: Dataset) -> Any:
    """The response message itself (its Offending Element), failure or not."""
    rsp = await assoc.request(msg, data)
    return rsp.message
