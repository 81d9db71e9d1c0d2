"""Modality Performed Procedure Steps kept in the archive's index (PS3.4 Annex F).

The node's MPPS SCP is :class:`~dicomkit.services._mpps.MPPSSCP` over :class:`IndexedMPPS`, a
mapping backed by the table ``mpps``: one row per instance with its status, patient, the
studies it references (Scheduled Step Attributes and Performed Series sequences), the calling
AE title of its last change and the whole data set as DICOM JSON. The SCP enforces the state
machine (IN PROGRESS -> COMPLETED or DISCONTINUED; then no more changes); the table enforces it
too: a row in a final state is never overwritten (the upsert's ``WHERE``), so the states survive
a restart and no code path can reopen a finished step.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass

from dicomkit.archive._db import Database
from dicomkit.core._dataset import Dataset
from dicomkit.errors import ArchiveError
from dicomkit.services._mpps import IN_PROGRESS
from dicomkit.services._n_common import text


@dataclass(frozen=True, slots=True)
class MPPSSettings:
    """``[mpps]`` of the node's config file."""

    enabled: bool = True
    #: AE titles (from ``[peers]``) each accepted N-CREATE / N-SET is passed on to
    forward: tuple[str, ...] = ()


def ddl(dialect: str) -> list[str]:
    """The MPPS table (idempotent; SQLite or PostgreSQL)."""
    del dialect  # the same text on both
    return [
        (
            "CREATE TABLE IF NOT EXISTS mpps (sop_instance_uid TEXT PRIMARY KEY, "
            "status TEXT NOT NULL, patient_id TEXT NOT NULL DEFAULT '', "
            "patient_name TEXT NOT NULL DEFAULT '', study_uids TEXT NOT NULL DEFAULT '', "
            "updated TEXT NOT NULL DEFAULT '', data TEXT NOT NULL)"
        )
    ]


@dataclass(frozen=True, slots=True)
class MPPSEntry:
    """One stored step as ``list`` shows it."""

    sop_instance_uid: str
    status: str
    patient_id: str
    patient_name: str
    study_uids: tuple[str, ...]
    updated: str


def referenced_studies(ds: Dataset) -> list[str]:
    """The Study Instance UIDs a step references (Scheduled Step Attributes Sequence)."""
    out: list[str] = []
    for item in ds.get("ScheduledStepAttributesSequence") or []:
        uid = text(item.get("StudyInstanceUID"))
        if uid and uid not in out:
            out.append(uid)
    return out


class IndexedMPPS(MutableMapping[str, Dataset]):
    """MPPS instances by SOP Instance UID, in the index (a :data:`~dicomkit.services._mpps.MPPSStore`)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with db.transaction():
            for stmt in ddl(db.dialect):
                db.execute(stmt)

    def __getitem__(self, uid: str) -> Dataset:
        from dicomkit.io._json import from_json

        row = self.db.query("SELECT data FROM mpps WHERE sop_instance_uid = ?", (uid,))
        if not row:
            raise KeyError(uid)
        return from_json(str(row[0][0]))

    def __setitem__(self, uid: str, ds: Dataset) -> None:
        from dicomkit.io._json import dumps

        status = text(ds.get("PerformedProcedureStepStatus")).upper() or IN_PROGRESS
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        with self.db.transaction():
            cur = self.db.execute(
                "INSERT INTO mpps (sop_instance_uid, status, patient_id, patient_name, "
                "study_uids, updated, data) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (sop_instance_uid) DO UPDATE SET status = excluded.status, "
                "patient_id = excluded.patient_id, patient_name = excluded.patient_name, "
                "study_uids = excluded.study_uids, updated = excluded.updated, "
                "data = excluded.data WHERE mpps.status = ?",
                (
                    uid,
                    status,
                    text(ds.get("PatientID")),
                    text(ds.get("PatientName")),
                    "\\".join(referenced_studies(ds)),
                    now,
                    dumps(ds),
                    IN_PROGRESS,
                ),
            )
            if cur.rowcount == 0:
                raise ArchiveError(
                    f"MPPS {uid} is in a final state (COMPLETED or DISCONTINUED): it cannot be "
                    "changed"
                )

    def __delitem__(self, uid: str) -> None:
        with self.db.transaction():
            cur = self.db.execute("DELETE FROM mpps WHERE sop_instance_uid = ?", (uid,))
        if not cur.rowcount:
            raise KeyError(uid)

    def __contains__(self, uid: object) -> bool:
        return bool(self.db.query("SELECT 1 FROM mpps WHERE sop_instance_uid = ?", (str(uid),)))

    def __iter__(self) -> Iterator[str]:
        rows = self.db.query("SELECT sop_instance_uid FROM mpps ORDER BY updated")
        return iter([str(r[0]) for r in rows])

    def __len__(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM mpps") or 0)

    def entries(self, study_uid: str | None = None) -> list[MPPSEntry]:
        """Every stored step (or those referencing ``study_uid``), oldest change first."""
        rows = self.db.query(
            "SELECT sop_instance_uid, status, patient_id, patient_name, study_uids, updated "
            "FROM mpps ORDER BY updated, sop_instance_uid"
        )
        out = []
        for uid, status, pid, name, studies, updated in rows:
            linked = tuple(s for s in str(studies).split("\\") if s)
            if study_uid is None or study_uid in linked:
                out.append(
                    MPPSEntry(str(uid), str(status), str(pid), str(name), linked, str(updated))
                )
        return out
