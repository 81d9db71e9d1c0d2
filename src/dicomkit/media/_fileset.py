"""Making a File-set from a folder of instances, or adding to one (PS3.10 8, PS3.11).

Every Part 10 file under the folder becomes a leaf record (IMAGE, SR DOCUMENT, PRESENTATION ...)
under PATIENT -> STUDY -> SERIES records built from its keys (PS3.3 F.5). File IDs
(PS3.10 8.2, 8.5) have at most 8 components of 1-8 characters from A-Z, 0-9 and "_".

With ``output`` the File-set is written to that folder: every instance is copied there as
``DICOM/PATnnnnn/STUnnnnn/SERnnnnn/IMGnnnnn`` (or under its own relative path with
``keep_names``), re-encoded when its transfer syntax is not one the application profile allows
(:mod:`dicomkit.media._profiles`: implicit VR or big endian files become Explicit VR Little
Endian, compressed files are decompressed, or compressed losslessly with ``compress`` and a
JPEG / JPEG 2000 profile); a file that cannot be converted is refused with the reason. Without
``output`` the DICOMDIR is written into the folder itself, which is only done when every file
already conforms (names and transfer syntaxes): nothing is copied next to the originals.
``update`` adds the instances to the File-set's existing DICOMDIR (as DCMTK's ``dcmmkdir +A``).
Files that are not DICOM Part 10 files, and second copies of an SOP Instance, are skipped with
a warning.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.dictionary import tags
from dicomkit.errors import DicomError
from dicomkit.media._dicomdir import MEDIA_STORAGE_DIRECTORY_STORAGE
from dicomkit.media._records import (
    IMAGE,
    PATIENT,
    ROOT_LEVEL_TYPES,
    SERIES,
    STUDY,
    make_record,
    record_type_for,
)
from dicomkit.media._writer import Node, write_dicomdir

__all__ = [
    "MAX_COMPONENTS",
    "CreateResult",
    "Instance",
    "build_tree",
    "create_dicomdir",
    "is_conformant_file_id",
    "scan_folder",
]

log = logging.getLogger(__name__)

MAX_COMPONENTS = 8
_COMPONENT = re.compile(r"[A-Z0-9_]{1,8}\Z")
_FILESET_ID = re.compile(r"[A-Z0-9_]{0,16}\Z")  # PS3.10 8.5: as File IDs, CS up to 16


def is_conformant_file_id(components: Iterable[str]) -> bool:
    """Whether a File ID complies with PS3.10 8.2/8.5 (and STD-GEN-CD): 1-8 components, each
    1-8 characters from A-Z, 0-9 and underscore."""
    comps = list(components)
    return 0 < len(comps) <= MAX_COMPONENTS and all(_COMPONENT.match(c) for c in comps)


@dataclass(eq=False)
class Instance:
    """One Part 10 file of the File-set and what its records need."""

    path: Path
    dataset: Dataset
    sop_class: str
    sop_instance: str
    transfer_syntax: str
    file_id: tuple[str, ...] = ()

    @property
    def record_type(self) -> str:
        return record_type_for(self.sop_class)


@dataclass
class CreateResult:
    """What :func:`create_dicomdir` did."""

    dicomdir: Path
    instances: list[Instance] = field(default_factory=list)  # the instances added
    copied: list[tuple[Path, Path]] = field(default_factory=list)  # (source, copy)
    converted: list[tuple[Path, Path, str]] = field(default_factory=list)  # (source, copy, ts)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (file, reason)
    refused: list[tuple[Path, str]] = field(default_factory=list)  # DICOM files left out
    counts: dict[str, int] = field(default_factory=dict)  # record type -> number
    profile: str = "STD-GEN-CD"
    existing: int = 0  # instances already in the DICOMDIR that was updated


def _uid(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip("\x00 ")


def _read_instance(path: Path) -> Instance | str:
    """The instance in ``path``, or why it is not one."""
    from dicomkit.io._part10 import read

    try:
        with open(path, "rb") as fp:
            head = fp.read(132)
        if head[128:132] != b"DICM":
            return "not a DICOM Part 10 file (no preamble and DICM prefix)"
        ds = read(path, stop_before_pixels=True)
    except (DicomError, OSError) as exc:
        return f"unreadable: {' '.join(str(exc).split())}"
    meta = ds.file_meta or Dataset()
    sop_class = _uid(meta.get(tags.MediaStorageSOPClassUID)) or _uid(ds.get(tags.SOPClassUID))
    sop_instance = _uid(meta.get(tags.MediaStorageSOPInstanceUID)) or _uid(
        ds.get(tags.SOPInstanceUID)
    )
    ts = _uid(meta.get(tags.TransferSyntaxUID))
    if sop_class == MEDIA_STORAGE_DIRECTORY_STORAGE:
        return "a DICOMDIR"
    if not sop_class or not sop_instance or not ts:
        return "no SOP Class, SOP Instance or Transfer Syntax UID in the File Meta"
    return Instance(path, ds, sop_class, sop_instance, ts)


def scan_folder(folder: str | os.PathLike[str]) -> tuple[list[Instance], list[tuple[Path, str]]]:
    """Read the header of every file under ``folder`` (sorted, hidden files left out).
    Returns the instances (first copy of each SOP Instance UID, preferring conformant paths)
    and the skipped files with the reason."""
    root = Path(folder)
    found: list[Instance] = []
    skipped: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or name.upper() == "DICOMDIR":
                continue
            path = Path(dirpath) / name
            got = _read_instance(path)
            if isinstance(got, str):
                log.info("skipping %s: %s", path, got)
                skipped.append((path, got))
            else:
                got.file_id = path.relative_to(root).parts
                found.append(got)
    # Conformant paths first, so that a copy made by an earlier run wins over its original.
    found.sort(key=lambda i: not is_conformant_file_id(i.file_id))
    seen: dict[str, Instance] = {}
    unique: list[Instance] = []
    for inst in found:
        first = seen.get(inst.sop_instance)
        if first is not None:
            reason = f"same SOP Instance UID as {first.path}"
            log.warning("skipping %s: %s", inst.path, reason)
            skipped.append((inst.path, reason))
            continue
        seen[inst.sop_instance] = inst
        unique.append(inst)
    return unique, skipped


# -- grouping --------------------------------------------------------------------------------
def _text(ds: Dataset, key: str) -> str:
    v = ds.get(key)
    if isinstance(v, list):
        v = "\\".join(str(x) for x in v)
    return str(v if v is not None else "").strip()


def _number(ds: Dataset, key: str) -> float:
    try:
        return float(_text(ds, key) or "inf")
    except ValueError:
        return float("inf")


@dataclass(eq=False)
class _Group:
    first: Instance
    members: list[Instance] = field(default_factory=list)
    groups: dict[str, _Group] = field(default_factory=dict)


def _patient_key(ds: Dataset) -> str:
    return _text(ds, "PatientID") or "\x00" + _text(ds, "PatientName")


def _grouped(instances: list[Instance]) -> tuple[dict[str, _Group], list[Instance]]:
    patients: dict[str, _Group] = {}
    root_level: list[Instance] = []
    for inst in instances:
        if inst.record_type in ROOT_LEVEL_TYPES:
            root_level.append(inst)
            continue
        ds = inst.dataset
        pat = patients.setdefault(_patient_key(ds), _Group(inst))
        study = pat.groups.setdefault(_text(ds, "StudyInstanceUID"), _Group(inst))
        series = study.groups.setdefault(_text(ds, "SeriesInstanceUID"), _Group(inst))
        series.members.append(inst)
    return patients, root_level


def _leaf(inst: Instance, ordinal: int) -> Node:
    rec = make_record(inst.record_type, inst.dataset, ordinal=ordinal, label=str(inst.path))
    rec.add(DataElement(tags.ReferencedFileID, "CS", list(inst.file_id)))
    rec.add(DataElement(tags.ReferencedSOPClassUIDInFile, "UI", inst.sop_class))
    rec.add(DataElement(tags.ReferencedSOPInstanceUIDInFile, "UI", inst.sop_instance))
    rec.add(DataElement(tags.ReferencedTransferSyntaxUIDInFile, "UI", inst.transfer_syntax))
    return Node(rec)


def build_tree(instances: list[Instance]) -> list[Node]:
    """The root directory entity for ``instances`` (file IDs already assigned): PATIENT ->
    STUDY -> SERIES -> leaf records, sorted by ID, date, number; patient-independent records
    (hanging protocols, palettes, implant templates) at the root after the patients."""
    patients, root_level = _grouped(instances)
    roots: list[Node] = []
    for p in sorted(patients.values(), key=lambda g: _patient_key(g.first.dataset)):
        pnode = Node(make_record(PATIENT, p.first.dataset, label=str(p.first.path)))
        studies = sorted(
            p.groups.values(),
            key=lambda g: (
                _text(g.first.dataset, "StudyDate"),
                _text(g.first.dataset, "StudyTime"),
                _text(g.first.dataset, "StudyInstanceUID"),
            ),
        )
        for si, s in enumerate(studies, 1):
            snode = Node(make_record(STUDY, s.first.dataset, ordinal=si, label=str(s.first.path)))
            series = sorted(
                s.groups.values(),
                key=lambda g: (
                    _number(g.first.dataset, "SeriesNumber"),
                    _text(g.first.dataset, "SeriesInstanceUID"),
                ),
            )
            for ri, r in enumerate(series, 1):
                rnode = Node(
                    make_record(SERIES, r.first.dataset, ordinal=ri, label=str(r.first.path))
                )
                members = sorted(
                    r.members, key=lambda i: (_number(i.dataset, "InstanceNumber"), i.file_id)
                )
                rnode.children = [_leaf(inst, n) for n, inst in enumerate(members, 1)]
                snode.children.append(rnode)
            pnode.children.append(snode)
        roots.append(pnode)
    roots.extend(_leaf(inst, n) for n, inst in enumerate(root_level, 1))
    return roots


# -- file IDs and copies ------------------------------------------------------------------------
class _Namer:
    """Free STD-GEN-CD names under ``root``: DICOM/PATnnnnn/STUnnnnn/SERnnnnn/IMGnnnnn."""

    def __init__(self, root: Path, taken: set[tuple[str, ...]]) -> None:
        self.root = root
        self.taken = taken
        self.folders: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.counters: dict[tuple[str, ...], int] = {}

    def _next(self, parent: tuple[str, ...], prefix: str) -> tuple[str, ...]:
        n = self.counters.get((*parent, prefix), 0)
        while True:
            n += 1
            if n > 99999:
                raise DicomError(f"more than 99999 entries under {'/'.join(parent)}")
            cand = (*parent, f"{prefix}{n:05d}")
            if cand not in self.taken and not self.root.joinpath(*cand).exists():
                self.counters[(*parent, prefix)] = n
                self.taken.add(cand)
                return cand

    def folder(self, key: tuple[str, ...], parent: tuple[str, ...], prefix: str) -> tuple[str, ...]:
        got = self.folders.get(key)
        if got is None:
            got = self.folders[key] = self._next(parent, prefix)
        return got

    def file_id(self, inst: Instance) -> tuple[str, ...]:
        ds = inst.dataset
        pat = self.folder((_patient_key(ds),), ("DICOM",), "PAT")
        study = self.folder((_patient_key(ds), _text(ds, "StudyInstanceUID")), pat, "STU")
        series = self.folder(
            (_patient_key(ds), _text(ds, "StudyInstanceUID"), _text(ds, "SeriesInstanceUID")),
            study,
            "SER",
        )
        return self._next(series, "IMG" if inst.record_type == IMAGE else "OBJ")


def _descriptor_id(root: Path, descriptor: str | os.PathLike[str]) -> tuple[str, ...]:
    dpath = Path(descriptor)
    dpath = dpath if dpath.is_absolute() else root / dpath
    try:
        desc_id = dpath.resolve().relative_to(root.resolve()).parts
    except ValueError:
        raise DicomError(f"the File-set descriptor {dpath} must be inside {root}") from None
    if not is_conformant_file_id(desc_id):
        raise DicomError(
            f"the File-set descriptor's File ID {'/'.join(desc_id)} does not "
            "comply with PS3.10 8.2 (1-8 components of A-Z, 0-9, _)"
        )
    return desc_id


def _record_key(node: Node) -> str | None:
    """What makes two records of one level the same entity when a File-set is updated."""
    ds = node.dataset
    rtype = str(ds.get(tags.DirectoryRecordType) or "").strip()
    key = {PATIENT: "PatientID", STUDY: "StudyInstanceUID", SERIES: "SeriesInstanceUID"}.get(rtype)
    return f"{rtype}:{_text(ds, key)}" if key else None


def _merge(into: list[Node], new: list[Node]) -> None:
    """Add ``new`` records to the entity ``into``: a PATIENT / STUDY / SERIES already there
    (same Patient ID / Study / Series Instance UID) receives the new records below it."""
    index = {k: n for n in into if (k := _record_key(n)) is not None}
    for node in new:
        key = _record_key(node)
        same = index.get(key) if key is not None else None
        if same is None:
            into.append(node)
            if key is not None:
                index[key] = node
        else:
            _merge(same.children, node.children)


def _retired(sop_class: str) -> str | None:
    """The name of a retired SOP Class (None when it is current or unknown)."""
    from dicomkit.dictionary import uid_info

    info = uid_info(sop_class)
    return f"{info.name} ({sop_class})" if info is not None and info.retired else None


def _plan(
    instances: list[Instance],
    profile: Any,
    compress: bool,
    result: CreateResult,
    allow_retired: bool = False,
) -> list[tuple[Instance, Any]]:
    from dicomkit.media._profiles import plan_syntax

    accepted = []
    for inst in instances:
        retired = None if allow_retired else _retired(inst.sop_class)
        if retired is not None:
            reason = (
                f"its SOP Class {retired} is retired: {profile.name} holds the storage SOP "
                "Classes of the current standard (allow_retired / --allow-retired-sop "
                "includes it, as dcmmkdir +Nrs)"
            )
            log.warning("refusing %s: %s", inst.path, reason)
            result.refused.append((inst.path, reason))
            continue
        plan = plan_syntax(
            inst.transfer_syntax,
            profile,
            has_pixels=tags.Rows in inst.dataset,  # Rows: pixel data follows
            compress=compress,
        )
        if plan.target is None:
            log.warning("refusing %s: %s", inst.path, plan.reason)
            result.refused.append((inst.path, plan.reason))
        else:
            accepted.append((inst, plan))
    return accepted


def _not_in_place(accepted: list[tuple[Instance, Any]], keep_names: bool) -> list[str]:
    """Why the File-set cannot be made where the files are (copies would be needed)."""
    why = []
    for inst, plan in accepted:
        if plan.convert:
            why.append(f"{'/'.join(inst.file_id)}: {plan.reason}")
        elif not keep_names and not is_conformant_file_id(inst.file_id):
            why.append(f"{'/'.join(inst.file_id)}: not a conformant File ID")
    return why


def create_dicomdir(
    folder: str | os.PathLike[str],
    *,
    fileset_id: str = "",
    output: str | os.PathLike[str] | None = None,
    keep_names: bool = False,
    descriptor: str | os.PathLike[str] | None = None,
    descriptor_charset: str | None = None,
    undefined_lengths: bool = False,
    profile: str = "STD-GEN-CD",
    compress: bool = False,
    update: bool = False,
    allow_retired: bool = False,
) -> CreateResult:
    """Make a File-set of the instances under ``folder`` and write its DICOMDIR.

    ``output`` is the File-set's folder: instances are copied there under conformant File IDs
    (their own relative paths with ``keep_names``, which then do not meet the profile when they
    do not comply), re-encoded to a transfer syntax ``profile`` allows (PS3.11; see
    :mod:`dicomkit.media._profiles`), or refused (``CreateResult.refused``) when no installed
    codec can convert them. ``compress`` encodes images losslessly in the profile's compressed
    syntax (JPEG Lossless SV1, JPEG 2000 lossless). Without ``output`` the DICOMDIR is written
    into ``folder``, and only when nothing would have to be copied or converted
    (:class:`~dicomkit.errors.DicomError` says which files stand in the way).

    ``update`` adds the instances to the DICOMDIR already in the File-set (``output``, else
    ``folder``), keeping its records; instances it already lists are skipped. Without
    ``update`` an ``output`` that already holds a DICOMDIR is refused (its files would be left
    out of the new one). ``descriptor`` is a File-set Descriptor file (PS3.10 8.3) inside the
    File-set root. Instances of retired SOP Classes are refused unless ``allow_retired``.
    """
    from dicomkit.media._dicomdir import read_dicomdir
    from dicomkit.media._profiles import can_compress, conform, get_profile
    from dicomkit.media._writer import nodes_from

    prof = get_profile(profile)
    if compress:
        why = can_compress(prof)
        if why is not None:
            raise DicomError(f"cannot compress for {prof.name}: {why}")
    src = Path(folder)
    if not src.is_dir():
        raise DicomError(f"{src} is not a folder")
    if fileset_id and not _FILESET_ID.match(fileset_id):
        raise DicomError(
            f"File-set ID {fileset_id!r} must be up to 16 characters from A-Z, "
            "0-9 and underscore (PS3.10 8.5)"
        )
    root = Path(output) if output is not None else src
    in_place = root.resolve() == src.resolve()
    target = root / "DICOMDIR"
    existing_roots: list[Node] = []
    known: set[str] = set()
    taken: set[tuple[str, ...]] = set()
    desc_id: tuple[str, ...] | None = None
    if update:
        if not target.is_file():
            raise DicomError(f"{root} holds no DICOMDIR to update: create the File-set first")
        old = read_dicomdir(target)
        existing_roots = nodes_from(old)
        for rec in old.instances():
            known.add(rec.sop_instance_uid or "")
            if rec.file_id:
                taken.add(tuple(c.upper() for c in rec.file_id))
        fileset_id = fileset_id or old.fileset_id
        desc_id = old.descriptor_file_id
        descriptor_charset = descriptor_charset or (
            str(old.dataset.get(tags.SpecificCharacterSetOfFileSetDescriptorFile) or "") or None
        )
    elif not in_place and target.exists():
        raise DicomError(
            f"{root} already holds a DICOMDIR: add files to it with update "
            "(`dicomkit dicomdir add`), or give an empty folder"
        )
    instances, skipped = scan_folder(src)
    result = CreateResult(target, skipped=skipped, profile=prof.name)
    fresh = []
    for inst in instances:
        if inst.sop_instance in known:
            if not in_place:  # in place, the File-set's own files are met again: no news
                result.skipped.append((inst.path, "already in the File-set"))
        else:
            fresh.append(inst)
    result.existing = len(known)
    accepted = _plan(fresh, prof, compress, result, allow_retired)
    blockers = _not_in_place(accepted, keep_names) if in_place else []
    if blockers:
        more = f" (and {len(blockers) - 3} more)" if len(blockers) > 3 else ""
        raise DicomError(
            f"cannot make {src} a {prof.name} File-set in place: {len(blockers)} file(s) would "
            f"have to be copied or converted ({'; '.join(blockers[:3])}{more}); give an output "
            "folder (--output OUT) to write the File-set there, the originals untouched"
        )
    root.mkdir(parents=True, exist_ok=True)
    taken |= {i.file_id for i, _ in accepted} if in_place else set()
    namer = _Namer(root, taken)
    for inst, plan in accepted:
        rel = inst.file_id
        if keep_names:
            if not is_conformant_file_id(rel):
                log.warning(
                    "%s: File ID %s does not comply with PS3.10 8.2 (kept as asked)",
                    inst.path,
                    "/".join(rel),
                )
            new = rel
        else:
            new = rel if in_place else namer.file_id(inst)
        if not in_place:
            dest = root.joinpath(*new)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if plan.convert:
                try:
                    ts = conform(inst.path, dest, str(plan.target))
                except DicomError as exc:  # e.g. a damaged compressed frame
                    reason = f"converting it failed: {' '.join(str(exc).split())}"
                    log.warning("refusing %s: %s", inst.path, reason)
                    result.refused.append((inst.path, reason))
                    continue
                inst.transfer_syntax = ts
                result.converted.append((inst.path, dest, ts))
                log.info("%s -> %s: %s", inst.path, dest, plan.reason)
            else:
                shutil.copy2(inst.path, dest)
                result.copied.append((inst.path, dest))
            inst.path = dest
        inst.file_id = new
        result.instances.append(inst)
    roots = build_tree(result.instances)
    if update:
        _merge(existing_roots, roots)
        roots = existing_roots
    if descriptor is not None:
        desc_id = _descriptor_id(root, descriptor)
    write_dicomdir(
        target,
        roots,
        fileset_id=fileset_id,
        descriptor=desc_id,
        descriptor_charset=descriptor_charset,
        undefined_lengths=undefined_lengths,
    )
    for top in roots:
        for node in top.walk():
            rtype = str(node.dataset.get(tags.DirectoryRecordType))
            result.counts[rtype] = result.counts.get(rtype, 0) + 1
    return result
