"""Patient update and merge: change the patient attributes of stored studies, in the files and
in the index, consistently.

:func:`update_patient` sets patient-level attributes (Patient's Name, Patient ID, Issuer of
Patient ID, Birth Date, Sex ...: :data:`PATIENT_KEYWORDS`) on every instance of a study, or of
every study of a patient; :func:`merge_patients` moves every study of patient A to patient B
(A's instances take B's patient attributes). Both run in three crash-safe steps:

1. the operation is recorded in the index (table ``pending_patient_ops``) and committed;
2. each file is rewritten: the new file is written beside the old one and made durable, then,
   inside one index transaction (which holds the write lock, so a node's ingest is never
   half-way), renamed over it together with its row's new size and checksum -- a retrieve
   always finds a file that matches its checksum;
3. one transaction moves the studies to the (new or existing) patient row, updates its
   attributes, recounts, and clears the record of step 1.

A crash leaves the record of step 1: :meth:`~dicomkit.archive.Archive.check` (the node's
start-up check, ``dicomkit archive check --repair``) runs the operation again; files already
rewritten are left as they are.

Only the patient-level attributes the index keeps can be changed. A patient row is shared by
all of that patient's studies: updating one study of a patient without changing its Patient ID
changes the attributes C-FIND answers at patient level for all of them (their files keep their
own values; update by ``patient_id`` to rewrite them all).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dicomkit.archive._index import record_from_dataset
from dicomkit.archive._schema import Level, attrs_at
from dicomkit.archive._store import file_checksum, fsync_dir
from dicomkit.dictionary import tags
from dicomkit.errors import ArchiveError, DicomError

if TYPE_CHECKING:
    from dicomkit.archive._node import Archive

log = logging.getLogger("dicomkit.archive")

#: the attributes :func:`update_patient` may change (the patient level of the index)
PATIENT_KEYWORDS: tuple[str, ...] = tuple(
    a.keyword for a in attrs_at(Level.PATIENT) if not a.computed
)
_COLUMN = {a.keyword: a.col for a in attrs_at(Level.PATIENT) if not a.computed}

_DDL = (
    "CREATE TABLE IF NOT EXISTS pending_patient_ops ("
    " op_id TEXT PRIMARY KEY, studies TEXT NOT NULL, changes TEXT NOT NULL,"
    " queued TEXT NOT NULL)"
)


@dataclass(slots=True)
class PatientUpdateReport:
    """What :func:`update_patient` / :func:`merge_patients` changed."""

    studies: list[str] = field(default_factory=list)
    instances: int = 0
    rewritten: int = 0  # files whose attributes changed (the others already had them)
    changes: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the operator."""
        sets = ", ".join(f"{k}={v!r}" for k, v in self.changes.items())
        return (
            f"{len(self.studies)} stud{'y' if len(self.studies) == 1 else 'ies'}, "
            f"{self.instances} instance(s), {self.rewritten} file(s) rewritten: {sets}"
        )


def _ensure_table(archive: Archive) -> None:
    with archive.index.db.transaction():
        archive.index.db.execute(_DDL)


def _check_changes(changes: Mapping[str, str]) -> dict[str, str]:
    if not changes:
        raise ArchiveError(
            "nothing to change: give KEYWORD=VALUE pairs, e.g. PatientName=DOE^JANE "
            f"(one of {', '.join(PATIENT_KEYWORDS)})"
        )
    out = {}
    for kw, value in changes.items():
        if kw not in _COLUMN:
            raise ArchiveError(
                f"{kw} is not a patient attribute the archive can change: use one of "
                f"{', '.join(PATIENT_KEYWORDS)}"
            )
        out[kw] = str(value)
    return out


def _patient_studies(archive: Archive, patient_id: str, issuer: str) -> list[str]:
    rows = archive.index.db.query(
        "SELECT st.study_instance_uid FROM studies st JOIN patients p ON st.patient_fk = p.id "
        "WHERE p.patient_id = ? AND p.issuer_of_patient_id = ? ORDER BY st.id",
        (patient_id, issuer),
    )
    return [str(r[0]) for r in rows]


def update_patient(
    archive: Archive,
    changes: Mapping[str, str],
    *,
    study: str | None = None,
    patient_id: str | None = None,
    issuer: str = "",
) -> PatientUpdateReport:
    """Set the patient attributes ``changes`` (``{keyword: value}``) on every instance of
    ``study``, or of every study of the patient ``patient_id`` (with ``issuer``)."""
    changes = _check_changes(changes)
    if (study is None) == (patient_id is None):
        raise ArchiveError("name the study (--study UID) or the patient (--patient-id ID)")
    if study is not None:
        if not archive.index.db.scalar(
            "SELECT COUNT(*) FROM studies WHERE study_instance_uid = ?", (study.strip(),)
        ):
            raise ArchiveError(
                f"study {study} is not stored ('dicomkit find' or QIDO-RS lists the studies)"
            )
        studies = [study.strip()]
    else:
        assert patient_id is not None
        studies = _patient_studies(archive, patient_id, issuer)
        if not studies:
            raise ArchiveError(f"no study of patient {patient_id!r} (issuer {issuer!r}) is stored")
    return _run(archive, studies, changes)


def merge_patients(
    archive: Archive,
    source_id: str,
    target_id: str,
    *,
    source_issuer: str = "",
    target_issuer: str = "",
) -> PatientUpdateReport:
    """Move every study of patient ``source_id`` to patient ``target_id``: the source's
    instances take the target's patient attributes (as the index holds them)."""
    if (source_id, source_issuer) == (target_id, target_issuer):
        raise ArchiveError("merging a patient into itself: give two different Patient IDs")
    studies = _patient_studies(archive, source_id, source_issuer)
    if not studies:
        raise ArchiveError(
            f"no study of patient {source_id!r} (issuer {source_issuer!r}) is stored: "
            "nothing to merge"
        )
    cols = ", ".join(_COLUMN.values())
    rows = archive.index.db.query(
        f"SELECT {cols} FROM patients WHERE patient_id = ? AND issuer_of_patient_id = ?",
        (target_id, target_issuer),
    )
    if not rows:
        raise ArchiveError(
            f"patient {target_id!r} (issuer {target_issuer!r}) is not stored: to give the "
            "studies a new Patient ID, use update-patient --patient-id ... --set PatientID=..."
        )
    changes = {kw: str(v or "") for kw, v in zip(_COLUMN, rows[0], strict=True)}
    return _run(archive, studies, changes)


def _run(archive: Archive, studies: list[str], changes: dict[str, str]) -> PatientUpdateReport:
    _ensure_table(archive)
    op_id = uuid.uuid4().hex
    db = archive.index.db
    with db.transaction():
        db.execute(
            "INSERT INTO pending_patient_ops (op_id, studies, changes, queued) VALUES (?, ?, ?, ?)",
            (op_id, json.dumps(studies), json.dumps(changes), time.strftime("%Y%m%d%H%M%S")),
        )
    return _apply(archive, op_id, studies, changes)


def resume_pending(archive: Archive) -> int:
    """Run again the patient operations a crash interrupted; returns how many."""
    _ensure_table(archive)
    ops = archive.index.db.query("SELECT op_id, studies, changes FROM pending_patient_ops")
    for op_id, studies, changes in ops:
        log.warning("finishing an interrupted patient update of %s", studies)
        _apply(archive, str(op_id), json.loads(studies), json.loads(changes))
    return len(ops)


def _apply(
    archive: Archive, op_id: str, studies: list[str], changes: dict[str, str]
) -> PatientUpdateReport:
    db = archive.index.db
    report = PatientUpdateReport(studies=list(studies), changes=dict(changes))
    sample: str | None = None
    for study in studies:
        paths = db.query(
            "SELECT i.path FROM instances i JOIN series se ON i.series_fk = se.id JOIN studies "
            "st ON se.study_fk = st.id WHERE st.study_instance_uid = ? ORDER BY i.id",
            (study,),
        )
        for (path,) in paths:
            report.instances += 1
            if _rewrite(archive, str(path), changes):
                report.rewritten += 1
            sample = str(path)
    if sample is not None:
        _reindex(archive, studies, sample)
    with db.transaction():
        db.execute("DELETE FROM pending_patient_ops WHERE op_id = ?", (op_id,))
    return report


def _same(value: Any, wanted: str) -> bool:
    return str(value if value is not None else "").strip(" \0") == wanted.strip(" \0")


def _rewrite(archive: Archive, relpath: str, changes: dict[str, str]) -> bool:
    """Write the file at ``relpath`` again with ``changes``; False when it already had them."""
    from dicomkit import read, write

    path = archive.store.resolve(relpath)
    try:
        ds = read(path)
    except (DicomError, OSError) as exc:
        raise ArchiveError(
            f"cannot read stored file {relpath} to update it: {exc} (run 'dicomkit archive "
            "check --repair ARCHIVE_DIR', then the update again)"
        ) from exc
    if all(_same(ds.get(kw), value) for kw, value in changes.items()):
        return False
    for kw, value in changes.items():
        if value or ds.get(kw) is not None:  # an empty value is not added where the file has none
            ds.set(kw, value)
    if not all(v.isascii() for v in changes.values()) and tags.SpecificCharacterSet not in ds:
        ds.set("SpecificCharacterSet", "ISO_IR 192")
    db = archive.index.db
    try:
        with archive.store.temp_beside(path) as (tmp, fp):  # flushed and fsync'd on exit
            write(ds, fp)
        with db.transaction():  # the write lock: no ingest is between rename and commit
            db.execute(
                "UPDATE instances SET size = ?, checksum = ? WHERE path = ?",
                (tmp.stat().st_size, file_checksum(tmp), relpath),
            )
            os.replace(tmp, path)
            fsync_dir(path.parent)
    except (DicomError, OSError) as exc:
        if "tmp" in locals():
            tmp.unlink(missing_ok=True)
        raise ArchiveError(
            f"cannot write stored file {relpath} with the new values: {exc} (nothing was "
            "changed for it; free disk space or fix the value, then run the update again)"
        ) from exc
    return True


def _reindex(archive: Archive, studies: list[str], sample: str) -> None:
    """Move ``studies`` to the patient row their (rewritten) files now name."""
    from dicomkit import read

    rec = record_from_dataset(read(archive.store.resolve(sample), stop_before_pixels=True))
    cols = rec.columns[Level.PATIENT]
    extra = rec.extra[Level.PATIENT]
    db = archive.index.db
    with db.transaction():
        found = db.query(
            "SELECT id FROM patients WHERE patient_id = ? AND issuer_of_patient_id = ?",
            (cols["patient_id"], cols["issuer_of_patient_id"]),
        )
        values = [*cols.values(), json.dumps(extra) if extra else ""]
        if found:
            pid = int(found[0][0])
            sets = ", ".join(f"{n} = ?" for n in [*cols, "extra"])
            db.execute(f"UPDATE patients SET {sets} WHERE id = ?", [*values, pid])
        else:
            names = ", ".join([*cols, "extra"])
            marks = ", ".join("?" for _ in values)
            cur = db.execute(
                f"INSERT INTO patients ({names}) VALUES ({marks}) RETURNING id", values
            )
            pid = int(cur.fetchone()[0])
        old: set[int] = set()
        for study in studies:
            row = db.query(
                "SELECT id, patient_fk FROM studies WHERE study_instance_uid = ?", (study,)
            )
            if not row:
                continue  # deleted meanwhile
            st, owner = int(row[0][0]), int(row[0][1])
            if owner != pid:
                db.execute("UPDATE studies SET patient_fk = ? WHERE id = ?", (pid, st))
                old.add(owner)
        for owner in sorted(old):
            if not db.scalar("SELECT COUNT(*) FROM studies WHERE patient_fk = ?", (owner,)):
                db.execute("DELETE FROM patients WHERE id = ?", (owner,))
            else:
                _recount_patient(archive, owner)
        _recount_patient(archive, pid)


def _recount_patient(archive: Archive, pid: int) -> None:
    """The patient's Number of Patient Related Studies / Series / Instances (studies moved:
    the study and series counts do not change)."""
    archive.index.db.execute(
        "UPDATE patients SET n_studies = (SELECT COUNT(*) FROM studies st WHERE st.patient_fk = "
        "patients.id), n_series = (SELECT COUNT(*) FROM series se JOIN studies st ON "
        "se.study_fk = st.id WHERE st.patient_fk = patients.id), n_instances = (SELECT COUNT(*) "
        "FROM instances i JOIN series se ON i.series_fk = se.id JOIN studies st ON se.study_fk "
        "= st.id WHERE st.patient_fk = patients.id) WHERE id = ?",
        (pid,),
    )
