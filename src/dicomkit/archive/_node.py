"""The archive: a :class:`FileStore` and an :class:`Index` kept in step.

An instance is acknowledged only when its file and its index rows are both durable:
:meth:`Archive.ingest` makes the file's contents durable (``fdatasync``), then, inside an index
transaction, adds the rows and renames the file into place, commits, and fsyncs the folder and
the index's log side by side before anyone is answered. Concurrent ingests share that
transaction and those fsyncs (group commit, :class:`_GroupCommit`,
:meth:`Archive._commit_batch`). A crash in between leaves at worst a complete file without
rows, which :meth:`Archive.check` (run on start-up) indexes again, or rows of an instance that
was never acknowledged whose file name did not reach the disk, which it drops; a final path
never holds a partial file. ``check`` also drops rows whose file has disappeared, sweeps
temporary files and moves unreadable files to ``.quarantine``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Self

from dicomkit.archive._index import Index, InstanceRecord, StoredInstance, record_from_dataset
from dicomkit.archive._matching import Model, QueryOptions, parse_query
from dicomkit.archive._nonpatient import NonPatientStore
from dicomkit.archive._nonpatient import model_of as non_patient_model
from dicomkit.archive._nonpatient_check import check as check_non_patient
from dicomkit.archive._nonpatient_check import verify as verify_non_patient
from dicomkit.archive._results import Result, make_result
from dicomkit.archive._schema import Level
from dicomkit.archive._store import (
    Checksum,
    DuplicateInstanceError,
    DuplicatePolicy,
    FileStore,
    file_checksum,
    fsync_dir,
    sync_data,
)
from dicomkit.errors import ArchiveError, DicomError

if TYPE_CHECKING:
    from dicomkit.archive._delete import DeleteReport

log = logging.getLogger("dicomkit.archive")


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What :meth:`Archive.ingest` did with one instance: its UIDs, where its file is, and the
    outcome (``stored``, ``replaced``, or ``kept`` when a duplicate was ignored)."""

    sop_instance_uid: str
    sop_class_uid: str
    path: Path
    outcome: str  # "stored", "replaced" or "kept" (duplicate ignored under the keep policy)
    #: the instance's study and patient, as indexed (for the audit trail; "" when unknown)
    study_instance_uid: str = ""
    patient_id: str = ""
    patient_name: str = ""


class StoredNote(NamedTuple):
    """What :attr:`Archive.listeners` are told of each instance a commit stored or replaced."""

    study: str
    sop: str
    #: the data set its receiver parsed (do not modify it), None when not at hand
    dataset: Any
    #: its file's size in bytes and checksum, as indexed
    size: int
    checksum: str


@dataclass(slots=True)
class CheckReport:
    """What :meth:`Archive.check` found (and, with ``repair``, fixed)."""

    orphan_files: list[str] = field(default_factory=list)  # file without index row
    missing_files: list[str] = field(default_factory=list)  # index row without file
    quarantined: list[str] = field(default_factory=list)  # unreadable orphan files
    temporaries: list[str] = field(default_factory=list)  # swept temporary files

    @property
    def clean(self) -> bool:
        """True when the check found nothing to repair."""
        return not (self.orphan_files or self.missing_files or self.quarantined)


@dataclass(slots=True)
class VerifyReport:
    """What :meth:`Archive.verify` found."""

    ok: int = 0
    damaged: list[str] = field(default_factory=list)  # one line each: which file, what
    unchecked: list[str] = field(default_factory=list)  # no checksum kept (older index)


def _refused(exc: DicomError | OSError, what: str) -> BaseException:
    """How an ingest reports an instance it could not take: archive errors (duplicates under
    the reject policy, invalid UIDs ...) as they are, others as an ArchiveError."""
    return exc if isinstance(exc, ArchiveError) else ArchiveError(f"{what}: {exc}")


def _read_header(path: Path) -> Any:
    from dicomkit import read  # late import: io is written concurrently

    return read(path, stop_before_pixels=True)


@dataclass(slots=True, eq=False)
class _Job:
    """One instance waiting for a group commit."""

    temp: Path | None  # None until ``durable`` has returned it
    rec: InstanceRecord
    relpath: str
    size: int
    policy: DuplicatePolicy
    checksum: str = ""
    result: IngestResult | None = None
    error: BaseException | None = None
    placed: bool = False
    old_path: str | None = None
    #: blocks until the file's contents are durable and returns its temporary path (raises
    #: when they could not be made so); None: they already are (``temp`` is set)
    durable: Callable[[], Path] | None = None
    #: the parsed data set, handed to :attr:`Archive.listeners` (None: not at hand)
    dataset: Any = None
    done: threading.Event = field(default_factory=threading.Event)

    def wait_durable(self) -> Path:
        """The temporary file, once its contents are durable (step 1 of the commit)."""
        if self.durable is not None:
            self.temp, self.durable = self.durable(), None
        assert self.temp is not None
        return self.temp


class _GroupCommit:
    """Group commit (leader / followers): concurrent ingests share one transaction, one
    fsync per series folder and one WAL flush.

    A thread that finds no batch in progress becomes the leader: it commits everything
    queued so far, then whatever queued while it was committing, until the queue is empty.
    The others wait for their job's event. Alone, an ingest is its own batch of one: there
    is no timer and no added latency; under load (several associations storing at once)
    batches grow by themselves to what arrives during one commit.
    """

    def __init__(self, commit: Callable[[list[_Job]], None]) -> None:
        self._commit = commit
        self._lock = threading.Lock()
        self._queue: list[_Job] = []
        self._leading = False

    def submit(self, job: _Job) -> IngestResult:
        """Queue one job and wait for it; its result (its error is raised)."""
        (result,) = self.submit_many([job])
        if isinstance(result, BaseException):
            raise result
        return result

    def submit_many(self, jobs: list[_Job]) -> list[IngestResult | BaseException]:
        """Queue ``jobs`` together (they go into one batch unless a commit is running, which
        then takes them all in its next batch) and wait for every one; each job's result or
        error, in order."""
        if not jobs:
            return []
        with self._lock:
            self._queue.extend(jobs)
            lead = not self._leading
            if lead:
                self._leading = True
        if lead:
            self._lead()
        out: list[IngestResult | BaseException] = []
        for job in jobs:
            job.done.wait()
            if job.error is not None:
                out.append(job.error)
            else:
                assert job.result is not None
                out.append(job.result)
        return out

    def _lead(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue, []
                if not batch:
                    self._leading = False
                    return
            try:
                self._commit(batch)
            except BaseException as exc:  # noqa: BLE001 -- each job carries it to its thread
                log.debug("group commit of %d instance(s) failed: %s", len(batch), exc)
            finally:
                for job in batch:
                    if job.result is None and job.error is None:
                        job.error = ArchiveError("ingest did not complete")
                    job.done.set()


class Archive:
    """File store + index under one root folder (index default: ``ROOT/index.sqlite``)."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        db_url: str | None = None,
        policy: DuplicatePolicy = DuplicatePolicy.KEEP,
        options: QueryOptions | None = None,
        check: bool = True,
        lenient_uids: bool = False,
    ) -> None:
        self.store = FileStore(root, lenient_uids=lenient_uids)
        self.root = self.store.root
        self.index = Index.open(db_url or str(self.root / "index.sqlite"))
        #: Hanging Protocols, Color Palettes ... (no patient, no study): stored apart
        self.non_patient = NonPatientStore(self.root, self.index.db)
        self.policy = policy
        self.options = options or QueryOptions()
        #: test hook: called with "indexed" / "placed" during ingest; raise to inject a crash
        self.fault: Callable[[str], None] | None = None
        self.last_check: CheckReport | None = None
        #: called (in the committing thread, after each durable commit) with a
        #: :class:`StoredNote` of each instance it stored or replaced; must not block (the
        #: DICOMweb metadata cache queues them)
        self.listeners: list[Callable[[list[StoredNote]], None]] = []
        #: called with each stored (or replaced) instance's result after its commit, before
        #: the store is answered: the node's IOCM rejection notes (archive._iocm)
        self.on_stored: Callable[[IngestResult], None] | None = None
        self._group = _GroupCommit(self._commit_batch)
        #: ``time.monotonic()`` of the last group commit (background work such as the
        #: DICOMweb metadata cache waits for a quiet moment before it competes for the CPU)
        self.last_commit = 0.0
        self._sync_pool: Any = None  # a batch's fsyncs, issued at once (:meth:`_sync_all`)
        if check:
            self.last_check = self.check(repair=True, sweep=True)

    def close(self) -> None:
        """Close the index (the files need no closing)."""
        if self._sync_pool is not None:
            self._sync_pool.shutdown(wait=True)
            self._sync_pool = None
        self.index.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- storing --------------------------------------------------------------------------

    def incoming_path(self) -> Path:
        """A temporary file on the archive's file system for a Storage SCP to stream into."""
        return self.store.incoming_path()

    def ingest(
        self,
        temp_file: str | os.PathLike[str],
        *,
        policy: DuplicatePolicy | None = None,
        dataset: Any = None,
        synced: bool = False,
        checksum: str | None = None,
    ) -> IngestResult:
        """Take a complete Part 10 file (already written to a temporary path on the archive's
        file system), move it into place and index it, durably. ``dataset``: the
        already-parsed header, if at hand; ``synced``: the caller already made the file's
        contents durable (:func:`~dicomkit.archive._store.sync_data`).

        Thread-safe; concurrent calls are committed together (see :class:`_GroupCommit`)."""
        policy = policy or self.policy
        temp = Path(temp_file)
        try:
            ds = dataset if dataset is not None else _read_header(temp)
            rec = record_from_dataset(ds)
            if non_patient_model(rec.sop_class) is not None:
                return self._ingest_non_patient(temp, ds, rec, synced=synced, policy=policy)
            relpath = self.store.relpath(rec.study_uid, rec.series_uid, rec.sop_uid)
            size = temp.stat().st_size
            if checksum is None:  # not computed while writing: read the file once
                checksum = file_checksum(temp)
            if not synced:
                sync_data(temp)  # in the caller's thread: concurrent ingests sync in parallel
        except DuplicateInstanceError:
            raise  # a non-patient duplicate under the reject policy: 0111, not C000
        except (DicomError, OSError) as exc:
            raise ArchiveError(f"cannot index {temp.name}: {exc}") from exc
        return self._group.submit(_Job(temp, rec, relpath, size, policy, checksum))

    def ingest_batch(
        self,
        files: Sequence[tuple[Path, Any, str | None]],
        *,
        policy: DuplicatePolicy | None = None,
    ) -> list[IngestResult | BaseException]:
        """Ingest the instances of one request together: ``files`` are ``(temporary path,
        parsed header, checksum or None)`` whose contents are already durable
        (:func:`~dicomkit.archive._store.sync_data`). They share one transaction, one fsync
        per series folder and one commit (a group commit of their own, joined by whatever
        other ingests are queued); one failing instance does not stop the others.

        Returns each file's :class:`IngestResult`, or the error it failed with
        (:class:`~dicomkit.archive._store.DuplicateInstanceError` under the reject policy,
        :class:`~dicomkit.errors.ArchiveError`, ``OSError``), in order; the caller removes
        the temporary files of failed ones. Thread-safe."""
        policy = policy or self.policy
        out: list[IngestResult | BaseException | None] = [None] * len(files)
        items: list[tuple[InstanceRecord, Path, int, str, Any]] = []
        where: list[int] = []
        for i, (temp, ds, checksum) in enumerate(files):
            try:
                rec = record_from_dataset(ds)
                if non_patient_model(rec.sop_class) is not None:
                    out[i] = self._ingest_non_patient(temp, ds, rec, synced=True, policy=policy)
                    continue
                size = temp.stat().st_size
                if checksum is None:
                    checksum = file_checksum(temp)
            except (DicomError, OSError) as exc:
                out[i] = _refused(exc, f"cannot index {temp.name}")
                continue
            # no data set for the listeners: ``ds`` may be a header only
            items.append((rec, temp, size, checksum, None))
            where.append(i)
        for i, res in zip(where, self.ingest_records(items, policy=policy), strict=True):
            out[i] = res
        return [r if r is not None else ArchiveError("ingest did not complete") for r in out]

    def ingest_records(
        self,
        items: Sequence[tuple[InstanceRecord, Path, int, str, Any]],
        *,
        policy: DuplicatePolicy | None = None,
    ) -> list[IngestResult | BaseException]:
        """As :meth:`ingest_batch` for instances whose index records are already built (from
        the data sets their receiver parsed): ``items`` are ``(record, temporary path, size in
        bytes, checksum, parsed data set or None)`` whose contents are already durable (the
        data set goes to :attr:`listeners`). Each one's result or error, in order; the caller
        removes the temporary files of failed ones. Thread-safe."""
        policy = policy or self.policy
        out: list[IngestResult | BaseException | None] = [None] * len(items)
        jobs: list[_Job] = []
        where: list[int] = []
        for i, (rec, temp, size, checksum, ds) in enumerate(items):
            try:
                if non_patient_model(rec.sop_class) is not None:
                    out[i] = self._ingest_non_patient(temp, None, rec, synced=True, policy=policy)
                    continue
                relpath = self.store.relpath(rec.study_uid, rec.series_uid, rec.sop_uid)
            except (DicomError, OSError) as exc:
                out[i] = _refused(exc, f"cannot index {temp.name}")
                continue
            jobs.append(_Job(temp, rec, relpath, size, policy, checksum, dataset=ds))
            where.append(i)
        for i, res in zip(where, self._group.submit_many(jobs), strict=True):
            out[i] = res  # on_stored already ran in the committing thread
        return [r if r is not None else ArchiveError("ingest did not complete") for r in out]

    def ingest_record(
        self,
        rec: InstanceRecord,
        size: int,
        durable: Callable[[], Path],
        *,
        policy: DuplicatePolicy | None = None,
        checksum: str = "",
    ) -> IngestResult:
        """Ingest an instance whose file is still being written and made durable in another
        thread: ``durable()`` blocks until its contents are on disk (``fdatasync`` done) and
        returns its temporary path. The index rows are staged meanwhile; the rename (and so
        the directory fsync and the commit) waits for ``durable()``, so the order of
        :meth:`_commit_batch` holds. ``size``: the file's size in bytes. Raises as
        :meth:`ingest`; the caller removes the temporary file when this raises."""
        if non_patient_model(rec.sop_class) is not None:
            return self._ingest_non_patient(durable(), None, rec, synced=True, policy=policy)
        try:
            relpath = self.store.relpath(rec.study_uid, rec.series_uid, rec.sop_uid)
        except (DicomError, OSError) as exc:
            raise ArchiveError(f"cannot index the instance: {exc}") from exc
        return self._group.submit(
            _Job(None, rec, relpath, size, policy or self.policy, checksum, durable=durable)
        )

    def _after_commit(self, jobs: list[_Job]) -> None:
        """(committing thread) :attr:`on_stored` for each instance the batch stored, before
        any of them is answered. Here, not in each waiting thread: a hook that reads the index
        would otherwise queue behind the next batch's commit for the index lock, and every
        answer would wait for two commits. A hook's exception fails its own instance only."""
        hook = self.on_stored
        if hook is None:
            return
        for job in jobs:
            result = job.result
            if result is None or result.outcome == "kept":
                continue
            try:
                hook(result)
            except BaseException as exc:  # noqa: BLE001 -- handed to the instance's thread
                job.error, job.result = exc, None

    def _ingest_non_patient(
        self,
        temp: Path,
        ds: Any,
        rec: InstanceRecord,
        *,
        synced: bool,
        policy: DuplicatePolicy | None,
    ) -> IngestResult:
        """A non-patient object (:mod:`dicomkit.archive._nonpatient`): its own folder and table."""
        try:
            path, outcome = self.non_patient.ingest(
                temp, ds, synced=synced, policy=policy or self.policy
            )
        except (DicomError, OSError) as exc:
            if isinstance(exc, ArchiveError):
                raise
            raise ArchiveError(f"cannot store the non-patient object: {exc}") from exc
        return IngestResult(path.stem, rec.sop_class, path, outcome)

    def _stage(self, job: _Job) -> IngestResult:
        """One instance inside the batch transaction: rows, then the rename (not yet durable:
        the batch fsyncs the directories, then commits)."""
        rec = job.rec
        old = self.index.lookup(rec.sop_uid)
        if old is not None and job.policy is not DuplicatePolicy.REPLACE:
            temp = job.wait_durable()
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            if job.policy is DuplicatePolicy.REJECT:
                raise DuplicateInstanceError(f"instance {rec.sop_uid} is already stored")
            log.info(
                "instance %s is already stored: the new copy was discarded (duplicates "
                "policy 'keep'; 'replace' would store it)",
                rec.sop_uid,
            )
            return IngestResult(
                rec.sop_uid, old.sop_class_uid, self.store.resolve(old.path), "kept"
            )
        self.index.add(rec, job.relpath, job.size, known_new=old is None, checksum=job.checksum)
        self._fault("indexed")
        # The index is authoritative: a file at the final path without a row is a crash
        # leftover, so the new file always replaces it.
        # step 1 before the rename: the contents are durable (a job whose file was still
        # being synced has had its rows staged meanwhile; a failed sync undoes them)
        final = self.store.move_into_place(job.wait_durable(), job.relpath)
        job.placed = old is None
        job.old_path = old.path if old is not None and old.path != job.relpath else None
        self._fault("placed")
        patient = rec.columns.get(Level.PATIENT, {})
        return IngestResult(
            rec.sop_uid,
            rec.sop_class,
            final,
            "replaced" if old is not None else "stored",
            rec.study_uid,
            patient.get("patient_id", ""),
            patient.get("patient_name", ""),
        )

    def _commit_batch(self, jobs: list[_Job]) -> None:
        """Stage every job, commit once, make the batch durable with one round of fsyncs.

        Durability (an instance is acknowledged only when all of it is done):
        1. the file's contents: ``fdatasync`` before the job was queued, or (a job with
           ``durable``, :meth:`ingest_record`) before its rename -- its rows are staged while
           another thread syncs, but nothing is renamed before the contents are durable, so
           a final path never holds a partial file;
        2. its name in the series folder: the rename, then an ``fsync`` of each folder the
           batch renamed into;
        3. its rows: one COMMIT for the whole batch (SQLite WAL: one fsync of the log;
           PostgreSQL: one WAL flush).

        With SQLite in WAL mode, 2 and 3 run side by side: the COMMIT is written unsynced
        (:meth:`Database.transaction` ``synced=False``), then the folder fsyncs and the log's
        fsync are issued at once from a pool (:meth:`_sync_all`); on one file system they
        share a journal commit, so a batch costs the file syncs plus about one more. Until
        all of them return nobody is answered, so a crash in between loses nothing that
        was acknowledged; it can leave a committed row whose rename did not reach the disk
        (an instance never acknowledged), which :meth:`check` drops at start-up, and a
        durable file without a row, which it indexes again. A batch that *replaces* a
        stored file keeps the strict order (folders synced before the COMMIT): the row of
        the new copy must never outlive the old file's name on disk.
        """
        db = self.index.db
        placed: list[_Job] = []
        dirs: list[Path] = []
        try:
            with db.transaction(synced=False) as synced:
                alone = len(jobs) == 1  # no savepoint: its failure rolls back the transaction
                for job in jobs:
                    try:
                        with contextlib.nullcontext() if alone else db.savepoint():
                            job.result = self._stage(job)
                    except BaseException as exc:  # handed to its own thread (re-raised if alone)
                        job.error = exc
                        if job.placed:
                            self._unplace(job)
                        if alone:
                            raise
                        continue
                    if job.placed:
                        placed.append(job)
                dirs = sorted(
                    {
                        j.result.path.parent
                        for j in jobs
                        if j.result is not None and j.result.outcome != "kept"
                    }
                )
                if synced or any(
                    j.result is not None and j.result.outcome == "replaced" for j in jobs
                ):
                    self._sync_all(dirs, wal=False)  # strict order: names before rows
                    dirs = []
        except BaseException as exc:  # the commit (or a directory fsync) failed: nobody wins
            for job in jobs:
                if job.error is None:
                    job.error = exc
                    job.result = None
            for job in placed:
                self._unplace(job)
            raise
        if not synced:
            try:
                self._sync_all(dirs, wal=True)
            except BaseException as exc:
                # committed but not known durable: nobody is told it is kept (a resend finds
                # it stored and keeps it; a crash before the sync is repaired by check())
                for job in jobs:
                    if job.error is None:
                        job.error = exc
                        job.result = None
                raise
        for job in jobs:
            if job.result is not None and job.old_path is not None:
                self.store.remove(job.old_path)
        self._after_commit(jobs)
        self.last_commit = time.monotonic()
        if self.listeners:
            stored = [
                StoredNote(j.rec.study_uid, j.rec.sop_uid, j.dataset, j.size, j.checksum)
                for j in jobs
                if j.result is not None and j.result.outcome != "kept"
            ]
            for listener in self.listeners:
                try:
                    listener(stored)
                except Exception:
                    log.exception("an ingest listener failed")

    def _sync_all(self, dirs: list[Path], *, wal: bool) -> None:
        """fsync the folders a batch renamed into and (``wal``) the index's write-ahead log,
        all at once: concurrent fsyncs on one file system share its journal commit (ext4,
        XFS), so ten series folders plus the log cost about one fsync, not eleven in a row.
        The first failure raises once all have returned."""
        calls: list[Callable[[], None]] = [functools.partial(fsync_dir, d) for d in dirs]
        if wal:
            calls.append(self.index.db.sync_log)
        if len(calls) <= 1:
            for call in calls:
                call()
            return
        if self._sync_pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._sync_pool = ThreadPoolExecutor(8, thread_name_prefix="batch-sync")
        waits = [self._sync_pool.submit(call) for call in calls[:-1]]
        error: BaseException | None = None
        try:
            calls[-1]()  # the last one here: one thread hand-off fewer
        except BaseException as exc:  # noqa: BLE001 -- raised once all have returned
            error = exc
        for done in waits:
            failed = done.exception()  # waits for every one
            if error is None and failed is not None:
                error = failed
        if error is not None:
            raise error

    def _unplace(self, job: _Job) -> None:
        with contextlib.suppress(OSError, ArchiveError):
            self.store.remove(job.relpath)
        job.placed = False

    def _fault(self, point: str) -> None:
        if self.fault is not None:
            self.fault(point)

    def store_dataset(self, ds: Any, *, policy: DuplicatePolicy | None = None) -> IngestResult:
        """Write a Dataset as a Part 10 file into the archive (temporary file, then ingest)."""
        from dicomkit import write

        temp = self.incoming_path()
        try:
            with open(temp, "wb") as fp:
                write(ds, fp)
                fp.flush()
                sync_data(fp.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        return self.ingest(temp, policy=policy, synced=True)

    def delete(
        self,
        *,
        studies: Iterable[str] = (),
        series: Iterable[str] = (),
        instances: Iterable[str] = (),
        dry_run: bool = False,
    ) -> DeleteReport:
        """Delete studies, series and instances (by UID): their index rows in one
        transaction, then their files (:mod:`dicomkit.archive._delete`: crash-safe, and safe
        while a node serves this archive). ``dry_run``: only report what would go."""
        from dicomkit.archive._delete import remove, select_rows

        rows, missing = select_rows(
            self.index.db, studies=studies, series=series, instances=instances
        )
        report = remove(self, rows, dry_run=dry_run)
        report.not_found = missing
        return report

    def remove(self, sop_uid: str) -> bool:
        """Delete the instance with this SOP Instance UID from the index and its file from the
        store (as :meth:`delete`: journalled, safe beside a running node); False when it is
        not stored."""
        return bool(self.delete(instances=[sop_uid]).instances)

    # -- querying -------------------------------------------------------------------------

    def find(
        self,
        identifier: Any,
        model: Model = Model.STUDY_ROOT,
        *,
        options: QueryOptions | None = None,
        retrieve_aet: str = "",
    ) -> Iterator[Result]:
        """C-FIND matching: the response identifiers for ``identifier`` (a Dataset or a
        ``{keyword: value}`` dict with ``QueryRetrieveLevel``). Raises ``QueryError``."""
        query = parse_query(identifier, model, options or self.options)
        columns, rows, post = self.index.select(query)
        for row in rows:
            result = make_result(query, columns, row, post, retrieve_aet=retrieve_aet)
            if result is not None:
                yield result

    def retrieve(
        self,
        identifier: Any,
        model: Model = Model.STUDY_ROOT,
        *,
        options: QueryOptions | None = None,
    ) -> list[StoredInstance]:
        """The instances a C-MOVE / C-GET identifier selects (PS3.4 C.4.2.2.1)."""
        query = parse_query(identifier, model, options or self.options, retrieve=True)
        return self.index.instances(query)

    def path_of(self, inst: StoredInstance) -> Path:
        """The absolute path of a stored instance's file."""
        return self.store.resolve(inst.path)

    # -- integrity ------------------------------------------------------------------------

    def verify_file(self, relpath: str, expected: str | None = None) -> str | None:
        """None when the file at ``relpath`` matches the checksum kept in the index (or none
        was kept), else what is wrong with it, in words."""
        if expected is None:
            expected = self.index.checksum_of(relpath)
        path = self.store.resolve(relpath)
        try:
            actual = file_checksum(path)
        except OSError as exc:
            return f"stored file {relpath} cannot be read: {exc.strerror or exc}"
        if expected and actual != expected:
            return (
                f"stored file {relpath} is damaged: checksum {actual}, {expected} when stored "
                "(restore it from a backup, or delete the instance and store it again)"
            )
        return None

    @staticmethod
    def verify_bytes(relpath: str, expected: str, data: bytes | memoryview) -> str | None:
        """:meth:`verify_file` for a file already read whole (``data``): None when it matches
        ``expected`` (or nothing was kept), else what is wrong with it, in words."""
        if not expected:
            return None
        c = Checksum()
        c.update(data)
        actual = c.text()
        if actual != expected:
            return (
                f"stored file {relpath} is damaged: checksum {actual}, {expected} when stored "
                "(restore it from a backup, or delete the instance and store it again)"
            )
        return None

    def verify(self) -> VerifyReport:
        """Scrub: read every indexed file and compare it with its checksum."""
        report = VerifyReport()
        for rel, expected in sorted(self.index.checksums().items()):
            if not expected:
                report.unchecked.append(rel)
                continue
            problem = self.verify_file(rel, expected)
            if problem is None:
                report.ok += 1
            else:
                report.damaged.append(problem)
        # Hanging Protocols, Color Palettes ... (archive._nonpatient_check)
        ok, damaged, unchecked = verify_non_patient(self.non_patient)
        report.ok += ok
        report.damaged += damaged
        report.unchecked += unchecked
        return report

    # -- consistency ----------------------------------------------------------------------

    def check(self, *, repair: bool = True, sweep: bool = False) -> CheckReport:
        """Compare files and rows; with ``repair`` index orphan files, drop rows without
        files and quarantine unreadable files. ``sweep`` deletes temporary files (only safe
        when no SCP is writing, i.e. at start-up)."""
        report = CheckReport()
        if repair:  # finish interrupted deletes first: their files must not be indexed again
            from dicomkit.archive._delete import finish_pending
            from dicomkit.archive._patient import resume_pending

            finish_pending(self)
            resume_pending(self)
        if sweep:
            report.temporaries = [str(p) for p in self.store.sweep_temporaries()]
        files = set(self.store.iter_files())
        rows = self.index.paths()
        report.orphan_files = sorted(files - rows.keys())
        report.missing_files = sorted(rows.keys() - files)
        # Hanging Protocols, Color Palettes ... (archive._nonpatient_check)
        np_report = check_non_patient(self.non_patient, repair=repair)
        if not repair:
            report.orphan_files += np_report.orphan_files
            report.missing_files += np_report.missing_files
            return report
        if len(report.missing_files) > max(20, len(rows) // 2):
            # Most files gone at once is a missing mount or a wrong folder, not a crash:
            # dropping the rows would empty the index. Refuse and let the operator look.
            raise ArchiveError(
                f"{len(report.missing_files)} of {len(rows)} indexed files are missing under "
                f"{self.root}: is the storage mounted? (to inspect: 'dicomkit serve --no-check' or "
                "'dicomkit archive check ARCHIVE_DIR'; Archive(check=False) from Python)"
            )
        for rel in report.missing_files:
            log.warning("index row without file, dropped: %s", rel)
            self.index.remove(rows[rel])
        for rel in report.orphan_files:
            path = self.store.resolve(rel)
            try:
                rec = record_from_dataset(_read_header(path))
                expected = self.store.relpath(rec.study_uid, rec.series_uid, rec.sop_uid)
                if expected != rel:
                    raise ArchiveError(f"file {rel} holds instance {rec.sop_uid}")
                self.index.add(rec, rel, path.stat().st_size, checksum=file_checksum(path))
                log.warning("file without index row, indexed: %s", rel)
            except (DicomError, OSError) as exc:
                log.warning("unreadable file quarantined: %s (%s)", rel, exc)
                qdir = self.root / ".quarantine"
                qdir.mkdir(exist_ok=True)
                os.replace(path, qdir / rel.replace("/", "_"))
                report.quarantined.append(rel)
        report.orphan_files += np_report.orphan_files
        report.missing_files += np_report.missing_files
        report.quarantined += np_report.quarantined
        return report
