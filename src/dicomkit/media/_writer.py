"""Writing a DICOMDIR: records laid out in explicit VR little endian with their offsets filled.

PS3.10 8.6 and PS3.3 F.3: the DICOMDIR is a Part 10 file of the Media Storage Directory
Storage SOP Class (1.2.840.10008.1.3.10) in Explicit VR Little Endian. Its records form a tree
through byte offsets counted from the first byte of the file (the preamble), so the layout is
done in two passes: every record item is encoded once with its offset elements set to 0 (UL
values are always four bytes, so patching them later changes no length), the offsets are
computed from the item sizes, then filled in and the whole file encoded. The result is walked
again with :func:`~dicomkit.media._dicomdir.record_offsets` to prove the layout before it is
written.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.core._sequence import Sequence
from dicomkit.dictionary import tags, uids
from dicomkit.errors import DicomError
from dicomkit.io._encoder import encode_dataset
from dicomkit.media._dicomdir import (
    DIRECTORY_RECORD_SEQUENCE,
    FIRST_RECORD,
    LAST_RECORD,
    LOWER_LEVEL,
    MEDIA_STORAGE_DIRECTORY_STORAGE,
    NEXT_RECORD,
    DicomDir,
    Record,
    record_offsets,
)

__all__ = ["Node", "encode_dicomdir", "nodes_from", "write_dicomdir"]

_SQ_HEADER = 12  # explicit VR: tag, "SQ", 2 reserved bytes, 4-byte length


@dataclass(eq=False)
class Node:
    """A record to write and the records one level below it (its lower-level entity)."""

    dataset: Dataset
    children: list[Node] = field(default_factory=list)

    def walk(self) -> Iterator[Node]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


def nodes_from(dicomdir: DicomDir) -> list[Node]:
    """The tree of a DICOMDIR that was read, as nodes to write again (records copied;
    inactive and unlinked records left out): rewrites a File-set's DICOMDIR in Explicit VR
    Little Endian with fresh offsets."""

    def node(rec: Record) -> Node:
        return Node(rec.dataset.copy(), [node(c) for c in rec.children])

    return [node(r) for r in dicomdir.roots]


def _header(
    fileset_id: str, descriptor: tuple[str, ...] | None, descriptor_charset: str | None
) -> Dataset:
    top = Dataset()
    top.add(DataElement(tags.FileSetID, "CS", fileset_id or None))
    if descriptor:
        top.add(DataElement(tags.FileSetDescriptorFileID, "CS", list(descriptor)))
        if descriptor_charset:
            top.add(
                DataElement(
                    tags.SpecificCharacterSetOfFileSetDescriptorFile, "CS", descriptor_charset
                )
            )
    top.add(DataElement(FIRST_RECORD, "UL", 0))
    top.add(DataElement(LAST_RECORD, "UL", 0))
    top.add(
        DataElement(tags.FileSetConsistencyFlag, "US", 0)
    )  # File-set Consistency Flag: no known problems
    return top


def encode_dicomdir(
    roots: list[Node],
    *,
    fileset_id: str = "",
    descriptor: tuple[str, ...] | None = None,
    descriptor_charset: str | None = None,
    undefined_lengths: bool = False,
    sop_instance_uid: str | None = None,
) -> bytes:
    """The bytes of a DICOMDIR holding ``roots`` (the root directory entity) and everything
    below them. ``undefined_lengths`` writes the sequence and its items with undefined length
    (both are valid; the offsets account for the delimiters)."""
    from dicomkit.core._uid import generate_uid
    from dicomkit.io._part10 import build_file_meta

    meta = build_file_meta(
        MEDIA_STORAGE_DIRECTORY_STORAGE,
        sop_instance_uid or str(generate_uid()),
        uids.ExplicitVRLittleEndian,
    )
    head = b"\x00" * 128 + b"DICM" + encode_dataset(meta, implicit=False, little=True)
    top = _header(fileset_id, descriptor, descriptor_charset)
    prefix = len(encode_dataset(top, implicit=False, little=True))

    order = [n for root in roots for n in root.walk()]
    for node in order:
        node.dataset.add(DataElement(NEXT_RECORD, "UL", 0))
        node.dataset.add(DataElement(LOWER_LEVEL, "UL", 0))
    offsets: dict[int, int] = {}
    pos = len(head) + prefix + _SQ_HEADER
    for node in order:
        offsets[id(node)] = pos
        body = len(encode_dataset(node.dataset, implicit=False, little=True))
        pos += 8 + body + (8 if undefined_lengths else 0)

    def link(siblings: list[Node]) -> None:
        for i, node in enumerate(siblings):
            nxt = offsets[id(siblings[i + 1])] if i + 1 < len(siblings) else 0
            low = offsets[id(node.children[0])] if node.children else 0
            node.dataset.add(DataElement(NEXT_RECORD, "UL", nxt))
            node.dataset.add(DataElement(LOWER_LEVEL, "UL", low))
            link(node.children)

    link(roots)
    if roots:
        top.add(DataElement(FIRST_RECORD, "UL", offsets[id(roots[0])]))
        top.add(DataElement(LAST_RECORD, "UL", offsets[id(roots[-1])]))
    items = Sequence([n.dataset for n in order])
    for item in items:
        item.is_undefined_length_item = undefined_lengths
    top.add(DataElement(DIRECTORY_RECORD_SEQUENCE, "SQ", items, undefined_length=undefined_lengths))
    data = head + encode_dataset(top, implicit=False, little=True)
    found = record_offsets(data, len(head), implicit=False, little=True)
    if found != [offsets[id(n)] for n in order]:  # pragma: no cover - a layout bug
        raise DicomError("DICOMDIR layout check failed: record offsets do not match")
    return data


def write_dicomdir(path: str | os.PathLike[str], roots: list[Node], **options: object) -> None:
    """Encode (see :func:`encode_dicomdir`) and write atomically to ``path``."""
    data = encode_dicomdir(roots, **options)  # type: ignore[arg-type]
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".DICOMDIR-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fp:
            fp.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
