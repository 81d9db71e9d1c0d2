"""UPS hosted by ``dicomkit serve`` (PS3.4 CC): pynetdicom pushes, pulls and watches; the
workitem, its Transaction UID and the global subscription survive restarts of the node."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from archive_helpers import serving
from peers import free_port, require_module

UPS_PUSH = "1.2.840.10008.5.1.4.34.6.1"
UPS_WATCH = "1.2.840.10008.5.1.4.34.6.2"
UPS_PULL = "1.2.840.10008.5.1.4.34.6.3"
UPS_EVENT = "1.2.840.10008.5.1.4.34.6.4"
UPS_GLOBAL = "1.2.840.10008.5.1.4.34.5"
UID = "1.2.826.0.1.3680043.10.543.7.1"
TXN = "1.2.826.0.1.3680043.10.543.7.2"


def _session(port: int, body: Any) -> Any:
    pynetdicom = require_module("pynetdicom")
    ae = pynetdicom.AE(ae_title="PYSCU")
    for uid in (UPS_PUSH, UPS_PULL, UPS_WATCH):
        ae.add_requested_context(uid)
    assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
    assert assoc.is_established
    try:
        return body(assoc)
    finally:
        assoc.release()


def _ds(**kw: str) -> Any:
    from pydicom.dataset import Dataset

    ds = Dataset()
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


@pytest.mark.slow  # `dicomkit serve` processes, stopped and restarted
def test_ups_workitems_and_subscriptions_survive_restarts(tmp_path: Path) -> None:
    pynetdicom = require_module("pynetdicom")
    port, watch_port = free_port(), free_port()
    cfg = tmp_path / "node.toml"
    cfg.write_text(f'[peers.PYWATCH]\nhost = "127.0.0.1"\nport = {watch_port}\n', encoding="utf-8")
    archive = tmp_path / "arch"
    reports: list[str] = []
    lock = threading.Condition()

    def on_report(event: Any) -> Any:
        with lock:
            reports.append(str(event.event_information.get("ProcedureStepState", "")))
            lock.notify_all()
        return 0x0000, None

    watcher = pynetdicom.AE(ae_title="PYWATCH")
    watcher.add_supported_context(UPS_EVENT)
    server = watcher.start_server(
        ("127.0.0.1", watch_port),
        block=False,
        evt_handlers=[(pynetdicom.evt.EVT_N_EVENT_REPORT, on_report)],
    )

    def push(assoc: Any) -> list[int]:
        sub, _ = assoc.send_n_action(
            _ds(ReceivingAE="PYWATCH", DeletionLock="FALSE"), 3, UPS_WATCH, UPS_GLOBAL
        )
        created = _ds(ProcedureStepState="SCHEDULED", ProcedureStepLabel="node")
        made, _ = assoc.send_n_create(created, UPS_PUSH, UID)
        return [int(sub.Status), int(made.Status)]

    def claim(assoc: Any) -> tuple[list[int], list[Any]]:
        query = _ds(ProcedureStepLabel="", ProcedureStepState="SCHEDULED", SOPInstanceUID="")
        found = [ds for st, ds in assoc.send_c_find(query, UPS_PULL) if st and st.Status == 0xFF00]
        change = _ds(ProcedureStepState="IN PROGRESS", TransactionUID=TXN)
        st, _ = assoc.send_n_action(change, 1, UPS_PULL, UID)
        return [int(st.Status)], found

    def finish(assoc: Any) -> list[int]:
        wrong = _ds(ProcedureStepState="COMPLETED", TransactionUID=TXN + ".9")
        bad, _ = assoc.send_n_action(wrong, 1, UPS_PULL, UID)
        right = _ds(ProcedureStepState="COMPLETED", TransactionUID=TXN)
        ok, _ = assoc.send_n_action(right, 1, UPS_PULL, UID)
        got, attrs = assoc.send_n_get([0x00741000], UPS_PUSH, UID)
        return [int(bad.Status), int(ok.Status), int(got.Status), attrs.ProcedureStepState]

    try:
        with serving(archive, port, "--config", str(cfg)):
            assert _session(port, push) == [0, 0]
            with lock:
                assert lock.wait_for(lambda: "SCHEDULED" in reports, 20), reports
        with serving(archive, port, "--config", str(cfg)):  # subscription and workitem kept
            statuses, found = _session(port, claim)
            with lock:
                assert lock.wait_for(lambda: "IN PROGRESS" in reports, 20), reports
        with serving(archive, port, "--config", str(cfg)):  # the Transaction UID kept
            done = _session(port, finish)
            with lock:
                assert lock.wait_for(lambda: "COMPLETED" in reports, 20), reports
    finally:
        server.shutdown()
    assert statuses == [0]
    assert [str(ds.SOPInstanceUID) for ds in found] == [UID]
    assert found[0].ProcedureStepLabel == "node"
    assert done == [0xC301, 0, 0, "COMPLETED"]


def test_ups_client_create_find_claim_complete_subscribe(tmp_path: Path) -> None:
    from archive_helpers import cli

    port = free_port()
    cfg = tmp_path / "node.toml"
    cfg.write_text(f'[peers.WATCHER]\nhost = "127.0.0.1"\nport = {free_port()}\n', encoding="utf-8")
    base = ["127.0.0.1", str(port), "--aec", "DICOMKIT"]
    with serving(tmp_path / "arch", port, "--config", str(cfg)):
        code, out, err = cli("ups", "create", *base, "--label", "CLI step", "-k", "PatientID=U1")
        assert code == 0, err
        uid = out.strip()
        code, found, err = cli("ups", "find", *base, "-k", "PatientID=U1")
        assert code == 0, err
        assert uid in found and "SCHEDULED" in found and "1 workitem" in found
        code, out, err = cli("ups", "subscribe", *base, "--receiver", "WATCHER")
        assert code == 0 and "WATCHER subscribed" in out, err
        code, out, err = cli("ups", "subscribe", *base, "--receiver", "NOBODY")
        assert code == 1 and "C308" in err  # an AE title the node cannot reach
        code, txn, err = cli("ups", "claim", *base, uid)
        assert code == 0, err
        txn = txn.strip()
        code, _, err = cli("ups", "complete", *base, uid, "--txn", txn + ".1")
        assert code == 1 and "C301" in err  # not the performer's transaction
        code, out, err = cli("ups", "complete", *base, uid, "--txn", txn)
        assert code == 0 and "COMPLETED" in out, err
        code, found, _ = cli("ups", "find", *base, "-k", "ProcedureStepState=COMPLETED")
    assert uid in found and "CLI step" in found
    code, _, err = cli("ups", "complete", *base, uid)
    assert code == 2 and "--txn" in err
