"""Procedural Event Logging (PS3.4 P): the SCP stores records (file + index), statuses."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import dicomkit
from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import uids
from dicomkit.errors import DicomError, DimseError
from dicomkit.net import AE, Association
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services import (
    PROCEDURAL_EVENT_LOGGING,
    PROCEDURAL_EVENT_LOGGING_INSTANCE,
    EventLogFolder,
    ProceduralEventLogSCP,
    event_record,
    log_event,
)
from dicomkit.services._n_common import n_request, supported_for

STUDY = "1.2.826.0.1.3680043.10.9.1"
CONTRAST = ("129499008", "SCT", "Contrast injection")  # any code: the SCP stores it as sent


def run(scp: ProceduralEventLogSCP, body: Callable[[Association], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        client, server = memory_pair()
        await AE(
            "LOGGER", handlers=scp.handlers(), supported=supported_for([PROCEDURAL_EVENT_LOGGING])
        ).serve_transport(server)
        async with AE("INJECTOR").associate(
            "", 0, transport=client, contexts=[PROCEDURAL_EVENT_LOGGING]
        ) as assoc:
            return await body(assoc)

    return asyncio.run(main())


def record(study: str = STUDY, **kw: Any) -> Dataset:
    return event_record(
        study_instance_uid=study,
        patient_id=kw.pop("patient_id", "P1"),
        patient_name="DOE^JANE",
        events=[(CONTRAST, "20260101101500")],
        notes=[("flow 4 ml/s", "20260101101000")],
        **kw,
    )


def test_records_are_stored_indexed_and_queried(tmp_path: Path) -> None:
    store = EventLogFolder(tmp_path / "log")
    scp = ProceduralEventLogSCP(store)

    async def body(assoc: Association) -> list[int]:
        return [
            await log_event(assoc, record()),
            await log_event(assoc, record("1.2.3.99", patient_id="P2")),
        ]

    assert run(scp, body) == [0, 0]
    found = store.records(study_instance_uid=STUDY)
    assert len(found) == 1
    rec = found[0]
    assert rec.patient_id == "P1" and rec.source_ae == "INJECTOR"
    # entries in Observation DateTime order: the note (10:10) before the injection (10:15)
    assert rec.entries == ("Comment", "Patient Status or Event")
    assert rec.observed == "20260101101000"
    saved = dicomkit.read(rec.path)
    assert saved.SOPClassUID == uids.ProcedureLogStorage
    assert saved.StudyInstanceUID == STUDY
    codes = [
        i.ConceptCodeSequence[0].CodeValue
        for i in saved.ContentSequence
        if "ConceptCodeSequence" in i
    ]
    assert codes == [CONTRAST[0]]
    assert store.read(rec.sop_instance_uid).PatientName == "DOE^JANE"
    assert [r.patient_id for r in store.records(patient_id="P2")] == ["P2"]
    assert len(store.records(since="20260101")) == 2
    assert store.records(until="20251231") == []
    # a second store over the same folder sees the index
    assert len(EventLogFolder(tmp_path / "log").records()) == 2


def test_refusals(tmp_path: Path) -> None:
    store = EventLogFolder(tmp_path)
    scp = ProceduralEventLogSCP(
        store, known_study=lambda uid: uid == STUDY, frame_of_reference="1.2.3.4"
    )

    async def body(assoc: Association) -> dict[str, Any]:
        out: dict[str, Any] = {}

        async def status(name: str, instance: str, action: int, data: Dataset | None) -> None:
            msg = dimse.NActionRequest(
                requested_sop_class_uid=PROCEDURAL_EVENT_LOGGING,
                requested_sop_instance_uid=instance,
                action_type_id=action,
            )
            with pytest.raises(DimseError) as info:
                await n_request(assoc, msg, data, what="test")
            out[name] = (info.value.status, str(info.value))

        await status("instance", "1.2.3.4.5", 1, record())
        await status("action", PROCEDURAL_EVENT_LOGGING_INSTANCE, 7, record())
        no_study = record()
        del no_study[0x0020000D]
        await status("study", PROCEDURAL_EVENT_LOGGING_INSTANCE, 1, no_study)
        flat = Dataset()
        flat.StudyInstanceUID = STUDY
        flat.ValueType = "TEXT"
        await status("template", PROCEDURAL_EVENT_LOGGING_INSTANCE, 1, flat)
        undated = record()
        del undated.ContentSequence[0][0x0040A032]
        await status("undated", PROCEDURAL_EVENT_LOGGING_INSTANCE, 1, undated)
        await status("unknown study", PROCEDURAL_EVENT_LOGGING_INSTANCE, 1, record("9.9.9"))
        out["warning"] = await log_event(
            assoc, record(synchronization_frame_of_reference="1.2.3.5")
        )
        return out

    got = run(scp, body)
    assert got["instance"][0] == 0x0112
    assert got["action"][0] == 0x0123
    assert got["study"][0] == 0x0115 and "(0020,000D)" in got["study"][1]
    assert got["template"][0] == 0xC102 and "CONTAINER" in got["template"][1]
    assert got["undated"][0] == 0xC102 and "(0040,A032)" in got["undated"][1]
    assert got["unknown study"][0] == 0xC101
    assert "Procedural Logging not available" in got["unknown study"][1]
    # B101: logged all the same
    assert got["warning"] == 0xB101
    assert len(store.records()) == 1


def test_event_record_needs_an_entry() -> None:
    with pytest.raises(DicomError, match="at least one event"):
        event_record(study_instance_uid=STUDY)
