"""Reading a DICOMDIR: the Basic Directory IOD (PS3.3 Annex F) of a File-set (PS3.10 8, 9).

The Directory Record Sequence (0004,1220) is a flat list of items; the hierarchy lives in byte
offsets (PS3.3 F.3.2.1, Table F.3-3). Each offset counts bytes from the first byte of the File
Meta Information -- the first byte of the 128-byte preamble -- to the first byte of an item's
Item tag:

- (0004,1200) / (0004,1202): first / last record of the root directory entity,
- (0004,1400) Offset of the Next Directory Record: the next record of the same entity,
- (0004,1420) Offset of Referenced Lower-Level Directory Entity: the first record one level
  down (PATIENT -> STUDY -> SERIES -> IMAGE ...),

0 meaning "none" in every case. The decoder does not report where items start, so
:func:`record_spans` walks the raw bytes of the sequence (item headers and element lengths
only) and each record is decoded from its own span; a damaged sequence (an item length past
its end, as some tools write) then costs no more than that item's tail. Records whose Record
In-use Flag (0004,1410) is 0000H are inactive and left out of the tree (PS3.3 F.3.2.2).

Some writers leave every offset 0. The tree of such a DICOMDIR is rebuilt from the order of
the records in the sequence and their types (PATIENT, then its STUDY, SERIES and leaf records,
as Table F.4-1 nests them), and ``DicomDir.inferred`` says so.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.core._sequence import Sequence
from dicomkit.core._tag import ITEM, ITEM_DELIMITATION, SEQUENCE_DELIMITATION
from dicomkit.dictionary import tags, uids
from dicomkit.errors import InvalidDicomError
from dicomkit.io._scan import ShortData, skip_undefined
from dicomkit.io._scan import header as scan_header

__all__ = [
    "DIRECTORY_RECORD_SEQUENCE",
    "MEDIA_STORAGE_DIRECTORY_STORAGE",
    "DicomDir",
    "ItemSpan",
    "Record",
    "read_dicomdir",
    "record_offsets",
    "record_spans",
    "resolve_file_id",
]

log = logging.getLogger(__name__)

#: Media Storage Directory Storage SOP Class (PS3.4 Annex I; PS3.10 8.6).
MEDIA_STORAGE_DIRECTORY_STORAGE = uids.MediaStorageDirectoryStorage
DIRECTORY_RECORD_SEQUENCE = 0x00041220
FIRST_RECORD = 0x00041200
LAST_RECORD = 0x00041202
NEXT_RECORD = 0x00041400
IN_USE = 0x00041410
LOWER_LEVEL = 0x00041420
RECORD_TYPE = 0x00041430
REFERENCED_FILE_ID = 0x00041500

_UNDEF = 0xFFFFFFFF


# -- raw offsets ------------------------------------------------------------------------------
class _Walker:
    """Skips over encoded elements with the one header scanner (:mod:`dicomkit.io._scan`)."""

    def __init__(self, buf: Any, little: bool) -> None:
        self.buf = buf
        self.end = len(buf)
        self.little = little

    def header(self, pos: int, implicit: bool) -> tuple[int, bytes, int, int]:
        """``(tag, vr, length, value offset)`` of the element at ``pos``."""
        try:
            return scan_header(self.buf, pos, self.end, implicit, self.little)
        except ShortData:
            raise InvalidDicomError("DICOMDIR ends inside an element header", offset=pos) from None

    def skip_element(self, pos: int, implicit: bool) -> int:
        _, vr, length, pos = self.header(pos, implicit)
        if length != _UNDEF:
            return pos + length
        # An undefined length: a sequence, encapsulated pixel data, or an explicit UN holding
        # implicit VR little endian items (PS3.5 6.2.2) -- items until the delimiter.
        un = vr == b"UN"
        return skip_undefined(self.buf, pos, self.end, implicit or un, self.little or un)

    def skip_item_body(self, pos: int, length: int, implicit: bool) -> int:
        if length != _UNDEF:
            return pos + length
        while True:
            tag = self.header(pos, True)[0]
            if tag == ITEM_DELIMITATION:
                return pos + 8
            pos = self.skip_element(pos, implicit)
            if pos > self.end:
                raise InvalidDicomError("item without an item delimitation", offset=pos)


@dataclass(frozen=True, slots=True)
class ItemSpan:
    """Where one directory record item lies in the file: ``offset`` of its Item tag,
    ``start``/``end`` of its body, and whether its length ran past its sequence (clamped)."""

    offset: int
    start: int
    end: int
    clamped: bool = False


def record_spans(buf: Any, start: int, *, implicit: bool, little: bool) -> list[ItemSpan]:
    """Locate every item of the Directory Record Sequence (0004,1220).

    ``buf`` is the whole file (preamble included), ``start`` the offset of the data set after
    the File Meta Information. Offsets count from the first byte of ``buf`` (PS3.3 F.3.2.1).
    An item whose declared length runs past the end of its sequence is clamped to it.
    """
    w = _Walker(buf, little)
    pos = start
    while pos + 8 <= w.end:
        tag, vr, length, value = w.header(pos, implicit)
        if tag == DIRECTORY_RECORD_SEQUENCE:
            spans: list[ItemSpan] = []
            end = w.end if length == _UNDEF else min(value + length, w.end)
            p = value
            item_implicit = implicit or vr == b"UN"
            while p + 8 <= end:
                itag, _, ilen, body = w.header(p, True)
                if itag == SEQUENCE_DELIMITATION:
                    break
                if itag != ITEM:
                    raise InvalidDicomError("expected a directory record item", offset=p, tag=itag)
                if ilen == _UNDEF:
                    after = w.skip_item_body(body, ilen, item_implicit)
                    spans.append(ItemSpan(p, body, after - 8))
                elif body + ilen > end:
                    spans.append(ItemSpan(p, body, end, True))
                    after = end
                else:
                    after = body + ilen
                    spans.append(ItemSpan(p, body, after))
                p = after
            return spans
        if tag > DIRECTORY_RECORD_SEQUENCE:
            break
        pos = w.skip_element(pos, implicit)
    return []


def record_offsets(buf: Any, start: int, *, implicit: bool, little: bool) -> list[int]:
    """The file offset of every directory record item (see :func:`record_spans`)."""
    return [s.offset for s in record_spans(buf, start, implicit=implicit, little=little)]


# -- the tree ---------------------------------------------------------------------------------
@dataclass(eq=False)
class Record:
    """One directory record (PS3.3 F.3.2.2) and its place in the tree."""

    dataset: Dataset
    offset: int
    parent: Record | None = None
    children: list[Record] = field(default_factory=list)
    path: Path | None = None  # the referenced file, resolved against the File-set root

    @property
    def record_type(self) -> str:
        """Directory Record Type (0004,1430): ``PATIENT``, ``STUDY``, ``SERIES``, ``IMAGE`` ..."""
        return str(self.dataset.get(RECORD_TYPE) or "")

    @property
    def in_use(self) -> bool:
        """False for a record marked inactive (Record In-use Flag (0004,1410) = 0)."""
        flag = self.dataset.get(IN_USE)
        return flag is None or flag != 0

    @property
    def file_id(self) -> tuple[str, ...] | None:
        """Referenced File ID (0004,1500) components, or None."""
        value = self.dataset.get(REFERENCED_FILE_ID)
        if value is None or value == "":
            return None
        parts = [value] if isinstance(value, str) else list(value)
        return tuple(str(p).strip() for p in parts)

    @property
    def sop_instance_uid(self) -> str | None:
        """Referenced SOP Instance UID in File (0004,1511), or ``None``."""
        v = self.dataset.get(tags.ReferencedSOPInstanceUIDInFile)
        return str(v) if v else None

    @property
    def sop_class_uid(self) -> str | None:
        """Referenced SOP Class UID in File (0004,1510), or ``None``."""
        v = self.dataset.get(tags.ReferencedSOPClassUIDInFile)
        return str(v) if v else None

    @property
    def transfer_syntax_uid(self) -> str | None:
        """Referenced Transfer Syntax UID in File (0004,1512), or ``None``."""
        v = self.dataset.get(tags.ReferencedTransferSyntaxUIDInFile)
        return str(v) if v else None

    def walk(self, depth: int = 0) -> Iterator[tuple[int, Record]]:
        """This record and those below it, depth first, with their depth."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)

    def get(self, key: Any, default: Any = None) -> Any:
        """A value of the record's data set (by keyword or tag), or ``default``."""
        return self.dataset.get(key, default)

    def __getattr__(self, name: str) -> Any:
        if name[:1].isupper():
            return getattr(self.dataset, name)
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"Record({self.record_type!r}, offset={self.offset}, children={len(self.children)})"


@dataclass(eq=False)
class DicomDir:
    """A DICOMDIR read from a file: the data set, its records and their tree."""

    dataset: Dataset
    root: Path  # the File-set root: the DICOMDIR's folder
    records: list[Record]  # every record, in sequence order
    roots: list[Record]  # the root directory entity, linked order
    orphans: list[Record] = field(default_factory=list)  # in use but not linked from the root
    problems: list[str] = field(default_factory=list)  # broken links found while reading
    #: How the tree was built when the records carry no offsets (empty when it was read from
    #: the offsets): what was inferred from the sequence order and the record types.
    inferred: list[str] = field(default_factory=list)

    @property
    def fileset_id(self) -> str:
        """File-set ID (0004,1130), empty when there is none."""
        return str(self.dataset.get(tags.FileSetID) or "")

    @property
    def descriptor_file_id(self) -> tuple[str, ...] | None:
        """File-set Descriptor File ID (0004,1141) as path components, or ``None``."""
        v = self.dataset.get(tags.FileSetDescriptorFileID)
        if not v:
            return None
        return (v,) if isinstance(v, str) else tuple(str(p) for p in v)

    def walk(self) -> Iterator[tuple[int, Record]]:
        """Every record of the tree, depth first, with its depth (0 for the root entity)."""
        for rec in self.roots:
            yield from rec.walk()

    def instances(self) -> list[Record]:
        """The records in the tree that reference a file (images, SR documents ...)."""
        return [r for _, r in self.walk() if r.file_id is not None]

    def by_offset(self, offset: int) -> Record | None:
        """The record that starts at byte ``offset`` of the DICOMDIR, or ``None``."""
        return next((r for r in self.records if r.offset == offset), None)


def read_dicomdir(path: str | os.PathLike[str], *, lenient: bool = False) -> DicomDir:
    """Read a DICOMDIR and link its records into a tree (PS3.3 F.3, PS3.10 8).

    Offsets that do not point at a record raise :class:`InvalidDicomError`, or with
    ``lenient`` are noted in ``DicomDir.problems`` and the link is dropped. Referenced File
    IDs are resolved to paths under the DICOMDIR's folder (``Record.path``; ``None`` when the
    file is missing). When no record carries an offset (all 0), the tree is rebuilt from the
    sequence order and the record types and ``DicomDir.inferred`` says what was inferred.
    """
    from dicomkit.dictionary.syntaxes import encoding as ts_encoding
    from dicomkit.io._decoder import decode_dataset
    from dicomkit.io._part10 import read, read_file_meta

    path = Path(path)
    buf = path.read_bytes()
    # The records are decoded one by one from the spans found below, so that a damaged
    # sequence (e.g. an item length past its end) costs only what it must.
    ds = read(buf, lenient=True)
    _, start = read_file_meta(buf, lenient=lenient)
    ts = str(ds.transfer_syntax or uids.ExplicitVRLittleEndian)
    implicit, little, deflated = ts_encoding(ts)
    if deflated:
        raise InvalidDicomError(f"a deflated DICOMDIR ({ts}) has no usable record offsets")
    implicit = bool(ds.is_implicit_vr) if ds.is_implicit_vr is not None else implicit
    spans = record_spans(buf, start, implicit=implicit, little=little)
    items = [
        decode_dataset(
            buf,
            s.start,
            end=s.end,
            implicit=implicit,
            little=little,
            charsets=ds.charsets,
            lenient=lenient,
        )
        for s in spans
    ]
    problems = [
        f"item at offset {s.offset}: length runs past the end of the sequence"
        for s in spans
        if s.clamped
    ]
    errors = [e for e in ds.read_errors if not _inside(e, spans)]
    if errors and not lenient:
        raise errors[0]
    problems += [str(e) for e in errors]
    for msg in problems:
        log.warning("DICOMDIR %s: %s", path, msg)
    # The data set carries the records as decoded here (complete even where the sequence
    # itself was damaged), so that dd.dataset and dd.records agree.
    undefined = (
        DIRECTORY_RECORD_SEQUENCE in ds and ds[DIRECTORY_RECORD_SEQUENCE].is_undefined_length
    )
    if spans or DIRECTORY_RECORD_SEQUENCE in ds:
        ds.add(
            DataElement(
                DIRECTORY_RECORD_SEQUENCE, "SQ", Sequence(items), undefined_length=undefined
            )
        )
    records = [Record(item, s.offset) for item, s in zip(items, spans, strict=True)]
    dd = DicomDir(ds, path.parent, records, [], problems=problems)
    _link(dd, lenient)
    resolver = _Resolver(dd.root)
    for rec in records:
        fid = rec.file_id
        if fid is not None:
            rec.path = resolver.resolve(fid)
    return dd


def _inside(err: InvalidDicomError, spans: list[ItemSpan]) -> bool:
    """Whether a read error lies within the record items (those are decoded again)."""
    if err.offset is None or not spans:
        return err.tag == DIRECTORY_RECORD_SEQUENCE
    return spans[0].offset <= err.offset <= spans[-1].end or err.tag == DIRECTORY_RECORD_SEQUENCE


def _fail(dd: DicomDir, lenient: bool, message: str, offset: int | None = None) -> None:
    if not lenient:
        raise InvalidDicomError(message, offset=offset)
    log.warning("DICOMDIR: %s", message)
    dd.problems.append(message)


def _link(dd: DicomDir, lenient: bool) -> None:
    """Follow the offsets from (0004,1200) and build the tree; guard against cycles."""
    at = {r.offset: r for r in dd.records}
    seen: set[int] = set()

    def chain(first: int, parent: Record | None, where: str) -> list[Record]:
        out: list[Record] = []
        offset = first
        while offset:
            rec = at.get(offset)
            if rec is None:
                _fail(
                    dd,
                    lenient,
                    f"{where} points at offset {offset}, where no directory record starts",
                    offset,
                )
                break
            if offset in seen:
                _fail(
                    dd,
                    lenient,
                    f"{where} links back to the record at offset {offset} (a cycle)",
                    offset,
                )
                break
            seen.add(offset)
            if rec.in_use:
                rec.parent = parent
                out.append(rec)
            lower = _int(rec.dataset.get(LOWER_LEVEL))
            if lower:
                kids = chain(lower, rec, f"record at offset {offset}: (0004,1420)")
                if rec.in_use:
                    rec.children = kids
            where = f"record at offset {offset}: (0004,1400)"
            offset = _int(rec.dataset.get(NEXT_RECORD))
        return out

    if dd.records and _no_offsets(dd):
        _infer(dd)
        return
    first = _int(dd.dataset.get(FIRST_RECORD))
    if not first and dd.records:
        # An offset of 0 with records present: some writers leave it out; start at the first.
        first = dd.records[0].offset
    dd.roots = chain(first, None, "(0004,1200)")
    dd.orphans = [r for r in dd.records if r.offset not in seen and r.in_use]
    if dd.orphans:
        log.info("DICOMDIR: %d record(s) not reachable from the root", len(dd.orphans))


# -- records without offsets ------------------------------------------------------------------
#: The container records of PS3.3 F.4 (Table F.4-1) and their level below the root entity.
_CONTAINER_LEVEL = {"PATIENT": 0, "TOPIC": 0, "STUDY": 1, "SERIES": 2}
#: Leaf records of the root directory entity, and those directly under a PATIENT (F.4-1).
_ROOT_LEAVES = frozenset(
    {"HANGING PROTOCOL", "PALETTE", "IMPLANT", "IMPLANT ASSY", "IMPLANT GROUP"}
)
_PATIENT_LEAVES = frozenset({"HL7 STRUC DOC"})
_MAX_NOTES = 20


def _no_offsets(dd: DicomDir) -> bool:
    """Whether no record, nor the root entity, carries a link (all (0004,1200), (0004,1202),
    (0004,1400) and (0004,1420) zero or absent)."""
    if _int(dd.dataset.get(FIRST_RECORD)) or _int(dd.dataset.get(LAST_RECORD)):
        return False
    return not any(
        _int(r.dataset.get(NEXT_RECORD)) or _int(r.dataset.get(LOWER_LEVEL)) for r in dd.records
    )


def _infer(dd: DicomDir) -> None:
    """Build the tree of a DICOMDIR whose records carry no offsets from their order in the
    Directory Record Sequence and their types (PS3.3 F.4, Table F.4-1): each PATIENT opens a
    patient, each STUDY a study of the last patient, each SERIES a series of the last study;
    a leaf record (IMAGE, SR DOCUMENT ...) belongs to the last series, HL7 STRUC DOC to the
    last patient, HANGING PROTOCOL / PALETTE / IMPLANT* records to the root, PRIVATE to the
    last open record. What could not be placed as the standard expects is noted."""
    notes: list[str] = []
    open_: list[Record] = []  # the open containers, outermost first

    def place(rec: Record, parent: Record | None) -> None:
        rec.parent = parent
        (parent.children if parent is not None else dd.roots).append(rec)

    def note(rec: Record, what: str) -> None:
        if len(notes) < _MAX_NOTES:
            notes.append(f"record at offset {rec.offset} ({rec.record_type or 'no type'}): {what}")

    active = [r for r in dd.records if r.in_use]
    for rec in active:
        rtype = rec.record_type.strip()
        level = _CONTAINER_LEVEL.get(rtype)
        if level is not None:
            while open_ and _CONTAINER_LEVEL[open_[-1].record_type.strip()] >= level:
                open_.pop()
            parent = open_[-1] if open_ else None
            if level and parent is None:
                note(rec, "no record of the level above precedes it; placed at the root")
            elif parent is not None and _CONTAINER_LEVEL[parent.record_type.strip()] != level - 1:
                note(rec, f"placed under the {parent.record_type} before it (a level is missing)")
            place(rec, parent)
            open_.append(rec)
        elif rtype in _ROOT_LEAVES:
            open_.clear()
            place(rec, None)
        elif rtype in _PATIENT_LEAVES:
            while open_ and open_[-1].record_type.strip() != "PATIENT":
                open_.pop()
            if not open_:
                note(rec, "no PATIENT record precedes it; placed at the root")
            place(rec, open_[-1] if open_ else None)
        elif rtype == "PRIVATE":
            place(rec, open_[-1] if open_ else None)
        else:
            parent = open_[-1] if open_ else None
            if parent is None:
                note(rec, "no SERIES record precedes it; placed at the root")
            elif parent.record_type.strip() != "SERIES":
                note(rec, f"placed under the {parent.record_type} before it (no SERIES)")
            place(rec, parent)
    summary = (
        "no directory record carries an offset ((0004,1200), (0004,1400), (0004,1420) all 0): "
        f"the tree of {len(active)} record(s) was rebuilt from their order in the Directory "
        "Record Sequence and their types (PS3.3 F.4)"
    )
    dd.inferred = [summary, *notes]
    for msg in dd.inferred:
        log.warning("DICOMDIR: %s", msg)


def _int(value: Any) -> int:
    if isinstance(value, list):
        value = value[0] if value else 0
    return int(value or 0)


# -- file IDs -> paths ------------------------------------------------------------------------
class _Resolver:
    """Referenced File IDs to paths: exact, then case-insensitive, then with the ISO 9660
    ``;1`` version or trailing ``.`` some CD writers add (listing each folder once)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.listings: dict[Path, dict[str, str]] = {}

    def _match(self, folder: Path, name: str) -> str | None:
        listing = self.listings.get(folder)
        if listing is None:
            try:
                names = os.listdir(folder)
            except OSError:
                names = []
            listing = {}
            for n in sorted(names):
                key = n.upper()
                listing.setdefault(key, n)
                bare = key.split(";", 1)[0].rstrip(".")
                listing.setdefault(bare, n)
            self.listings[folder] = listing
        return listing.get(name.upper())

    def resolve(self, components: tuple[str, ...]) -> Path | None:
        exact = self.root.joinpath(*components)
        if exact.exists():
            return exact
        folder = self.root
        for comp in components:
            found = self._match(folder, comp)
            if found is None:
                return None
            folder = folder / found
        return folder if folder.exists() else None


def resolve_file_id(
    root: str | os.PathLike[str], file_id: tuple[str, ...] | list[str] | str
) -> Path | None:
    """The path of a Referenced File ID (0004,1500) under the File-set ``root`` (components
    joined with the OS separator, PS3.10 8.2), matching case-insensitively; None if missing."""
    comps = (file_id,) if isinstance(file_id, str) else tuple(file_id)
    if isinstance(file_id, str) and "\\" in file_id:
        comps = tuple(file_id.split("\\"))
    return _Resolver(Path(root)).resolve(comps)
