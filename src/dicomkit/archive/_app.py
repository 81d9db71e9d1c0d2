"""The archive node: Verification, Storage and Query/Retrieve SCPs over one :class:`Archive`.

:class:`ArchiveNode` composes the pieces in one asyncio process:

- Verification (C-ECHO);
- Storage for every storage SOP class in every transfer syntax: each data set is streamed into
  a temporary file in ``ARCHIVE/.incoming`` and then ingested (moved into place and indexed
  durably) *before* the success response is sent. Duplicates follow the configured policy
  (``reject`` answers 0111 Duplicate SOP Instance); an instance the index cannot take (no
  Study Instance UID, invalid UIDs) is answered with C000 Cannot Understand, and so is one
  whose first bytes are not a data set; one whose SOP Class / Instance UID differ from the
  command's gets A900 / C000 (:class:`~dicomkit.io._headcheck.HeadCheck`); nothing is
  stored for a refused instance;
- Query/Retrieve FIND / MOVE / GET for Patient Root and Study Root, with relational queries
  and combined date-time matching offered through extended negotiation (PS3.4 C.5.1.1).

Calling AE titles may be restricted; C-MOVE destinations come from the configured peers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import itertools
import logging
import os
import queue
import shutil
import signal
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dicomkit.archive._audit_trail import AuditTrail
from dicomkit.archive._config import NodeConfig
from dicomkit.archive._index import record_from_dataset
from dicomkit.archive._matching import QueryOptions, parse_query
from dicomkit.archive._node import Archive, IngestResult
from dicomkit.archive._queues import take_waiting
from dicomkit.archive._results import make_result
from dicomkit.archive._store import (
    Checksum,
    DuplicateInstanceError,
    FileStore,
    InvalidUIDError,
    sync_data,
)
from dicomkit.archive._watch import CURRENT_RETRIEVAL, NodeWatch
from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import status_codes, uids
from dicomkit.dictionary.statuses import describe as describe_status
from dicomkit.errors import ArchiveError, DicomError, InvalidDicomError
from dicomkit.io._atomic import DEFAULT_FILE_MODE, create_temp
from dicomkit.io._headcheck import HeadCheck
from dicomkit.io._part10 import file_meta_bytes
from dicomkit.net import Association, Incoming
from dicomkit.net._blocking import BlockingAssociation
from dicomkit.net._config import AEConfig, Timeouts, TLSConfig
from dicomkit.net._loglimit import bad_input
from dicomkit.net._server import AE, Server, all_transfer_syntaxes
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto._commands import fit_comment
from dicomkit.net.proto._negotiation import AcceptorConfig
from dicomkit.services import _query_retrieve as qr
from dicomkit.services._qr_scp import SUB_WINDOW, Negotiation, QueryRetrieveSCP, RetrieveItem
from dicomkit.services._storage import StorageSCP

log = logging.getLogger("dicomkit.archive")

VERIFICATION = uids.Verification
#: Extended negotiation we offer for C-FIND (PS3.4 C.5.1.1.1): relational queries, combined
#: date-time matching, fuzzy semantic PN matching (archive._fuzzy), timezone query adjustment
#: (archive._timezone).
FIND_EXTENDED = b"\x01\x01\x01\x01"
#: ... and for C-MOVE / C-GET (PS3.4 C.5.1.1.2): relational retrieval.
RETRIEVE_EXTENDED = b"\x01"


#: Instances up to this size (meta + data set) are received into memory: the event loop never
#: touches the file system for them, the worker thread writes the file in one go, and the
#: header for the index is parsed from the bytes in hand. Larger ones spill to a file in
#: ``.incoming`` as they arrive (memory per association stays bounded by this).
MEMORY_BYTES = 1 << 20


#: unique temporary names without ``mkstemp``'s random draws (O_EXCL still guards them)
_TEMP_SERIAL = itertools.count()
_TEMP_TOKEN = os.urandom(4).hex()


def _create_temp(directory: Path) -> tuple[int, Path]:
    """A new, empty temporary file in ``directory`` (``.tmp-*.dcm``): its fd and path."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    path = directory / (
        f"{FileStore.TEMP_PREFIX}{os.getpid()}-{_TEMP_TOKEN}-{next(_TEMP_SERIAL)}.dcm"
    )
    try:
        return os.open(path, flags, DEFAULT_FILE_MODE), path  # the umask decides
    except FileExistsError:
        fd, name = create_temp(directory, prefix=FileStore.TEMP_PREFIX, suffix=".dcm")
        return fd, Path(name)


def _sync_close(fd: int, path: Path) -> Path:
    """(sync worker) ``fdatasync`` and close a temporary file; returns its path. Closed and
    removed when the sync fails."""
    try:
        sync_data(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)
    return path


class _ArchiveWriter:
    """The :class:`~dicomkit.net._messages.DataSink` of one incoming C-STORE data set."""

    def __init__(self, directory: Path, header: bytes, check: HeadCheck | None = None) -> None:
        self.directory = directory
        self.check = check
        #: ``(status, comment)`` once ``check`` has refused the data set (nothing is kept)
        self.refused: tuple[int, str] | None = None
        self.buf: bytearray | None = bytearray(header)
        #: of every byte of the file, fed as it is written (kept in the index)
        self.crc = Checksum()
        self.crc.update(header)
        self.tmp: Path | None = None
        self._fp: Any = None
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.refused is not None:
            return  # refused: the rest of the data set is dropped
        check = self.check
        if check is not None and not check.done:
            check.feed(data)
            if check.failure is not None:
                self.refused = check.failure
                self.discard()
                return
        self.size += len(data)
        self.crc.update(data)
        try:
            if self._fp is None:
                assert self.buf is not None
                if len(self.buf) + len(data) <= MEMORY_BYTES:
                    self.buf += data
                    return
                self._spill()
            self._fp.write(data)
        except OSError as exc:  # disk full, I/O error: the partial file goes at once
            self.refused = (
                status_codes.OutOfResources,
                f"cannot write the data set: {exc.strerror or exc}",
            )
            self.discard()

    @property
    def in_memory(self) -> bool:
        """Whether the whole instance is in memory (not spilled to a file)."""
        return self._fp is None and self.buf is not None

    def write_out(self) -> tuple[int, Path]:
        """(worker thread) Write the in-memory instance to a new temporary file, not yet
        synced: its open fd and path (:func:`_sync_close` finishes it). Nothing is left
        behind when it raises."""
        assert self.buf is not None
        fd, path = _create_temp(self.directory)
        try:
            with memoryview(self.buf) as whole:
                view = whole
                while view:
                    view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        return fd, path

    def _spill(self) -> None:
        fd, self.tmp = _create_temp(self.directory)
        try:
            self._fp = os.fdopen(fd, "wb", buffering=1 << 20)
        except BaseException:
            os.close(fd)
            raise
        if self.buf:
            self._fp.write(self.buf)
        self.buf = None

    def verdict(self) -> tuple[int, str] | None:
        """After the last fragment: ``(status, comment)`` if ``check`` refuses the data set
        (what was received is then dropped), else None."""
        if self.refused is None and self.check is not None:
            self.refused = self.check.finish()
            if self.refused is not None:
                self.discard()
        return self.refused

    def discard(self) -> None:
        self.buf = None
        if self._fp is not None and not self._fp.closed:
            with contextlib.suppress(OSError):  # a full disk fails the final flush too
                self._fp.close()
        if self.tmp is not None:
            with contextlib.suppress(OSError):
                self.tmp.unlink(missing_ok=True)

    def parse(self) -> Any:
        """(worker thread) The in-memory data set, parsed whole (:class:`HeadCheck` saw only
        its leading elements): a data set we cannot index is refused before it touches the
        disk."""
        assert self.buf is not None
        from dicomkit import read

        try:
            return read(bytes(self.buf))
        except DicomError as exc:
            raise ArchiveError(f"cannot index the data set: {exc}") from exc

    def finish(self) -> tuple[Path, Any]:
        """(worker thread) Write out what is in memory, ``fdatasync``; returns the temporary
        file and the parsed data set (None for a spilled instance: read from the file)."""
        ds = None
        try:
            if self._fp is None:
                ds = self.parse()
                self._spill()
            self._fp.flush()
            sync_data(self._fp.fileno())
            self._fp.close()
        except BaseException:
            self.discard()
            raise
        assert self.tmp is not None
        return self.tmp, ds


class DiskGuard:
    """Free space on the archive's file system against a high-water mark: new stores are
    refused (A700) while less than ``min_free`` bytes are free, before the disk is full and
    a half-written file fails. Looked up at most once a second; the change is logged once
    each way."""

    def __init__(self, root: Path, min_free: int) -> None:
        self.root = root
        self.min_free = min_free
        self._checked = -1.0
        self._free = 0
        self._low = False

    def low(self) -> str | None:
        """None when there is room, else why a store is refused."""
        if self.min_free <= 0:
            return None
        now = time.monotonic()
        if now - self._checked >= 1.0:
            self._checked = now
            try:
                self._free = shutil.disk_usage(self.root).free
            except OSError:
                self._free = 0
            low = self._free < self.min_free
            if low != self._low:
                self._low = low
                if low:
                    log.error(
                        "disk nearly full: %d bytes free under %s, below min_free_bytes %d: "
                        "refusing new stores with A700 until space is freed",
                        self._free,
                        self.root,
                        self.min_free,
                    )
                else:
                    log.warning("disk space back: %d bytes free; accepting stores", self._free)
        if not self._low:
            return None
        return (
            f"archive disk nearly full ({self._free // (1 << 20)} MiB free, "
            f"{self.min_free // (1 << 20)} MiB kept free); try later"
        )


#: an instance waiting for :class:`_BatchIngest`: its sink, its future and that future's loop
_Queued = tuple[_ArchiveWriter, "asyncio.Future[Any]", asyncio.AbstractEventLoop]


class _BatchIngest:
    """Ingest of instances received into memory, a batch at a time, in a few threads of its
    own.

    The event loop queues each complete instance with an asyncio future and goes back to
    receiving; a thread takes everything queued, and for each instance parses the data set
    and builds its index record (a data set we cannot index is refused before it touches the
    disk), writes its temporary file and ``fdatasync``s it, then commits the whole batch at
    once (:meth:`Archive.ingest_records`, a group commit shared with other ingests) and hands
    the results back to the loop in one call. Thread wake-ups and loop wake-ups are paid per
    batch, not per instance. With ``threads`` > 1 the next batch is parsed, written and
    synced while the previous one commits. The guarantees are those of
    :meth:`Archive.ingest`: a future is resolved only once its instance is durable and
    indexed, or with the error that refused it."""

    def __init__(self, storage: ArchiveStorageSCP, threads: int = 2) -> None:
        self.storage = storage
        self.threads = threads
        self._queue: queue.SimpleQueue[list[_Queued] | None] = queue.SimpleQueue()
        #: per event loop, the instances completed in its current iteration: handed over
        #: together at its end (one thread wake-up for all of them)
        self._pending: dict[asyncio.AbstractEventLoop, list[_Queued]] = {}
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, sink: _ArchiveWriter) -> asyncio.Future[Any]:
        """(event loop) Queue ``sink``'s instance; a future of its :class:`IngestResult`."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        if len(self._workers) < self.threads:
            self._start_worker()
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._hand_over, loop)
        pending.append((sink, fut, loop))
        return fut

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        """(event loop) Queue what this iteration of ``loop`` completed, at once."""
        pending = self._pending.pop(loop, None)
        if pending:
            self._queue.put(pending)

    def _start_worker(self) -> None:
        with self._lock:
            if self._closed:
                raise ArchiveError("the archive is shutting down")
            if len(self._workers) < self.threads:
                t = threading.Thread(
                    target=self._run, name=f"ingest-batch-{len(self._workers)}", daemon=True
                )
                t.start()
                self._workers.append(t)

    def close(self) -> None:
        """Finish what is queued, then stop the threads."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
        for _ in workers:
            self._queue.put(None)
        for t in workers:
            t.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = list(item)
            more, stop = take_waiting(self._queue)  # what was queued meanwhile joins it
            for queued in more:
                batch += queued
            outcomes: list[Any]
            try:
                outcomes = self._ingest([sink for sink, _f, _l in batch])
            except BaseException as exc:  # noqa: BLE001 -- every instance of the batch fails
                outcomes = [exc] * len(batch)
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
            for (_sink, fut, loop), outcome in zip(batch, outcomes, strict=True):
                by_loop.setdefault(loop, []).append((fut, outcome))
            for loop, answers in by_loop.items():
                with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
                    loop.call_soon_threadsafe(_resolve, answers)
            if stop:
                return

    def _ingest(self, sinks: list[_ArchiveWriter]) -> list[Any]:
        """(batch thread) Each sink's :class:`IngestResult` or the error that refused it."""
        out: list[Any] = [None] * len(sinks)
        written: list[tuple[int, int, Path, Any, Any]] = []
        for i, sink in enumerate(sinks):
            try:
                ds = sink.parse()
                rec = _record_of(ds)
                fd, path = sink.write_out()
            except BaseException as exc:  # noqa: BLE001 -- this instance is refused
                out[i] = exc
                continue
            written.append((i, fd, path, rec, ds))
        items: list[tuple[Any, Path, int, str, Any]] = []
        where: list[int] = []
        for i, fd, path, rec, ds in written:
            try:
                _sync_close(fd, path)  # removes the file when the sync fails
            except BaseException as exc:  # noqa: BLE001
                out[i] = exc
                continue
            sink = sinks[i]
            assert sink.buf is not None
            items.append((rec, path, len(sink.buf), sink.crc.text(), ds))
            where.append(i)
        if items:
            try:
                results = self.storage.archive.ingest_records(items)
            except BaseException:
                for _rec, path, *_rest in items:
                    with contextlib.suppress(OSError):
                        path.unlink(missing_ok=True)
                raise
            for i, (_rec, path, *_rest), res in zip(where, items, results, strict=True):
                if isinstance(res, BaseException):
                    with contextlib.suppress(OSError):  # refused or failed: the file goes
                        path.unlink(missing_ok=True)
                out[i] = res
        return out


def _record_of(ds: Any) -> Any:
    """(worker thread) The index record of a parsed data set; ArchiveError when it has none."""
    try:
        return record_from_dataset(ds)
    except DicomError as exc:
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(f"cannot index the data set: {exc}") from exc


def _resolve(answers: list[tuple[asyncio.Future[Any], Any]]) -> None:
    """(event loop) Hand each instance's result or error to its waiting store."""
    for fut, outcome in answers:
        if fut.done():  # its association went away meanwhile: the store stands
            continue
        if isinstance(outcome, BaseException):
            fut.set_exception(outcome)
        else:
            fut.set_result(outcome)


class ArchiveStorageSCP(StorageSCP):
    """C-STORE into the archive: receive (into memory, or ``.incoming`` for large data sets),
    then ingest before answering.

    The event loop only collects received fragments; writing the file, indexing it and the
    durable commit run in one worker thread per instance, so the loop keeps receiving on
    other associations meanwhile, and concurrent instances share a commit
    (:meth:`Archive.ingest` groups them)."""

    def __init__(self, archive: Archive, *, workers: int = 16, min_free_bytes: int = 0) -> None:
        super().__init__(archive.root / FileStore.INCOMING, fsync=False)
        self.archive = archive
        self._incoming = archive.root / FileStore.INCOMING  # made once: per instance in the loop
        self.disk = DiskGuard(archive.root, min_free_bytes)
        # a pool of its own: an ingest waiting for its group's commit holds a thread, and
        # must not starve the loop's default executor
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")
        #: instances received into memory are ingested in batches (:class:`_BatchIngest`)
        self.batches = _BatchIngest(self)
        #: ``f(incoming, result)`` called in the ingest thread after each instance is stored
        #: and before the response is sent (routing queues it here, durably); an exception
        #: is logged, the store still succeeds
        self.observers: list[Callable[[Incoming, IngestResult], None]] = []
        #: ``f(source, result)`` for instances that arrive another way (STOW-RS): called in
        #: the ingest thread before the answer, ``source`` the caller's AE title or ``""``
        self.other_observers: list[Callable[[str, IngestResult], None]] = []
        #: access rules, audit trail and metrics (:class:`~dicomkit.archive._watch.NodeWatch`)
        self.watch: Any = None

    def open_stream(self, incoming: Incoming) -> Any:
        msg = incoming.message
        assert isinstance(msg, dimse.CStoreRequest)
        try:
            header = file_meta_bytes(
                msg.affected_sop_class_uid,
                msg.affected_sop_instance_uid,
                incoming.context.transfer_syntax,
                incoming.association.calling_ae,
            )
        except DicomError as exc:  # a SOP Instance UID that is no UID (non-ASCII, too long)
            refused = _ArchiveWriter(self._incoming, b"")
            refused.refused = (status_codes.CannotUnderstand, f"cannot store it: {exc}")
            refused.discard()
            return refused
        # leading elements only: the ingest parses the whole data set before keeping it
        check = HeadCheck(
            incoming.context.transfer_syntax,
            msg.affected_sop_class_uid,
            msg.affected_sop_instance_uid,
            leading_only=True,
        )
        writer = _ArchiveWriter(self._incoming, header, check)
        why = self.watch.store_refusal(incoming) if self.watch is not None else None
        if why is not None:  # [access]: this caller may not store
            writer.refused = (status_codes.NotAuthorized, why)
            writer.discard()
            return writer
        low = self.disk.low()
        if low is not None:  # refused before a byte is written: the disk stays usable
            writer.refused = (status_codes.OutOfResources, low)
            writer.discard()
        return writer

    def _finish_and_ingest(self, sink: _ArchiveWriter) -> Any:
        path, ds = sink.finish()
        try:
            return self.archive.ingest(path, dataset=ds, synced=True, checksum=sink.crc.text())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            raise

    def _observe(self, incoming: Incoming, result: IngestResult) -> None:
        for observer in self.observers:
            try:
                observer(incoming, result)
            except Exception:
                log.exception("after storing %s", result.sop_instance_uid)

    def observe_stored(self, result: IngestResult, source: str = "") -> None:
        """(worker thread) Tell the observers of instances stored by another path than
        C-STORE (STOW-RS) about ``result``: routing queues it, IAN marks its study. An
        observer's exception is logged; the store still succeeds."""
        if result.outcome == "kept":
            return
        for observer in self.other_observers:
            try:
                observer(source, result)
            except Exception:
                log.exception("after storing %s", result.sop_instance_uid)

    def close(self) -> None:
        self.batches.close()
        self.pool.shutdown(wait=True)

    async def __call__(self, incoming: Incoming) -> dimse.CStoreResponse:
        seen: list[Any] = []
        rsp = await self._store(incoming, seen)
        if self.watch is not None and rsp.status != status_codes.Success:
            study = _study_uid_of(seen[0] if seen else None)
            self.watch.store_failed(incoming, rsp.status, rsp.error_comment, study)
        return rsp

    async def _store(self, incoming: Incoming, seen: list[Any]) -> dimse.CStoreResponse:
        """The C-STORE response; ``seen`` gets the sink (a failure's study is read from it)."""
        msg = incoming.message
        assert isinstance(msg, dimse.CStoreRequest)
        sink = incoming.sink
        try:
            if sink is None:
                sink = self.open_stream(incoming)
                sink.write(incoming.data or b"")
            seen.append(sink)
            if not isinstance(sink, _ArchiveWriter):
                raise OSError(f"could not write the data set: {getattr(sink, 'error', '')}")
            refused = sink.verdict()
        except (OSError, ValueError, DicomError) as exc:
            log.warning("C-STORE of %s failed: %s", msg.affected_sop_instance_uid, exc)
            if isinstance(sink, _ArchiveWriter):
                sink.discard()
            return _store_rsp(msg, status_codes.OutOfResources, str(exc))
        if refused is not None:
            bad_input(
                log,
                "C-STORE of %s (%s) refused with %s: %s",
                ascii(msg.affected_sop_instance_uid)[1:-1],
                ascii(msg.affected_sop_class_uid)[1:-1],
                describe_status(refused[0], "storage"),
                refused[1],
            )
            return _store_rsp(msg, *refused)
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        watch = self.watch
        if watch is not None:
            watch.in_flight += 1
        try:
            if sink.in_memory:
                result = await self.batches.submit(sink)
            else:
                result = await loop.run_in_executor(self.pool, self._finish_and_ingest, sink)
        except DuplicateInstanceError as exc:
            return _store_rsp(msg, status_codes.DuplicateSOPInstance, str(exc))
        except (InvalidUIDError, ArchiveError, InvalidDicomError) as exc:
            bad_input(
                log, "C-STORE of %s refused: %s", ascii(msg.affected_sop_instance_uid)[1:-1], exc
            )
            return _store_rsp(msg, status_codes.CannotUnderstand, str(exc))
        except (OSError, DicomError) as exc:
            log.warning("C-STORE of %s failed: %s", msg.affected_sop_instance_uid, exc)
            return _store_rsp(msg, status_codes.OutOfResources, str(exc))
        finally:
            if watch is not None:
                watch.in_flight -= 1
        if watch is not None:
            watch.stored(incoming, result, time.monotonic() - started)
        if self.observers:
            await loop.run_in_executor(self.pool, self._observe, incoming, result)
        if log.isEnabledFor(logging.DEBUG):  # per instance: not formatted at INFO
            log.debug(
                "%s: %s %s",
                incoming.association.calling_ae,
                result.outcome,
                result.sop_instance_uid,
            )
        return _store_rsp(msg, status_codes.Success)


def _study_uid_of(sink: Any) -> str:
    """The Study Instance UID of a failed store's data set when it is still in memory (a
    failure at ingest), else "" (refused before it was kept: not known)."""
    buf = getattr(sink, "buf", None) if isinstance(sink, _ArchiveWriter) else None
    if not buf:
        return ""
    from dicomkit import read

    try:
        ds = read(bytes(buf), specific_tags=["StudyInstanceUID"], lenient=True)
        return str(ds.get("StudyInstanceUID", "") or "")
    except Exception:  # noqa: BLE001 -- best effort: the data set may be what failed
        return ""


def _store_rsp(msg: dimse.CStoreRequest, status: int, comment: str = "") -> dimse.CStoreResponse:
    return dimse.CStoreResponse(
        message_id_being_responded_to=msg.message_id,
        status=status,
        affected_sop_class_uid=msg.affected_sop_class_uid,
        affected_sop_instance_uid=msg.affected_sop_instance_uid,
        error_comment=fit_comment(comment) or None,
    )


#: what the node accepts for verification and Q/R (read only, shared by every association)
_PLAIN_SYNTAXES = (
    uids.ExplicitVRLittleEndian,
    uids.ImplicitVRLittleEndian,
    uids.DeflatedExplicitVRLittleEndian,
)


class _NodeAE(AE):
    """The node's AE: storage, Q/R and verification contexts, role selection for C-GET,
    extended negotiation for Q/R, and the calling AE title filter."""

    #: pipelined C-STOREs within the granted window are stored at once (one batch, one
    #: commit): ArchiveStorageSCP keeps no per-association state between calls
    concurrent_stores = True

    def __init__(self, cfg: NodeConfig, ae_config: AEConfig, handlers: Mapping[Any, Any]) -> None:
        super().__init__(cfg.ae_title, config=ae_config, handlers=handlers)
        self.node_config = cfg

    def acceptor_config(self, handlers: Any) -> AcceptorConfig:
        from dicomkit.dictionary import storage_sop_classes

        every = all_transfer_syntaxes()
        plain = _PLAIN_SYNTAXES
        supported: dict[str, Sequence[str]] = {VERIFICATION: plain}
        roles: dict[str, tuple[bool, bool]] = {}
        for uid in storage_sop_classes():
            supported[uid] = every
            roles[uid] = (True, True)  # the requestor may be SCP: C-GET sub-operations
        extended: dict[str, bytes] = {}
        for uid in qr.FIND.values():
            supported[uid] = plain
            extended[uid] = FIND_EXTENDED
        for uid in (*qr.MOVE.values(), *qr.GET.values()):
            supported[uid] = plain
            extended[uid] = RETRIEVE_EXTENDED
        # handlers added from code (ArchiveNode.add_handler, hosted services): offered too
        for uid, syntaxes in self.derived_supported(handlers).items():
            supported.setdefault(uid, syntaxes)
        roles.update(self.roles)
        cfg = self.node_config
        return AcceptorConfig(
            supported=supported,
            prefer_requestor_order=True,
            roles=roles,
            extended=extended,
            max_pdu_length=self.config.max_pdu,
            called_ae_titles=frozenset({self.ae_title}) if self.config.require_called_aet else None,
            calling_ae_titles=_calling_titles(cfg),
            async_window=_granted_window(cfg),
        )


def _granted_window(cfg: NodeConfig) -> tuple[int, int]:
    """The asynchronous operations window the node grants (PS3.7 D.3.3.3), both ways:
    ``async_ops`` up to what the requestor proposed; 0 or 1: none. Pipelined C-STOREs run
    at once within it (``concurrent_stores``); any other request waits for them and runs
    alone; the node's own sub-operations on a requestor (C-GET) stay one at a time."""
    n = max(1, cfg.async_ops)
    return (n, n)


def _calling_titles(cfg: NodeConfig) -> frozenset[str] | None:
    """The calling AE titles the acceptor takes: ``accepted_calling_aets``, and when
    ``[access] default`` allows nothing, only titles with some permission."""
    titles = cfg.accepted_calling_aets or None
    known = cfg.access.known_titles()
    if known is not None:
        titles = known if titles is None else titles & known
    return titles


class ArchiveBackend:
    """The archive as the Q/R service's backend (:class:`~dicomkit.services._qr_scp.QRBackend`)."""

    def __init__(self, archive: Archive, ae_title: str) -> None:
        self.archive = archive
        self.ae_title = ae_title

    def _options(self, neg: Negotiation) -> QueryOptions:
        return dataclasses.replace(
            self.archive.options, relational=neg.relational, combined_datetime=neg.combined_datetime
        )

    def find(
        self, identifier: Dataset, model: qr.Model, negotiation: Negotiation
    ) -> tuple[Iterator[Dataset], bool]:
        if negotiation.fuzzy:  # PS3.4 C.2.2.2.1.1, as archive._fuzzy defines it
            from dicomkit.archive._fuzzy import fuzzy_identifier

            identifier = fuzzy_identifier(identifier)
        if model in qr.NON_PATIENT:  # Hanging Protocol, Color Palette ... Q/R
            found, flag = self.archive.non_patient.find(identifier, model)
            return iter(found), flag
        options = self._options(negotiation)
        if negotiation.fuzzy:
            options = dataclasses.replace(options, pn_case_insensitive=True)
        if negotiation.timezone:  # PS3.4 C.4.1.1.3.x: move the query into the stored timezone
            from dicomkit.archive import _timezone

            query_offset = _timezone.parse_offset(identifier.get("TimezoneOffsetFromUTC"))
            if query_offset is not None:
                shift = _timezone.node_offset() - query_offset
                options = dataclasses.replace(options, timezone_shift=shift)
        query = parse_query(identifier, model, options)
        columns, rows, post = self.archive.index.select(query)  # rows fetched, not yet built

        def build() -> Iterator[Dataset]:
            for row in rows:
                res = make_result(query, columns, row, post, retrieve_aet=self.ae_title)
                if res is not None:
                    yield qr.elements_to_dataset(res.elements)

        return build(), query.unsupported_matching

    def retrieve(
        self, identifier: Dataset, model: qr.Model, negotiation: Negotiation
    ) -> list[RetrieveItem]:
        if model in qr.NON_PATIENT:
            return [
                RetrieveItem(cls, sop, ts, path)
                for cls, sop, ts, path in self.archive.non_patient.retrieve(identifier, model)
            ]
        found = self.archive.retrieve(identifier, model, options=self._options(negotiation))
        record = CURRENT_RETRIEVAL.get()
        if record is not None:  # the audit trail wants studies and patients
            record.found = found
            record.patients = self._patients({i.study_instance_uid for i in found})
        archive = self.archive
        where = archive.store.resolve_text
        return [
            RetrieveItem(
                i.sop_class_uid,
                i.sop_instance_uid,
                i.transfer_syntax,
                where(i.path),
                check=functools.partial(archive.verify_file, i.path, i.checksum),
                verify=functools.partial(archive.verify_bytes, i.path, i.checksum),
            )
            for i in found
        ]

    def _patients(self, studies: set[str], limit: int = 64) -> dict[str, tuple[str, str]]:
        """(worker thread) Study UID -> (Patient ID, Patient's Name), for the audit trail."""
        out: dict[str, tuple[str, str]] = {}
        for uid in sorted(studies)[:limit]:
            ident = {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": uid}
            ident.update(PatientID="", PatientName="")
            with contextlib.suppress(DicomError):
                for res in self.archive.find(ident):
                    ds = qr.elements_to_dataset(res.elements)
                    pid, name = ds.get("PatientID", "") or "", ds.get("PatientName", "") or ""
                    out[uid] = (str(pid), str(name))
                    break
        return out


def server_tls(cfg: NodeConfig) -> TLSConfig | None:
    """TLS for the listening port (PS3.15 B.1) from ``tls_cert`` / ``tls_key`` / ``tls_ca``:
    with a CA, callers must present a certificate it signed. Raises ``ConfigError`` with
    what to fix when a file cannot be used."""
    if not cfg.tls_cert:
        return None
    from dicomkit.archive._config import ConfigError
    from dicomkit.net import _tls as dktls

    for what, name in (("certificate", cfg.tls_cert), ("key", cfg.tls_key), ("CA", cfg.tls_ca)):
        if name and not Path(name).is_file():
            raise ConfigError(f"TLS: {what} file {name} not found")
    try:
        ctx = dktls.server_context(
            cert=cfg.tls_cert, key=cfg.tls_key, ca=cfg.tls_ca, require_client_cert=bool(cfg.tls_ca)
        )
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ConfigError(
            f"TLS: cannot use certificate {cfg.tls_cert} / key "
            f"{cfg.tls_key or '(in the certificate file)'}"
            f"{' / CA ' + cfg.tls_ca if cfg.tls_ca else ''}: {exc}"
        ) from exc
    return TLSConfig(server=ctx)


class ArchiveNode:
    """``dicomkit serve``: the SCPs over one archive folder, until stopped."""

    def __init__(self, cfg: NodeConfig, archive: Archive | None = None) -> None:
        self.config = cfg
        tls = server_tls(cfg)  # before opening anything: a bad certificate stops here
        self.archive = archive or Archive(
            cfg.archive,
            db_url=cfg.db,
            policy=cfg.duplicates,
            options=QueryOptions(pn_case_insensitive=cfg.pn_case_insensitive),
            check=cfg.check,
            lenient_uids=cfg.lenient_uids,
        )
        report = self.archive.last_check
        if report is not None and not report.clean:
            log.warning(
                "start-up check: %d files indexed again, %d rows without file dropped, "
                "%d files quarantined",
                len(report.orphan_files),
                len(report.missing_files),
                len(report.quarantined),
            )
        self.ae_config = AEConfig(
            ae_title=cfg.ae_title,
            max_associations=cfg.max_associations,
            max_associations_per_host=cfg.max_associations_per_host,
            max_associations_per_aet=cfg.max_associations_per_aet,
            max_pending=cfg.max_pending,
            max_request_bytes=cfg.max_request_bytes,
            max_pending_bytes=cfg.max_pending_bytes,
            timeouts=Timeouts(
                acse=cfg.acse_timeout or None,
                dimse=cfg.dimse_timeout or None,
                idle=cfg.idle_timeout or None,
            ),
            require_called_aet=cfg.require_called_aet,
            tls=tls,
        )
        self.qr = QueryRetrieveSCP(
            ArchiveBackend(self.archive, cfg.ae_title),
            connect=self.connect,
            known=lambda aet: aet in cfg.peers,
            connect_blocking=self.connect_blocking,
        )
        self.storage = ArchiveStorageSCP(
            self.archive, workers=max(4, cfg.max_associations), min_free_bytes=cfg.min_free_bytes
        )
        self.metrics = None
        if cfg.metrics_port:
            from dicomkit.archive._metrics import NodeMetrics

            self.metrics = NodeMetrics(self._probe)
        #: access rules, audit trail (:attr:`audit`) and metrics where requests pass
        self.watch = NodeWatch(
            cfg.ae_title,
            access=cfg.access,
            audit=cfg.audit.rotated_like(cfg.log_max_bytes, cfg.log_rotate, cfg.log_backups),
            metrics=self.metrics,
            peers=cfg.peers,
        )
        self.storage.watch = self.watch
        handlers: dict[Any, Any] = {dimse.CStoreRequest: self.storage}
        handlers.update({kind: self.watch.guard(kind, h) for kind, h in self.qr.handlers().items()})
        self.ae = _NodeAE(cfg, self.ae_config, handlers)
        self.server: Server | None = None
        self.health_server: Any = None
        self._index_probe: Any = None
        from dicomkit.archive._hosted import HostedServices  # late: only what is configured

        self.hosted = HostedServices(self)
        #: more services of this process (``start()`` / ``stop()`` coroutines, e.g. the
        #: DICOMweb server added by ``dicomkit serve``): started after the DIMSE port, stopped
        #: before the archive closes
        self.services: list[Any] = []

    def add_handler(
        self,
        kind: type[dimse.DimseRequest],
        handler: Any,
        *,
        sop_classes: Iterable[str] = (),
        transfer_syntaxes: Sequence[str] | None = None,
        roles: Mapping[str, tuple[bool, bool]] | None = None,
    ) -> None:
        """Serve ``kind`` requests of ``sop_classes`` with ``handler`` and offer those SOP
        classes in the association negotiation (see :meth:`dicomkit.net.AE.add_handler`);
        takes effect for new associations, also while the node runs. C-FIND, C-MOVE and
        C-GET handlers pass the ``[access]`` rules and are audited like the node's own."""
        if kind in (dimse.CFindRequest, dimse.CMoveRequest, dimse.CGetRequest):
            handler = self.watch.guard(kind, handler)
        self.ae.add_handler(
            kind,
            handler,
            sop_classes=sop_classes,
            transfer_syntaxes=transfer_syntaxes,
            roles=roles,
        )
        if self.server is not None:
            self.server.handlers = {**self.server.handlers, **self.ae.handlers}

    @property
    def audit(self) -> AuditTrail:
        """The node's audit trail: ``node.audit.emit(message)`` from any thread (e.g. a
        delete: :func:`dicomkit.archive.audit.study_deleted`); does nothing when no
        ``[audit]`` destination is configured."""
        return self.watch.audit

    def _probe(self) -> dict[str, float]:
        """Gauges for the metrics (read when scraped, on the loop)."""
        from dicomkit.archive._metrics import disk_free

        live = list(self.server.associations) if self.server is not None else []
        return {
            "dicomkit_associations_open": sum(
                1 for a in live if a.negotiated is not None and not a.is_closed
            ),
            "dicomkit_connections_waiting": sum(
                1 for a in live if a.negotiated is None and not a.is_closed
            ),
            "dicomkit_ingest_in_flight": self.watch.in_flight,
            "dicomkit_audit_queue_depth": self.watch.audit.depth,
            "dicomkit_audit_dropped": self.watch.audit.dropped,
            "dicomkit_disk_free_bytes": disk_free(self.archive.root),
            "dicomkit_disk_min_free_bytes": self.config.min_free_bytes,
        }

    async def health(self) -> tuple[int, dict[str, Any]]:
        """``(HTTP status, document)`` of the ``/health`` check: 200 ``ok`` while the DICOM
        port listens, the index answers a cheap query in time and the disk is above the
        high-water mark; else 503, ``down`` (port, index) or ``degraded`` (disk), with a
        ``reason`` in words."""
        from dicomkit.archive._metrics import IndexProbe, disk_free

        server = self.server
        listening = server is not None and server.listening
        if self._index_probe is None:
            self._index_probe = IndexProbe(self.archive.index.ping)
        index = await self._index_probe.problem()
        low = self.storage.disk.low()
        down = [
            why for why in ("" if listening else "the DICOM port is not listening", index) if why
        ]
        doc: dict[str, Any] = {
            "status": "down" if down else ("degraded" if low else "ok"),
            "ae_title": self.config.ae_title,
            "port": server.port if server is not None else None,
            "associations": sum(
                1 for a in (server.associations if server else ()) if a.negotiated is not None
            ),
            "index": "ok" if index is None else "failing",
            "disk_free_bytes": int(disk_free(self.archive.root)),
            "disk_min_free_bytes": self.config.min_free_bytes,
        }
        reasons = [*down, *([low] if low else [])]
        if reasons:
            doc["reason"] = "; ".join(reasons)
        return (503 if reasons else 200), doc

    def _peer_tls(self, aet: str) -> ssl.SSLContext | None:
        """The TLS client context for the ``[peers]`` entry ``aet`` (None: plain TCP)."""
        peer = self.config.peers[aet]
        tls: ssl.SSLContext | None = None
        if peer.tls:
            tls = ssl.create_default_context(cafile=peer.ca)
            if peer.cert:
                tls.load_cert_chain(peer.cert, peer.key)
        return tls

    async def connect(self, aet: str, contexts: list[tuple[str, list[str]]]) -> Association:
        """A new association to the ``[peers]`` entry ``aet`` (TLS when configured),
        proposing ``contexts`` ((SOP class, [transfer syntaxes]) pairs)."""
        peer = self.config.peers[aet]
        tls = self._peer_tls(aet)
        client = AE(self.config.ae_title, config=self.ae_config)
        # an asynchronous operations window is proposed: a destination that grants one gets
        # C-MOVE sub-operations pipelined (services._qr_scp.SUB_WINDOW); one that does not
        # answer it gets them one at a time (PS3.7 D.3.3.3)
        return await client.associate(
            peer.host,
            peer.port,
            contexts=list(contexts),
            ae_title=peer.ae_title,
            ssl_context=tls,
            async_ops=(SUB_WINDOW, 1),
        )

    def connect_blocking(
        self, aet: str, contexts: list[tuple[str, list[str]]]
    ) -> BlockingAssociation:
        """:meth:`connect` as a blocking association (:mod:`dicomkit.net._blocking`), for
        the C-MOVE sub-operations the node runs in a worker thread (issue #17)."""
        from dicomkit.net._blocking import associate

        peer = self.config.peers[aet]
        return associate(
            peer.host,
            peer.port,
            self.ae_config,
            ae_title=peer.ae_title,
            contexts=contexts,
            ssl_context=self._peer_tls(aet),
            async_ops=(SUB_WINDOW, 1),
        )

    async def start(self) -> Server:
        """Start listening on the configured host and port (returns the server at once); :meth:`run`
        serves until stopped."""
        self.server = await self.ae.serve(self.config.port, host=self.config.host)
        self.server.closed_hooks.append(self.watch.association_closed)
        self.server.established_hooks.append(self.watch.association_established)
        self.server.tls_refused_hooks.append(self.watch.tls_refused)
        if self.metrics is not None:
            from dicomkit.archive._metrics import HealthServer

            self.health_server = HealthServer(
                self.metrics, self.health, self.config.metrics_host, self.config.metrics_port
            )
            try:
                await self.health_server.start()
            except BaseException:
                await self.server.close()
                raise
        self.watch.started()
        await self.hosted.start()
        for service in self.services:
            await service.start()
        return self.server

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Serve until ``stop`` is set or SIGINT / SIGTERM arrives, then shut down cleanly."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
        server = self.server or await self.start()
        try:
            await stop.wait()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            log.info("stopping: closing %d association(s)", len(server.associations))
            await server.close()
            for service in reversed(self.services):
                await service.stop()
            await self.hosted.stop()
            if self.health_server is not None:
                await self.health_server.stop()
            self.watch.stopped()
            self.storage.close()
            self.archive.close()


def describe(cfg: NodeConfig, port: int, archive: Archive) -> str:
    peers = ", ".join(f"{p.ae_title}={p.host}:{p.port}" for p in cfg.peers.values()) or "none"
    tls = (
        " (TLS" + (", client certificates required)" if cfg.tls_ca else ")") if cfg.tls_cert else ""
    )
    return (
        f"{cfg.ae_title} listening on {cfg.host}:{port}{tls}; archive {Path(archive.root)} "
        f"({archive.index.count()} instances); C-MOVE peers: {peers}" + _hosted_line(cfg)
    )


def _hosted_line(cfg: NodeConfig) -> str:
    from dicomkit.archive._hosted import enabled

    names = enabled(cfg.services)
    return f"; also {', '.join(names)}" if names else ""
