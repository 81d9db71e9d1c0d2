"""Modality Worklist (PS3.4 K): matching, return keys, SCP and SCU in one process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.errors import DimseError
from dicomkit.net import AE
from dicomkit.net._memory import memory_pair
from dicomkit.services._n_common import supported_for
from dicomkit.services._worklist import (
    MODALITY_WORKLIST_FIND,
    FolderSource,
    ListSource,
    WorklistSCP,
    find_all,
    matches,
    response_for_item,
    search,
    worklist_query,
    write_item,
)


def item(
    name: str, pid: str, station: str, modality: str, date: str, time: str, accession: str = ""
) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = name
    ds.PatientID = pid
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.AccessionNumber = accession or f"ACC{pid}"
    ds.RequestedProcedureID = f"RP{pid}"
    ds.StudyInstanceUID = f"1.2.3.{pid}"
    sps = Dataset()
    sps.ScheduledStationAETitle = station
    sps.ScheduledProcedureStepStartDate = date
    sps.ScheduledProcedureStepStartTime = time
    sps.Modality = modality
    sps.ScheduledProcedureStepID = f"SPS{pid}"
    sps.ScheduledProcedureStepDescription = "desc"
    ds.ScheduledProcedureStepSequence = Sequence([sps])
    return ds


ITEMS = [
    item("DOE^JOHN", "1", "CT1", "CT", "20260101", "083000"),
    item("DOE^JANE", "2", "CT1", "CT", "20260102", "140000"),
    item("SMITH^ANNA", "3", "MR1", "MR", "20260102", "090000"),
    item("Müller^Jürgen", "4", "MR1", "MR", "20260103", "101500"),
]


def names(query: Dataset) -> list[str]:
    return [str(ds.PatientName) for ds in search(ListSource(ITEMS), query)]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({}, ["DOE^JOHN", "DOE^JANE", "SMITH^ANNA", "Müller^Jürgen"]),
        ({"patient_name": "DOE*"}, ["DOE^JOHN", "DOE^JANE"]),
        ({"patient_name": "doe^j?*n*"}, ["DOE^JOHN", "DOE^JANE"]),
        ({"patient_name": "smith^anna"}, ["SMITH^ANNA"]),
        ({"patient_name": "Müller*"}, ["Müller^Jürgen"]),
        ({"station_ae": "MR1"}, ["SMITH^ANNA", "Müller^Jürgen"]),
        ({"modality": "CT", "start_date": "20260102"}, ["DOE^JANE"]),
        ({"start_date": "20260102-"}, ["DOE^JANE", "SMITH^ANNA", "Müller^Jürgen"]),
        ({"start_date": "-20260101"}, ["DOE^JOHN"]),
        ({"start_date": "20260101-20260102"}, ["DOE^JOHN", "DOE^JANE", "SMITH^ANNA"]),
        ({"start_date": "20260102", "start_time": "1000-"}, ["DOE^JANE"]),
        # combined date-time range: from 2 Jan 10:00 to 3 Jan 10:00
        ({"start_date": "20260102-20260103", "start_time": "1000-1000"}, ["DOE^JANE"]),
        (
            {"start_date": "20260101-20260103", "start_time": "0900-1000"},
            ["DOE^JANE", "SMITH^ANNA"],
        ),
        ({"patient_id": "3"}, ["SMITH^ANNA"]),
        ({"station_ae": "XR9"}, []),
    ],
)
def test_matching(keys: dict[str, str], expected: list[str]) -> None:
    assert names(worklist_query(**keys)) == expected


def test_uid_list_and_return_keys() -> None:
    query = Dataset()
    query.StudyInstanceUID = ["1.2.3.2", "1.2.3.4"]
    query.PatientName = ""
    query.ReferringPhysicianName = ""  # not in the items: returned empty
    found = list(search(ListSource(ITEMS), query))
    assert [str(d.PatientName) for d in found] == ["DOE^JANE", "Müller^Jürgen"]
    first = found[0]
    assert "ReferringPhysicianName" in first and not first.ReferringPhysicianName
    assert "PatientID" not in first  # only the keys asked for
    assert first.SpecificCharacterSet == "ISO_IR 100"


def test_sequence_return_keys() -> None:
    query = worklist_query(modality="MR")
    out = response_for_item(query, ITEMS[2])
    sps = out.ScheduledProcedureStepSequence[0]
    assert sps.Modality == "MR" and sps.ScheduledProcedureStepID == "SPS3"
    assert "ScheduledPerformingPhysicianName" in sps
    # an empty sequence key returns the whole sequence
    q = Dataset()
    q.ScheduledProcedureStepSequence = Sequence()
    assert response_for_item(q, ITEMS[0]).ScheduledProcedureStepSequence[0].Modality == "CT"
    assert matches(q, ITEMS[0])


def test_sequence_of_universal_keys_is_universal() -> None:
    bare = Dataset()
    bare.PatientName = "NO^SPS"
    query = worklist_query()  # its Scheduled Procedure Step item holds only empty keys
    assert matches(query, bare)
    out = response_for_item(query, bare)
    assert "ScheduledProcedureStepSequence" in out and len(out.ScheduledProcedureStepSequence) == 0
    assert not matches(worklist_query(modality="CT"), bare)


def test_folder_source(tmp_path: Path) -> None:
    for i, ds in enumerate(ITEMS):
        write_item(ds, tmp_path / f"item{i}.wl")
    (tmp_path / "junk.wl").write_bytes(b"not dicom")
    assert [
        str(d.PatientName) for d in search(FolderSource(tmp_path), worklist_query(station_ae="CT1"))
    ] == ["DOE^JOHN", "DOE^JANE"]


def scp_ae(source: ListSource) -> AE:
    return AE(
        "MWL",
        handlers=WorklistSCP(source).handlers(),
        supported=supported_for([MODALITY_WORKLIST_FIND]),
    )


def test_scp_and_scu_over_memory() -> None:
    async def main() -> tuple[list[Dataset], list[Dataset]]:
        client, server = memory_pair()
        await scp_ae(ListSource(ITEMS)).serve_transport(server)
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=[MODALITY_WORKLIST_FIND]
        ) as assoc:
            query = worklist_query(patient_name="Müller*")
            query.SpecificCharacterSet = "ISO_IR 100"
            return (
                await find_all(assoc, worklist_query(modality="CT")),
                await find_all(assoc, query),
            )

    found, latin1 = asyncio.run(main())
    assert [d.PatientID for d in found] == ["1", "2"]
    assert found[0].ScheduledProcedureStepSequence[0].ScheduledStationAETitle == "CT1"
    assert [str(d.PatientName) for d in latin1] == ["Müller^Jürgen"]


def test_broken_source_fails_the_query() -> None:
    class Broken:
        def items(self) -> list[Dataset]:
            raise OSError("disk gone")

    async def main() -> None:
        client, server = memory_pair()
        await AE(
            "MWL",
            handlers=WorklistSCP(Broken()).handlers(),
            supported=supported_for([MODALITY_WORKLIST_FIND]),
        ).serve_transport(server)
        async with AE("SCU").associate(
            "", 0, transport=client, contexts=[MODALITY_WORKLIST_FIND]
        ) as assoc:
            with pytest.raises(DimseError) as info:
                await find_all(assoc, worklist_query())
            assert info.value.status == 0xC000

    asyncio.run(main())
