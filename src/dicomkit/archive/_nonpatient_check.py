"""Consistency check and scrub of the non-patient objects (:mod:`dicomkit.archive._nonpatient`):
what :meth:`Archive.check <dicomkit.archive.Archive.check>` and :meth:`Archive.verify
<dicomkit.archive.Archive.verify>` (``dicomkit archive check|verify``, the node's start-up
check) do for the files under ``ROOT/.nonpatient`` and their rows in ``non_patient_instance``.

- check: a file without a row is indexed again (an unreadable one is moved to
  ``.quarantine``), a row whose file has gone is dropped;
- verify: every file is read and compared with the checksum kept when it was stored (rows
  from before checksums were kept are reported as unchecked).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dicomkit.archive._store import DuplicatePolicy, file_checksum
from dicomkit.errors import DicomError

if TYPE_CHECKING:
    from dicomkit.archive._db import Database
    from dicomkit.archive._nonpatient import NonPatientStore

log = logging.getLogger("dicomkit.archive")


def ensure_checksum_column(db: Database) -> None:
    """Add the ``checksum`` column to an index made before it existed (idempotent)."""
    if db.dialect == "sqlite":
        cols = {str(r[1]) for r in db.query("PRAGMA table_info(non_patient_instance)")}
        if "checksum" in cols:
            return
        stmt = "ALTER TABLE non_patient_instance ADD COLUMN checksum TEXT NOT NULL DEFAULT ''"
    else:
        stmt = (
            "ALTER TABLE non_patient_instance ADD COLUMN IF NOT EXISTS checksum TEXT "
            "NOT NULL DEFAULT ''"
        )
    with db.transaction():
        db.execute(stmt)


@dataclass(slots=True)
class NonPatientCheck:
    """What :func:`check` found (and, with ``repair``, fixed); paths relative to the root."""

    orphan_files: list[str] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)


def _files(store: NonPatientStore) -> set[str]:
    out = set()
    if store.folder.is_dir():
        for path in store.folder.rglob("*.dcm"):
            if path.is_file() and not path.name.startswith("."):
                out.add(path.relative_to(store.root).as_posix())
    return out


def check(store: NonPatientStore, *, repair: bool) -> NonPatientCheck:
    """Compare the non-patient files with their rows (see the module docstring)."""
    report = NonPatientCheck()
    rows = {
        str(path): str(sop)
        for sop, path in store.db.query("SELECT sop_instance_uid, path FROM non_patient_instance")
    }
    files = _files(store)
    report.orphan_files = sorted(files - rows.keys())
    report.missing_files = sorted(rows.keys() - files)
    if not repair:
        return report
    for rel in report.missing_files:
        log.warning("non-patient row without file, dropped: %s", rel)
        with store.db.transaction():
            store.db.execute(
                "DELETE FROM non_patient_instance WHERE sop_instance_uid = ?", (rows[rel],)
            )
    for rel in report.orphan_files:
        path = store.root / rel
        try:
            store.ingest(path, None, synced=False, policy=DuplicatePolicy.KEEP)
            log.warning("non-patient file without index row, indexed: %s", rel)
        except (DicomError, OSError) as exc:
            log.warning("unreadable non-patient file quarantined: %s (%s)", rel, exc)
            qdir = store.root / ".quarantine"
            qdir.mkdir(exist_ok=True)
            os.replace(path, qdir / rel.replace("/", "_"))
            report.quarantined.append(rel)
    return report


def verify(store: NonPatientStore) -> tuple[int, list[str], list[str]]:
    """(files intact, what is wrong with each damaged one, files without a checksum)."""
    ok, damaged, unchecked = 0, [], []
    rows = store.db.query("SELECT path, checksum FROM non_patient_instance ORDER BY path")
    for rel, expected in rows:
        rel, expected = str(rel), str(expected or "")
        if not expected:
            unchecked.append(rel)
            continue
        try:
            actual = file_checksum(store.root / rel)
        except OSError as exc:
            damaged.append(f"stored file {rel} cannot be read: {exc.strerror or exc}")
            continue
        if actual != expected:
            damaged.append(
                f"stored file {rel} is damaged: checksum {actual}, {expected} when stored "
                "(restore it from a backup, or delete the instance and store it again)"
            )
        else:
            ok += 1
    return ok, damaged, unchecked
