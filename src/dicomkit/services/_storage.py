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

SCU (over an asyncio :class:`~dicomkit.net.Association`; the blocking SCU of ``dicomkit store``
and what both share -- :func:`read_instance`, :func:`contexts_for`, the choice of context --
live in :mod:`dicomkit.services._store_scu`): :func:`store` sends a Part 10 file from disk
without loading it -- the meta is read, then the data set bytes go out from the file region
in chunks. When the peer did not accept the
file's transfer syntax the data set is converted (:mod:`dicomkit.services._convert`, as the
Q/R SCP does for its sub-operations): to another native syntax, decompressed, or compressed
with a lossless encoder the peer accepted. :func:`contexts_for` proposes presentation
contexts from the files' SOP classes and transfer syntaxes, with the native syntaxes as
fallbacks and, while the 128 contexts allow, a second context per class with the lossless
compressed syntaxes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from dicomkit.dictionary import status_codes, tags
from dicomkit.dictionary.statuses import describe
from dicomkit.dictionary.syntaxes import NATIVE
from dicomkit.dictionary.uids import (
    ExplicitVRLittleEndian,
)
from dicomkit.errors import (
    DicomError,
    InvalidDicomError,
)
from dicomkit.io._atomic import create_temp
from dicomkit.io._headcheck import HeadCheck
from dicomkit.io._part10 import file_meta_bytes
from dicomkit.net import Association, Incoming, check_response
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto._commands import fit_comment
from dicomkit.services._convert import convert
from dicomkit.services._store_scu import (
    Instance,
    StoreResult,
    _clean,
    choose_context,
    contexts_for,
    failed,
    find_files,
    read_instance,
)

log = logging.getLogger("dicomkit.services._storage")

_CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^0-9A-Za-z._-]")


# -- SCU --------------------------------------------------------------------------------------


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


async def store(
    assoc: Association,
    source: Any,
    *,
    priority: int = dimse.Priority.MEDIUM,
    move_originator_aet: str | None = None,
    move_originator_message_id: int | None = None,
    timeout: float | None = -1.0,
) -> dimse.CStoreResponse:
    """C-STORE one Dataset, Part 10 file path or :class:`Instance`; returns the response
    (success or warning: check ``status``). A failure status raises ``DimseError``.

    Files go out from disk in chunks; a data set is encoded for the accepted syntax.
    Raises ``LocalProtocolError`` when no accepted context can carry it.
    """
    from dicomkit.core._dataset import Dataset

    data: Any
    if isinstance(source, Dataset):
        sop_class, sop_instance = (
            _clean(source.get(tags.SOPClassUID)),
            _clean(source.get(tags.SOPInstanceUID)),
        )
        ts = _clean(source.transfer_syntax) or ExplicitVRLittleEndian
        ctx, convert_it = choose_context(assoc, sop_class, ts)
        data = source
        if convert_it and (ts not in NATIVE or ctx.transfer_syntax not in NATIVE):
            data = convert(source.copy(), ctx.transfer_syntax)  # the caller's stays as it is
    else:
        inst = source if isinstance(source, Instance) else read_instance(source)
        sop_class, sop_instance = inst.sop_class, inst.sop_instance
        ctx, convert_it = choose_context(assoc, sop_class, inst.transfer_syntax)
        if convert_it or not inst.has_meta:
            import dicomkit

            data = dicomkit.read(inst.path, force=True)
            if convert_it:
                data = convert(data, ctx.transfer_syntax)
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
    message = check_response(rsp).message
    assert isinstance(message, dimse.CStoreResponse)
    return message


async def store_files(
    assoc: Association,
    instances: Sequence[Instance],
    *,
    progress: Callable[[StoreResult], None] | None = None,
) -> list[StoreResult]:
    """C-STORE each instance on one association; never raises for a single file's failure
    (network errors that end the association do propagate)."""
    results = []
    for inst in instances:
        try:
            rsp = await store(assoc, inst)
            result = StoreResult(inst.path, rsp.status, rsp.error_comment or "")
        except (DicomError, OSError) as exc:
            result = failed(inst.path, exc)
        results.append(result)
        if progress is not None:
            progress(result)
    return results


# -- SCP --------------------------------------------------------------------------------------


class PartTenWriter:
    """A :class:`~dicomkit.net._association.DataSink` writing one Part 10 file atomically."""

    def __init__(
        self, final: Path, header: bytes, *, fsync: bool = True, check: HeadCheck | None = None
    ) -> None:
        self.final = final
        self.fsync = fsync
        self.check = check
        #: ``(status, comment)`` once ``check`` has refused the data set (nothing more is written)
        self.refused: tuple[int, str] | None = None
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = create_temp(final.parent, suffix=".part")  # mode from the umask
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
        header = file_meta_bytes(
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
                    "C-STORE of %s (%s) refused with %s: %s",
                    msg.affected_sop_instance_uid,
                    msg.affected_sop_class_uid,
                    describe(refused[0], "storage"),
                    refused[1],
                )
                return _store_rsp(msg, *refused)
            path = await asyncio.to_thread(sink.commit)
        except (OSError, ValueError, DicomError) as exc:
            log.warning("C-STORE of %s failed: %s", msg.affected_sop_instance_uid, exc)
            if isinstance(sink, PartTenWriter):
                sink.discard()
            return _store_rsp(msg, status_codes.OutOfResources, str(exc))
        log.info("stored %s (%d bytes)", path, sink.size)
        if self.on_stored is not None:
            result = self.on_stored(path, incoming)
            if asyncio.iscoroutine(result):
                await result
        return _store_rsp(msg, status_codes.Success)


def _store_rsp(msg: dimse.CStoreRequest, status: int, comment: str = "") -> dimse.CStoreResponse:
    return dimse.CStoreResponse(
        message_id_being_responded_to=msg.message_id,
        status=status,
        affected_sop_class_uid=msg.affected_sop_class_uid,
        affected_sop_instance_uid=msg.affected_sop_instance_uid,
        error_comment=fit_comment(comment) or None,
    )


__all__ = [
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
