"""Procedural Event Logging, Relevant Patient Information, Substance Administration Query,
Media Creation, Display System and RT Machine Verification against pynetdicom (a test peer
only), both roles: pynetdicom's SCU against our SCPs, our SCUs against pynetdicom SCPs built
from its event handlers."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import peers
import pytest

from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import uids
from dicomkit.net import AE
from dicomkit.net._sync import SyncAE
from dicomkit.services import (
    DISPLAY_SYSTEM,
    DISPLAY_SYSTEM_INSTANCE,
    GENERAL_RELEVANT_PATIENT,
    MACHINE_VERIFICATION_CLASSES,
    MEDIA_CREATION_MANAGEMENT,
    PROCEDURAL_EVENT_LOGGING,
    PROCEDURAL_EVENT_LOGGING_INSTANCE,
    PRODUCT_CHARACTERISTICS_QUERY,
    RT_CONVENTIONAL_MACHINE_VERIFICATION,
    RT_ION_MACHINE_VERIFICATION,
    SUBSTANCE_APPROVAL_QUERY,
    DisplaySystemSCP,
    EventLogFolder,
    ListPatientRecords,
    MachineVerificationSCP,
    MediaCreationSCP,
    ProceduralEventLogSCP,
    RangeVerifier,
    RelevantPatientSCP,
    SubstanceCatalogue,
    SubstanceQuerySCP,
    VerificationListener,
    event_record,
    get_display_system,
    log_event,
    media_request,
    product_characteristics,
    query_relevant_information,
    rt_verification,
    substance_approval,
)
from dicomkit.services import media_creation as mc
from dicomkit.services._n_common import SopClassRouter, supported_for

pytestmark = pytest.mark.interop
pynetdicom = peers.require_module("pynetdicom")
pydicom = peers.require_module("pydicom")
from pydicom.dataset import Dataset as PDataset
from pynetdicom import evt

WAIT = 20.0
STUDY = "1.2.826.0.1.3680043.10.8.1"
SC = uids.SecondaryCaptureImageStorage
CONV, ION = RT_CONVENTIONAL_MACHINE_VERIFICATION, RT_ION_MACHINE_VERIFICATION


def _patient(pid: str) -> Dataset:
    ds = Dataset()
    ds.PatientID = pid
    ds.PatientName = "PY^TEST"
    ds.PatientSex = "M"
    ds.PatientAge = "050Y"
    return ds


@pytest.fixture
def our_scp(tmp_path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """One dicomkit AE serving the six services."""
    (tmp_path / "display.json").write_text(
        json.dumps(
            {
                "Manufacturer": "ACME",
                "DeviceSerialNumber": "S1",
                "DisplaySubsystemSequence": [{"DisplaySubsystemName": "Left"}],
            }
        )
    )
    catalogue = [
        {"ProductPackageIdentifier": "777", "ProductName": "Gadobutrol"},
        {
            "PatientID": "P1",
            "ProductPackageIdentifier": "777",
            "SubstanceAdministrationApproval": "CONTRA_INDICATED",
        },
    ]
    (tmp_path / "catalogue.json").write_text(json.dumps(catalogue))
    held: dict[str, Path] = {}
    gate = threading.Event()

    def builder(job: mc.MediaJob) -> mc.MediaResult:
        gate.wait(WAIT)
        job.output.mkdir(parents=True, exist_ok=True)
        return mc.MediaResult(job.output)

    held["1.2.3.1"] = tmp_path / "display.json"  # any file: this builder does not read it
    parts: dict[str, Any] = {
        "log": EventLogFolder(tmp_path / "log"),
        "rt": MachineVerificationSCP(RangeVerifier({"SpecifiedPrimaryMeterset": (0, 500)})),
        "media": MediaCreationSCP(held.get, builder, tmp_path / "media"),
        "gate": gate,
    }
    router = SopClassRouter()
    router.add(PROCEDURAL_EVENT_LOGGING, ProceduralEventLogSCP(parts["log"]).handlers())
    for cls in MACHINE_VERIFICATION_CLASSES:
        router.add(cls, parts["rt"].handlers())
    router.add(MEDIA_CREATION_MANAGEMENT, parts["media"].handlers())
    router.add(DISPLAY_SYSTEM, DisplaySystemSCP.from_file(tmp_path / "display.json").handlers())
    substance = SubstanceQuerySCP(SubstanceCatalogue.from_file(tmp_path / "catalogue.json"))
    for cls in (PRODUCT_CHARACTERISTICS_QUERY, SUBSTANCE_APPROVAL_QUERY):
        router.add(cls, substance.handlers())
    router.add(
        GENERAL_RELEVANT_PATIENT,
        RelevantPatientSCP(ListPatientRecords([_patient("P1")])).handlers(),
    )
    ae = SyncAE("OURSCP", handlers=router.handlers(), supported=supported_for(router.sop_classes()))
    with ae, ae.serve(0) as server:
        yield server.port, parts


def _py_assoc(port: int, *contexts: str, handlers: list[Any] | None = None) -> Any:
    ae = pynetdicom.AE(ae_title="PYSCU")
    for uid in contexts:
        ae.add_requested_context(uid)
    assoc = ae.associate("127.0.0.1", port, ae_title="OURSCP", evt_handlers=handlers or [])
    assert assoc.is_established
    return assoc


def _event_ds() -> Any:
    """A Record Procedural Event action information, built by pydicom."""
    ds = PDataset()
    ds.PatientID = "P1"
    ds.StudyInstanceUID = STUDY
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    concept = PDataset()
    concept.CodeValue, concept.CodingSchemeDesignator, concept.CodeMeaning = (
        "121145",
        "DCM",
        "Procedure Log",
    )
    ds.ConceptNameCodeSequence = [concept]
    entry = PDataset()
    entry.RelationshipType = "CONTAINS"
    entry.ValueType = "TEXT"
    name = PDataset()
    name.CodeValue, name.CodingSchemeDesignator, name.CodeMeaning = ("121106", "DCM", "Comment")
    entry.ConceptNameCodeSequence = [name]
    entry.TextValue = "catheter in"
    entry.ObservationDateTime = "20260105101010"
    ds.ContentSequence = [entry]
    return ds


# -- pynetdicom SCU -> our SCPs ----------------------------------------------------------------


def test_pynetdicom_event_logging(our_scp: tuple[int, dict[str, Any]]) -> None:
    port, parts = our_scp
    assoc = _py_assoc(port, PROCEDURAL_EVENT_LOGGING)
    try:
        status, _ = assoc.send_n_action(
            _event_ds(), 1, PROCEDURAL_EVENT_LOGGING, PROCEDURAL_EVENT_LOGGING_INSTANCE
        )
        assert status.Status == 0
        status, _ = assoc.send_n_action(_event_ds(), 1, PROCEDURAL_EVENT_LOGGING, "1.2.3.9")
        assert status.Status == 0x0112
        flat = PDataset()
        flat.StudyInstanceUID = STUDY
        status, _ = assoc.send_n_action(
            flat, 1, PROCEDURAL_EVENT_LOGGING, PROCEDURAL_EVENT_LOGGING_INSTANCE
        )
        assert status.Status == 0xC102
    finally:
        assoc.release()
    (rec,) = parts["log"].records(study_instance_uid=STUDY)
    assert rec.entries == ("Comment",) and rec.source_ae == "PYSCU"
    assert parts["log"].read(rec.sop_instance_uid).ContentSequence[0].TextValue == "catheter in"


def test_pynetdicom_rt_machine_verification(our_scp: tuple[int, dict[str, Any]]) -> None:
    port, _ = our_scp
    reports: list[Any] = []
    got = threading.Event()

    def on_report(event: Any) -> Any:
        reports.append((event.event_type, event.event_information))
        got.set()
        return 0x0000, None

    assoc = _py_assoc(port, CONV, ION, handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
    uid = "1.2.826.0.1.3680043.10.8.2"
    try:
        create = PDataset()
        plan = PDataset()
        plan.ReferencedSOPClassUID = uids.RTIonPlanStorage
        plan.ReferencedSOPInstanceUID = "1.2.3.44"
        create.ReferencedRTPlanSequence = [plan]
        create.PatientID = "P1"
        status, _ = assoc.send_n_create(create, CONV, uid)
        assert status.Status == 0x0106  # an ion plan for the conventional class
        status, _ = assoc.send_n_create(create, ION, uid)
        assert status.Status == 0
        status, _ = assoc.send_n_action(None, 1, ION, uid)
        assert status.Status == 0x0110  # no parameters yet
        params = PDataset()
        item = PDataset()
        item.SpecifiedPrimaryMeterset = 900
        params.IonMachineVerificationSequence = [item]
        status, _ = assoc.send_n_set(params, ION, uid)
        assert status.Status == 0
        status, _ = assoc.send_n_action(None, 1, ION, uid)
        assert status.Status == 0
        assert got.wait(WAIT)
        status, attrs = assoc.send_n_get([0x3008002C, 0x00741048], ION, uid)
        assert status.Status == 0 and attrs.TreatmentVerificationStatus == "NOT_VERIFIED"
        status = assoc.send_n_delete(ION, uid)
        assert status.Status == 0
        status, _ = assoc.send_n_action(None, 1, ION, uid)
        assert status.Status == 0xC112
    finally:
        assoc.release()
    ((event_type, info),) = reports
    assert event_type == 1 and info.TreatmentVerificationStatus == "NOT_VERIFIED"
    assert info.FailedAttributesSequence[0].SelectorAttribute == 0x30080032


def test_pynetdicom_media_creation(our_scp: tuple[int, dict[str, Any]]) -> None:
    port, parts = our_scp
    assoc = _py_assoc(port, MEDIA_CREATION_MANAGEMENT)
    uid = "1.2.826.0.1.3680043.10.8.3"
    try:
        req = PDataset()
        ref = PDataset()
        ref.ReferencedSOPClassUID = SC
        ref.ReferencedSOPInstanceUID = "1.2.3.1"
        missing = PDataset()
        missing.ReferencedSOPClassUID = SC
        missing.ReferencedSOPInstanceUID = "1.2.3.404"
        req.ReferencedSOPSequence = [ref, missing]
        status, _ = assoc.send_n_create(req, MEDIA_CREATION_MANAGEMENT, uid)
        assert status.Status == 0
        copies = PDataset()
        copies.NumberOfCopies = 2
        status, _ = assoc.send_n_action(copies, 1, MEDIA_CREATION_MANAGEMENT, uid)
        assert status.Status == 0
        status, _ = assoc.send_n_action(copies, 1, MEDIA_CREATION_MANAGEMENT, uid)
        assert status.Status == 0xA510
        parts["gate"].set()
        deadline = time.monotonic() + WAIT
        while True:
            status, attrs = assoc.send_n_get([], MEDIA_CREATION_MANAGEMENT, uid)
            if attrs.ExecutionStatus in ("DONE", "FAILURE") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert attrs.ExecutionStatus == "DONE" and attrs.TotalNumberOfPiecesOfMediaCreated == 2
        assert [(f.ReferencedSOPInstanceUID, f.FailureReason) for f in attrs.FailedSOPSequence] == [
            ("1.2.3.404", 0x0112)
        ]
        status, _ = assoc.send_n_action(None, 2, MEDIA_CREATION_MANAGEMENT, uid)
        assert status.Status == 0xC201
    finally:
        assoc.release()


def test_pynetdicom_display_substance_relevant_patient(
    our_scp: tuple[int, dict[str, Any]],
) -> None:
    port, _ = our_scp
    contexts = (
        DISPLAY_SYSTEM,
        PRODUCT_CHARACTERISTICS_QUERY,
        SUBSTANCE_APPROVAL_QUERY,
        GENERAL_RELEVANT_PATIENT,
    )
    assoc = _py_assoc(port, *contexts)
    try:
        status, attrs = assoc.send_n_get([0x00080070], DISPLAY_SYSTEM, DISPLAY_SYSTEM_INSTANCE)
        assert (
            status.Status == 0
            and attrs.Manufacturer == "ACME"
            and "DeviceSerialNumber" not in attrs
        )
        q = PDataset()
        q.ProductPackageIdentifier = "777"
        q.ProductName = ""
        found = [(s.Status, i) for s, i in assoc.send_c_find(q, PRODUCT_CHARACTERISTICS_QUERY)]
        assert [s for s, _ in found] == [0xFF00, 0] and found[0][1].ProductName == "Gadobutrol"
        q = PDataset()
        q.PatientID = "P1"
        q.ProductPackageIdentifier = "777"
        q.SubstanceAdministrationApproval = ""
        found = [(s.Status, i) for s, i in assoc.send_c_find(q, SUBSTANCE_APPROVAL_QUERY)]
        assert found[0][1].SubstanceAdministrationApproval == "CONTRA_INDICATED"
        q = PDataset()
        q.PatientID = "P1"
        q.PatientName = ""
        tpl = PDataset()
        tpl.MappingResource = "DCMR"
        tpl.TemplateIdentifier = "9007"
        q.ContentTemplateSequence = [tpl]
        found = [(s.Status, i) for s, i in assoc.send_c_find(q, GENERAL_RELEVANT_PATIENT)]
        assert [s for s, _ in found] == [0xFF00, 0]
        ident = found[0][1]
        assert ident.PatientName == "PY^TEST" and ident.ValueType == "CONTAINER"
        meanings = [c.ConceptNameCodeSequence[0].CodeMeaning for c in ident.ContentSequence]
        assert meanings == ["Subject Age", "Subject Sex"]
        tpl.TemplateIdentifier = "3802"
        found = [s.Status for s, _ in assoc.send_c_find(q, GENERAL_RELEVANT_PATIENT)]
        assert found == [0xC200]
    finally:
        assoc.release()


# -- our SCUs -> pynetdicom SCPs ---------------------------------------------------------------


@pytest.fixture
def py_scp() -> Iterator[tuple[int, dict[str, Any]]]:
    port = peers.free_port()
    seen: dict[str, Any] = {"actions": [], "rt": {}}

    def on_action(event: Any) -> Any:
        req = event.request
        cls, uid = str(req.RequestedSOPClassUID), str(req.RequestedSOPInstanceUID)
        seen["actions"].append((cls, uid, event.action_type, event.action_information))
        if cls in MACHINE_VERIFICATION_CLASSES:

            def report() -> None:
                result = PDataset()
                result.TreatmentVerificationStatus = "VERIFIED"
                result.FailedAttributesSequence = []
                result.OverriddenAttributesSequence = []
                event.assoc.send_n_event_report(result, 1, cls, uid)

            threading.Thread(target=report, daemon=True).start()
        return 0x0000, None

    def on_create(event: Any) -> Any:
        req = event.request
        seen.setdefault("created", {})[str(req.AffectedSOPInstanceUID)] = event.attribute_list
        return 0x0000, event.attribute_list

    def on_set(event: Any) -> Any:
        seen["rt"]["set"] = event.attribute_list
        return 0x0000, event.attribute_list

    def on_get(event: Any) -> Any:
        cls = str(event.request.RequestedSOPClassUID)
        ds = PDataset()
        if cls == DISPLAY_SYSTEM:
            ds.Manufacturer = "PYDISPLAY"
            sub = PDataset()
            sub.DisplaySubsystemName = "Only"
            ds.DisplaySubsystemSequence = [sub]
        elif cls == MEDIA_CREATION_MANAGEMENT:
            ds.ExecutionStatus = "DONE"
            ds.ExecutionStatusInfo = "NORMAL"
            ds.TotalNumberOfPiecesOfMediaCreated = 1
            ds.FailedSOPSequence = []
        return 0x0000, ds

    def on_delete(event: Any) -> Any:
        seen["rt"]["deleted"] = str(event.request.RequestedSOPInstanceUID)
        return 0x0000

    def on_find(event: Any) -> Any:
        cls = str(event.request.AffectedSOPClassUID)
        ident = PDataset()
        if cls == PRODUCT_CHARACTERISTICS_QUERY:
            ident.ProductPackageIdentifier = event.identifier.ProductPackageIdentifier
            ident.ProductName = "PyContrast"
        elif cls == SUBSTANCE_APPROVAL_QUERY:
            ident.PatientID = event.identifier.PatientID
            ident.SubstanceAdministrationApproval = "APPROVED"
        else:
            ident.PatientID = event.identifier.PatientID
            ident.ValueType = "CONTAINER"
            name = PDataset()
            name.CodeValue, name.CodingSchemeDesignator, name.CodeMeaning = (
                "11329-0",
                "LN",
                "History",
            )
            ident.ConceptNameCodeSequence = [name]
            ident.ContentSequence = []
        yield 0xFF00, ident

    ae = pynetdicom.AE(ae_title="PYSCP")
    for uid in (
        PROCEDURAL_EVENT_LOGGING,
        *MACHINE_VERIFICATION_CLASSES,
        MEDIA_CREATION_MANAGEMENT,
        DISPLAY_SYSTEM,
        PRODUCT_CHARACTERISTICS_QUERY,
        SUBSTANCE_APPROVAL_QUERY,
        GENERAL_RELEVANT_PATIENT,
    ):
        ae.add_supported_context(uid)
    server = ae.start_server(
        ("127.0.0.1", port),
        block=False,
        evt_handlers=[
            (evt.EVT_N_ACTION, on_action),
            (evt.EVT_N_CREATE, on_create),
            (evt.EVT_N_SET, on_set),
            (evt.EVT_N_GET, on_get),
            (evt.EVT_N_DELETE, on_delete),
            (evt.EVT_C_FIND, on_find),
        ],
    )
    try:
        yield port, seen
    finally:
        server.shutdown()


def test_our_scus_against_pynetdicom(py_scp: tuple[int, dict[str, Any]]) -> None:
    port, seen = py_scp

    async def main() -> dict[str, Any]:
        listener = VerificationListener()
        contexts = [
            PROCEDURAL_EVENT_LOGGING,
            *MACHINE_VERIFICATION_CLASSES,
            MEDIA_CREATION_MANAGEMENT,
            DISPLAY_SYSTEM,
            PRODUCT_CHARACTERISTICS_QUERY,
            SUBSTANCE_APPROVAL_QUERY,
            GENERAL_RELEVANT_PATIENT,
        ]
        out: dict[str, Any] = {}
        async with AE("OURSCU").associate(
            "127.0.0.1", port, ae_title="PYSCP", contexts=contexts, handlers=listener.handlers()
        ) as assoc:
            record = event_record(
                study_instance_uid=STUDY, events=[(("1", "99X", "Start"), "20260105100000")]
            )
            out["log"] = await log_event(assoc, record)
            params = Dataset()
            item = Dataset()
            item.SpecifiedPrimaryMeterset = 100
            params.ConventionalMachineVerificationSequence = [item]
            out["rt"] = await rt_verification.verify(
                assoc,
                listener,
                CONV,
                rt_verification.creation_attributes("1.2.3.5", "P1"),
                params,
                timeout=WAIT,
            )
            out["media"] = await mc.create_media(
                assoc, media_request([(SC, "1.2.3.1")], fileset_id="PY"), poll=0.05, timeout=WAIT
            )
            out["display"] = await get_display_system(assoc)
            out["product"] = await product_characteristics(assoc, "555")
            out["approval"] = await substance_approval(assoc, "P1", "555")
            out["patient"] = await query_relevant_information(assoc, patient_id="P1")
        return out

    out = asyncio.run(main())
    assert out["log"] == 0
    cls, uid, action, info = seen["actions"][0]
    assert (cls, uid, action) == (PROCEDURAL_EVENT_LOGGING, PROCEDURAL_EVENT_LOGGING_INSTANCE, 1)
    assert info.StudyInstanceUID == STUDY and info.ContentSequence[0].ObservationDateTime
    assert out["rt"].status == "VERIFIED"
    assert (
        seen["rt"]["set"].ConventionalMachineVerificationSequence[0].SpecifiedPrimaryMeterset == 100
    )
    assert seen["rt"]["deleted"] in seen["created"]
    media_uid, status = out["media"]
    assert status.status == "DONE" and seen["created"][media_uid].StorageMediaFileSetID == "PY"
    assert [a[2] for a in seen["actions"] if a[0] == MEDIA_CREATION_MANAGEMENT] == [1]
    assert out["display"][1].Manufacturer == "PYDISPLAY"
    assert out["product"].ProductName == "PyContrast"
    assert out["approval"].decision == "APPROVED"
    assert out["patient"].ConceptNameCodeSequence[0].CodeMeaning == "History"


@pytest.mark.slow  # a `dicomkit serve` process
def test_pynetdicom_against_served_rt_verification(tmp_path: Path) -> None:
    """pynetdicom as the treatment delivery system against `dicomkit serve` hosting
    ``[rt_verification]`` with its tolerance verifier."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
    from archive_helpers import serving
    from test_node_ps34 import RT_CONFIG

    (tmp_path / "node.toml").write_text(RT_CONFIG)
    port = peers.free_port()
    reports: list[Any] = []
    got = threading.Event()

    def on_report(event: Any) -> Any:
        reports.append(event.event_information)
        got.set()
        return 0x0000, None

    with serving(tmp_path / "arch", port, "--config", str(tmp_path / "node.toml")):
        ae = pynetdicom.AE(ae_title="PYTDS")
        ae.add_requested_context(CONV)
        assoc = ae.associate(
            "127.0.0.1",
            port,
            ae_title="DICOMKIT",
            evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)],
        )
        assert assoc.is_established
        uid = "1.2.826.0.1.3680043.10.8.3"
        try:
            create = PDataset()
            plan = PDataset()
            plan.ReferencedSOPClassUID = uids.RTPlanStorage
            plan.ReferencedSOPInstanceUID = "1.2.3.45"
            create.ReferencedRTPlanSequence = [plan]
            create.PatientID = "P1"
            status, _ = assoc.send_n_create(create, CONV, uid)
            assert status.Status == 0
            params = PDataset()
            item = PDataset()
            item.SpecifiedPrimaryMeterset = 700  # tolerance [0, 500]
            params.ConventionalMachineVerificationSequence = [item]
            status, _ = assoc.send_n_set(params, CONV, uid)
            assert status.Status == 0
            bad = PDataset()
            bad.PatientID = "P2"  # only N-CREATE may set it
            status, _ = assoc.send_n_set(bad, CONV, uid)
            # (pynetdicom's N-SET primitive keeps no Offending Element: the comment says it)
            assert status.Status == 0x0106 and "N-CREATE" in status.ErrorComment
            status, _ = assoc.send_n_action(None, 1, CONV, uid)
            assert status.Status == 0
            assert got.wait(WAIT)
            status, attrs = assoc.send_n_get([0x3008002C], CONV, uid)
            assert status.Status == 0 and attrs.TreatmentVerificationStatus == "NOT_VERIFIED"
            assert assoc.send_n_delete(CONV, uid).Status == 0
        finally:
            assoc.release()
    (info,) = reports
    assert info.TreatmentVerificationStatus == "NOT_VERIFIED"
    assert info.FailedAttributesSequence[0].SelectorAttribute == 0x30080032
