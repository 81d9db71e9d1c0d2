"""MPPS hosted by ``dicomkit serve`` (PS3.4 F): the state machine kept in the index across a
restart; pynetdicom as the SCU, and the ``dicomkit mpps`` client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from archive_helpers import cli, serving
from peers import free_port, require_module

from dicomkit.archive._db import Database
from dicomkit.archive._mpps_store import IndexedMPPS
from dicomkit.core._dataset import Dataset
from dicomkit.errors import ArchiveError

MPPS = "1.2.840.10008.3.1.2.3.3"
STUDY = "1.2.826.0.1.3680043.10.543.6.1"
STEP = "1.2.826.0.1.3680043.10.543.6.2"


def _assoc() -> tuple[Any, Any]:
    pynetdicom = require_module("pynetdicom")
    ae = pynetdicom.AE(ae_title="MODALITY")
    ae.add_requested_context(MPPS)
    return ae, pynetdicom


def _create_ds(status: str = "IN PROGRESS") -> Any:
    from pydicom.dataset import Dataset as PDataset
    from pydicom.sequence import Sequence

    ds = PDataset()
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "P6"
    ds.Modality = "CT"
    ds.PerformedProcedureStepID = "PPS1"
    ds.PerformedProcedureStepStartDate = "20260301"
    ds.PerformedProcedureStepStartTime = "101500"
    ds.PerformedProcedureStepStatus = status
    item = PDataset()
    item.StudyInstanceUID = STUDY
    item.AccessionNumber = "A6"
    ds.ScheduledStepAttributesSequence = Sequence([item])
    return ds


def _set_ds(**kw: str) -> Any:
    from pydicom.dataset import Dataset as PDataset

    ds = PDataset()
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


def _session(port: int, body: Any) -> Any:
    ae, _ = _assoc()
    assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
    assert assoc.is_established
    try:
        return body(assoc)
    finally:
        assoc.release()


@pytest.mark.slow  # `dicomkit serve` processes, stopped and restarted
def test_pynetdicom_mpps_state_machine_survives_restart(tmp_path: Path) -> None:
    archive = tmp_path / "arch"
    port = free_port()

    def first(assoc: Any) -> list[int]:
        bad, _ = assoc.send_n_create(
            _create_ds("COMPLETED"), MPPS, "1.2.826.0.1.3680043.10.543.6.9"
        )
        ok, _ = assoc.send_n_create(_create_ds(), MPPS, STEP)
        dup, _ = assoc.send_n_create(_create_ds(), MPPS, STEP)
        upd, _ = assoc.send_n_set(_set_ds(PerformedProcedureStepDescription="CHEST"), MPPS, STEP)
        return [int(bad.Status), int(ok.Status), int(dup.Status), int(upd.Status)]

    with serving(archive, port):
        assert _session(port, first) == [0x0106, 0x0000, 0x0111, 0x0000]

    def second(assoc: Any) -> tuple[list[int], Any]:
        done, _ = assoc.send_n_set(
            _set_ds(
                PerformedProcedureStepStatus="COMPLETED", PerformedProcedureStepEndDate="20260301"
            ),
            MPPS,
            STEP,
        )
        again, _ = assoc.send_n_set(_set_ds(PerformedProcedureStepStatus="IN PROGRESS"), MPPS, STEP)
        got, ds = assoc.send_n_get([0x00400252, 0x00400254], MPPS, STEP)
        return [int(done.Status), int(again.Status), int(got.Status)], ds

    with serving(archive, port):  # a new process on the same index
        statuses, ds = _session(port, second)
    assert statuses == [0x0000, 0x0110, 0x0000]
    assert ds.PerformedProcedureStepStatus == "COMPLETED"
    assert ds.PerformedProcedureStepDescription == "CHEST"  # the change made before the restart
    code, out, _ = cli("mpps", "list", str(archive), "--study", STUDY)
    assert code == 0 and STEP in out and "COMPLETED" in out and "1 performed" in out


def test_mpps_client_create_set_complete(tmp_path: Path) -> None:
    archive = tmp_path / "arch"
    port = free_port()
    with serving(archive, port):
        code, out, err = cli(
            "mpps", "create", "127.0.0.1", str(port), "--aec", "DICOMKIT",
            "-k", "PatientID=P7", "-k", "PatientName=ROE^RICHARD",
            "-k", f"ScheduledStepAttributesSequence.StudyInstanceUID={STUDY}",
        )  # fmt: skip
        assert code == 0, err
        uid = out.strip()
        code, _, err = cli(
            "mpps", "set", "127.0.0.1", str(port), uid, "--aec", "DICOMKIT",
            "-k", "PerformedProcedureStepDescription=HEAD",
        )  # fmt: skip
        assert code == 0, err
        code, _, err = cli("mpps", "discontinue", "127.0.0.1", str(port), uid, "--aec", "DICOMKIT")
        assert code == 0, err
        code, _, err = cli("mpps", "complete", "127.0.0.1", str(port), uid, "--aec", "DICOMKIT")
        assert code == 1 and "0110" in err  # final states are final
    code, out, _ = cli("mpps", "list", str(archive))
    line = next(ln for ln in out.splitlines() if ln.startswith(uid))
    assert "DISCONTINUED" in line and "P7" in line and STUDY in line


def test_the_table_refuses_to_reopen_a_final_step(tmp_path: Path) -> None:
    store = IndexedMPPS(Database.connect(str(tmp_path / "i.sqlite")))
    ds = Dataset()
    ds.PerformedProcedureStepStatus = "COMPLETED"
    store["1.2.3"] = ds
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    with pytest.raises(ArchiveError, match="final state"):
        store["1.2.3"] = ds
    assert store["1.2.3"].PerformedProcedureStepStatus == "COMPLETED"
    assert "1.2.3" in store and len(store) == 1 and list(store) == ["1.2.3"]


@pytest.mark.slow  # `dicomkit serve` processes, stopped and restarted
def test_accepted_steps_are_forwarded_in_order_when_the_ris_comes_up(tmp_path: Path) -> None:
    import threading

    _, pynetdicom = _assoc()
    port, ris_port = free_port(), free_port()
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        f'[peers.RIS]\nhost = "127.0.0.1"\nport = {ris_port}\n[mpps]\nforward = ["RIS"]\n',
        encoding="utf-8",
    )
    got: list[tuple[str, str, str]] = []
    cond = threading.Condition()

    def on_create(event: Any) -> Any:
        with cond:
            got.append(("create", str(event.request.AffectedSOPInstanceUID), ""))
            cond.notify_all()
        return 0x0000, event.attribute_list

    def on_set(event: Any) -> Any:
        mods = event.modification_list
        with cond:
            got.append(
                (
                    "set",
                    str(event.request.RequestedSOPInstanceUID),
                    mods.PerformedProcedureStepStatus,
                )
            )
            cond.notify_all()
        return 0x0000, mods

    def steps(assoc: Any) -> list[int]:
        made, _ = assoc.send_n_create(_create_ds(), MPPS, STEP)
        done, _ = assoc.send_n_set(_set_ds(PerformedProcedureStepStatus="COMPLETED"), MPPS, STEP)
        return [int(made.Status), int(done.Status)]

    with serving(tmp_path / "arch", port, "--config", str(cfg)):
        assert _session(port, steps) == [0, 0]  # answered although the RIS is down
        ris = pynetdicom.AE(ae_title="RIS")
        ris.add_supported_context(MPPS)
        server = ris.start_server(
            ("127.0.0.1", ris_port),
            block=False,
            evt_handlers=[
                (pynetdicom.evt.EVT_N_CREATE, on_create),
                (pynetdicom.evt.EVT_N_SET, on_set),
            ],
        )
        try:
            with cond:
                cond.wait_for(lambda: len(got) >= 2, 60)
        finally:
            server.shutdown()
    assert got == [("create", STEP, ""), ("set", STEP, "COMPLETED")]
