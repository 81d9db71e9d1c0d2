"""The Storage service class (PS3.4 Annex B), both sides, with bounded memory.

SCP: :class:`StorageSCP` streams each incoming C-STORE data set straight into a Part 10 file
(PS3.10 7.1): the File Meta Information is written first, from the command's Affected SOP
Class / Instance UIDs and the presentation context's transfer syntax, then each P-DATA
fragment is appended as it arrives. The file is written under a temporary name in the
destination folder, fsynced and renamed into place before the success response is sent, so a
failed or aborted C-STORE leaves no partial file and memory stays bounded by one PDU.
The leading elements are checked as the first bytes arrive (:class:`HeadCheck`): a data set
that cannot be decoded in the context's transfer syntax is answered C000 (Cannot understand),
one whose SOP Class UID differs from the command's A900, one whose SOP Instance UID differs
C000; the temporary file is removed and nothing is stored.

SCU: :func:`store` sends a Part 10 file from disk without loading it -- the meta is read, then
the data set bytes go out from the file region in chunks. When the accepted transfer syntax
differs from the file's, uncompressed data sets are converted through the io layer.
:func:`contexts_for` proposes presentation contexts from the files' SOP classes and transfer
syntaxes (with explicit/implicit VR little endian fallbacks for uncompressed files).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import mmap
import os
import re
import struct
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dicomkit.dictionary.syntaxes import NATIVE
from dicomkit.dictionary.syntaxes import lookup as lookup_syntax
from dicomkit.dictionary.uids import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from dicomkit.errors import DicomError, InvalidDicomError, LocalProtocolError
from dicomkit.net.association import Association, Incoming
from dicomkit.net.proto import dimse
from dicomkit.net.proto.negotiation import NegotiatedContext

log = logging.getLogger("dicomkit.services.storage")

#: Native syntaxes to convert a data set to when the peer lacks the file's own, best first.
_CONVERT_TO = (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
)
_CHUNK = 1 << 20
_HEAD = 64 * 1024
_UNSAFE = re.compile(r"[^0-9A-Za-z._-]")


# -- SCU --------------------------------------------------------------------------------------


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


def _clean(value: Any) -> str:
    return str(value or "").rstrip("\x00 ").strip()


def read_instance(path: str | os.PathLike[str]) -> Instance:
    """Read only the File Meta Information of a file (raises InvalidDicomError)."""
    from dicomkit.io.part10 import read_file_meta

    p = Path(path)
    with open(p, "rb") as fp:
        size = os.fstat(fp.fileno()).st_size
        head = fp.read(_HEAD)
        meta, offset = read_file_meta(head)
        if offset >= len(head) and size > len(head) and size:
            with mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                meta, offset = read_file_meta(mm)
    sop_class = _clean(meta.get(0x00020002))
    sop_instance = _clean(meta.get(0x00020003))
    ts = _clean(meta.get(0x00020010))
    if sop_class and sop_instance and ts:
        return Instance(p, sop_class, sop_instance, ts, offset, size - offset)
    # no (usable) meta: a bare data set; identify it by reading its header
    import dicomkit

    ds = dicomkit.read(p, stop_before_pixels=True, force=True)
    sop_class, sop_instance = _clean(ds.get(0x00080016)), _clean(ds.get(0x00080018))
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
    """Presentation contexts for sending ``instances``: one per (SOP class, transfer syntax),
    the file's syntax first, explicit then implicit VR little endian after it for
    uncompressed files (they can be converted). At most 128 (PS3.8 9.3.2.2)."""
    seen: dict[tuple[str, str], list[str]] = {}
    for inst in instances:
        key = (inst.sop_class, inst.transfer_syntax)
        if key in seen:
            continue
        syntaxes = [inst.transfer_syntax]
        if inst.transfer_syntax in NATIVE:
            syntaxes += [
                ts
                for ts in (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
                if ts != inst.transfer_syntax
            ]
        seen[key] = syntaxes
    if len(seen) > 128:
        raise LocalProtocolError(
            f"{len(seen)} SOP class / transfer syntax combinations need more than the 128 "
            "presentation contexts an association allows: send the files in smaller batches"
        )
    return [(sop, ts) for (sop, _), ts in seen.items()]


def _file_chunks(path: Path, offset: int, size: int) -> Iterator[bytes]:
    with open(path, "rb") as fp:
        fp.seek(offset)
        left = size
        while left > 0:
            chunk = fp.read(min(_CHUNK, left))
            if not chunk:
                raise InvalidDicomError(f"{path}: file shrank while being sent")
            left -= len(chunk)
            yield chunk


def _choose(
    assoc: Association, sop_class: str, ts: str, convertible: bool
) -> tuple[NegotiatedContext, bool]:
    """The context to send on, and whether the data set must be converted."""
    neg = assoc.negotiated
    exact = neg.find(sop_class, ts) if neg else None
    if exact is not None:
        return exact, False
    if convertible and neg is not None:
        for pref in _CONVERT_TO:
            ctx = neg.find(sop_class, pref)
            if ctx is not None:
                return ctx, True
    offered = sorted(
        {c.transfer_syntax for c in assoc.accepted_contexts if c.abstract_syntax == sop_class}
    )
    raise LocalProtocolError(
        f"the peer accepted no presentation context for {sop_class} in {ts}"
        + (
            f" (only {', '.join(offered)}; converting compressed data is not supported)"
            if offered
            else ""
        )
    )


async def store(
    assoc: Association,
    source: Any,
    *,
    priority: int = dimse.Priority.MEDIUM,
    move_originator_aet: str | None = None,
    move_originator_message_id: int | None = None,
    timeout: float | None = -1.0,
) -> dimse.CStoreResponse:
    """C-STORE one Dataset, Part 10 file path or :class:`Instance`; returns the response.

    Files go out from disk in chunks; a data set is encoded for the accepted syntax.
    Raises ``LocalProtocolError`` when no accepted context can carry it.
    """
    from dicomkit.core.dataset import Dataset

    data: Any
    if isinstance(source, Dataset):
        sop_class, sop_instance = _clean(source.get(0x00080016)), _clean(source.get(0x00080018))
        ts = _clean(source.transfer_syntax) or ExplicitVRLittleEndian
        ctx, _ = _choose(assoc, sop_class, ts, ts in NATIVE)
        data = source
    else:
        inst = source if isinstance(source, Instance) else read_instance(source)
        sop_class, sop_instance = inst.sop_class, inst.sop_instance
        ctx, convert = _choose(
            assoc, sop_class, inst.transfer_syntax, inst.transfer_syntax in NATIVE
        )
        if convert or not inst.has_meta:
            import dicomkit

            data = dicomkit.read(inst.path, force=True)
        else:
            data = _file_chunks(inst.path, inst.offset, inst.size)
    request = dimse.CStoreRequest(
        affected_sop_class_uid=sop_class,
        affected_sop_instance_uid=sop_instance,
        priority=priority,
        move_originator_aet=move_originator_aet,
        move_originator_message_id=move_originator_message_id,
    )
    rsp = await assoc.request(request, data, context=ctx, timeout=timeout)
    assert isinstance(rsp.message, dimse.CStoreResponse)
    return rsp.message


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


async def store_files(
    assoc: Association,
    instances: Sequence[Instance],
    *,
    progress: Callable[[StoreResult], None] | None = None,
) -> list[StoreResult]:
    """C-STORE each instance on one association; never raises for a single file's failure
    (network errors that end the association do propagate)."""
    from dicomkit.errors import NetworkError

    results = []
    for inst in instances:
        try:
            rsp = await store(assoc, inst)
            result = StoreResult(inst.path, rsp.status, rsp.error_comment or "")
        except LocalProtocolError as exc:  # no context for this file: the next may do
            result = StoreResult(inst.path, None, str(exc))
        except NetworkError:
            raise
        except (DicomError, OSError) as exc:
            result = StoreResult(inst.path, None, str(exc))
        results.append(result)
        if progress is not None:
            progress(result)
    return results


# -- SCP --------------------------------------------------------------------------------------

#: Bytes of an incoming data set (inflated, for deflated syntaxes) kept for :class:`HeadCheck`.
HEAD_CHECK_BYTES = 64 * 1024
_SOP_CLASS_UID = 0x00080016
_SOP_INSTANCE_UID = 0x00080018
_UNDEFINED = 0xFFFFFFFF
_MAX_DEPTH = 32


class _Short(Exception):
    """The bytes in hand end inside an element."""


class _Bad(Exception):
    """The bytes are not a data set in the transfer syntax."""


@functools.cache
def _vr_codes() -> tuple[frozenset[bytes], frozenset[bytes]]:
    from dicomkit.core.vr import LONG_LENGTH_VRS, VR

    return (
        frozenset(str(v).encode() for v in VR),
        frozenset(str(v).encode() for v in LONG_LENGTH_VRS),
    )


def _fit(*comments: str) -> str:
    """The first comment that fits Error Comment (LO, 64 characters)."""
    return next((c for c in comments if len(c) <= 64), comments[-1][:64])


class HeadCheck:
    """A cheap check of an incoming C-STORE data set from its first bytes (PS3.4 B.2.3).

    :meth:`feed` takes the fragments as they arrive and keeps at most ``limit`` bytes (only
    the head is ever inflated for deflated syntaxes); the leading elements are walked in the
    transfer syntax up to and including (0008,0018). When the whole data set fits in the
    head, every top-level element is walked. ``failure`` is then ``(status, comment)``:
    C000 when the bytes are not a data set, A900 when (0008,0016) differs from the command's
    Affected SOP Class UID, C000 when (0008,0018) differs from its Affected SOP Instance UID.
    A head too short to decide (a long element before (0008,0018)) is let through.
    ``leading_only``: never walk past (0008,0018), for a caller that parses the whole data set
    itself before keeping it (the archive).
    """

    def __init__(
        self,
        transfer_syntax: str,
        sop_class: str,
        sop_instance: str,
        *,
        limit: int = HEAD_CHECK_BYTES,
        leading_only: bool = False,
    ) -> None:
        self.leading_only = leading_only
        self.sop_class = _clean(sop_class)
        self.sop_instance = _clean(sop_instance)
        self.limit = limit
        self.head = bytearray()
        self.full = False  # bytes past the limit were left out
        self.done = False
        self.failure: tuple[int, str] | None = None
        self._passed = False  # the leading elements are fine; the rest of the head is kept
        self._inflater: Any = None
        syntax = lookup_syntax(transfer_syntax)
        if syntax is None:  # a transfer syntax we do not know: nothing to check
            self.done = True
            self.implicit, self.little = False, True
        else:
            self.implicit, self.little, deflated = syntax.encoding
            if deflated:
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self.done:
            return
        room = self.limit - len(self.head)
        if self._inflater is not None:
            try:
                out = self._inflater.decompress(data, room) if room > 0 else b""
            except zlib.error as exc:
                self._fail(0xC000, f"cannot understand: bad deflate stream ({exc})")
                return
            if self._inflater.unconsumed_tail or room <= 0:
                self.full = True
            self.head += out
        else:
            if len(data) > room:
                self.full = True
                data = memoryview(data)[: max(room, 0)]
            self.head += data
        if not self._passed:
            self._judge(complete=False)
        elif self.full:  # the leading elements were fine, and the data set is a long one
            self.done = True
        if self.done:
            self.head = bytearray()  # judged: free the head

    def finish(self) -> tuple[int, str] | None:
        """The verdict once the whole data set has been fed: None to store it."""
        if not self.done and self._passed and self.leading_only:
            self.done = True  # the leading elements were fine: the caller parses the rest
            self.head = bytearray()
        if not self.done:
            if self._inflater is not None and not self.full:
                try:
                    rest = self._inflater.flush()
                    room = self.limit - len(self.head)
                    self.full = len(rest) > room
                    self.head += rest[:room]
                except zlib.error as exc:
                    self._fail(0xC000, f"cannot understand: bad deflate stream ({exc})")
                    return self.failure
            self._judge(complete=not self.full)
            self.done = True
            self.head = bytearray()
        return self.failure

    def _fail(self, status: int, comment: str) -> None:
        self.failure = (status, comment)
        self.done = True

    def _judge(self, complete: bool) -> None:
        try:
            found = self._walk(complete)
        except _Short:
            if complete:
                self._fail(0xC000, "cannot understand: the data set ends inside an element")
            elif self.full:
                self.done = True  # cannot tell from the head: let it through
            return
        except _Bad as exc:
            self._fail(0xC000, f"cannot understand: {exc}")
            return
        # fine so far: a data set that ends within the head is walked whole by finish()
        self._passed = True
        self.done = complete or self.full
        sop_class, sop_instance = found.get(_SOP_CLASS_UID), found.get(_SOP_INSTANCE_UID)
        if sop_class is not None and sop_class != self.sop_class:
            self._fail(
                0xA900,
                _fit(
                    f"SOP Class UID {sop_class} in data set, {self.sop_class} in command",
                    f"data set SOP Class UID {sop_class}",
                    "SOP Class UID of the data set differs from the command's",
                ),
            )
        elif sop_instance is not None and sop_instance != self.sop_instance:
            self._fail(
                0xC000,
                _fit(
                    f"SOP Instance UID {sop_instance} in data set, {self.sop_instance} in command",
                    f"data set SOP Instance UID {sop_instance}",
                    "SOP Instance UID of the data set differs from the command's",
                ),
            )

    def _walk(self, complete: bool) -> dict[int, str]:
        """The (0008,0016) / (0008,0018) values of the head. Not ``complete``: stops at the
        first top-level tag past (0008,0018), raises _Short when the head ends before it."""
        buf, end = self.head, len(self.head)
        if complete and not end:
            raise _Bad("empty data set")
        found: dict[int, str] = {}
        pos = 0
        while pos < end:
            tag, vr, length, pos_value = self._header(buf, pos, self.implicit, self.little)
            if tag > _SOP_INSTANCE_UID and not complete:
                return found
            if tag >> 16 == 0xFFFE:
                raise _Bad(f"item tag ({tag >> 16:04X},{tag & 0xFFFF:04X}) at offset {pos}")
            if length == _UNDEFINED:
                pos = self._skip_items(buf, pos_value, self.implicit or vr == b"UN", 1)
                continue
            pos = pos_value + length
            if pos > end:
                raise _Short
            if tag in (_SOP_CLASS_UID, _SOP_INSTANCE_UID):
                found[tag] = _clean(bytes(buf[pos_value:pos]).decode("ascii", "replace"))
        if not complete:
            raise _Short
        return found

    def _header(
        self, buf: bytearray, pos: int, implicit: bool, little: bool
    ) -> tuple[int, bytes, int, int]:
        """(tag, VR, value length, value offset) of the element at ``pos``."""
        order = "<" if little else ">"
        if len(buf) - pos < 8:
            raise _Short
        group, element = struct.unpack_from(order + "HH", buf, pos)
        tag = group << 16 | element
        if implicit or group == 0xFFFE:
            return tag, b"", struct.unpack_from(order + "I", buf, pos + 4)[0], pos + 8
        vr = bytes(buf[pos + 4 : pos + 6])
        valid, long_vrs = _vr_codes()
        if vr not in valid:
            raise _Bad(f"no valid VR at offset {pos} (not a data set in this transfer syntax)")
        if vr in long_vrs:
            if len(buf) - pos < 12:
                raise _Short
            return tag, vr, struct.unpack_from(order + "I", buf, pos + 8)[0], pos + 12
        return tag, vr, struct.unpack_from(order + "H", buf, pos + 6)[0], pos + 8

    def _skip_items(self, buf: bytearray, pos: int, implicit: bool, depth: int) -> int:
        """Past the items of an undefined-length value and its Sequence Delimitation Item."""
        if depth > _MAX_DEPTH:
            raise _Bad("sequences nested too deep")
        little = self.little or implicit
        end = len(buf)
        while True:
            tag, _, length, pos = self._header(buf, pos, True, little)
            if tag == 0xFFFEE0DD:
                return pos
            if tag != 0xFFFEE000:
                raise _Bad(f"expected an item at offset {pos - 8}")
            if length != _UNDEFINED:
                pos += length
                if pos > end:
                    raise _Short
                continue
            while True:  # an undefined-length item: its elements up to the Item Delimitation
                tag, vr, length, value = self._header(buf, pos, implicit, little)
                if tag == 0xFFFEE00D:
                    pos = value
                    break
                if length == _UNDEFINED:
                    pos = self._skip_items(buf, value, implicit or vr == b"UN", depth + 1)
                else:
                    pos = value + length
                    if pos > end:
                        raise _Short


def _meta_bytes(sop_class: str, sop_instance: str, ts: str, source_ae: str) -> bytes:
    """Preamble, "DICM" and the File Meta Information group (explicit VR LE, PS3.10 7.1)."""
    from dicomkit.core.element import DataElement
    from dicomkit.io.encoder import encode_dataset
    from dicomkit.io.part10 import build_file_meta

    meta = build_file_meta(sop_class, sop_instance, ts)
    del meta[0x00020000]
    if source_ae:
        meta.add(DataElement(0x00020016, "AE", source_ae))
    body = encode_dataset(meta, implicit=False, little=True)
    length = b"\x02\x00\x00\x00UL\x04\x00" + struct.pack("<I", len(body))
    return b"\x00" * 128 + b"DICM" + length + body


class PartTenWriter:
    """A :class:`~dicomkit.net.association.DataSink` writing one Part 10 file atomically."""

    def __init__(
        self, final: Path, header: bytes, *, fsync: bool = True, check: HeadCheck | None = None
    ) -> None:
        self.final = final
        self.fsync = fsync
        self.check = check
        #: ``(status, comment)`` once ``check`` has refused the data set (nothing more is written)
        self.refused: tuple[int, str] | None = None
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".dicomkit-", suffix=".part", dir=final.parent)
        self.tmp = Path(tmp)
        self._fp = os.fdopen(fd, "wb", buffering=_CHUNK)
        self.size = 0
        self._fp.write(header)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.refused is not None:
            return  # refused: the rest of the data set is dropped
        check = self.check
        if check is not None and not check.done:
            check.feed(data)
            if check.failure is not None:
                # refused: nothing more is written; the temporary file goes at the end of the
                # data set (verdict) or when the association ends (discard)
                self.refused = check.failure
                return
        self._fp.write(data)
        self.size += len(data)

    def verdict(self) -> tuple[int, str] | None:
        """After the last fragment: ``(status, comment)`` if ``check`` refuses the data set
        (the temporary file is then removed), else None."""
        if self.refused is None and self.check is not None:
            self.refused = self.check.finish()
        if self.refused is not None:
            self.discard()
        return self.refused

    def discard(self) -> None:
        if not self._fp.closed:
            self._fp.close()
        self.tmp.unlink(missing_ok=True)

    def commit(self) -> Path:
        """Flush, fsync, rename into place (and fsync the folder); returns the final path."""
        try:
            self._fp.flush()
            if self.fsync:
                os.fsync(self._fp.fileno())
            self._fp.close()
            os.replace(self.tmp, self.final)
        except BaseException:
            self.discard()
            raise
        if self.fsync:
            dirfd = os.open(self.final.parent, os.O_RDONLY)
            try:
                os.fsync(dirfd)
            finally:
                os.close(dirfd)
        return self.final


def default_name(request: dimse.CStoreRequest) -> str:
    """``<SOP Instance UID>.dcm`` with anything but UID-safe characters replaced."""
    uid = _UNSAFE.sub("_", request.affected_sop_instance_uid) or "unnamed"
    return uid.lstrip(".") + ".dcm"


class StorageSCP:
    """C-STORE handler writing each instance to ``directory`` as a Part 10 file.

    ``naming(request) -> relative path`` chooses file names (default ``<UID>.dcm``);
    ``on_stored(path, incoming)`` is called after each file is in place (it may be async).
    ``fsync``: make each file durable before answering success.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        naming: Callable[[dimse.CStoreRequest], str] = default_name,
        on_stored: Callable[[Path, Incoming], Any] | None = None,
        fsync: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.naming = naming
        self.on_stored = on_stored
        self.fsync = fsync

    def _target(self, request: dimse.CStoreRequest) -> Path:
        rel = Path(self.naming(request))
        if rel.is_absolute() or ".." in rel.parts:
            raise ValueError(f"unsafe file name {rel}")
        return self.directory / rel

    def open_stream(self, incoming: Incoming) -> PartTenWriter:
        """Open the file an incoming C-STORE data set is streamed into (called by the driver before
        the data arrives)."""
        msg = incoming.message
        assert isinstance(msg, dimse.CStoreRequest)
        header = _meta_bytes(
            msg.affected_sop_class_uid,
            msg.affected_sop_instance_uid,
            incoming.context.transfer_syntax,
            incoming.association.calling_ae,
        )
        check = HeadCheck(
            incoming.context.transfer_syntax,
            msg.affected_sop_class_uid,
            msg.affected_sop_instance_uid,
        )
        return PartTenWriter(self._target(msg), header, fsync=self.fsync, check=check)

    async def __call__(self, incoming: Incoming) -> dimse.CStoreResponse:
        msg = incoming.message
        assert isinstance(msg, dimse.CStoreRequest)
        sink = incoming.sink
        try:
            if sink is None:  # not streamed (buffered): write it now
                sink = self.open_stream(incoming)
                sink.write(incoming.data or b"")
            if not isinstance(sink, PartTenWriter):
                error = getattr(sink, "error", None)
                raise OSError(f"could not write the data set: {error}")
            refused = sink.verdict()
            if refused is not None:
                log.warning(
                    "C-STORE of %s (%s) refused with %04X: %s",
                    msg.affected_sop_instance_uid,
                    msg.affected_sop_class_uid,
                    *refused,
                )
                return _store_rsp(msg, *refused)
            path = await asyncio.to_thread(sink.commit)
        except (OSError, ValueError, DicomError) as exc:
            log.warning("C-STORE of %s failed: %s", msg.affected_sop_instance_uid, exc)
            if isinstance(sink, PartTenWriter):
                sink.discard()
            return _store_rsp(msg, 0xA700, str(exc))
        log.info("stored %s (%d bytes)", path, sink.size)
        if self.on_stored is not None:
            result = self.on_stored(path, incoming)
            if asyncio.iscoroutine(result):
                await result
        return _store_rsp(msg, 0x0000)


def _store_rsp(msg: dimse.CStoreRequest, status: int, comment: str = "") -> dimse.CStoreResponse:
    return dimse.CStoreResponse(
        message_id_being_responded_to=msg.message_id,
        status=status,
        affected_sop_class_uid=msg.affected_sop_class_uid,
        affected_sop_instance_uid=msg.affected_sop_instance_uid,
        error_comment=comment.encode("ascii", "replace").decode()[:64] or None,
    )


__all__ = [
    "HeadCheck",
    "Instance",
    "PartTenWriter",
    "StorageSCP",
    "StoreResult",
    "contexts_for",
    "default_name",
    "find_files",
    "read_instance",
    "store",
    "store_files",
]
