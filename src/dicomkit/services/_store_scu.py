"""The Storage SCU (PS3.4 Annex B) without an event loop, and what both SCU paths share.

:func:`send_files` C-STOREs files on a blocking association
(:mod:`dicomkit.net._blocking`), as ``dicomkit store`` does: no ``asyncio`` to import or run.
A file whose transfer syntax the peer accepted goes out as it lies on disk -- the data set
bytes after the File Meta Information, read a piece at a time into one buffer and written
with the P-DATA headers in one gathering write, never parsed; otherwise it is read,
converted (:mod:`dicomkit.services._convert`) and encoded for the accepted syntax. The
asyncio path (:func:`dicomkit.services._storage.store`) shares the rest of this module:
:func:`read_instance` (the identity of a file from its meta), :func:`contexts_for` (the
presentation contexts to propose), the choice of context per file, and :class:`StoreResult`.

:func:`read_instance` reads the first few KiB of a file and, for the usual Part 10 layout
(preamble, ``DICM``, group 0002 in explicit VR little endian), takes the SOP Class / Instance
UIDs, the transfer syntax and the data set's offset from the meta elements directly; any
other layout goes to the full reader (:func:`dicomkit.io._part10.read_file_meta`, or the data
set's own header when there is no meta).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dicomkit.dictionary.syntaxes import NATIVE
from dicomkit.dictionary.uids import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from dicomkit.errors import (
    DicomError,
    DimseError,
    InvalidDicomError,
    LocalProtocolError,
    NetworkError,
)
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._convert import alternatives, convert, is_lossless, pick, proposed_lossless

if TYPE_CHECKING:
    from dataclasses import dataclass

    from dicomkit.net._blocking import BlockingAssociation
    from dicomkit.net.proto._negotiation import Negotiated, NegotiatedContext
else:  # cheaper to import (see _dataclass)
    from dicomkit._dataclass import dataclass

#: bytes read to find the File Meta Information: first (a meta is usually a few hundred
#: bytes), then at most (more only when it is longer)
_FIRST, _HEAD = 4096, 64 * 1024
#: (0002,eeee) elements whose explicit VR has a 4-byte length (PS3.5 7.1.2)
_LONG_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"})  # fmt: skip
_SHORT = struct.Struct("<HH2sH")  # group, element, VR, 2-byte length
# the meta elements read here (raw tags: this scan runs before the dictionary is loaded)
_META_GROUP_LENGTH, _SOP_CLASS, _SOP_INSTANCE, _SYNTAX = 0x0000, 0x0002, 0x0003, 0x0010


@dataclass(frozen=True, slots=True)
class Instance:
    """A Part 10 file ready to send: identity from its meta, and where its data set lies."""

    path: Path
    sop_class: str
    sop_instance: str
    transfer_syntax: str
    offset: int
    size: int
    has_meta: bool = True


@dataclass(frozen=True, slots=True)
class StoreResult:
    """The outcome for one file: ``status`` (None when it could not be sent) or ``error``."""

    path: Path
    status: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and (
            self.status == 0 or 0xB000 <= self.status <= 0xBFFF or self.status == 0x0001
        )


def _clean(value: Any) -> str:
    return str(value or "").rstrip("\x00 ").strip()


def _scan_meta(head: bytes) -> tuple[str, str, str, int] | None:
    """(SOP class, SOP instance, transfer syntax, data set offset) from a Part 10 file's
    first bytes when they hold its whole meta in the usual layout; else None."""
    if head[128:132] != b"DICM":
        return None
    pos, end = 132, len(head)
    found: dict[int, bytes] = {}
    group_length = start = -1
    while pos + 8 <= end:
        group, element, vr, length = _SHORT.unpack_from(head, pos)
        if group != 2:
            break
        if vr in _LONG_VRS:
            if pos + 12 > end:
                return None
            length = int.from_bytes(head[pos + 8 : pos + 12], "little")
            pos += 12
        elif vr.isalpha() and vr.isupper():
            pos += 8
        else:  # implicit VR meta, or damage: the full reader copes or says why
            return None
        if length == 0xFFFFFFFF or pos + length > end:
            return None
        if element == _META_GROUP_LENGTH and length == 4:
            group_length = int.from_bytes(head[pos : pos + 4], "little")
            start = pos + 4
        elif element in (_SOP_CLASS, _SOP_INSTANCE, _SYNTAX):
            found[element] = head[pos : pos + length]
        pos += length
    else:
        return None  # the meta may go on past what was read
    if group_length >= 0 and pos != start + group_length:
        return None  # a group length the elements disagree with: the full reader decides
    try:
        sop_class, sop_instance, syntax = (
            found[e].rstrip(b"\x00 ").strip().decode("ascii")
            for e in (_SOP_CLASS, _SOP_INSTANCE, _SYNTAX)
        )
    except (KeyError, UnicodeDecodeError):
        return None
    if not (sop_class and sop_instance and syntax):
        return None
    return sop_class, sop_instance, syntax, pos


def read_instance(path: str | os.PathLike[str]) -> Instance:
    """Read only the File Meta Information of a file (raises InvalidDicomError)."""
    p = Path(path)
    with open(p, "rb", buffering=0) as fp:
        size = os.fstat(fp.fileno()).st_size
        head = fp.read(_FIRST)
        scanned = _scan_meta(head)
        if scanned is None and len(head) == _FIRST:  # a long meta, or none: read more
            head += fp.read(_HEAD - _FIRST)
            scanned = _scan_meta(head)
        if scanned is not None:
            return Instance(p, *scanned[:3], scanned[3], size - scanned[3])
        from dicomkit.dictionary import tags
        from dicomkit.io._part10 import read_file_meta

        meta, offset = read_file_meta(head)
        if offset >= len(head) and size > len(head) and size:
            import mmap

            with mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                meta, offset = read_file_meta(mm)
    sop_class = _clean(meta.get(tags.MediaStorageSOPClassUID))
    sop_instance = _clean(meta.get(tags.MediaStorageSOPInstanceUID))
    ts = _clean(meta.get(tags.TransferSyntaxUID))
    if sop_class and sop_instance and ts:
        return Instance(p, sop_class, sop_instance, ts, offset, size - offset)
    # no (usable) meta: a bare data set; identify it by reading its header
    import dicomkit

    ds = dicomkit.read(p, stop_before_pixels=True, force=True)
    sop_class, sop_instance = _clean(ds.get(tags.SOPClassUID)), _clean(ds.get(tags.SOPInstanceUID))
    if not sop_class or not sop_instance:
        raise InvalidDicomError(f"{p}: no SOP Class / Instance UID, cannot be stored")
    return Instance(
        p,
        sop_class,
        sop_instance,
        _clean(ds.transfer_syntax) or ExplicitVRLittleEndian,
        offset,
        size - offset,
        has_meta=False,
    )


def contexts_for(instances: Iterable[Instance]) -> list[tuple[str, list[str]]]:
    """Presentation contexts for sending ``instances``: one per (SOP class, transfer syntax)
    with the file's syntax (explicit then implicit VR little endian after it for uncompressed
    files: they are re-encoded). While the 128 contexts an association allows (PS3.8 9.3.2.2)
    leave room, fallbacks per SOP class follow, in contexts of their own so that a peer never
    picks a conversion over the file's own syntax: explicit / implicit VR little endian for
    compressed files (decoded when the peer takes only those), then the lossless compressed
    syntaxes dicomkit encodes, for exact sources and peers that take only those."""
    seen: dict[tuple[str, str], list[str]] = {}
    decodable: dict[str, None] = {}
    native: set[str] = set()
    exact: dict[str, None] = {}
    for inst in instances:
        key = (inst.sop_class, inst.transfer_syntax)
        if key in seen:
            continue
        ts = inst.transfer_syntax
        if ts in NATIVE:
            native.add(inst.sop_class)
            seen[key] = [ts] + [
                t for t in (ExplicitVRLittleEndian, ImplicitVRLittleEndian) if t != ts
            ]
        else:
            seen[key] = [ts]
            if alternatives(ts, compressed=False):
                decodable[inst.sop_class] = None
        if is_lossless(ts):
            exact[inst.sop_class] = None
    if len(seen) > 128:
        raise LocalProtocolError(
            f"{len(seen)} SOP class / transfer syntax combinations need more than the 128 "
            "presentation contexts an association allows: send the files in smaller batches"
        )
    out = [(sop, ts) for (sop, _), ts in seen.items()]
    fallbacks = [
        (sop, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        for sop in decodable
        if sop not in native
    ]
    if exact:
        lossless = proposed_lossless()
        fallbacks += [(sop, lossless) for sop in exact if lossless]
    return out + fallbacks[: 128 - len(out)]


class Negotiating(Protocol):
    """What choosing a context needs of an association (asyncio or blocking)."""

    @property
    def negotiated(self) -> Negotiated | None: ...

    @property
    def accepted_contexts(self) -> list[NegotiatedContext]: ...


def choose_context(assoc: Negotiating, sop_class: str, ts: str) -> tuple[NegotiatedContext, bool]:
    """The context to send on, and whether the data set must be converted to its syntax."""
    neg = assoc.negotiated
    exact = neg.find(sop_class, ts) if neg else None
    if exact is not None:
        return exact, False
    offered = [c.transfer_syntax for c in assoc.accepted_contexts if c.abstract_syntax == sop_class]
    target = pick(offered, ts)
    if target is not None and neg is not None:
        ctx = neg.find(sop_class, target)
        if ctx is not None:
            return ctx, True
    raise LocalProtocolError(
        f"the peer accepted no presentation context for {sop_class} in {ts}"
        + (
            f" (only {', '.join(sorted(set(offered)))}, and dicomkit has no codec to convert "
            "to them: install the codecs extra, or send to a peer that accepts the file's syntax)"
            if offered
            else ""
        )
    )


def find_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files under the given paths (folders recursively, sorted; hidden files skipped)."""
    out: list[Path] = []
    for item in paths:
        p = Path(item)
        if p.is_dir():
            out += sorted(
                f
                for f in p.rglob("*")
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        else:
            out.append(p)
    return out


def failed(path: Path, exc: Exception) -> StoreResult:
    """The result for a file that could not be stored (``exc`` did not end the
    association); network errors that end it are re-raised."""
    if isinstance(exc, DimseError):  # refused by the peer: the status and its meaning
        return StoreResult(path, exc.status, str(exc))
    if isinstance(exc, NetworkError) and not isinstance(exc, LocalProtocolError):
        raise exc
    return StoreResult(path, None, str(exc))  # no context for it, or it could not be read


class ReadAhead:
    """The next file's data set, read while the peer stores the current one (files the peer
    takes as they are, of at most ``limit`` bytes); one reused buffer."""

    def __init__(self, limit: int = 1 << 20) -> None:
        self.limit = limit
        self._buffer = bytearray()
        self._inst: Instance | None = None
        self._error: Exception | None = None

    def read(self, assoc: BlockingAssociation, inst: Instance) -> None:
        """Read ``inst``'s data set now, if it will be sent as it is (errors kept for
        :meth:`take`)."""
        self._inst = None
        if not inst.has_meta or inst.size > self.limit:
            return
        try:
            if choose_context(assoc, inst.sop_class, inst.transfer_syntax)[1]:
                return  # converted: read when it is sent
        except LocalProtocolError:
            return
        from dicomkit.net._blocking import read_fully

        self._inst, self._error = inst, None
        try:
            if len(self._buffer) < inst.size:
                self._buffer = bytearray(inst.size)
            with open(inst.path, "rb", buffering=0) as fp:
                _check_unchanged(fp, inst)
                fp.seek(inst.offset)
                if read_fully(fp, memoryview(self._buffer)[: inst.size]) < inst.size:
                    raise InvalidDicomError(f"{inst.path}: the file ended early while read")
        except (OSError, DicomError) as exc:
            self._error = exc

    def take(self, inst: Instance) -> memoryview | None:
        """``inst``'s data set if it was read ahead (valid until the next :meth:`read`)."""
        if self._inst is not inst:
            return None
        self._inst = None
        if self._error is not None:
            raise self._error
        return memoryview(self._buffer)[: inst.size]


def _check_unchanged(fp: Any, inst: Instance) -> None:
    now = os.fstat(fp.fileno()).st_size - inst.offset
    if now != inst.size:
        raise InvalidDicomError(
            f"{inst.path}: the file is {abs(inst.size - now)} bytes "
            f"{'shorter' if now < inst.size else 'longer'} than when it was scanned: "
            "it changed meanwhile, send it again"
        )


def send_instance(
    assoc: BlockingAssociation,
    inst: Instance,
    *,
    priority: int = dimse.Priority.MEDIUM,
    ahead: ReadAhead | None = None,
    then: Callable[[], object] | None = None,
) -> dimse.CStoreResponse:
    """C-STORE one file on a blocking association; the response (success or warning:
    check ``status``). A failure status raises ``DimseError``; no accepted context for the
    file, ``LocalProtocolError``. ``ahead``: where the file's data set may have been read
    already; ``then``: called while the peer stores it (see
    :meth:`~dicomkit.net._blocking.BlockingAssociation.request`)."""
    from dicomkit.net._messages import check_response

    ctx, convert_it = choose_context(assoc, inst.sop_class, inst.transfer_syntax)
    request = dimse.CStoreRequest(
        affected_sop_class_uid=inst.sop_class,
        affected_sop_instance_uid=inst.sop_instance,
        priority=priority,
        message_id=assoc.next_message_id(),
        has_dataset=True,
    )
    data = ahead.take(inst) if ahead is not None else None
    if data is not None:  # read while the peer stored the previous file
        rsp = assoc.request(request, data, context=ctx, then=then)
    elif convert_it or not inst.has_meta:
        import dicomkit
        from dicomkit.net._messages import encode_data

        ds = dicomkit.read(inst.path, force=True)
        if convert_it:
            ds = convert(ds, ctx.transfer_syntax)
        rsp = assoc.request(request, encode_data(ds, ctx.transfer_syntax), context=ctx, then=then)
    else:  # as it lies on disk
        with open(inst.path, "rb", buffering=0) as fp:
            _check_unchanged(fp, inst)
            fp.seek(inst.offset)
            rsp = assoc.request(request, fp, size=inst.size, context=ctx, then=then)
    message = check_response(rsp).message
    assert isinstance(message, dimse.CStoreResponse)
    return message


def send_files(
    assoc: BlockingAssociation,
    instances: Sequence[Instance],
    *,
    progress: Callable[[StoreResult], None] | None = None,
) -> list[StoreResult]:
    """C-STORE each instance on one blocking association; never raises for a single file's
    failure (network errors that end the association do propagate). While the peer stores
    one file, the next one is read (:class:`ReadAhead`)."""
    results = []
    ahead = ReadAhead()
    last = len(instances) - 1
    for i, inst in enumerate(instances):
        then = None if i == last else partial(ahead.read, assoc, instances[i + 1])
        try:
            rsp = send_instance(assoc, inst, ahead=ahead, then=then)
            result = StoreResult(inst.path, rsp.status, rsp.error_comment or "")
        except (DicomError, OSError) as exc:
            result = failed(inst.path, exc)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


__all__ = [
    "Instance",
    "Negotiating",
    "ReadAhead",
    "StoreResult",
    "choose_context",
    "contexts_for",
    "failed",
    "find_files",
    "read_instance",
    "send_files",
    "send_instance",
]
