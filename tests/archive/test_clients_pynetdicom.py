"""The ``worklist`` and ``mpps`` clients against pynetdicom SCPs (a foreign SCP, not our node)."""

from __future__ import annotations

import threading
from typing import Any

from archive_helpers import cli
from peers import free_port, require_module

MWL = "1.2.840.10008.5.1.4.31"
MPPS = "1.2.840.10008.3.1.2.3.3"


def _serve(contexts: list[str], handlers: list[Any]) -> tuple[Any, int]:
    pynetdicom = require_module("pynetdicom")
    ae = pynetdicom.AE(ae_title="PYSCP")
    for uid in contexts:
        ae.add_supported_context(uid)
    port = free_port()
    return ae.start_server(("127.0.0.1", port), block=False, evt_handlers=handlers), port


def test_worklist_client_against_pynetdicom() -> None:
    pynetdicom = require_module("pynetdicom")
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    queries: list[Any] = []

    def on_find(event: Any) -> Any:
        query = event.identifier
        queries.append(query)
        step = query.ScheduledProcedureStepSequence[0]
        for pid, modality in (("W1", "CT"), ("W2", "MR")):
            if step.get("Modality") and step.Modality != modality:
                continue
            ds = Dataset()
            ds.PatientName = f"PY^{pid}"
            ds.PatientID = pid
            item = Dataset()
            item.Modality = modality
            item.ScheduledStationAETitle = "ST1"
            ds.ScheduledProcedureStepSequence = Sequence([item])
            yield 0xFF00, ds

    server, port = _serve([MWL], [(pynetdicom.evt.EVT_C_FIND, on_find)])
    try:
        code, out, err = cli(
            "worklist", "127.0.0.1", str(port), "--aec", "PYSCP",
            "-k", "ScheduledProcedureStepSequence.Modality=MR",
        )  # fmt: skip
    finally:
        server.shutdown()
    assert code == 0, err
    assert "PY^W2" in out and "PY^W1" not in out and "1 worklist item(s)" in out
    sent = queries[0].ScheduledProcedureStepSequence[0]
    assert sent.Modality == "MR" and "ScheduledProcedureStepStartDate" in sent


def test_mpps_client_against_pynetdicom() -> None:
    pynetdicom = require_module("pynetdicom")
    seen: list[tuple[str, str, str]] = []
    lock = threading.Lock()

    def on_create(event: Any) -> Any:
        ds = event.attribute_list
        with lock:
            seen.append(("create", str(event.request.AffectedSOPInstanceUID), str(ds.PatientID)))
        return 0x0000, ds

    def on_set(event: Any) -> Any:
        mods = event.modification_list
        with lock:
            seen.append(
                (
                    "set",
                    str(event.request.RequestedSOPInstanceUID),
                    str(mods.PerformedProcedureStepStatus),
                )
            )
        return 0x0000, mods

    server, port = _serve(
        [MPPS],
        [(pynetdicom.evt.EVT_N_CREATE, on_create), (pynetdicom.evt.EVT_N_SET, on_set)],
    )
    uid = "1.2.826.0.1.3680043.10.543.6.77"
    try:
        base = ["127.0.0.1", str(port), "--aec", "PYSCP"]
        created = cli("mpps", "create", *base, "--uid", uid, "-k", "PatientID=PY7")
        done = cli("mpps", "complete", *base, uid)
    finally:
        server.shutdown()
    assert created[0] == 0 and created[1].strip() == uid, created[2]
    assert done[0] == 0, done[2]
    assert seen == [("create", uid, "PY7"), ("set", uid, "COMPLETED")]


def test_commit_client_against_pynetdicom_reporting_on_a_new_association(tmp_path: Any) -> None:
    pynetdicom = require_module("pynetdicom")
    from archive_helpers import synthetic, write_files
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    sc, sc_instance = "1.2.840.10008.1.20.1", "1.2.840.10008.1.20.1.1"
    listen = free_port()
    files = write_files(synthetic(2)[:2], tmp_path / "f")
    threads: list[threading.Thread] = []

    def report(info: Any) -> None:
        # the SCP's side of PS3.4 J.3.3: a new association to the requestor, SCP role
        ae = pynetdicom.AE(ae_title="PYSCP")
        ae.add_requested_context(sc)
        role = pynetdicom.build_role(sc, scp_role=True)
        assoc = ae.associate("127.0.0.1", listen, ae_title="CLIENT", ext_neg=[role])
        assert assoc.is_established
        refs = list(info.ReferencedSOPSequence)
        ds = Dataset()
        ds.TransactionUID = info.TransactionUID
        ds.ReferencedSOPSequence = Sequence(refs[:1])
        failed = Dataset()
        failed.ReferencedSOPClassUID = refs[1].ReferencedSOPClassUID
        failed.ReferencedSOPInstanceUID = refs[1].ReferencedSOPInstanceUID
        failed.FailureReason = 0x0112
        ds.FailedSOPSequence = Sequence([failed])
        try:
            assoc.send_n_event_report(ds, 2, sc, sc_instance)
        finally:
            assoc.release()

    def on_action(event: Any) -> Any:
        thread = threading.Thread(target=report, args=(event.action_information,))
        threads.append(thread)
        thread.start()
        return 0x0000, None

    server, port = _serve([sc], [(pynetdicom.evt.EVT_N_ACTION, on_action)])
    try:
        code, out, err = cli(
            "commit", "127.0.0.1", str(port), *map(str, files),
            "--aec", "PYSCP", "--aet", "CLIENT", "--port", str(listen), "--timeout", "30",
        )  # fmt: skip
    finally:
        for t in threads:
            t.join(30)
        server.shutdown()
    assert code == 1, out + err  # one instance failed
    assert "1 committed, 1 failed" in out
    assert "0112" in out


def test_ups_client_against_pynetdicom() -> None:
    pynetdicom = require_module("pynetdicom")
    push, pull, watch = (
        "1.2.840.10008.5.1.4.34.6.1",
        "1.2.840.10008.5.1.4.34.6.3",
        "1.2.840.10008.5.1.4.34.6.2",
    )
    items: dict[str, Any] = {}
    actions: list[tuple[int, str, str]] = []

    def on_create(event: Any) -> Any:
        items[str(event.request.AffectedSOPInstanceUID)] = event.attribute_list
        return 0x0000, event.attribute_list

    def on_find(event: Any) -> Any:
        for uid, ds in items.items():
            out = ds.__class__()
            out.SOPInstanceUID = uid
            out.ProcedureStepState = ds.ProcedureStepState
            out.ProcedureStepLabel = ds.ProcedureStepLabel
            yield 0xFF00, out

    def on_action(event: Any) -> Any:
        info = event.action_information
        actions.append(
            (
                int(event.request.ActionTypeID),
                str(event.request.RequestedSOPInstanceUID),
                str(info.get("ProcedureStepState", "")),
            )
        )
        return 0x0000, None

    server, port = _serve(
        [push, pull, watch],
        [
            (pynetdicom.evt.EVT_N_CREATE, on_create),
            (pynetdicom.evt.EVT_C_FIND, on_find),
            (pynetdicom.evt.EVT_N_ACTION, on_action),
        ],
    )
    base = ["127.0.0.1", str(port), "--aec", "PYSCP"]
    try:
        created = cli("ups", "create", *base, "--label", "py step")
        uid = created[1].strip()
        found = cli("ups", "find", *base)
        claimed = cli("ups", "claim", *base, uid, "--txn", "1.2.826.0.1.3680043.10.543.7.9")
        done = cli("ups", "complete", *base, uid, "--txn", "1.2.826.0.1.3680043.10.543.7.9")
    finally:
        server.shutdown()
    assert created[0] == 0 and uid in items, created[2]
    assert items[uid].ProcedureStepState == "SCHEDULED"
    assert found[0] == 0 and uid in found[1] and "py step" in found[1]
    assert claimed[0] == 0 and done[0] == 0, claimed[2] + done[2]
    assert actions == [(1, uid, "IN PROGRESS"), (1, uid, "COMPLETED")]
