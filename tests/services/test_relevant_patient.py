"""Relevant Patient Information Query (PS3.4 Q): templates from stored reports or patient
data, statuses."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import dicomkit
from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import tags, uids
from dicomkit.errors import DimseError
from dicomkit.net import AE, Association
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services import (
    BREAST_RELEVANT_PATIENT,
    CARDIAC_RELEVANT_PATIENT,
    GENERAL_RELEVANT_PATIENT,
    RELEVANT_PATIENT_CLASSES,
    FolderPatientRecords,
    ListPatientRecords,
    RelevantPatientSCP,
    query_relevant_information,
    relevant_patient_query,
)
from dicomkit.services._n_common import supported_for
from dicomkit.sr import Code
from dicomkit.sr import _items as items
from dicomkit.sr._reader import read_content
from dicomkit.sr._writer import write_content


def patient(pid: str, name: str, **kw: Any) -> Dataset:
    ds = Dataset()
    ds.PatientID = pid
    ds.PatientName = name
    ds.PatientBirthDate = "19600101"
    ds.PatientSex = kw.get("sex", "F")
    ds.PatientAge = kw.get("age", "066Y")
    ds.PatientWeight = kw.get("weight", "70.5")
    ds.PatientSize = kw.get("size", "1.65")
    return ds


def report(pid: str, template: str, note: str, date: str) -> Dataset:
    root = items.container(
        Code("11329-0", "LN", "History"),
        items.text(Code("121106", "DCM", "Comment"), note),
        template=template,
    )
    ds = patient(pid, "DOE^JANE")
    ds.SOPClassUID = uids.ComprehensiveSRStorage
    ds.SOPInstanceUID = f"1.2.3.{date}"
    ds.ContentDate = date
    ds.ContentTime = "120000"
    write_content(root, ds)
    return ds


def run(scp: RelevantPatientSCP, body: Callable[[Association], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        client, server = memory_pair()
        await AE(
            "RIS", handlers=scp.handlers(), supported=supported_for(RELEVANT_PATIENT_CLASSES)
        ).serve_transport(server)
        async with AE("MOD").associate(
            "", 0, transport=client, contexts=list(RELEVANT_PATIENT_CLASSES)
        ) as assoc:
            return await body(assoc)

    return asyncio.run(main())


def notes(ds: Dataset) -> list[str]:
    return [str(c.value) for c in read_content(ds).children if c.value_type == "TEXT"]


def test_from_reports_and_from_patient_data() -> None:
    records = ListPatientRecords(
        [patient("P1", "DOE^JANE"), patient("P2", "ROE^RICK", sex="M", age="041Y")],
        [
            report("P1", "3802", "old MI 2019", "20250101"),
            report("P1", "3802", "stent 2024", "20260101"),
            report("P1", "9000", "mammo 2025: BI-RADS 2", "20250601"),
        ],
    )
    scp = RelevantPatientSCP(records)

    async def body(assoc: Association) -> list[Any]:
        return [
            await query_relevant_information(assoc, patient_id="P1", sop_class=CARDIAC_RELEVANT_PATIENT),
            await query_relevant_information(assoc, patient_id="P1", sop_class=BREAST_RELEVANT_PATIENT),
            await query_relevant_information(assoc, patient_id="P2"),
            await query_relevant_information(assoc, patient_id="P9"),
        ]  # fmt: skip

    cardiac, breast, general, nobody = run(scp, body)
    assert cardiac.PatientID == "P1" and cardiac.PatientBirthDate == "19600101"
    assert cardiac.ContentTemplateSequence[0].TemplateIdentifier == "3802"
    assert notes(cardiac) == ["stent 2024"]  # the newest report made with TID 3802
    assert notes(breast) == ["mammo 2025: BI-RADS 2"]
    assert "PatientWeight" not in cardiac  # only the keys asked for
    # no report made with TID 9007: built from the patient's own attributes
    assert general.ContentTemplateSequence[0].TemplateIdentifier == "9007"
    tree = read_content(general)
    got = {c.concept.meaning: c.value for c in tree.children if c.concept is not None}
    assert got["Subject Sex"].meaning == "Male"
    assert float(got["Subject Age"]) == 41
    assert float(got["Patient Weight"]) == 70.5
    assert nobody is None


def test_refusals() -> None:
    records = ListPatientRecords([patient("P1", "DOE^JANE"), patient("P2", "DOE^JOHN")])
    scp = RelevantPatientSCP(records)

    async def body(assoc: Association) -> dict[str, Any]:
        out: dict[str, Any] = {}

        async def fails(
            name: str, query: Dataset, sop_class: str = GENERAL_RELEVANT_PATIENT
        ) -> None:
            msg = dimse.CFindRequest(affected_sop_class_uid=sop_class)
            statuses = [r async for r in assoc.request_iter(msg, query)]
            final = statuses[-1].message
            out[name] = (final.status, final.offending_element, final.error_comment)

        await fails("many", relevant_patient_query(patient_name="DOE*"))
        wrong = relevant_patient_query(patient_id="P1")
        wrong.ContentTemplateSequence[0].TemplateIdentifier = "1500"
        await fails("template", wrong)
        no_template = relevant_patient_query(patient_id="P1")
        del no_template[tags.ContentTemplateSequence]
        await fails("no template", no_template)
        await fails("no patient", relevant_patient_query())
        with pytest.raises(DimseError) as info:
            await query_relevant_information(assoc, patient_name="DOE*")
        out["scu"] = info.value.status
        return out

    out = run(scp, body)
    assert out["many"][0] == 0xC100
    assert out["template"][0] == 0xC200 and "TID 9007, not TID 1500" in out["template"][2]
    assert out["no template"][:2] == (0xA900, (tags.ContentTemplateSequence,))
    assert out["no patient"][:2] == (0xA900, (tags.PatientID,))
    assert out["scu"] == 0xC100


def test_folder_records(tmp_path: Path) -> None:
    sr = report("P7", "9007", "diabetes type 2", "20260102")
    dicomkit.write(sr, tmp_path / "sr.dcm")
    scp = RelevantPatientSCP(FolderPatientRecords(tmp_path))

    async def body(assoc: Association) -> Any:
        return await query_relevant_information(assoc, patient_id="P7")

    got = run(scp, body)
    assert notes(got) == ["diabetes type 2"]
