"""Modality Worklist interop with DCMTK: ``findscu -W`` against our SCP, our SCU against
``wlmscpfs`` serving a folder of .wl files written by dicomkit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import peers
import pytest

import dicomkit
from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.net import AE
from dicomkit.net._sync import SyncAE
from dicomkit.services._n_common import supported_for
from dicomkit.services._worklist import (
    MODALITY_WORKLIST_FIND,
    ListSource,
    WorklistSCP,
    find_all,
    worklist_query,
    write_item,
)

pytestmark = pytest.mark.interop


def item(name: str, pid: str, station: str, modality: str, date: str) -> Dataset:
    """A worklist item complete enough for wlmscpfs's incomplete-file check (-efr)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.AccessionNumber = f"A{pid}"
    ds.ReferringPhysicianName = "REF^DOC"
    ds.PatientName = name
    ds.PatientID = pid
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = f"1.2.826.0.1.3680043.10.1.{pid}"
    ds.RequestingPhysician = "REQ^DOC"
    ds.RequestedProcedureDescription = "Scan"
    ds.RequestedProcedureID = f"RP{pid}"
    ds.RequestedProcedurePriority = "ROUTINE"
    sps = Dataset()
    sps.ScheduledStationAETitle = station
    sps.ScheduledProcedureStepStartDate = date
    sps.ScheduledProcedureStepStartTime = "101500"
    sps.Modality = modality
    sps.ScheduledPerformingPhysicianName = "PERF^DOC"
    sps.ScheduledProcedureStepDescription = "Step"
    sps.ScheduledStationName = "ROOM1"
    sps.ScheduledProcedureStepLocation = "L1"
    sps.ScheduledProcedureStepID = f"SPS{pid}"
    ds.ScheduledProcedureStepSequence = Sequence([sps])
    return ds


ITEMS = [
    item("DOE^JOHN", "11", "CT1", "CT", "20260101"),
    item("DOE^JANE", "12", "CT1", "CT", "20260102"),
    item("ROE^RICHARD", "13", "MR1", "MR", "20260102"),
]


@pytest.fixture
def our_scp() -> Iterator[int]:
    ae = SyncAE(
        "MWLSCP",
        handlers=WorklistSCP(ListSource(ITEMS)).handlers(),
        supported=supported_for([MODALITY_WORKLIST_FIND]),
    )
    with ae, ae.serve(0) as server:
        yield server.port


def test_findscu_against_our_scp(our_scp: int, tmp_path: Path) -> None:
    out = tmp_path / "rsp"
    out.mkdir()
    proc = peers.run_dcmtk(
        "findscu",
        "-W",
        "-aec",
        "MWLSCP",
        "-X",
        "-od",
        str(out),
        "-k",
        "PatientName=DOE*",
        "-k",
        "PatientID",
        "-k",
        "(0040,0100)[0].ScheduledStationAETitle=CT1",
        "-k",
        "(0040,0100)[0].ScheduledProcedureStepStartDate=20260102-",
        "-k",
        "(0040,0100)[0].Modality",
        "127.0.0.1",
        str(our_scp),
    )
    files = sorted(out.iterdir())
    assert len(files) == 1, proc.stdout + proc.stderr
    ds = dicomkit.read(files[0], force=True)
    assert str(ds.PatientName) == "DOE^JANE" and ds.PatientID == "12"
    assert ds.ScheduledProcedureStepSequence[0].Modality == "CT"


def test_findscu_wildcard_all(our_scp: int, tmp_path: Path) -> None:
    out = tmp_path / "rsp"
    out.mkdir()
    peers.run_dcmtk(
        "findscu",
        "-W",
        "-aec",
        "MWLSCP",
        "-X",
        "-od",
        str(out),
        "-k",
        "PatientName",
        "-k",
        "(0040,0100)[0].Modality=MR",
        "127.0.0.1",
        str(our_scp),
    )
    found = [dicomkit.read(p, force=True) for p in out.iterdir()]
    assert [str(d.PatientName) for d in found] == ["ROE^RICHARD"]


def test_our_scu_against_wlmscpfs(tmp_path: Path) -> None:
    data = tmp_path / "wl"
    ae_dir = data / "WLMSCP"
    ae_dir.mkdir(parents=True)
    (ae_dir / "lockfile").write_bytes(b"")
    for ds in ITEMS:
        write_item(ds, ae_dir / f"{ds.PatientID}.wl")
    port = peers.free_port()

    async def query(q: Dataset) -> list[Dataset]:
        async with AE("OURSCU").associate(
            "127.0.0.1", port, ae_title="WLMSCP", contexts=[MODALITY_WORKLIST_FIND]
        ) as assoc:
            return await find_all(assoc, q)

    with peers.dcmtk_server("wlmscpfs", "-dfp", str(data), str(port), port=port):
        ct = asyncio.run(query(worklist_query(station_ae="CT1")))
        jane = asyncio.run(query(worklist_query(patient_name="DOE^JA*", start_date="20260102")))
        none = asyncio.run(query(worklist_query(modality="US")))
    assert sorted(d.PatientID for d in ct) == ["11", "12"]
    assert [str(d.PatientName) for d in jane] == ["DOE^JANE"]
    sps = jane[0].ScheduledProcedureStepSequence[0]
    assert sps.ScheduledStationAETitle == "CT1" and sps.ScheduledProcedureStepID == "SPS12"
    assert none == []
