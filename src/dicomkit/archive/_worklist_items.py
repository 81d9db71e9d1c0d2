"""Modality Worklist items kept in the archive's index (PS3.4 Annex K), and the node's
worklist source.

Items live in the table ``worklist_items``: a row per item with the keys a list shows
(patient, accession number, first scheduled step's modality, station AE title and start
date) and the whole item as DICOM JSON (PS3.18 F). They are added through the API
(:meth:`WorklistItems.add`), imported from DICOM files (``.wl`` as wlmscpfs reads them, or
any Part 10 / raw data set) and from JSON files (the DICOM JSON model, or
``{keyword: value}`` objects with sequences as lists of objects), one item or a list per file.

The node answers C-FIND on the Modality Worklist Information Model from these items, plus,
when ``[worklist] folder`` is set, the ``.wl`` / ``.dcm`` files of that folder read afresh on
each query (wlmscpfs's way). Matching is :func:`dicomkit.services._worklist.matches`: universal,
single value, list of UIDs, wildcard, date / time ranges with the date and time keys matched as
one date-time, and Scheduled Procedure Step Sequence item matching (PS3.4 C.2.2.2, K.6.1.2).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dicomkit.archive._db import Database
from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.core._uid import generate_uid
from dicomkit.errors import ArchiveError, DicomError, InvalidDicomError
from dicomkit.services._n_common import text

# the dialect-neutral DDL of the hosted services (see archive.schema for the instance tables)


def ddl(dialect: str) -> list[str]:
    pk = "INTEGER PRIMARY KEY" if dialect == "sqlite" else "BIGSERIAL PRIMARY KEY"
    return [
        (
            f"CREATE TABLE IF NOT EXISTS worklist_items (id {pk}, "
            "item_uid TEXT NOT NULL UNIQUE, patient_id TEXT NOT NULL DEFAULT '', "
            "patient_name TEXT NOT NULL DEFAULT '', accession_number TEXT NOT NULL DEFAULT '', "
            "modality TEXT NOT NULL DEFAULT '', station_ae TEXT NOT NULL DEFAULT '', "
            "start_date TEXT NOT NULL DEFAULT '', data TEXT NOT NULL)"
        )
    ]


@dataclass(frozen=True, slots=True)
class WorklistSettings:
    """``[worklist]`` of the node's config file."""

    enabled: bool = True
    #: a folder of ``.wl`` / ``.dcm`` items (wlmscpfs style) answered besides the stored ones
    folder: str = ""


@dataclass(frozen=True, slots=True)
class WorklistEntry:
    """One stored item as ``worklist list`` shows it."""

    item_uid: str
    patient_id: str
    patient_name: str
    accession_number: str
    modality: str
    station_ae: str
    start_date: str


def _item_uid(ds: Dataset) -> str:
    """The item's identity: its Study Instance UID plus the first step's ID, else a new UID
    (then also set as the item's Study Instance UID when it has none)."""
    study = text(ds.get("StudyInstanceUID"))
    if not study:
        study = str(generate_uid())
        ds.StudyInstanceUID = study
    steps = ds.get("ScheduledProcedureStepSequence") or []
    step = text(steps[0].get("ScheduledProcedureStepID")) if steps else ""
    return f"{study}/{step}" if step else study


def _first_step(ds: Dataset) -> Dataset:
    steps = ds.get("ScheduledProcedureStepSequence") or []
    return steps[0] if steps else Dataset()


def dataset_from_keywords(obj: dict[str, Any]) -> Dataset:
    """``{"PatientName": "DOE^J", "ScheduledProcedureStepSequence": [{...}]}`` as a Dataset."""
    ds = Dataset()
    for key, value in obj.items():
        try:
            if isinstance(value, list) and value and isinstance(value[0], dict):
                ds.set(key, Sequence([dataset_from_keywords(v) for v in value]))
            else:
                ds.set(key, value)
        except (DicomError, KeyError, ValueError) as exc:
            raise InvalidDicomError(f"worklist item: {key} = {value!r}: {exc}") from exc
    return ds


def _looks_dicom_json(obj: dict[str, Any]) -> bool:
    return all(len(k) == 8 and all(c in "0123456789abcdefABCDEF" for c in k) for k in obj)


def read_items(path: str | os.PathLike[str]) -> list[Dataset]:
    """The worklist items of one file: JSON (``.json``: one object or a list) or DICOM."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        from dicomkit.io._json import from_json

        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidDicomError(f"{p}: not readable JSON: {exc}") from exc
        objs = data if isinstance(data, list) else [data]
        out = []
        for obj in objs:
            if not isinstance(obj, dict):
                raise InvalidDicomError(f"{p}: a worklist item must be a JSON object")
            out.append(from_json(obj) if _looks_dicom_json(obj) else dataset_from_keywords(obj))
        return out
    import dicomkit

    try:
        ds = dicomkit.read(p, force=True)
    except OSError as exc:
        raise ArchiveError(f"cannot read {p}: {exc.strerror or exc}") from exc
    ds.file_meta = Dataset()  # a .wl file's meta names the worklist, not the item
    return [ds]


class WorklistItems:
    """The worklist items of an archive index (:class:`~dicomkit.archive._db.Database`);
    also the node's :class:`~dicomkit.services._worklist.WorklistSource`."""

    def __init__(self, db: Database, folder: str | os.PathLike[str] | None = None) -> None:
        self.db = db
        self.folder = Path(folder) if folder else None
        with db.transaction():
            for stmt in ddl(db.dialect):
                db.execute(stmt)

    def add(self, item: Dataset) -> str:
        """Store (or replace) a worklist item; returns its key (Study Instance UID, with
        the first step's ID). The item needs a Scheduled Procedure Step Sequence."""
        from dicomkit.io._json import dumps

        if not item.get("ScheduledProcedureStepSequence"):
            raise InvalidDicomError(
                "a worklist item needs a Scheduled Procedure Step Sequence (0040,0100) with "
                "at least one item (modality, station AE title, start date ...)"
            )
        ds = item.copy()
        ds.file_meta = Dataset()
        uid = _item_uid(ds)
        step = _first_step(ds)
        row = (
            uid,
            text(ds.get("PatientID")),
            text(ds.get("PatientName")),
            text(ds.get("AccessionNumber")),
            text(step.get("Modality")),
            text(step.get("ScheduledStationAETitle")),
            text(step.get("ScheduledProcedureStepStartDate")),
            dumps(ds),
        )
        with self.db.transaction():
            self.db.execute("DELETE FROM worklist_items WHERE item_uid = ?", (uid,))
            self.db.execute(
                "INSERT INTO worklist_items (item_uid, patient_id, patient_name, "
                "accession_number, modality, station_ae, start_date, data) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        return uid

    def import_files(self, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
        """Add the items of files and folders (``*.wl``, ``*.dcm``, ``*.json`` in folders)."""
        added = []
        for path in paths:
            p = Path(path)
            files = (
                sorted(q for q in p.rglob("*") if q.suffix.lower() in (".wl", ".dcm", ".json"))
                if p.is_dir()
                else [p]
            )
            for f in files:
                added += [self.add(ds) for ds in read_items(f)]
        return added

    def remove(self, item_uid: str) -> bool:
        """Delete an item by its key; False when there is none."""
        with self.db.transaction():
            cur = self.db.execute("DELETE FROM worklist_items WHERE item_uid = ?", (item_uid,))
        return bool(cur.rowcount)

    def entries(self) -> list[WorklistEntry]:
        """Every stored item (not the folder's), by start date."""
        rows = self.db.query(
            "SELECT item_uid, patient_id, patient_name, accession_number, modality, station_ae, "
            "start_date FROM worklist_items ORDER BY start_date, id"
        )
        return [WorklistEntry(*(str(v) for v in r)) for r in rows]

    def items(self) -> Iterator[Dataset]:
        """(worklist source) The stored items, then the folder's files."""
        from dicomkit.io._json import from_json

        for (data,) in self.db.query("SELECT data FROM worklist_items ORDER BY id"):
            yield from_json(str(data))
        if self.folder is not None:
            from dicomkit.services._worklist import FolderSource

            yield from FolderSource(self.folder).items()
