"""STOW-RS (PS3.18 10.5): multipart/related application/dicom into the archive.

Each part is streamed into a temporary file in the archive's ``.incoming`` folder as it
arrives (python-multipart parses the body and hands out slices of the received chunk,
written as memoryviews: no copy; memory stays at one received chunk), its checksum
computed on the way (no second read). As soon as a part ends, a worker thread makes its
contents durable (``fdatasync``) and parses its header, while the next parts are still
arriving. Once the body is read, the request's instances go into the archive together
(:meth:`dicomkit.archive._node.Archive.ingest_batch`): one index transaction, one
directory fsync per series folder and one commit for all of them -- a group commit per
request -- so an instance is acknowledged only once its file and index rows are durable,
as with C-STORE. The response (PS3.18 10.5.3) lists each instance in
ReferencedSOPSequence or, with a FailureReason, in FailedSOPSequence.
"""

from __future__ import annotations

import asyncio
import contextlib
import mmap
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dicomkit.archive._node import Archive, IngestResult
from dicomkit.archive._store import Checksum, DuplicateInstanceError, FileStore, sync_data
from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import status_codes
from dicomkit.errors import ArchiveError, DicomError
from dicomkit.io._atomic import create_temp

__all__ = ["StowError", "StowOutcome", "receive_parts", "store_parts"]

#: FailureReason when the instance's Study Instance UID is not the one of the request path
#: (PS3.18 10.5.3.2, "Study Instance UID mismatch")
STUDY_MISMATCH = 0xC409


class StowError(DicomError):
    """A request the server refuses as a whole; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def boundary_of(content_type: str) -> str:
    """The boundary of a ``multipart/related; type="application/dicom"`` Content-Type;
    raises :class:`StowError` (415) for any other content type."""
    from dicomkit.web._wado import parse_accept

    ranges = parse_accept(content_type)
    if not ranges or ranges[0].type != "multipart/related":
        raise StowError(
            f'STOW-RS takes multipart/related; type="application/dicom", not {content_type!r}',
            415,
        )
    m = ranges[0]
    accepted = ("application/dicom", "application/dicom+json", "application/dicom+xml")
    if m.params.get("type", "application/dicom").lower() not in accepted:
        raise StowError(
            f"parts of type {m.params['type']!r} are not accepted: send application/dicom, "
            "or application/dicom+json (or +xml) metadata with bulk data parts",
            415,
        )
    boundary = m.params.get("boundary", "")
    if not boundary:
        raise StowError("the Content-Type has no boundary parameter")
    return boundary


@dataclass(slots=True)
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    fd: int = -1
    size: int = 0
    checksum: Checksum | None = None
    #: an instance's ``fdatasync``, close and header parse, running since the part ended
    #: (its result: the parsed header); None: not started
    synced: Future[Any] | None = None


_sync_pool: ThreadPoolExecutor | None = None
_sync_lock = threading.Lock()


def _sync_executor() -> ThreadPoolExecutor:
    global _sync_pool
    with _sync_lock:
        if _sync_pool is None:
            _sync_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dicomkit-stow-sync")
        return _sync_pool


def _sync_and_close(fd: int, path: Path, checksum: Checksum) -> Any:
    """(sync thread) Checksum a received instance (over a memory map of the page cache, off
    the event loop's thread: zlib lets go of the GIL), make it durable, then parse its header
    for the ingest; returns the header data set."""
    try:
        with open(path, "rb") as reader:  # the writer's descriptor is write-only
            size = os.fstat(reader.fileno()).st_size
            if size:
                with (
                    mmap.mmap(reader.fileno(), size, access=mmap.ACCESS_READ) as mapped,
                    memoryview(mapped) as view,
                ):
                    checksum.update(view)
        sync_data(fd)
    finally:
        os.close(fd)
    return _read_header(path)


def _read_header(path: Path) -> Any:
    import dicomkit

    return dicomkit.read(path, stop_before_pixels=True)


async def receive_parts(archive: Archive, body: AsyncIterator[bytes], boundary: str) -> list[_Part]:
    """Stream each part of ``body`` into a temporary file in ``.incoming``."""
    from python_multipart.multipart import MultipartParser

    parts: list[_Part] = []
    incoming = archive.store.root / FileStore.INCOMING
    hname: list[bytes] = []
    hvalue: list[bytes] = []

    def begin() -> None:
        parts.append(_Part())

    def header_field(data: bytes, start: int, end: int) -> None:
        hname.append(data[start:end])

    def header_value(data: bytes, start: int, end: int) -> None:
        hvalue.append(data[start:end])

    def header_end() -> None:
        parts[-1].headers[b"".join(hname).decode("latin-1").strip().lower()] = (
            b"".join(hvalue).decode("latin-1").strip()
        )
        hname.clear()
        hvalue.clear()

    def headers_done() -> None:
        part = parts[-1]
        fd, path = create_temp(incoming, prefix=FileStore.TEMP_PREFIX, suffix=".dcm")
        part.fd, part.path = fd, Path(path)  # one open (incoming_path would open twice)
        if _is_dicom(part):
            part.checksum = Checksum()

    def data(buf: bytes, start: int, end: int) -> None:
        part = parts[-1]
        view = memoryview(buf)[start:end]
        part.size += len(view)
        while view:
            view = view[os.write(part.fd, view) :]

    def part_end() -> None:
        part = parts[-1]
        if part.fd >= 0:
            if part.checksum is not None and part.path is not None:  # an instance
                part.synced = _sync_executor().submit(
                    _sync_and_close, part.fd, part.path, part.checksum
                )
            else:
                os.close(part.fd)
            part.fd = -1

    parser = MultipartParser(
        boundary.encode("latin-1"),
        {
            "on_part_begin": begin,
            "on_header_field": header_field,
            "on_header_value": header_value,
            "on_header_end": header_end,
            "on_headers_finished": headers_done,
            "on_part_data": data,
            "on_part_end": part_end,
        },
    )
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except BaseException as exc:
        discard(parts)
        if isinstance(exc, Exception) and not isinstance(exc, asyncio.CancelledError):
            raise StowError(f"cannot read the multipart body: {exc}") from exc
        raise
    return parts


def _is_dicom(part: _Part) -> bool:
    ctype = part.headers.get("content-type", "application/dicom")
    return ctype.split(";")[0].strip().lower() == "application/dicom"


@dataclass(frozen=True, slots=True)
class _Unlink:
    path: Path

    def __call__(self, _done: Future[None]) -> None:
        self.path.unlink(missing_ok=True)


def _wait_synced(part: _Part) -> None:
    """Wait for the part's sync (its file descriptor is closed after it), ignoring errors."""
    if part.synced is not None:
        with contextlib.suppress(OSError, DicomError):
            part.synced.result()


def discard(parts: list[_Part]) -> None:
    """Remove the temporary files of ``parts``."""
    for part in parts:
        if part.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(part.fd)
            part.fd = -1
        path = part.path
        if path is None:
            continue
        if part.synced is not None:  # removed once its sync is over (no wait here)
            part.synced.add_done_callback(_Unlink(path))
        else:
            path.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class StowOutcome:
    """One part's fate: UIDs (as far as known) and the failure reason (0 = stored)."""

    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    reason: int = 0
    comment: str = ""
    series_instance_uid: str = ""


def _check_part(part: _Part, study: str | None) -> tuple[Any, StowOutcome | None]:
    """(worker thread) A received part's durable header, or why it is refused (its file
    removed)."""
    assert part.path is not None
    if not _is_dicom(part):
        ctype = part.headers.get("content-type", "").split(";")[0].strip().lower()
        _wait_synced(part)
        part.path.unlink(missing_ok=True)
        return None, StowOutcome("", "", "", status_codes.CannotUnderstand, f"part of type {ctype}")
    try:
        if part.synced is not None:
            ds = part.synced.result()  # durable, header parsed (raises if either failed)
        else:  # made here from DICOM JSON / XML (dicomkit.web._stow_json)
            ds = _read_header(part.path)
            sync_data(part.path)
    except DicomError as exc:
        part.path.unlink(missing_ok=True)
        return None, StowOutcome(
            "", "", "", status_codes.CannotUnderstand, f"not a DICOM file: {exc}"
        )
    except OSError as exc:
        part.path.unlink(missing_ok=True)
        return None, StowOutcome("", "", "", status_codes.OutOfResources, str(exc))
    st = str(ds.get("StudyInstanceUID", "") or "")
    if study is not None and st != study:
        part.path.unlink(missing_ok=True)
        return None, StowOutcome(
            str(ds.get("SOPClassUID", "") or ""),
            str(ds.get("SOPInstanceUID", "") or ""),
            st,
            STUDY_MISMATCH,
            f"Study Instance UID {st} is not {study}",
        )
    return ds, None


def _store_all(
    archive: Archive,
    parts: list[_Part],
    study: str | None,
    on_stored: Callable[[IngestResult], None] | None = None,
) -> list[StowOutcome]:
    """(worker thread) Check every received part and ingest the instances together (one
    group commit); ``on_stored`` is told of each stored one (routing, IAN) before the
    answer."""
    outcomes: list[StowOutcome | None] = [None] * len(parts)
    batch: list[tuple[Path, Any, str | None]] = []
    where: list[tuple[int, Any]] = []
    for i, part in enumerate(parts):
        ds, refused = _check_part(part, study)
        if refused is not None:
            outcomes[i] = refused
            continue
        assert part.path is not None
        checksum = part.checksum.text() if part.checksum is not None else None
        batch.append((part.path, ds, checksum))
        where.append((i, ds))
    results = archive.ingest_batch(batch)
    for (i, ds), (path, _ds, _c), result in zip(where, batch, results, strict=True):
        sop_class = str(ds.get("SOPClassUID", "") or "")
        sop = str(ds.get("SOPInstanceUID", "") or "")
        st = str(ds.get("StudyInstanceUID", "") or "")
        if isinstance(result, IngestResult):
            if on_stored is not None:
                on_stored(result)
            se = str(ds.get("SeriesInstanceUID", "") or "")
            outcomes[i] = StowOutcome(sop_class, sop, st, series_instance_uid=se)
            continue
        path.unlink(missing_ok=True)
        if isinstance(result, DuplicateInstanceError):
            reason = status_codes.DuplicateSOPInstance
        elif isinstance(result, (ArchiveError, DicomError)):
            reason = status_codes.CannotUnderstand
        elif isinstance(result, OSError):
            reason = status_codes.OutOfResources
        else:
            raise result
        outcomes[i] = StowOutcome(sop_class, sop, st, reason, str(result))
    return [o for o in outcomes if o is not None]


async def store_parts(
    archive: Archive,
    parts: list[_Part],
    study: str | None,
    low_disk: str | None = None,
    on_stored: Callable[[IngestResult], None] | None = None,
) -> list[StowOutcome]:
    """Ingest every received part, together (one group commit for the request);
    ``on_stored`` is called for each stored instance in the worker thread, before the
    answer (the node queues routed instances and marks studies for IAN there)."""
    if low_disk is not None:
        discard(parts)
        return [StowOutcome("", "", "", status_codes.OutOfResources, low_disk) for _ in parts]
    return await asyncio.to_thread(_store_all, archive, parts, study, on_stored)


def response(outcomes: list[StowOutcome], base_url: str, study: str | None) -> tuple[int, Any]:
    """The HTTP status and the response data set (PS3.18 10.5.3)."""
    ds = Dataset()
    stored = [o for o in outcomes if not o.reason]
    failed = [o for o in outcomes if o.reason]
    studies = {o.study_instance_uid for o in stored}
    if study is not None or len(studies) == 1:
        ds.RetrieveURL = f"{base_url}/studies/{study or studies.pop()}"
    if failed:
        items = []
        for o in failed:
            it = Dataset()
            it.ReferencedSOPClassUID = o.sop_class_uid
            it.ReferencedSOPInstanceUID = o.sop_instance_uid
            it.FailureReason = o.reason
            items.append(it)
        ds.FailedSOPSequence = items
    if stored:
        items = []
        for o in stored:
            it = Dataset()
            it.ReferencedSOPClassUID = o.sop_class_uid
            it.ReferencedSOPInstanceUID = o.sop_instance_uid
            it.RetrieveURL = (
                f"{base_url}/studies/{o.study_instance_uid}/series/{o.series_instance_uid}"
                f"/instances/{o.sop_instance_uid}"
            )
            items.append(it)
        ds.ReferencedSOPSequence = items
    if not outcomes:
        return 400, ds
    status = 200 if not failed else 202 if stored else 409
    return status, ds
