"""Modality Worklist (PS3.4 Annex K), both sides, and the in-memory matching it needs.

SCP: :class:`WorklistSCP` answers C-FIND on the Modality Worklist Information Model - FIND
SOP class over a pluggable :class:`WorklistSource` (:class:`FolderSource`: a folder of
``.wl`` / ``.dcm`` data sets, re-read on each query; :class:`ListSource`: a list). Each item
that matches the identifier (:func:`matches`, PS3.4 C.2.2.2 and K.6.1.2) goes back as a
pending response holding exactly the keys asked for (:func:`response_for_item`).

Matching: an empty key matches everything (universal); UIDs match one of a list; dates and
times match a single value or a range, and a date key with its time key (e.g. Scheduled
Procedure Step Start Date / Time) are matched as one date-time range; text with ``*`` / ``?``
matches as a wildcard; other values match exactly (person names ignore case); a sequence key
with an item matches when one item of the data set's sequence matches every key of it
(Scheduled Procedure Step Sequence: station AE title, start date ranges, modality ...).

SCU: :func:`find` sends the query and yields each matching identifier;
:func:`worklist_query` builds a typical query data set.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.core._sequence import Sequence
from dicomkit.core._vr import WILDCARD_VRS
from dicomkit.dictionary import status_codes, tags, uids
from dicomkit.errors import DimseError
from dicomkit.net import Association, Incoming, response_for
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._n_common import SPECIFIC_CHARACTER_SET, text

log = logging.getLogger("dicomkit.services._worklist")

MODALITY_WORKLIST_FIND = uids.ModalityWorklistInformationModelFind

#: Date key -> the time key matched with it as one date-time range (PS3.4 C.2.2.2.5).
DATE_TIME_PAIRS: dict[int, int] = {
    tags.ScheduledProcedureStepStartDate: tags.ScheduledProcedureStepStartTime,  # Scheduled Procedure Step Start Date / Time
    tags.ScheduledProcedureStepEndDate: tags.ScheduledProcedureStepEndTime,  # Scheduled Procedure Step End Date / Time
    tags.StudyDate: tags.StudyTime,  # Study Date / Time
    tags.PerformedProcedureStepStartDate: tags.PerformedProcedureStepStartTime,  # Performed Procedure Step Start Date / Time
}
_PAIRED_TIMES = frozenset(DATE_TIME_PAIRS.values())


# -- sources ---------------------------------------------------------------------------------


class WorklistSource(Protocol):
    """Where worklist items come from; ``items()`` is called once per query."""

    def items(self) -> Iterable[Dataset]:
        """The scheduled procedure step items to match C-FIND queries against."""


class ListSource:
    """Worklist items held in memory (``source.entries`` may be changed at any time)."""

    def __init__(self, entries: Iterable[Dataset] = ()) -> None:
        self.entries = list(entries)

    def items(self) -> Iterable[Dataset]:
        """The worklist items given to the source."""
        return list(self.entries)


class FolderSource:
    """Every ``*.wl`` / ``*.dcm`` file of a folder (sub-folders too), read on each query so
    that files dropped in by a RIS bridge show up at once. Unreadable files are logged and
    skipped."""

    def __init__(self, folder: str | Path, patterns: tuple[str, ...] = ("*.wl", "*.dcm")) -> None:
        self.folder = Path(folder)
        self.patterns = patterns

    def items(self) -> Iterator[Dataset]:
        """The worklist items: every DICOM file matching the patterns under the folder, read afresh
        on each query."""
        import dicomkit

        seen: set[Path] = set()
        for pattern in self.patterns:
            for path in sorted(self.folder.rglob(pattern)):
                if path in seen or not path.is_file():
                    continue
                seen.add(path)
                try:
                    yield dicomkit.read(path, force=True)
                except Exception as exc:  # noqa: BLE001 -- one bad file must not stop a query
                    log.warning("worklist item %s unreadable: %s", path, exc)


def write_item(ds: Dataset, path: str | Path) -> None:
    """Write a worklist item as a Part 10 file (a ``.wl`` file as DCMTK's wlmscpfs reads
    them): the File Meta names the worklist SOP class and a fresh instance UID, since
    worklist items carry no SOP Class / Instance UID of their own."""
    import dicomkit
    from dicomkit.core._uid import generate_uid
    from dicomkit.io._part10 import build_file_meta

    out = ds.copy()
    out.file_meta = build_file_meta(
        MODALITY_WORKLIST_FIND, str(generate_uid()), uids.ExplicitVRLittleEndian
    )
    dicomkit.write(out, path)


# -- matching (PS3.4 C.2.2.2) ------------------------------------------------------------------


def _is_empty(el: DataElement) -> bool:
    value = el.value
    if el.vr == "SQ":  # no item, or items of universal keys only: universal matching
        return not value or all(all(_is_empty(e) for e in item.elements()) for item in value)
    return value is None or text(value) == "" or value == b""


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [text(v) for v in value]
    return [text(value)]


def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = [".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts) + r"\Z", re.IGNORECASE if ignore_case else 0)


def _norm_time(value: str, upper: bool = False) -> str:
    """HHMMSS.FFFFFF; a partial time is the start (or, as an upper bound, the end) of the
    hour or minute it names."""
    whole, _, frac = value.strip().replace(":", "").partition(".")
    whole = whole[:6] + ("235959" if upper else "000000")[len(whole[:6]) :]
    return whole + "." + (frac + ("9" if upper else "0") * 6)[:6]


def _norm(vr: str, value: str, upper: bool = False) -> str:
    value = value.strip()
    if vr == "DA":
        return value.replace(".", "")  # old ACR-NEMA form YYYY.MM.DD
    if vr == "TM":
        return _norm_time(value, upper)
    return value


def _range(vr: str, query: str) -> tuple[str | None, str | None]:
    if "-" not in query:
        single = _norm(vr, query)
        return single, _norm(vr, query, upper=True) if vr == "TM" else single
    lo: str | None
    hi: str | None
    lo_text, _, hi_text = query.partition("-")
    lo = _norm(vr, lo_text) if lo_text.strip() else None
    hi = _norm(vr, hi_text, upper=True) if hi_text.strip() else None
    return lo, hi


def _in_range(value: str, lo: str | None, hi: str | None) -> bool:
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def _match_value(vr: str, query: Any, candidate: Any) -> bool:
    """Single value, list of UIDs, range, or wildcard matching of one non-empty key."""
    have = [v for v in _values(candidate) if v]
    if not have:
        return False
    wanted = _values(query)
    if vr == "UI":
        return any(v in wanted for v in have)
    q = "\\".join(wanted)
    if vr in ("DA", "TM", "DT"):
        lo, hi = _range(vr, q)
        return any(_in_range(_norm(vr, v), lo, hi) for v in have)
    if vr in WILDCARD_VRS and ("*" in q or "?" in q):
        rx = _wildcard(q, ignore_case=vr == "PN")
        return any(rx.match(v) for v in have)
    if vr == "PN":
        return any(v.upper() == q.upper() for v in have)
    return any(v == q for v in have)


def _match_date_time(query: Dataset, item: Dataset, date_tag: int, time_tag: int) -> bool:
    """A date key and its time key as one date-time range (PS3.4 C.2.2.2.5)."""
    q_date, q_time = text(query.get(date_tag)), text(query.get(time_tag))
    d_lo, d_hi = _range("DA", q_date)
    t_lo: str | None = None
    t_hi: str | None = None
    if q_time:
        t_lo, t_hi = _range("TM", q_time)
    lo = None if d_lo is None else d_lo + (t_lo or _norm_time("000000"))
    hi = None if d_hi is None else d_hi + (t_hi or _norm_time("235959", upper=True))
    dates = [v for v in _values(item.get(date_tag)) if v]
    if not dates:
        return False
    time = text(item.get(time_tag)) or "000000"
    return any(_in_range(_norm("DA", d) + _norm_time(time), lo, hi) for d in dates)


def matches(query: Dataset, item: Dataset) -> bool:
    """Does ``item`` match every matching key of ``query``? (PS3.4 C.2.2.2, K.6.1.2)."""
    for el in query.elements():
        tag = el.tag
        if tag >> 16 in (0x0000, 0x0002) or tag == SPECIFIC_CHARACTER_SET or _is_empty(el):
            continue
        if (
            tag in DATE_TIME_PAIRS
            and DATE_TIME_PAIRS[tag] in query
            and not _is_empty(query[DATE_TIME_PAIRS[tag]])
        ):
            if not _match_date_time(query, item, tag, DATE_TIME_PAIRS[tag]):
                return False
            continue
        if tag in _PAIRED_TIMES:
            date_tag = next(d for d, t in DATE_TIME_PAIRS.items() if t == tag)
            if date_tag in query and not _is_empty(query[date_tag]):
                continue  # matched with its date
        if tag not in item:
            return False
        if el.vr == "SQ":
            have = item[tag].value or []
            for q_item in el.value:
                if len(q_item) and not any(matches(q_item, it) for it in have):
                    return False
            continue
        if not _match_value(el.vr, el.value, item[tag].value):
            return False
    return True


def response_for_item(query: Dataset, item: Dataset) -> Dataset:
    """The identifier returned for a match: every key of the query, with the item's value
    (empty when the item has none); sequence keys return the matching items with the keys
    their query item asks for (all of the item when the query item is empty)."""
    out = Dataset()
    if SPECIFIC_CHARACTER_SET in item:
        out.set(SPECIFIC_CHARACTER_SET, item[SPECIFIC_CHARACTER_SET].value, vr="CS")
    for el in query.elements():
        tag = el.tag
        if tag >> 16 in (0x0000, 0x0002) or tag == SPECIFIC_CHARACTER_SET:
            continue
        if tag not in item:
            out.set(tag, Sequence() if el.vr == "SQ" else None, vr=el.vr)
            continue
        have = item[tag]
        if el.vr == "SQ" and have.vr == "SQ":
            keys = [q for q in (el.value or []) if len(q)]
            seq = Sequence()
            for it in have.value or []:
                if not keys:
                    seq.append(it.copy())
                elif any(matches(k, it) for k in keys):
                    seq.append(response_for_item(keys[0], it))
            out.set(tag, seq, vr="SQ")
        else:
            out.set(tag, have.value, vr=have.vr)
    return out


def search(source: WorklistSource, query: Dataset) -> Iterator[Dataset]:
    """The response identifiers of every item of ``source`` matching ``query``."""
    for item in source.items():
        if matches(query, item):
            yield response_for_item(query, item)


# -- SCP -------------------------------------------------------------------------------------


class WorklistSCP:
    """C-FIND handler for the Modality Worklist Information Model (PS3.4 K.4.1.3).

    A plain function running in a worker thread (the source may read files); pending
    responses go out as matches are found, a C-CANCEL stops them (FE00, by the driver).
    """

    sop_class = MODALITY_WORKLIST_FIND

    def __init__(self, source: WorklistSource) -> None:
        self.source = source

    def handlers(self) -> dict[type[dimse.DimseRequest], Any]:
        """The handlers to give an AE: ``{CFindRequest: self}``."""
        return {dimse.CFindRequest: self}

    def __call__(self, incoming: Incoming) -> Iterator[Any]:
        msg = incoming.message
        assert isinstance(msg, dimse.CFindRequest)
        if msg.affected_sop_class_uid != self.sop_class:
            yield response_for(msg, status_codes.SOPClassNotSupported)
            return
        try:
            query = incoming.dataset
        except Exception as exc:  # noqa: BLE001 -- the peer's identifier cannot be decoded
            yield response_for(
                msg,
                status_codes.IdentifierDoesNotMatchSOPClass,
                error_comment=f"bad identifier: {exc}",
            )
            return
        if query is None:
            yield response_for(
                msg, status_codes.IdentifierDoesNotMatchSOPClass, error_comment="no identifier"
            )
            return
        try:
            for found in search(self.source, query):
                if incoming.cancelled:
                    return  # the dispatcher answers FE00
                yield status_codes.Pending, found
        except Exception as exc:  # a broken source fails this query only
            log.exception("worklist query failed")
            yield response_for(msg, status_codes.UnableToProcess, error_comment=str(exc))
            return
        yield response_for(msg, status_codes.Success)


# -- SCU -------------------------------------------------------------------------------------


def worklist_query(
    *,
    patient_name: str = "",
    patient_id: str = "",
    station_ae: str = "",
    modality: str = "",
    start_date: str = "",
    start_time: str = "",
    accession_number: str = "",
    extra: dict[str, Any] | None = None,
) -> Dataset:
    """A typical MWL identifier: patient and request keys plus a Scheduled Procedure Step
    Sequence item with station AE title, modality, start date (range) and time keys."""
    ds = Dataset()
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.AccessionNumber = accession_number
    ds.RequestedProcedureID = ""
    ds.RequestedProcedureDescription = ""
    ds.StudyInstanceUID = ""
    sps = Dataset()
    sps.ScheduledStationAETitle = station_ae
    sps.ScheduledProcedureStepStartDate = start_date
    sps.ScheduledProcedureStepStartTime = start_time
    sps.Modality = modality
    sps.ScheduledPerformingPhysicianName = ""
    sps.ScheduledProcedureStepDescription = ""
    sps.ScheduledProcedureStepID = ""
    ds.ScheduledProcedureStepSequence = Sequence([sps])
    for keyword, value in (extra or {}).items():
        ds.set(keyword, value)
    return ds


async def find(
    assoc: Association,
    query: Dataset,
    *,
    sop_class: str = MODALITY_WORKLIST_FIND,
    priority: int = 0,
) -> AsyncIterator[Dataset]:
    """C-FIND on the worklist: yield each matching identifier; raise
    :class:`~dicomkit.errors.DimseError` on a failure status."""
    msg = dimse.CFindRequest(affected_sop_class_uid=sop_class, priority=priority)
    async for rsp in assoc.request_iter(msg, query, context=assoc.context_for(sop_class)):
        if rsp.status in (status_codes.Pending, status_codes.PendingWarning):
            if rsp.dataset is not None:
                yield rsp.dataset
            continue
        if rsp.status not in (status_codes.Success, status_codes.Cancel):
            raise DimseError.from_status(
                rsp.status,
                "find",
                what="worklist C-FIND",
                error_comment=rsp.message.error_comment or "",
            )


async def find_all(assoc: Association, query: Dataset, **kw: Any) -> list[Dataset]:
    """Every match of a worklist query as a list."""
    return [ds async for ds in find(assoc, query, **kw)]


__all__ = [
    "MODALITY_WORKLIST_FIND",
    "FolderSource",
    "ListSource",
    "WorklistSCP",
    "WorklistSource",
    "find",
    "find_all",
    "matches",
    "response_for_item",
    "search",
    "worklist_query",
    "write_item",
]
