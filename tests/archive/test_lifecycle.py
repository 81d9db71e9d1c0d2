"""The archive's lifecycle in-process: delete (and its crash recovery), IOCM rejection notes,
retention rules, patient update / merge, online backup, and their CLI actions."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from archive_helpers import cli, synthetic, to_dataset

import dicomkit
from dicomkit.archive import Archive, Model, QueryOptions
from dicomkit.archive import _delete as deletion
from dicomkit.archive._backup import backup
from dicomkit.archive._config import ConfigError
from dicomkit.archive._iocm import (
    EXPIRED,
    IOCMSettings,
    RejectionNotes,
    read_rejection_note,
    rejection_reasons,
)
from dicomkit.archive._patient import merge_patients, update_patient
from dicomkit.archive._retention import RetentionPolicy, plan, prune
from dicomkit.errors import ArchiveError
from dicomkit.sr._codes import DCM
from dicomkit.sr.templates._kos import key_object_selection, rejection_note

ROWS = synthetic(4)
REL = QueryOptions(relational=True)


def _archive(tmp_path: Path, rows: list[dict[str, Any]] = ROWS) -> Archive:
    a = Archive(tmp_path / "arch")
    for r in rows:
        a.store_dataset(to_dataset(r, pixels=True))
    return a


def _sops(a: Archive, **keys: str) -> set[str]:
    ident = {"QueryRetrieveLevel": "IMAGE", "SOPInstanceUID": "", **keys}
    ident.setdefault("StudyInstanceUID", "")
    ident.setdefault("SeriesInstanceUID", "")
    return {
        str(r.as_dict()["SOPInstanceUID"]) for r in a.find(ident, Model.STUDY_ROOT, options=REL)
    }


def _biggest_study() -> str:
    return Counter(r["StudyInstanceUID"] for r in ROWS).most_common(1)[0][0]


def _study_count(a: Archive, study: str) -> int:
    found = list(
        a.find(
            {
                "QueryRetrieveLevel": "STUDY",
                "StudyInstanceUID": study,
                "NumberOfStudyRelatedInstances": "",
            }
        )
    )
    return int(found[0].as_dict()["NumberOfStudyRelatedInstances"]) if found else 0


# -- delete ----------------------------------------------------------------------------------


def test_delete_study_series_instance(tmp_path: Path) -> None:
    a = _archive(tmp_path)
    study = _biggest_study()
    in_study = [r for r in ROWS if r["StudyInstanceUID"] == study]
    assert len(in_study) >= 3
    # one instance: the study's count follows, its file goes
    victim = in_study[0]
    path = a.path_of(a.index.lookup(victim["SOPInstanceUID"]))  # type: ignore[arg-type]
    report = a.delete(instances=[victim["SOPInstanceUID"]])
    assert report.instances == [victim["SOPInstanceUID"]]
    assert not path.exists()
    assert _study_count(a, study) == len(in_study) - 1
    # a series
    series = in_study[-1]["SeriesInstanceUID"]
    a.delete(series=[series])
    assert not _sops(a, SeriesInstanceUID=series)
    # the study, with a dry run first that changes nothing
    left = _study_count(a, study)
    dry = a.delete(studies=[study], dry_run=True)
    assert dry.dry_run and len(dry.instances) == left and _study_count(a, study) == left
    a.delete(studies=[study])
    assert _study_count(a, study) == 0
    assert not (a.root / study).exists()  # empty folders pruned
    assert {r["SOPInstanceUID"] for r in ROWS if r["StudyInstanceUID"] != study} == _sops(a)
    assert a.check(repair=False).clean
    # the patient row went with its last study; unknown UIDs are reported
    assert a.delete(studies=["1.2.3.4"]).not_found == ["1.2.3.4"]


def test_delete_interrupted_after_the_index_commit_is_finished_by_check(tmp_path: Path) -> None:
    a = _archive(tmp_path)
    study = _biggest_study()
    rows, _ = deletion.select_rows(a.index.db, studies=[study])
    # phase 1 only (a crash before the files went): rows gone, journal kept, files still there
    real = deletion.finish_pending
    try:
        deletion.finish_pending = lambda archive: 0  # type: ignore[assignment]
        deletion.remove(a, rows)
    finally:
        deletion.finish_pending = real
    paths = [a.store.resolve(str(r[1])) for r in rows]
    assert all(p.exists() for p in paths)
    a.close()
    # the start-up check finishes the delete: the files are not indexed again
    b = Archive(tmp_path / "arch")
    assert b.last_check is not None and not b.last_check.orphan_files
    assert not any(p.exists() for p in paths)
    assert _study_count(b, study) == 0


def test_a_file_stored_again_before_phase_two_is_kept(tmp_path: Path) -> None:
    a = _archive(tmp_path)
    row = ROWS[0]
    rows, _ = deletion.select_rows(a.index.db, instances=[row["SOPInstanceUID"]])
    real = deletion.finish_pending
    try:
        deletion.finish_pending = lambda archive: 0  # type: ignore[assignment]
        deletion.remove(a, rows)
    finally:
        deletion.finish_pending = real
    a.store_dataset(to_dataset(row, pixels=True))  # re-sent meanwhile: same path, indexed
    assert deletion.finish_pending(a) == 1
    inst = a.index.lookup(row["SOPInstanceUID"])
    assert inst is not None and a.path_of(inst).exists()


# -- IOCM ------------------------------------------------------------------------------------


def _note(rows: list[dict[str, Any]], reason: Any) -> Any:
    return rejection_note([to_dataset(r) for r in rows], reason).to_dataset()


@pytest.mark.parametrize(
    ("reason", "hidden"),
    [
        (DCM.RejectedForQualityReasons, True),
        (DCM.RejectedForPatientSafetyReasons, True),
        (DCM.IncorrectModalityWorklistEntry, True),
        (DCM.DataRetentionPolicyExpired, False),
    ],
)
def test_rejection_note_hides_or_deletes(tmp_path: Path, reason: Any, hidden: bool) -> None:
    a = _archive(tmp_path)
    a.on_stored = RejectionNotes(a)
    study = _biggest_study()
    victims = [r for r in ROWS if r["StudyInstanceUID"] == study][:2]
    note = _note(victims, reason)
    a.store_dataset(note)
    gone = {r["SOPInstanceUID"] for r in victims}
    assert not gone & _sops(a)
    assert str(note.SOPInstanceUID) in _sops(a)  # the note itself is kept
    assert all(
        i.sop_instance_uid not in gone
        for i in a.retrieve({"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": study})
    )
    listed = {r.sop_instance_uid: r for r in deletion.rejected(a)}
    if hidden:
        assert set(listed) == gone
        assert {r.reason for r in listed.values()} == {reason.value}
        assert all(deletion.rejected_file(a, r).exists() for r in listed.values())
        # sent again under the same UID: hidden again
        a.store_dataset(to_dataset(victims[0], pixels=True))
        assert victims[0]["SOPInstanceUID"] not in _sops(a)
        # restored: visible again, with its file back in place
        deletion.restore_rejected(a, sorted(gone))
        assert gone <= _sops(a) and not deletion.rejected(a)
    else:
        assert not listed and not list((a.root).rglob(f"{victims[0]['SOPInstanceUID']}.dcm"))
    assert a.check(repair=False).clean


def test_rejection_note_action_from_settings_and_other_kos_ignored(tmp_path: Path) -> None:
    a = _archive(tmp_path)
    a.on_stored = RejectionNotes(a, IOCMSettings(action="delete"))
    victim = ROWS[0]
    keep = key_object_selection([to_dataset(victim)]).to_dataset()  # "Of Interest"
    assert read_rejection_note(keep) is None
    a.store_dataset(keep)
    assert victim["SOPInstanceUID"] in _sops(a)
    a.store_dataset(_note([victim], DCM.RejectedForQualityReasons))
    assert victim["SOPInstanceUID"] not in _sops(a) and not deletion.rejected(a)
    assert rejection_reasons()[EXPIRED] == DCM.DataRetentionPolicyExpired.meaning
    with pytest.raises(ConfigError, match="hide or delete"):
        IOCMSettings(action="shred")


# -- retention -------------------------------------------------------------------------------


def test_retention_by_study_date_and_quota(tmp_path: Path) -> None:
    a = _archive(tmp_path)
    by_date = sorted({(r["StudyDate"], r["StudyInstanceUID"]) for r in ROWS})
    oldest = by_date[0]
    # "now" is 10 days after the oldest study date: only studies older than 5 days go
    now = time.mktime(time.strptime(oldest[0], "%Y%m%d")) + 10 * 86400
    cutoff = time.strftime("%Y%m%d", time.gmtime(now - 5 * 86400))
    policy = RetentionPolicy(max_age_days=5, age_by="study_date")
    want = {uid for d, uid in by_date if d < cutoff}
    assert want and want != {uid for _d, uid in by_date}
    dry = prune(a, policy, dry_run=True, now=now)
    assert {s.study_instance_uid for s in dry.selected} == want
    assert len(_sops(a)) == len(ROWS)  # dry run: nothing changed
    prune(a, policy, now=now)
    assert not any(r["SOPInstanceUID"] in _sops(a) for r in ROWS if r["StudyInstanceUID"] in want)
    # quota: the oldest (by received time) go first until the rest fits
    total = sum(s.bytes for s in plan(a, RetentionPolicy(max_bytes=1)).selected)
    quota = total // 2
    report = prune(a, RetentionPolicy(max_bytes=quota))
    left = sum(
        a.store.resolve(p).stat().st_size for p in a.index.paths()
    )  # what the index still lists
    assert left <= quota and report.selected
    with pytest.raises(ArchiveError, match="no retention rule"):
        prune(a, RetentionPolicy())
    with pytest.raises(ConfigError, match="age_by"):
        RetentionPolicy(age_by="birthday")


# -- patient update / merge ------------------------------------------------------------------


def _patients(a: Archive) -> dict[str, tuple[str, int]]:
    found = a.find(
        {
            "QueryRetrieveLevel": "PATIENT",
            "PatientID": "",
            "PatientName": "",
            "NumberOfPatientRelatedInstances": "",
        },
        Model.PATIENT_ROOT,
    )
    out = {}
    for r in found:
        d = r.as_dict()
        out[str(d["PatientID"])] = (
            str(d["PatientName"]),
            int(d["NumberOfPatientRelatedInstances"]),
        )
    return out


def test_update_patient_of_a_study_rewrites_files_and_index(tmp_path: Path) -> None:
    a = _archive(tmp_path)
    study = _biggest_study()
    n = sum(r["StudyInstanceUID"] == study for r in ROWS)
    report = update_patient(a, {"PatientName": "NEW^NAME", "PatientID": "NEWID"}, study=study)
    assert report.rewritten == n
    assert _patients(a)["NEWID"] == ("NEW^NAME", n)
    for inst in a.retrieve({"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": study}):
        ds = dicomkit.read(a.path_of(inst))
        assert (ds.PatientID, str(ds.PatientName)) == ("NEWID", "NEW^NAME")
    assert a.verify().damaged == [] and a.check(repair=False).clean
    # again: nothing left to rewrite
    assert update_patient(a, {"PatientID": "NEWID"}, study=study).rewritten == 0
    with pytest.raises(ArchiveError, match="not a patient attribute"):
        update_patient(a, {"StudyDescription": "x"}, study=study)
    with pytest.raises(ArchiveError, match="not stored"):
        update_patient(a, {"PatientName": "x"}, study="1.2.3")


def test_merge_patients(tmp_path: Path) -> None:
    a = _archive(tmp_path)
    before = _patients(a)
    src, dst = "PID001", "PID002"
    merge_patients(a, src, dst)
    after = _patients(a)
    assert src not in after
    assert after[dst] == (before[dst][0], before[dst][1] + before[src][1])
    for inst in a.retrieve({"QueryRetrieveLevel": "PATIENT", "PatientID": dst}, Model.PATIENT_ROOT):
        assert dicomkit.read(a.path_of(inst)).PatientID == dst
    with pytest.raises(ArchiveError, match="nothing to merge"):
        merge_patients(a, src, dst)
    with pytest.raises(ArchiveError, match="is not stored"):
        merge_patients(a, dst, "NOBODY")


def test_interrupted_patient_update_is_finished_by_check(tmp_path: Path) -> None:
    from dicomkit.archive import _patient

    a = _archive(tmp_path)
    study = _biggest_study()
    real = _patient._reindex

    def crash(*args: Any) -> None:
        raise KeyboardInterrupt  # the process dies after the files, before the index

    _patient._reindex = crash  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            update_patient(a, {"PatientID": "LATER"}, study=study)
    finally:
        _patient._reindex = real
    assert "LATER" not in _patients(a)
    a.close()
    b = Archive(tmp_path / "arch")  # the start-up check runs the update again
    assert "LATER" in _patients(b)


# -- backup ----------------------------------------------------------------------------------


def test_backup_is_clean_and_complete(tmp_path: Path) -> None:
    a = _archive(tmp_path)
    a.on_stored = RejectionNotes(a)
    a.store_dataset(_note([ROWS[0]], DCM.RejectedForQualityReasons))
    report = backup(a, tmp_path / "copy")
    assert report.files == a.index.count() and report.extra_files == 1
    with Archive(tmp_path / "copy", check=False) as copy:
        assert copy.check(repair=False).clean
        assert copy.verify().damaged == []
        assert _sops(copy) == _sops(a)
        assert [r.sop_instance_uid for r in deletion.rejected(copy)] == [ROWS[0]["SOPInstanceUID"]]
    with pytest.raises(ArchiveError, match="not an empty folder"):
        backup(a, tmp_path / "copy")
    with pytest.raises(ArchiveError, match="inside the archive"):
        backup(a, a.root / "sub")


# -- CLI -------------------------------------------------------------------------------------


def test_cli_actions(tmp_path: Path) -> None:
    a = _archive(tmp_path)
    a.close()
    arch = str(tmp_path / "arch")
    study = _biggest_study()
    code, out, _ = cli("archive", "delete", arch, "--study", study, "--dry-run")
    assert code == 0 and "would be deleted" in out
    code, out, _ = cli("archive", "delete", arch, "--study", study)
    assert code == 0 and "1 study deleted" in out.replace("studies", "study")
    code, _out, err = cli("archive", "delete", arch)
    assert code == 2 and "--study UID" in err
    code, out, _ = cli(
        "archive", "update-patient", arch, "--patient-id", "PID003", "--set", "PatientName=X^Y"
    )
    assert code == 0 and "rewritten" in out
    code, _out, err = cli(
        "archive", "update-patient", arch, "--patient-id", "PID003", "--set", "Bogus=1"
    )
    assert code == 2 and "not a patient attribute" in err
    code, out, _ = cli("archive", "merge-patient", arch, "--from", "PID003", "--into", "PID000")
    assert code == 0
    code, out, _ = cli("archive", "prune", arch, "--max-bytes", "1K", "--dry-run")
    assert code == 0 and "would free" in out
    code, out, _ = cli("archive", "backup", arch, str(tmp_path / "bk"))
    assert code == 0 and "backup in" in out
    code, out, _ = cli("archive", "check", str(tmp_path / "bk"))
    assert code == 0 and "clean" in out
    code, out, _ = cli("archive", "rejected", arch)
    assert code == 0 and "0 hidden" in out


def test_deletes_and_patient_updates_reach_the_audit_trail(tmp_path: Path) -> None:
    a = _archive(tmp_path)
    a.close()
    arch = str(tmp_path / "arch")
    audit = tmp_path / "audit.xml"
    cfg = tmp_path / "node.toml"
    cfg.write_text(f'[audit]\nfile = "{audit}"\n')
    study = _biggest_study()
    code, _out, err = cli("archive", "delete", arch, "--study", study, "--config", str(cfg))
    assert code == 0, err
    code, _out, err = cli(
        "archive", "update-patient", arch, "--patient-id", "PID000", "--set", "PatientName=A^B",
        "--config", str(cfg),
    )  # fmt: skip
    assert code == 0, err
    text = audit.read_text()
    assert text.count("<AuditMessage") == 2
    assert 'csd-code="110105"' in text and study in text  # DICOM Study Deleted, the study
    assert 'csd-code="110103"' in text and 'EventActionCode="U"' in text  # instances updated


def test_node_audits_rejection_notes(tmp_path: Path) -> None:
    from dicomkit.archive import ArchiveNode, load_config

    audit = tmp_path / "audit.xml"
    cfg = tmp_path / "node.toml"
    cfg.write_text(f'[server]\narchive = "arch"\nhttp_port = 0\n[audit]\nfile = "{audit}"\n')
    node = ArchiveNode(load_config(cfg))
    try:
        for r in ROWS:
            node.archive.store_dataset(to_dataset(r, pixels=True))
        node.archive.store_dataset(_note([ROWS[0]], DCM.RejectedForQualityReasons))
    finally:
        node.audit.close()
        node.archive.close()
    text = audit.read_text()
    assert 'csd-code="110105"' in text and ROWS[0]["StudyInstanceUID"] in text
