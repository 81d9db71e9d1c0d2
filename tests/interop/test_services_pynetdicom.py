"""DIMSE-N and worklist services against pynetdicom (a test peer only), both roles:
Storage Commitment, MPPS, Modality Worklist and UPS."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import peers
import pytest

from dicomkit.core._dataset import Dataset
from dicomkit.net import AE
from dicomkit.net._sync import SyncAE
from dicomkit.services import _commitment as commitment
from dicomkit.services import _mpps as mpps
from dicomkit.services import _ups as ups
from dicomkit.services import _worklist as worklist
from dicomkit.services._n_common import ServiceAE, supported_for

pytestmark = pytest.mark.interop
pynetdicom = peers.require_module("pynetdicom")
pydicom = peers.require_module("pydicom")
from pydicom.dataset import Dataset as PDataset
from pynetdicom import evt

CT = "1.2.840.10008.5.1.4.1.1.2"
HELD = {"1.2.3.1", "1.2.3.2"}
WAIT = 20.0


def pd_refs(uids: list[str], txn: str) -> Any:
    ds = PDataset()
    ds.TransactionUID = txn
    items = []
    for uid in uids:
        item = PDataset()
        item.ReferencedSOPClassUID = CT
        item.ReferencedSOPInstanceUID = uid
        items.append(item)
    ds.ReferencedSOPSequence = items
    return ds


@pytest.fixture
def our_scp() -> Iterator[tuple[int, dict[str, Any]]]:
    """One dicomkit AE serving Storage Commitment, MPPS, MWL and UPS."""
    from dicomkit.services._n_common import SopClassRouter

    watcher_port = peers.free_port()
    parts: dict[str, Any] = {
        "commit": commitment.StorageCommitmentSCP(lambda c, i: i in HELD),
        "mpps": mpps.MPPSSCP(),
        "ups": ups.UPSSCP(addresses={"PYWATCH": ("127.0.0.1", watcher_port)}),
        "watcher_port": watcher_port,
    }
    router = SopClassRouter()
    router.add(commitment.STORAGE_COMMITMENT, parts["commit"].handlers())
    router.add(mpps.MPPS, parts["mpps"].handlers())
    router.add(
        worklist.MODALITY_WORKLIST_FIND,
        worklist.WorklistSCP(
            worklist.ListSource([mwl_item("DOE^JOHN", "1", "CT"), mwl_item("ROE^ANN", "2", "MR")])
        ).handlers(),
    )
    parts["ups"].add_to(router)
    ae = SyncAE("OURSCP", handlers=router.handlers(), supported=supported_for(router.sop_classes()))
    with ae, ae.serve(0) as server:
        yield server.port, parts


def mwl_item(name: str, pid: str, modality: str) -> Dataset:
    q = worklist.worklist_query(
        patient_name=name,
        patient_id=pid,
        modality=modality,
        station_ae="STATION",
        start_date="20260101",
        start_time="080000",
    )
    q.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID = f"S{pid}"
    return q


def py_ae(*contexts: str) -> Any:
    ae = pynetdicom.AE(ae_title="PYSCU")
    for uid in contexts:
        ae.add_requested_context(uid)
    return ae


# -- pynetdicom SCU -> our SCPs ---------------------------------------------------------------


def test_pynetdicom_commitment_same_association(our_scp: tuple[int, dict[str, Any]]) -> None:
    port, _ = our_scp
    got: list[tuple[int, Any]] = []
    done = threading.Event()

    def on_report(event: Any) -> Any:
        got.append((event.event_type, event.event_information))
        done.set()
        return 0x0000, None

    ae = py_ae(commitment.STORAGE_COMMITMENT)
    assoc = ae.associate(
        "127.0.0.1", port, ae_title="OURSCP", evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)]
    )
    assert assoc.is_established
    try:
        status, _ = assoc.send_n_action(
            pd_refs(["1.2.3.1", "9.9.9"], "1.2.77"),
            1,
            commitment.STORAGE_COMMITMENT,
            commitment.STORAGE_COMMITMENT_INSTANCE,
        )
        assert status.Status == 0
        assert done.wait(WAIT)
    finally:
        assoc.release()
    event_type, info = got[0]
    assert event_type == commitment.EVENT_FAILURES
    assert info.TransactionUID == "1.2.77"
    assert [i.ReferencedSOPInstanceUID for i in info.ReferencedSOPSequence] == ["1.2.3.1"]
    assert [(i.ReferencedSOPInstanceUID, i.FailureReason) for i in info.FailedSOPSequence] == [
        ("9.9.9", 0x0112)
    ]


def test_pynetdicom_mpps(our_scp: tuple[int, dict[str, Any]]) -> None:
    port, parts = our_scp
    ae = py_ae(mpps.MPPS)
    assoc = ae.associate("127.0.0.1", port, ae_title="OURSCP")
    try:
        ds = PDataset()
        ds.PerformedProcedureStepStatus = "IN PROGRESS"
        ds.PatientID = "42"
        status, _ = assoc.send_n_create(ds, mpps.MPPS, "1.2.826.0.1.3680043.10.5.1")
        assert status.Status == 0
        mods = PDataset()
        mods.PerformedProcedureStepStatus = "COMPLETED"
        status, _ = assoc.send_n_set(mods, mpps.MPPS, "1.2.826.0.1.3680043.10.5.1")
        assert status.Status == 0
        status, _ = assoc.send_n_set(mods, mpps.MPPS, "1.2.826.0.1.3680043.10.5.1")
        assert status.Status == 0x0110
        status, _ = assoc.send_n_set(mods, mpps.MPPS, "1.2.826.0.1.3680043.10.5.9")
        assert status.Status == 0x0112
    finally:
        assoc.release()
    assert (
        parts["mpps"].store["1.2.826.0.1.3680043.10.5.1"].PerformedProcedureStepStatus
        == "COMPLETED"
    )


def test_pynetdicom_worklist_find(our_scp: tuple[int, dict[str, Any]]) -> None:
    port, _ = our_scp
    ae = py_ae(worklist.MODALITY_WORKLIST_FIND)
    assoc = ae.associate("127.0.0.1", port, ae_title="OURSCP")
    query = PDataset()
    query.PatientName = "DOE*"
    query.PatientID = ""
    sps = PDataset()
    sps.Modality = ""
    sps.ScheduledStationAETitle = "STATION"
    query.ScheduledProcedureStepSequence = [sps]
    try:
        results = [
            (s.Status, i) for s, i in assoc.send_c_find(query, worklist.MODALITY_WORKLIST_FIND)
        ]
    finally:
        assoc.release()
    assert [s for s, _ in results] == [0xFF00, 0x0000]
    ident = results[0][1]
    assert ident.PatientID == "1" and ident.ScheduledProcedureStepSequence[0].Modality == "CT"


def test_pynetdicom_ups_push_pull_watch(our_scp: tuple[int, dict[str, Any]]) -> None:
    port, parts = our_scp
    reports: list[tuple[str, int, str]] = []
    lock = threading.Condition()

    def on_report(event: Any) -> Any:
        with lock:
            info = event.event_information
            reports.append(
                (
                    str(event.request.AffectedSOPInstanceUID),
                    event.event_type,
                    str(info.get("ProcedureStepState", "")),
                )
            )
            lock.notify_all()
        return 0x0000, None

    watcher = pynetdicom.AE(ae_title="PYWATCH")
    watcher.add_supported_context(ups.UPS_EVENT)
    server = watcher.start_server(
        ("127.0.0.1", parts["watcher_port"]),
        block=False,
        evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)],
    )
    try:
        ae = py_ae(ups.UPS_PUSH, ups.UPS_PULL, ups.UPS_WATCH)
        assoc = ae.associate("127.0.0.1", port, ae_title="OURSCP")
        try:
            sub = PDataset()
            sub.ReceivingAE = "PYWATCH"
            sub.DeletionLock = "FALSE"
            status, _ = assoc.send_n_action(sub, 3, ups.UPS_WATCH, ups.UPS_GLOBAL, meta_uid=None)
            assert status.Status == 0
            created = PDataset()
            created.ProcedureStepState = "SCHEDULED"
            created.ProcedureStepLabel = "py"
            created.InputReadinessState = "READY"
            uid = "1.2.826.0.1.3680043.10.6.1"
            status, _ = assoc.send_n_create(created, ups.UPS_PUSH, uid)
            assert status.Status == 0
            change = PDataset()
            change.ProcedureStepState = "IN PROGRESS"
            change.TransactionUID = "1.2.826.0.1.3680043.10.6.2"
            status, _ = assoc.send_n_action(change, 1, ups.UPS_PULL, uid)
            assert status.Status == 0
            status, _ = assoc.send_n_action(change, 1, ups.UPS_PULL, uid)
            assert status.Status == 0xC302
            status, attrs = assoc.send_n_get([0x00741000, 0x00741204], ups.UPS_PUSH, uid)
            assert status.Status == 0 and attrs.ProcedureStepState == "IN PROGRESS"
            change.ProcedureStepState = "COMPLETED"
            status, _ = assoc.send_n_action(change, 1, ups.UPS_PULL, uid)
            assert status.Status == 0
        finally:
            assoc.release()
        with lock:
            assert lock.wait_for(lambda: len(reports) >= 3, WAIT), reports
    finally:
        server.shutdown()
    assert [r[2] for r in reports] == ["SCHEDULED", "IN PROGRESS", "COMPLETED"]
    assert all(r[1] == 1 and r[0] == "1.2.826.0.1.3680043.10.6.1" for r in reports)


# -- our SCUs -> pynetdicom SCPs ---------------------------------------------------------------


@pytest.fixture
def py_scp() -> Iterator[tuple[int, dict[str, Any]]]:
    port = peers.free_port()
    seen: dict[str, Any] = {"mpps": {}, "ups": {}, "actions": []}

    def on_action(event: Any) -> Any:
        req = event.request
        if req.RequestedSOPClassUID == commitment.STORAGE_COMMITMENT:
            info = event.action_information
            rsp = PDataset()
            rsp.TransactionUID = info.TransactionUID
            rsp.ReferencedSOPSequence = [
                i for i in info.ReferencedSOPSequence if i.ReferencedSOPInstanceUID in HELD
            ]
            failed = []
            for i in info.ReferencedSOPSequence:
                if i.ReferencedSOPInstanceUID not in HELD:
                    f = PDataset()
                    f.ReferencedSOPClassUID = i.ReferencedSOPClassUID
                    f.ReferencedSOPInstanceUID = i.ReferencedSOPInstanceUID
                    f.FailureReason = 0x0112
                    failed.append(f)
            if failed:
                rsp.FailedSOPSequence = failed

            def report() -> None:
                event.assoc.send_n_event_report(
                    rsp,
                    2 if failed else 1,
                    commitment.STORAGE_COMMITMENT,
                    commitment.STORAGE_COMMITMENT_INSTANCE,
                )

            threading.Thread(target=report, daemon=True).start()
            return 0x0000, None
        seen["actions"].append(
            (str(req.RequestedSOPInstanceUID), event.action_type, event.action_information)
        )
        return 0x0000, None

    def on_create(event: Any) -> Any:
        uid = str(event.request.AffectedSOPInstanceUID)
        key = "mpps" if event.request.AffectedSOPClassUID == mpps.MPPS else "ups"
        seen[key][uid] = event.attribute_list
        return 0x0000, event.attribute_list

    def on_set(event: Any) -> Any:
        uid = str(event.request.RequestedSOPInstanceUID)
        ds = seen["mpps"][uid]
        for elem in event.attribute_list:
            ds[elem.tag] = elem
        return 0x0000, event.attribute_list

    def on_find(event: Any) -> Any:
        ident = PDataset()
        ident.PatientName = "PY^PATIENT"
        ident.PatientID = "99"
        sps = PDataset()
        sps.Modality = "US"
        ident.ScheduledProcedureStepSequence = [sps]
        yield 0xFF00, ident

    ae = pynetdicom.AE(ae_title="PYSCP")
    for uid in (
        commitment.STORAGE_COMMITMENT,
        mpps.MPPS,
        worklist.MODALITY_WORKLIST_FIND,
        ups.UPS_PUSH,
        ups.UPS_PULL,
        ups.UPS_WATCH,
    ):
        ae.add_supported_context(uid)
    server = ae.start_server(
        ("127.0.0.1", port),
        block=False,
        evt_handlers=[
            (evt.EVT_N_ACTION, on_action),
            (evt.EVT_N_CREATE, on_create),
            (evt.EVT_N_SET, on_set),
            (evt.EVT_C_FIND, on_find),
        ],
    )
    try:
        yield port, seen
    finally:
        server.shutdown()


def test_our_scus_against_pynetdicom(py_scp: tuple[int, dict[str, Any]]) -> None:
    port, seen = py_scp

    async def main() -> tuple[commitment.CommitmentResult, str, list[Dataset], str]:
        listener = commitment.CommitmentListener()
        contexts = [
            commitment.STORAGE_COMMITMENT,
            mpps.MPPS,
            worklist.MODALITY_WORKLIST_FIND,
            ups.UPS_PUSH,
            ups.UPS_PULL,
            ups.UPS_WATCH,
        ]
        async with AE("OURSCU").associate(
            "127.0.0.1", port, ae_title="PYSCP", contexts=contexts, handlers=listener.handlers()
        ) as assoc:
            result = await commitment.commit(
                assoc, [(CT, "1.2.3.2"), (CT, "8.8")], listener, timeout=WAIT
            )
            uid = await mpps.create(assoc, mpps.in_progress(patient_id="5"))
            await mpps.complete(assoc, uid)
            found = await worklist.find_all(assoc, worklist.worklist_query())
            ups_uid = await ups.create(assoc, ups.scheduled(label="ours"))
            await ups.change_state(assoc, ups_uid, ups.IN_PROGRESS, "1.2.826.0.1.3680043.10.7")
            return result, uid, found, ups_uid

    result, uid, found, ups_uid = asyncio.run(main())
    assert result.committed == [(CT, "1.2.3.2")] and result.failed == [(CT, "8.8", 0x0112)]
    assert seen["mpps"][uid].PerformedProcedureStepStatus == "COMPLETED"
    assert [str(d.PatientName) for d in found] == ["PY^PATIENT"]
    assert seen["ups"][ups_uid].ProcedureStepLabel == "ours"
    ((action_uid, action_type, info),) = seen["actions"]
    assert (action_uid, action_type, info.ProcedureStepState) == (ups_uid, 1, "IN PROGRESS")


def test_our_commitment_scp_reports_to_pynetdicom_on_new_association() -> None:
    """Report on a new association opened by our SCP with SCP role selection (J.3.3)."""
    listen_port = peers.free_port()
    got: list[Any] = []
    done = threading.Event()

    def on_report(event: Any) -> Any:
        got.append(event.event_information)
        done.set()
        return 0x0000, None

    listener = pynetdicom.AE(ae_title="PYSCU")
    listener.add_supported_context(commitment.STORAGE_COMMITMENT, scu_role=True, scp_role=True)
    server = listener.start_server(
        ("127.0.0.1", listen_port), block=False, evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)]
    )
    scp = commitment.StorageCommitmentSCP(
        lambda c, i: i in HELD,
        report_on="new",
        addresses={"PYSCU": ("127.0.0.1", listen_port)},
        ae=ServiceAE("OURSCP"),
    )
    ours = SyncAE(
        "OURSCP", handlers=scp.handlers(), supported=supported_for([commitment.STORAGE_COMMITMENT])
    )
    try:
        with ours, ours.serve(0) as our_server:
            ae = py_ae(commitment.STORAGE_COMMITMENT)
            assoc = ae.associate("127.0.0.1", our_server.port, ae_title="OURSCP")
            status, _ = assoc.send_n_action(
                pd_refs(sorted(HELD), "1.2.78"),
                1,
                commitment.STORAGE_COMMITMENT,
                commitment.STORAGE_COMMITMENT_INSTANCE,
            )
            assoc.release()
            assert status.Status == 0
            assert done.wait(WAIT)
            ours.runner.run(scp.join(), timeout=WAIT)  # our side of the report finished
    finally:
        server.shutdown()
    assert got[0].TransactionUID == "1.2.78"
    assert sorted(i.ReferencedSOPInstanceUID for i in got[0].ReferencedSOPSequence) == sorted(HELD)


def test_our_listener_accepts_pynetdicom_report_on_new_association() -> None:
    """pynetdicom opens a new association (proposing the SCP role) to our listening SCU."""
    listener = commitment.CommitmentListener()
    ours = SyncAE(
        "OURSCU",
        handlers=listener.handlers(),
        supported=supported_for([commitment.STORAGE_COMMITMENT]),
    )
    ours.ae = ServiceAE(
        "OURSCU",
        handlers=listener.handlers(),
        supported=supported_for([commitment.STORAGE_COMMITMENT]),
        roles=commitment.LISTENER_ROLES,
    )
    with ours, ours.serve(0) as server:
        ae = pynetdicom.AE(ae_title="PYSCP")
        ae.add_requested_context(commitment.STORAGE_COMMITMENT)
        role = (
            pynetdicom.sop_class.build_role(commitment.STORAGE_COMMITMENT, scp_role=True)
            if hasattr(pynetdicom.sop_class, "build_role")
            else pynetdicom.build_role(commitment.STORAGE_COMMITMENT, scp_role=True)
        )
        assoc = ae.associate("127.0.0.1", server.port, ae_title="OURSCU", ext_neg=[role])
        assert assoc.is_established
        info = pd_refs(["1.2.3.1"], "1.2.79")
        status, _ = assoc.send_n_event_report(
            info, 1, commitment.STORAGE_COMMITMENT, commitment.STORAGE_COMMITMENT_INSTANCE
        )
        assoc.release()
    assert status.Status == 0
    assert listener.results["1.2.79"].committed == [(CT, "1.2.3.1")]
