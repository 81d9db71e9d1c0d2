"""The archive's lifecycle against a running `dicomkit serve`, checked from outside with DCMTK
(storescu, findscu, getscu), pynetdicom and DICOMweb: an IOCM rejection note sent by storescu
hides its instances; delete, patient update / merge and backup run from the CLI while the node
serves (and stores); retention rules run inside the node."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "archive"))
from archive_helpers import cli, serving, synthetic, to_dataset, write_files
from peers import dcmtk, dcmtk_env, free_port, run_dcmtk
from pnd_peer import get

import dicomkit
from dicomkit.sr._codes import DCM
from dicomkit.sr.templates._kos import rejection_note

pytestmark = [pytest.mark.interop, pytest.mark.slow]
ROWS = synthetic(4)


def _study() -> str:
    return Counter(r["StudyInstanceUID"] for r in ROWS).most_common(1)[0][0]


def _storescu(port: int, files: list[Path]) -> None:
    run_dcmtk("storescu", "-aec", "DICOMKIT", "127.0.0.1", str(port), *map(str, files))


def _findscu(port: int, out: Path, level: str, *keys: str, patient_root: bool = False) -> list:
    out.mkdir(parents=True, exist_ok=True)
    args = ["-P" if patient_root else "-S", "-aec", "DICOMKIT", "-X", "-od", str(out)]
    args += ["-k", f"QueryRetrieveLevel={level}"]
    for k in keys:
        args += ["-k", k]
    run_dcmtk("findscu", *args, "127.0.0.1", str(port))
    return [dicomkit.read(f) for f in sorted(out.glob("rsp*.dcm"))]


def _getscu(port: int, out: Path, study: str) -> list:
    out.mkdir(parents=True, exist_ok=True)
    run_dcmtk(
        "getscu",
        "-S",
        "-aec",
        "DICOMKIT",
        "-od",
        str(out),
        "-k",
        "QueryRetrieveLevel=STUDY",
        "-k",
        f"StudyInstanceUID={study}",
        "127.0.0.1",
        str(port),
    )
    return [dicomkit.read(p) for p in sorted(out.iterdir())]


def _image_uids(port: int, out: Path, study: str) -> set[str]:
    found = _findscu(
        port, out, "IMAGE", f"StudyInstanceUID={study}", "SeriesInstanceUID=", "SOPInstanceUID="
    )
    found = [
        ds
        for ds in found
        if str(ds.SeriesInstanceUID) != ""  # (the identifiers of every series of the study)
    ]
    return {str(ds.SOPInstanceUID) for ds in found}


def _series_of(study: str) -> list[str]:
    return sorted({r["SeriesInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study})


def _sops_in_study(port: int, tmp: Path, study: str) -> set[str]:
    got: set[str] = set()
    for k, series in enumerate(_series_of(study)):
        found = _findscu(
            port,
            tmp / f"f{time.monotonic_ns()}-{k}",
            "IMAGE",
            f"StudyInstanceUID={study}",
            f"SeriesInstanceUID={series}",
            "SOPInstanceUID=",
        )
        got |= {str(ds.SOPInstanceUID) for ds in found}
    return got


def _stored_bytes(root: Path) -> int:
    """Bytes of the stored .dcm files, walked while the node may be removing folders
    (retention): a folder or file gone mid-walk is skipped, not an error (os.walk ignores
    folders it can no longer list; pathlib.rglob raised FileNotFoundError)."""
    total = 0
    for folder, _dirs, names in os.walk(root):
        for name in names:
            if name.endswith(".dcm"):
                with contextlib.suppress(FileNotFoundError):
                    total += os.stat(os.path.join(folder, name)).st_size
    return total


def test_rejection_note_from_storescu_hides_instances(tmp_path: Path) -> None:
    dcmtk("storescu")
    port, http = free_port(), free_port()
    study = _study()
    victims = [r for r in ROWS if r["StudyInstanceUID"] == study][:2]
    kept = {r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] == study} - {
        r["SOPInstanceUID"] for r in victims
    }
    note = rejection_note([to_dataset(r) for r in victims], DCM.RejectedForQualityReasons)
    note_file = tmp_path / "note.dcm"
    dicomkit.write(note.to_dataset(), note_file)
    with serving(tmp_path / "arch", port, "--http-port", str(http)):
        _storescu(port, write_files(ROWS, tmp_path / "in"))
        before = _sops_in_study(port, tmp_path, study)
        assert before == kept | {r["SOPInstanceUID"] for r in victims}
        _storescu(port, [note_file])  # DCMTK sends the rejection note
        # C-FIND (DCMTK): the rejected instances are gone, the others and the note stay
        after = _sops_in_study(port, tmp_path, study)
        assert after & before == kept
        # C-GET (DCMTK getscu): the study without them
        got = {str(ds.SOPInstanceUID) for ds in _getscu(port, tmp_path / "get", study)}
        assert got == kept | {str(dicomkit.read(note_file).SOPInstanceUID)}
        # C-GET (pynetdicom): same
        _statuses, received = get(port, "STUDY", StudyInstanceUID=study)
        assert not {ds.SOPInstanceUID for ds in received} & {r["SOPInstanceUID"] for r in victims}
        # DICOMweb reads the same index
        url = f"http://127.0.0.1:{http}/dicom-web/studies/{study}/instances"
        with urllib.request.urlopen(url, timeout=10) as rsp:
            listed = {m["00080018"]["Value"][0] for m in json.load(rsp)}
        assert not listed & {r["SOPInstanceUID"] for r in victims}
        assert kept <= listed
        # the operator sees why, and can restore
        code, out, _ = cli("archive", "rejected", str(tmp_path / "arch"))
        assert code == 0 and "2 hidden" in out and "113001" in out
        code, out, _ = cli(
            "archive", "rejected", str(tmp_path / "arch"), "--restore", victims[0]["SOPInstanceUID"]
        )
        assert code == 0
        assert victims[0]["SOPInstanceUID"] in _sops_in_study(port, tmp_path, study)


def test_delete_and_patient_update_while_the_node_serves(tmp_path: Path) -> None:
    dcmtk("storescu")
    port = free_port()
    arch = tmp_path / "arch"
    study = _study()
    other = next(r for r in ROWS if r["StudyInstanceUID"] != study)
    with serving(arch, port):
        _storescu(port, write_files(ROWS, tmp_path / "in"))
        # patient update of one study, then C-FIND at patient level and C-GET (DCMTK)
        code, out, err = cli(
            "archive",
            "update-patient",
            str(arch),
            "--study",
            study,
            "--set",
            "PatientName=UPDATED^NAME",
            "--set",
            "PatientID=NEW-PID",
        )
        assert code == 0, err
        found = _findscu(
            port,
            tmp_path / "pat",
            "PATIENT",
            "PatientID=NEW-PID",
            "PatientName=",
            "NumberOfPatientRelatedStudies=",
            patient_root=True,
        )
        assert [(str(d.PatientName), int(d.NumberOfPatientRelatedStudies)) for d in found] == [
            ("UPDATED^NAME", 1)
        ]
        files = _getscu(port, tmp_path / "get1", study)
        assert files and {(d.PatientID, str(d.PatientName)) for d in files} == {
            ("NEW-PID", "UPDATED^NAME")
        }
        # merge: the other patient's studies move to NEW-PID
        code, _out, err = cli(
            "archive", "merge-patient", str(arch), "--from", other["PatientID"], "--into", "NEW-PID"
        )
        assert code == 0, err
        found = _findscu(
            port,
            tmp_path / "pat2",
            "PATIENT",
            f"PatientID={other['PatientID']}",
            "PatientName=",
            patient_root=True,
        )
        assert found == []
        files = _getscu(port, tmp_path / "get2", other["StudyInstanceUID"])
        assert {d.PatientID for d in files} == {"NEW-PID"}
        # delete the study while a storescu keeps storing the others
        rest = [r for r in ROWS if r["StudyInstanceUID"] != study]
        later = write_files(
            [{**r, "SOPInstanceUID": r["SOPInstanceUID"] + ".7"} for r in rest], tmp_path / "later"
        )
        sender = subprocess.Popen(
            [dcmtk("storescu"), "-aec", "DICOMKIT", "127.0.0.1", str(port), *map(str, later)],
            env=dcmtk_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        code, out, err = cli("archive", "delete", str(arch), "--study", study)
        _o, e = sender.communicate(timeout=60)
        assert sender.returncode == 0, e
        assert code == 0 and "deleted" in out, err
        assert _findscu(port, tmp_path / "gone", "STUDY", f"StudyInstanceUID={study}") == []
        assert _getscu(port, tmp_path / "get3", study) == []
    code, out, _ = cli("archive", "check", str(arch))
    assert code == 0 and "clean" in out
    code, out, _ = cli("archive", "verify", str(arch))
    assert code == 0, out


def test_backup_while_storing_and_retention_in_the_node(tmp_path: Path) -> None:
    dcmtk("storescu")
    port = free_port()
    arch = tmp_path / "arch"
    files = write_files(ROWS, tmp_path / "in")
    many = write_files(
        [{**r, "SOPInstanceUID": f"{r['SOPInstanceUID']}.{k}"} for k in range(8) for r in ROWS],
        tmp_path / "many",
    )
    with serving(arch, port):
        _storescu(port, files)
        sender = subprocess.Popen(
            [dcmtk("storescu"), "-aec", "DICOMKIT", "127.0.0.1", str(port), *map(str, many)],
            env=dcmtk_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        code, out, err = cli("archive", "backup", str(arch), str(tmp_path / "copy"))
        _o, e = sender.communicate(timeout=120)
        assert sender.returncode == 0, e
        assert code == 0, err
    code, out, _ = cli("archive", "check", str(tmp_path / "copy"))
    assert code == 0 and "clean" in out
    code, out, _ = cli("archive", "verify", str(tmp_path / "copy"))
    assert code == 0 and " 0 damaged" in out
    copied = int(out.split(" files intact")[0].rsplit(" ", 1)[-1])
    assert len(ROWS) <= copied <= len(ROWS) + len(many)
    # retention inside the node: a quota of about half the bytes, checked every second
    total = _stored_bytes(arch)
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        f"[server]\nhttp_port = 0\n[retention]\nenabled = true\nmax_bytes = {total // 2}\n"
        "interval = 1\n"
    )
    with serving(arch, port, "--config", str(cfg)):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            left = _stored_bytes(arch)
            if left <= total // 2:
                break
            time.sleep(0.2)
        assert left <= total // 2
        studies = _findscu(port, tmp_path / "left", "STUDY", "StudyInstanceUID=")
        assert 0 < len(studies) < len({r["StudyInstanceUID"] for r in ROWS})


def test_rejection_note_built_by_highdicom_sent_by_pynetdicom(tmp_path: Path) -> None:
    """A rejection note from another builder (highdicom), sent by pynetdicom: 113039 Data
    Retention Policy Expired deletes the instance (the default expired_action)."""
    from peers import require_module

    hd = require_module("highdicom")
    pydicom = require_module("pydicom")
    pynetdicom = require_module("pynetdicom")
    from pydicom.sr.coding import Code

    port = free_port()
    study = _study()
    victim = next(r for r in ROWS if r["StudyInstanceUID"] == study)
    files = write_files(ROWS, tmp_path / "in")
    evidence = pydicom.dcmread(next(p for p in files if p.stem == victim["SOPInstanceUID"]))
    content = hd.ko.KeyObjectSelection(
        document_title=Code("113039", "DCM", "Data Retention Policy Expired"),
        referenced_objects=[evidence],
    )
    kos = hd.ko.KeyObjectSelectionDocument(
        evidence=[evidence],
        content=content,
        series_instance_uid=hd.UID(),
        series_number=99,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="highdicom",
    )
    with serving(tmp_path / "arch", port):
        _storescu(port, files)
        ae = pynetdicom.AE(ae_title="PYSCU")
        ae.add_requested_context(kos.SOPClassUID)
        assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
        assert assoc.is_established
        try:
            assert assoc.send_c_store(kos).Status == 0
        finally:
            assoc.release()
        left = _sops_in_study(port, tmp_path, study)
        assert victim["SOPInstanceUID"] not in left
        code, out, _ = cli("archive", "rejected", str(tmp_path / "arch"))
        assert code == 0 and "0 hidden" in out  # deleted, not hidden
    assert not list((tmp_path / "arch").rglob(f"{victim['SOPInstanceUID']}.dcm"))
