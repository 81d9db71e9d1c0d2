"""Deleting and hiding instances of the archive, crash-safe and safe beside a running node.

Two phases, with a journal in the index between them (table ``pending_file_ops``):

1. one index transaction removes the instance rows (level rows left empty go too, counts are
   recomputed) and records each file in the journal, then commits: from here on no C-FIND,
   C-MOVE, C-GET or DICOMweb request sees the instances;
2. a second transaction, which holds the index's write lock (so no ingest of the node is
   between its rename and its commit), removes each journalled file -- or, for an instance
   hidden by an IOCM rejection note, moves it under ``ROOT/.rejected/`` -- unless the SOP
   Instance UID has been stored again meanwhile (its row names the path again), and clears
   the journal rows.

A crash after phase 1 leaves journal rows; :func:`finish_pending` (run by
:meth:`~dicomkit.archive.Archive.check` before it looks for files without rows, so a
deleted file is never indexed again) completes them. Files go in batches of
:data:`BATCH`, so the node waits at most one batch for the lock.

Hidden instances are listed in ``rejected_instances`` (reason code, the rejection note's
SOP Instance UID, when) and can be restored with :func:`restore_rejected`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dicomkit.archive._store import fsync_dir
from dicomkit.errors import ArchiveError

if TYPE_CHECKING:
    from dicomkit.archive._db import Database
    from dicomkit.archive._node import Archive

log = logging.getLogger("dicomkit.archive")

#: files removed (or hidden) per transaction in phase 2
BATCH = 500
#: where hidden (rejected) instances' files are kept, under the archive root
REJECTED = ".rejected"

_DDL = (
    (
        "CREATE TABLE IF NOT EXISTS pending_file_ops ("
        " path TEXT PRIMARY KEY, sop_instance_uid TEXT NOT NULL, op TEXT NOT NULL,"
        " queued TEXT NOT NULL)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS rejected_instances ("
        " sop_instance_uid TEXT PRIMARY KEY, sop_class_uid TEXT NOT NULL,"
        " study_instance_uid TEXT NOT NULL, series_instance_uid TEXT NOT NULL,"
        " path TEXT NOT NULL, reason TEXT NOT NULL, note_uid TEXT NOT NULL,"
        " rejected TEXT NOT NULL)"
    ),
)


@dataclass(slots=True)
class DeleteReport:
    """What a delete (or an IOCM hide, or a prune) removed from the index: instances
    (their SOP Instance UIDs), and the studies and series of them, with the bytes freed."""

    instances: list[str] = field(default_factory=list)
    studies: list[str] = field(default_factory=list)
    series: list[str] = field(default_factory=list)
    bytes: int = 0
    hidden: bool = False  # moved under .rejected (IOCM) rather than deleted
    dry_run: bool = False
    #: asked for but not stored (UIDs as given)
    not_found: list[str] = field(default_factory=list)
    #: for the audit trail (PS3.15 A.5.3.5): study UID -> (patient ID, patient name,
    #: {SOP Class UID: instances})
    by_study: dict[str, tuple[str, str, dict[str, int]]] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the operator."""
        verb = "would be " if self.dry_run else ""
        what = "hidden" if self.hidden else "deleted"
        return (
            f"{len(self.instances)} instance(s) in {len(self.series)} series of "
            f"{len(self.studies)} stud{'y' if len(self.studies) == 1 else 'ies'} {verb}{what} "
            f"({self.bytes / 1e6:.1f} MB)"
        )


def ensure_tables(db: Database) -> None:
    """Create the journal and the rejected-instances table (idempotent)."""
    with db.transaction():
        for stmt in _DDL:
            db.execute(stmt)


def _now() -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime())


_SELECT = (
    "SELECT i.id, i.path, i.sop_instance_uid, i.sop_class_uid, i.size, se.id, "
    "se.series_instance_uid, st.id, st.study_instance_uid, st.patient_fk, p.patient_id, "
    "p.patient_name FROM instances i JOIN series se ON i.series_fk = se.id JOIN studies st ON "
    "se.study_fk = st.id JOIN patients p ON st.patient_fk = p.id WHERE "
)


def select_rows(
    db: Database,
    *,
    studies: Iterable[str] = (),
    series: Iterable[str] = (),
    instances: Iterable[str] = (),
) -> tuple[list[tuple[Any, ...]], list[str]]:
    """The instance rows under the given studies / series / instances (each once), and the
    UIDs that name nothing stored."""
    rows: dict[int, tuple[Any, ...]] = {}
    missing: list[str] = []
    for column, uids in (
        ("st.study_instance_uid", studies),
        ("se.series_instance_uid", series),
        ("i.sop_instance_uid", instances),
    ):
        for uid in uids:
            found = db.query(_SELECT + f"{column} = ?", (uid.strip(),))
            if not found:
                missing.append(uid)
            for row in found:
                rows[int(row[0])] = row
    return list(rows.values()), missing


def _report(rows: Sequence[tuple[Any, ...]], *, hidden: bool, dry_run: bool) -> DeleteReport:
    report = DeleteReport(hidden=hidden, dry_run=dry_run)
    studies: dict[str, None] = {}
    series: dict[str, None] = {}
    for row in rows:
        report.instances.append(str(row[2]))
        report.bytes += int(row[4] or 0)
        series[str(row[6])] = None
        studies[str(row[8])] = None
        entry = report.by_study.setdefault(str(row[8]), (str(row[10]), str(row[11]), {}))
        entry[2][str(row[3])] = entry[2].get(str(row[3]), 0) + 1
    report.studies, report.series = list(studies), list(series)
    return report


def _remove_rows(archive: Archive, rows: Sequence[tuple[Any, ...]]) -> None:
    """(inside a transaction) Delete instance rows, the level rows left empty, recount."""
    db = archive.index.db
    ids = [int(r[0]) for r in rows]
    for k in range(0, len(ids), BATCH):
        chunk = ids[k : k + BATCH]
        db.execute(f"DELETE FROM instances WHERE id IN ({', '.join('?' * len(chunk))})", chunk)
    triples = {(int(r[9]), int(r[7]), int(r[5])) for r in rows}
    for table, child, fk, pos in (
        ("series", "instances", "series_fk", 2),
        ("studies", "series", "study_fk", 1),
        ("patients", "studies", "patient_fk", 0),
    ):
        for ident in sorted({t[pos] for t in triples}):
            if not db.scalar(f"SELECT COUNT(*) FROM {child} WHERE {fk} = ?", (ident,)):
                db.execute(f"DELETE FROM {table} WHERE id = ?", (ident,))
    for pid, st, se in sorted(triples):
        archive.index.recount(pid, st, se)


def remove(
    archive: Archive,
    rows: Sequence[tuple[Any, ...]],
    *,
    hide: tuple[str, str] | None = None,
    dry_run: bool = False,
) -> DeleteReport:
    """Delete the instances of ``rows`` (from :func:`select_rows`): index first (phase 1),
    then the files (phase 2). ``hide``: ``(reason code, rejection note UID)``: keep the files
    under ``.rejected`` instead (IOCM)."""
    report = _report(rows, hidden=hide is not None, dry_run=dry_run)
    if dry_run or not rows:
        return report
    db = archive.index.db
    ensure_tables(db)
    op = "hide" if hide is not None else "delete"
    now = _now()
    with db.transaction():
        _remove_rows(archive, rows)
        for row in rows:
            path, sop = str(row[1]), str(row[2])
            db.execute("DELETE FROM pending_file_ops WHERE path = ?", (path,))
            db.execute(
                "INSERT INTO pending_file_ops (path, sop_instance_uid, op, queued) "
                "VALUES (?, ?, ?, ?)",
                (path, sop, op, now),
            )
            if hide is not None:
                db.execute("DELETE FROM rejected_instances WHERE sop_instance_uid = ?", (sop,))
                db.execute(
                    "INSERT INTO rejected_instances (sop_instance_uid, sop_class_uid, "
                    "study_instance_uid, series_instance_uid, path, reason, note_uid, rejected) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (sop, str(row[3]), str(row[8]), str(row[6]), path, hide[0], hide[1], now),
                )
    finish_pending(archive)
    return report


def finish_pending(archive: Archive) -> int:
    """Phase 2 for every journalled file (also what a crash left): remove it or move it under
    ``.rejected``, unless its path is indexed again. Returns how many were done."""
    db = archive.index.db
    ensure_tables(db)
    done = 0
    while True:
        with db.transaction():  # holds the write lock: no ingest is mid-rename meanwhile
            batch = db.query(f"SELECT path, op FROM pending_file_ops LIMIT {BATCH}")
            if not batch:
                return done
            for path, op in batch:
                stored_again = db.scalar("SELECT COUNT(*) FROM instances WHERE path = ?", (path,))
                if not stored_again:
                    if op == "hide":
                        _move_to_rejected(archive, path)
                    else:
                        archive.store.remove(path)
                db.execute("DELETE FROM pending_file_ops WHERE path = ?", (path,))
                done += 1


def _move_to_rejected(archive: Archive, relpath: str) -> None:
    src = archive.store.resolve(relpath)
    dest = archive.root / REJECTED / relpath
    if not src.exists():
        return  # done before a crash (or gone): nothing to move
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dest)
    fsync_dir(dest.parent)
    fsync_dir(src.parent)
    for d in (src.parent, src.parent.parent):  # prune empty series / study folders
        try:
            d.rmdir()
        except OSError:
            break


@dataclass(frozen=True, slots=True)
class RejectedInstance:
    """An instance hidden by an IOCM rejection note (kept under ``.rejected``)."""

    sop_instance_uid: str
    sop_class_uid: str
    study_instance_uid: str
    series_instance_uid: str
    path: str  # relative to ``ROOT/.rejected``
    reason: str  # the note's title code value (CID 7011), e.g. 113001
    note_uid: str  # the rejection note's SOP Instance UID
    rejected: str  # when, YYYYMMDDHHMMSS UTC


def rejected(archive: Archive, *, study: str | None = None) -> list[RejectedInstance]:
    """The hidden instances (of one study, or all)."""
    db = archive.index.db
    ensure_tables(db)
    sql = (
        "SELECT sop_instance_uid, sop_class_uid, study_instance_uid, series_instance_uid, "
        "path, reason, note_uid, rejected FROM rejected_instances"
    )
    params: tuple[str, ...] = ()
    if study:
        sql += " WHERE study_instance_uid = ?"
        params = (study,)
    return [RejectedInstance(*map(str, r)) for r in db.query(sql + " ORDER BY rejected", params)]


#: the package's name for :func:`rejected`
rejected_instances = rejected


def restore_rejected(archive: Archive, sop_uids: Iterable[str]) -> list[str]:
    """Make hidden instances visible again (their files are indexed again); returns the
    SOP Instance UIDs restored. Raises ``ArchiveError`` naming a UID that is not hidden."""
    out = []
    hidden = {r.sop_instance_uid: r for r in rejected(archive)}
    for uid in sop_uids:
        r = hidden.get(uid.strip())
        if r is None:
            raise ArchiveError(
                f"instance {uid} is not hidden by a rejection note "
                "('dicomkit archive rejected ARCHIVE_DIR' lists those that are)"
            )
        src = archive.root / REJECTED / r.path
        db = archive.index.db
        with db.transaction():  # first: a hidden instance stored again is hidden again
            db.execute(
                "DELETE FROM rejected_instances WHERE sop_instance_uid = ?", (r.sop_instance_uid,)
            )
        try:
            if src.exists():
                archive.ingest(src)
        except BaseException:
            with db.transaction():  # still hidden: list it again
                db.execute(
                    "INSERT INTO rejected_instances (sop_instance_uid, sop_class_uid, "
                    "study_instance_uid, series_instance_uid, path, reason, note_uid, rejected) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        r.sop_instance_uid,
                        r.sop_class_uid,
                        r.study_instance_uid,
                        r.series_instance_uid,
                        r.path,
                        r.reason,
                        r.note_uid,
                        r.rejected,
                    ),
                )
            raise
        out.append(r.sop_instance_uid)
    return out


def purge_rejected(archive: Archive, sop_uids: Iterable[str] | None = None) -> int:
    """Delete hidden instances' files for good (all when ``sop_uids`` is None)."""
    n = 0
    wanted = None if sop_uids is None else {u.strip() for u in sop_uids}
    for r in rejected(archive):
        if wanted is not None and r.sop_instance_uid not in wanted:
            continue
        path = archive.root / REJECTED / r.path
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        with archive.index.db.transaction():
            archive.index.db.execute(
                "DELETE FROM rejected_instances WHERE sop_instance_uid = ?", (r.sop_instance_uid,)
            )
        n += 1
    return n


#: called after every completed delete, hide or prune: ``(action, report)`` -- the audit
#: trail's hook (``action`` is "delete", "hide", "prune" or "merge" ...)
AuditHook = Callable[[str, DeleteReport], None]


def rejected_file(archive: Archive, r: RejectedInstance) -> Path:
    """Where a hidden instance's file is kept."""
    return archive.root / REJECTED / r.path


def audit_hook(
    trail: Any, who: str, *, host: str | None = None, user: str | None = None
) -> AuditHook:
    """An :data:`AuditHook` that sends each delete, hide or prune to ``trail`` (an
    :class:`~dicomkit.archive.AuditTrail`) as DICOM Study Deleted (PS3.15 A.5.3.5), one
    message per operation naming every study, its patient and its instances by SOP class;
    ``who``: the AE title (or user) that deleted them."""
    from dicomkit.archive import _audit as au

    def hook(action: str, report: DeleteReport) -> None:
        studies = [
            au.StudyRef(uid, patient_id, patient_name, dict(classes))
            for uid, (patient_id, patient_name, classes) in report.by_study.items()
        ]
        if studies and not report.dry_run:
            trail.emit(
                au.study_deleted(
                    au.Actor(who, host, user), studies, description=f"{action}: {report.summary()}"
                )
            )

    return hook
