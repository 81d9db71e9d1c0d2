"""Procedural Event Logging (PS3.4 Annex P), both sides.

A device taking part in a procedure (an injector, a recorder, a modality) reports events to
the procedure log keeper with N-ACTION "Record Procedural Event" (Action Type ID 1) on the
well-known SOP Instance 1.2.840.10008.1.40.1. The action information is a small Procedure
Log (PS3.3 A.35.7): patient and study identification, the Synchronization Frame of Reference
and an SR content tree constructed by TID 3001 -- a root CONTAINER whose first-level items
each carry an Observation DateTime (0040,A032).

SCP: :class:`ProceduralEventLogSCP` checks the request (P.2.2) and hands each record to an
:class:`EventLogStore`; :class:`EventLogFolder` keeps one Part 10 file per record (a
Procedure Log Storage instance) plus an SQLite index and answers queries by study, patient
and time (:meth:`EventLogFolder.records`). Statuses (PS3.4 P.2.2.4 and PS3.7 10.1.4):
another SOP instance -> 0x0112; another action type -> 0x0123; no Study Instance UID ->
0x0115 naming (0020,000D); content that is not a TID 3001 tree -> 0xC102; a study the
keeper does not know (when it is told which ones it knows) -> 0xC101; a Synchronization
Frame of Reference other than the keeper's -> 0xB101 (logged, warning).

SCU: :func:`log_event` sends a record; :func:`event_record` builds one.
"""

from __future__ import annotations

import datetime as _dt
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dicomkit.core._dataset import Dataset
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import status_codes, tags, uids
from dicomkit.errors import DicomError
from dicomkit.net import Association, Incoming, response_for
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._n_common import install_handlers, n_request, text

log = logging.getLogger("dicomkit.services.event_log")

PROCEDURAL_EVENT_LOGGING = uids.ProceduralEventLogging
PROCEDURAL_EVENT_LOGGING_INSTANCE = uids.ProceduralEventLoggingInstance
#: Action Type ID of "Record Procedural Event" (PS3.4 Table P.2-2)
RECORD_PROCEDURAL_EVENT = 1

#: (code value, coding scheme, meaning) of the TID 3001 items :func:`event_record` writes
PROCEDURE_LOG = ("121145", "DCM", "Procedure Log")
PATIENT_STATUS_OR_EVENT = ("121123", "DCM", "Patient Status or Event")
COMMENT = ("121106", "DCM", "Comment")


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One logged event record as the index holds it."""

    sop_instance_uid: str
    study_instance_uid: str
    patient_id: str
    #: Observation DateTime of the first log entry (YYYYMMDDHHMMSS...), "" when absent
    observed: str
    #: the concept names of the log entries, e.g. ["Patient Status or Event"]
    entries: tuple[str, ...]
    #: the calling AE title that reported it
    source_ae: str
    path: Path


class EventLogStore(Protocol):
    """Where :class:`ProceduralEventLogSCP` keeps the records it accepts."""

    def add(self, record: Dataset, *, source_ae: str = "") -> EventRecord:
        """Keep one record (the N-ACTION's action information); return its index entry."""


_SCHEMA = """
create table if not exists events (
    uid text primary key, study text not null, patient text not null, observed text not null,
    entries text not null, source text not null, path text not null, received text not null
);
create index if not exists events_study on events(study);
create index if not exists events_patient on events(patient);
"""


class EventLogFolder:
    """A folder of event records: ``<study>/<uid>.dcm`` Procedure Log Storage files and an
    SQLite index (``events.sqlite``). Safe to share between the worker threads of one SCP."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.folder / "events.sqlite", check_same_thread=False)
        with self._lock, self._db:
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the index."""
        self._db.close()

    def add(self, record: Dataset, *, source_ae: str = "") -> EventRecord:
        """Write ``record`` as a Procedure Log Storage file and index it."""
        import dicomkit

        ds = record.copy()
        uid = str(generate_uid())
        ds.SOPClassUID = uids.ProcedureLogStorage
        ds.SOPInstanceUID = uid
        if not text(ds.get(tags.Modality)):
            ds.Modality = "SR"
        study = text(ds.get(tags.StudyInstanceUID))
        folder = self.folder / (study or "unknown")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uid}.dcm"
        dicomkit.write(ds, path)
        entries = tuple(_entry_names(ds))
        observed = _first_observed(ds)
        patient = text(ds.get(tags.PatientID))
        with self._lock, self._db:
            self._db.execute(
                "insert into events values (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    uid,
                    study,
                    patient,
                    observed,
                    "\\".join(entries),
                    source_ae,
                    str(path.relative_to(self.folder)),
                    _dt.datetime.now(_dt.UTC).isoformat(),
                ),
            )
        return EventRecord(uid, study, patient, observed, entries, source_ae, path)

    def records(
        self,
        *,
        study_instance_uid: str | None = None,
        patient_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> list[EventRecord]:
        """The records kept, oldest observation first; filtered by study, patient and an
        Observation DateTime range (``since`` / ``until`` as DICOM DT prefixes, e.g.
        "20260101" or "20260101120000")."""
        where: list[str] = []
        args: list[str] = []
        if study_instance_uid:
            where.append("study = ?")
            args.append(study_instance_uid)
        if patient_id:
            where.append("patient = ?")
            args.append(patient_id)
        if since:
            where.append("observed >= ?")
            args.append(since)
        if until:
            where.append("substr(observed, 1, ?) <= ?")
            args.extend([str(len(until)), until])
        sql = "select uid, study, patient, observed, entries, source, path from events"
        if where:
            sql += " where " + " and ".join(where)
        with self._lock:
            rows = self._db.execute(sql + " order by observed, received", args).fetchall()
        return [
            EventRecord(
                r[0], r[1], r[2], r[3], tuple(e for e in r[4].split("\\") if e), r[5],
                self.folder / r[6],
            )
            for r in rows
        ]  # fmt: skip

    def read(self, sop_instance_uid: str) -> Dataset:
        """The full record (the Part 10 file) of one logged event."""
        import dicomkit

        with self._lock:
            row = self._db.execute(
                "select path from events where uid = ?", (sop_instance_uid,)
            ).fetchone()
        if row is None:
            raise DicomError(
                f"no event record {sop_instance_uid} in {self.folder}: "
                "list them with `dicomkit event-log list`"
            )
        return dicomkit.read(self.folder / row[0])


def _content(ds: Dataset) -> list[Dataset]:
    seq = ds.get(tags.ContentSequence)
    return list(seq) if seq else []


def _entry_names(ds: Dataset) -> list[str]:
    names = []
    for item in _content(ds):
        concept = item.get(tags.ConceptNameCodeSequence)
        if concept:
            names.append(text(concept[0].get(tags.CodeMeaning)) or text(concept[0].CodeValue))
    return names


def _first_observed(ds: Dataset) -> str:
    for item in _content(ds):
        value = text(item.get(tags.ObservationDateTime))
        if value:
            return value
    return ""


def template_problem(ds: Dataset) -> str | None:
    """Why the record's content is not a Procedure Log tree (TID 3001, PS3.3 A.35.7.3.1),
    or None when it is one."""
    if text(ds.get(tags.ValueType)).upper() != "CONTAINER":
        return "the root Value Type (0040,A040) must be CONTAINER"
    if not ds.get(tags.ConceptNameCodeSequence):
        return "the root has no Concept Name Code Sequence (0040,A043)"
    items = _content(ds)
    if not items:
        return "the Content Sequence (0040,A730) holds no log entry"
    for n, item in enumerate(items, 1):
        if text(item.get(tags.RelationshipType)).upper() != "CONTAINS":
            continue
        if not text(item.get(tags.ObservationDateTime)):
            return f"log entry {n} has no Observation DateTime (0040,A032)"
        if text(item.get(tags.ValueType)).upper() == "CONTAINER":
            return f"log entry {n} is a CONTAINER (the Procedure Log forbids nested containers)"
    return None


class ProceduralEventLogSCP:
    """The N-ACTION handler of Procedural Event Logging (PS3.4 P.2.2).

    ``store``: where records go (an :class:`EventLogFolder`); ``known_study``: when given, a
    study it does not know is refused 0xC101; ``frame_of_reference``: the keeper's
    Synchronization Frame of Reference UID (a record naming another one is logged with
    0xB101); ``on_record`` is called with each record accepted.
    """

    sop_class = PROCEDURAL_EVENT_LOGGING

    def __init__(
        self,
        store: EventLogStore,
        *,
        known_study: Callable[[str], bool] | None = None,
        frame_of_reference: str | None = None,
        on_record: Callable[[EventRecord], None] | None = None,
    ) -> None:
        self.store = store
        self.known_study = known_study
        self.frame_of_reference = frame_of_reference
        self.on_record = on_record

    def handlers(self) -> dict[type[dimse.DimseRequest], Any]:
        """The handlers to give an AE: ``{NActionRequest: self.action}``."""
        return {dimse.NActionRequest: self.action}

    def add_to(self, ae: Any) -> None:
        """Serve this SCP on ``ae`` (an AE or a SyncAE), offering its SOP classes."""
        install_handlers(ae, self.handlers(), [PROCEDURAL_EVENT_LOGGING])

    def action(self, incoming: Incoming) -> Any:
        """N-ACTION Record Procedural Event (PS3.4 P.2.2.1)."""
        msg = incoming.message
        assert isinstance(msg, dimse.NActionRequest)
        if msg.requested_sop_class_uid != PROCEDURAL_EVENT_LOGGING:
            return response_for(msg, status_codes.NoSuchSOPClass)
        if text(msg.requested_sop_instance_uid) != PROCEDURAL_EVENT_LOGGING_INSTANCE:
            return response_for(
                msg,
                status_codes.NoSuchSOPInstance,
                error_comment="events are recorded on the well-known instance "
                f"{PROCEDURAL_EVENT_LOGGING_INSTANCE}",
            )
        if msg.action_type_id != RECORD_PROCEDURAL_EVENT:
            return response_for(
                msg,
                status_codes.NoSuchActionType,
                error_comment=f"action type {msg.action_type_id}: only 1 (Record Procedural "
                "Event) exists",
            )
        ds = incoming.dataset
        if ds is None:
            return response_for(
                msg, status_codes.InvalidArgumentValue, error_comment="no action information"
            )
        study = text(ds.get(tags.StudyInstanceUID))
        if not study:
            return response_for(
                msg,
                status_codes.InvalidArgumentValue,
                error_comment="Study Instance UID (0020,000D) is missing",
            )
        problem = template_problem(ds)
        if problem is not None:
            return response_for(
                msg, status_codes.EventInformationDoesNotMatchTemplate, error_comment=problem
            )
        if self.known_study is not None and not self.known_study(study):
            return response_for(
                msg,
                status_codes.ProceduralLoggingNotAvailable,
                error_comment=f"no procedure log for study {study}",
            )
        status = status_codes.Success
        comment = None
        sync = text(ds.get(tags.SynchronizationFrameOfReferenceUID))
        if self.frame_of_reference and sync and sync != self.frame_of_reference:
            status = status_codes.SyncFrameOfReferenceMismatch
            comment = f"our Synchronization Frame of Reference is {self.frame_of_reference}"
        record = self.store.add(ds, source_ae=incoming.association.calling_ae.strip())
        log.info("event logged: %s study %s %s", record.sop_instance_uid, study, record.entries)
        if self.on_record is not None:
            try:
                self.on_record(record)
            except Exception:  # a listener's bug must not fail the DIMSE
                log.exception("on_record callback failed")
        return response_for(msg, status, error_comment=comment)


# -- SCU -------------------------------------------------------------------------------------


def event_record(
    *,
    study_instance_uid: str,
    patient_id: str = "",
    patient_name: str = "",
    events: Iterable[tuple[tuple[str, str, str], str]] = (),
    notes: Iterable[tuple[str, str]] = (),
    synchronization_frame_of_reference: str | None = None,
) -> Dataset:
    """A Record Procedural Event action information (PS3.4 Table P.2-2) with a TID 3001
    tree: ``events`` are ``((code, scheme, meaning), observed)`` Patient Status or Event
    items, ``notes`` ``(text, observed)`` comments; observed is a DICOM DT ("20260101120000").
    """
    from dicomkit.sr import Code
    from dicomkit.sr import _items as items
    from dicomkit.sr._writer import write_content

    entries = []
    for (value, scheme, meaning), observed in events:
        entry = items.code(Code(*PATIENT_STATUS_OR_EVENT), Code(value, scheme, meaning))
        entry.observation_datetime = observed
        entries.append((observed, entry))
    for note, observed in notes:
        entry = items.text(Code(*COMMENT), note)
        entry.observation_datetime = observed
        entries.append((observed, entry))
    if not entries:
        raise DicomError("an event record needs at least one event or note")
    # PS3.3 A.35.7.3.1.2: first-level entries in increasing Observation DateTime
    entries.sort(key=lambda e: e[0])
    root = items.container(Code(*PROCEDURE_LOG), *(e for _, e in entries), template="3001")
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.StudyInstanceUID = study_instance_uid
    ds.SynchronizationFrameOfReferenceUID = synchronization_frame_of_reference or str(
        generate_uid()
    )
    write_content(root, ds)
    return ds


async def log_event(assoc: Association, record: Dataset) -> int:
    """N-ACTION Record Procedural Event with ``record`` (see :func:`event_record`); returns
    the status (0 or a warning such as 0xB101); a failure raises
    :class:`~dicomkit.errors.DimseError`."""
    msg = dimse.NActionRequest(
        requested_sop_class_uid=PROCEDURAL_EVENT_LOGGING,
        requested_sop_instance_uid=PROCEDURAL_EVENT_LOGGING_INSTANCE,
        action_type_id=RECORD_PROCEDURAL_EVENT,
    )
    rsp, _ = await n_request(assoc, msg, record, what="Procedural Event Logging N-ACTION")
    return rsp.status


__all__ = [
    "PROCEDURAL_EVENT_LOGGING",
    "PROCEDURAL_EVENT_LOGGING_INSTANCE",
    "RECORD_PROCEDURAL_EVENT",
    "EventLogFolder",
    "EventLogStore",
    "EventRecord",
    "ProceduralEventLogSCP",
    "event_record",
    "log_event",
    "template_problem",
]
