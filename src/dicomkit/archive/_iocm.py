"""IOCM rejection notes (IHE Imaging Object Change Management; PS3.3 A.35.4, PS3.16 CID 7011).

A Key Object Selection Document whose title (Concept Name Code Sequence) is one of CID 7011
is a rejection note: the instances listed in its Current Requested Procedure Evidence
Sequence (PS3.3 C.17.6.2) are withdrawn. When one is stored to the node (C-STORE, STOW-RS or
``Archive.store_dataset``), :class:`RejectionNotes` -- installed as the archive's
``on_stored`` hook by the node's ``[iocm]`` section -- removes the referenced instances from
the index before the note's store is answered, so C-FIND, C-MOVE, C-GET and DICOMweb no
longer return them:

- ``hide`` (default for 113001 Rejected for Quality Reasons, 113037 Rejected for Patient
  Safety Reasons, 113038 Incorrect Modality Worklist Entry): their files are kept under
  ``ROOT/.rejected`` and listed by ``dicomkit archive rejected ARCHIVE_DIR`` (``--restore``
  brings them back, ``--purge`` deletes them);
- ``delete`` (default for 113039 Data Retention Policy Expired): removed for good.

The note itself is stored like any instance (it documents the rejection). Instances it names
that are not stored are logged and skipped.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dicomkit.archive import _delete
from dicomkit.dictionary import uids
from dicomkit.errors import DicomError

if TYPE_CHECKING:
    from dicomkit.archive._node import Archive, IngestResult

log = logging.getLogger("dicomkit.archive")

#: (113039, DCM, "Data Retention Policy Expired") of CID 7011
EXPIRED = "113039"


@functools.cache
def rejection_reasons() -> dict[str, str]:
    """CID 7011 (PS3.16), scheme DCM: code value -> meaning (loaded on first use: the SR
    package is not needed to start a node)."""
    from dicomkit.sr._codes import CID

    return {c.value: c.meaning for c in CID[7011] if c.scheme == "DCM"}


ACTIONS = ("hide", "delete")


@dataclass(frozen=True, slots=True)
class IOCMSettings:
    """The ``[iocm]`` section of the node's config file."""

    enabled: bool = True
    #: what a note titled 113001 / 113037 / 113038 does to the instances it lists
    action: str = "hide"
    #: what a note titled 113039 Data Retention Policy Expired does
    expired_action: str = "delete"

    def __post_init__(self) -> None:
        from dicomkit.archive._config import ConfigError

        for key in ("action", "expired_action"):
            value = getattr(self, key)
            if value not in ACTIONS:
                raise ConfigError(f"[iocm] {key} = {value!r}: use hide or delete")


@dataclass(frozen=True, slots=True)
class RejectionNote:
    """A rejection note as read: its title code, and the instances it lists."""

    sop_instance_uid: str
    reason: str  # the CID 7011 code value
    instances: tuple[tuple[str, str, str], ...]  # (study, series, SOP Instance UID)

    @property
    def meaning(self) -> str:
        """The reason in words (CID 7011)."""
        return rejection_reasons().get(self.reason, self.reason)


def _text(value: Any) -> str:
    return str(value or "").strip()


def read_rejection_note(ds: Any) -> RejectionNote | None:
    """The rejection note in ``ds`` (a Dataset), or None when it is not a KOS titled from
    CID 7011."""
    if _text(ds.get("SOPClassUID")) != uids.KeyObjectSelectionDocumentStorage:
        return None
    title = ds.get("ConceptNameCodeSequence") or []
    if not title:
        return None
    code = title[0]
    value, scheme = _text(code.get("CodeValue")), _text(code.get("CodingSchemeDesignator"))
    if scheme != "DCM" or value not in rejection_reasons():
        return None
    refs: list[tuple[str, str, str]] = []
    for study in ds.get("CurrentRequestedProcedureEvidenceSequence") or []:
        st = _text(study.get("StudyInstanceUID"))
        for series in study.get("ReferencedSeriesSequence") or []:
            se = _text(series.get("SeriesInstanceUID"))
            for sop in series.get("ReferencedSOPSequence") or []:
                uid = _text(sop.get("ReferencedSOPInstanceUID"))
                if uid:
                    refs.append((st, se, uid))
    return RejectionNote(_text(ds.get("SOPInstanceUID")), value, tuple(refs))


class RejectionNotes:
    """The archive's ``on_stored`` hook: applies each stored rejection note."""

    def __init__(
        self,
        archive: Archive,
        settings: IOCMSettings | None = None,
        *,
        audit: Callable[[str, _delete.DeleteReport], None] | None = None,
    ) -> None:
        self.archive = archive
        self.settings = settings or IOCMSettings()
        #: the audit trail's hook, called with ("hide" | "delete", report)
        self.audit = audit
        _delete.ensure_tables(archive.index.db)  # one primary-key look-up per store

    def __call__(self, result: IngestResult) -> None:
        if result.sop_class_uid != uids.KeyObjectSelectionDocumentStorage:
            self._hidden_again(result)
            return
        try:
            from dicomkit import read

            note = read_rejection_note(read(result.path, stop_before_pixels=True))
            if note is not None:
                self.apply(note)
        except (DicomError, OSError) as exc:  # the note is stored; say why it was not applied
            log.error(
                "rejection note %s stored but not applied: %s (apply it again by storing it "
                "again, or delete the instances with 'dicomkit archive delete')",
                result.sop_instance_uid,
                exc,
            )

    def _hidden_again(self, result: IngestResult) -> None:
        """An instance a rejection note hid, sent again under the same UID, stays hidden (its
        new copy replaces the kept one); ``dicomkit archive rejected --restore`` shows it."""
        db = self.archive.index.db
        row = db.query(
            "SELECT reason, note_uid FROM rejected_instances WHERE sop_instance_uid = ?",
            (result.sop_instance_uid,),
        )
        if row:
            rows, _ = _delete.select_rows(db, instances=[result.sop_instance_uid])
            _delete.remove(self.archive, rows, hide=(str(row[0][0]), str(row[0][1])))
            log.warning(
                "instance %s was rejected by note %s and is hidden again (restore it with "
                "'dicomkit archive rejected ARCHIVE_DIR --restore %s')",
                result.sop_instance_uid,
                row[0][1],
                result.sop_instance_uid,
            )

    def apply(self, note: RejectionNote) -> _delete.DeleteReport:
        """Hide or delete the instances ``note`` lists (per the settings)."""
        action = self.settings.expired_action if note.reason == EXPIRED else self.settings.action
        wanted = {sop for _st, _se, sop in note.instances if sop != note.sop_instance_uid}
        rows, missing = _delete.select_rows(self.archive.index.db, instances=sorted(wanted))
        # a note names study and series too: an instance stored under others is not it
        names = {sop: (st, se) for st, se, sop in note.instances}
        rows = [r for r in rows if _same(names[str(r[2])], str(r[8]), str(r[6]))]
        hide = (note.reason, note.sop_instance_uid) if action == "hide" else None
        report = _delete.remove(self.archive, rows, hide=hide)
        report.not_found = missing
        log.warning(
            "rejection note %s (%s): %s%s",
            note.sop_instance_uid,
            note.meaning,
            report.summary(),
            f"; {len(missing)} listed instance(s) not stored" if missing else "",
        )
        if self.audit is not None:
            self.audit("hide" if hide else "delete", report)
        return report


def _same(named: tuple[str, str], study: str, series: str) -> bool:
    st, se = named
    return (not st or st == study) and (not se or se == series)
