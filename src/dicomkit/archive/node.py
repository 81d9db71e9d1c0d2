"""The archive: a :class:`FileStore` and an :class:`Index` kept in step.

An instance is acknowledged only when its file and its index rows are both durable:
:meth:`Archive.ingest` indexes the instance inside a transaction, moves the file into place
(fsync file, rename, fsync directory) and only then commits. A crash in between leaves at worst
a complete file without rows, which :meth:`Archive.check` (run on start-up) indexes again; it
never leaves rows pointing at a missing or partial file. ``check`` also drops rows whose file has
disappeared, sweeps temporary files and moves unreadable files to ``.quarantine``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from dicomkit.archive.index import Index, InstanceRecord, StoredInstance, record_from_dataset
from dicomkit.archive.matching import Model, QueryOptions, parse_query
from dicomkit.archive.results import Result, make_result
from dicomkit.archive.store import DuplicateInstanceError, DuplicatePolicy, FileStore
from dicomkit.errors import ArchiveError, DicomError

log = logging.getLogger("dicomkit.archive")


@dataclass(frozen=True, slots=True)
class IngestResult:
    sop_instance_uid: str
    sop_class_uid: str
    path: Path
    outcome: str  # "stored", "replaced" or "kept" (duplicate ignored under the keep policy)


@dataclass(slots=True)
class CheckReport:
    """What :meth:`Archive.check` found (and, with ``repair``, fixed)."""

    orphan_files: list[str] = field(default_factory=list)     # file without index row
    missing_files: list[str] = field(default_factory=list)    # index row without file
    quarantined: list[str] = field(default_factory=list)      # unreadable orphan files
    temporaries: list[str] = field(default_factory=list)      # swept temporary files

    @property
    def clean(self) -> bool:
        return not (self.orphan_files or self.missing_files or self.quarantined)


def _read_header(path: Path) -> Any:
    from dicomkit import read  # late import: io is written concurrently

    return read(path, stop_before_pixels=True)


class Archive:
    """File store + index under one root folder (index default: ``ROOT/index.sqlite``)."""

    def __init__(self, root: str | os.PathLike[str], *, db_url: str | None = None,
                 policy: DuplicatePolicy = DuplicatePolicy.KEEP,
                 options: QueryOptions | None = None, check: bool = True) -> None:
        self.store = FileStore(root)
        self.root = self.store.root
        self.index = Index.open(db_url or str(self.root / "index.sqlite"))
        self.policy = policy
        self.options = options or QueryOptions()
        #: test hook: called with "indexed" / "placed" during ingest; raise to inject a crash
        self.fault: Callable[[str], None] | None = None
        self.last_check: CheckReport | None = None
        if check:
            self.last_check = self.check(repair=True, sweep=True)

    def close(self) -> None:
        self.index.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- storing --------------------------------------------------------------------------

    def incoming_path(self) -> Path:
        """A temporary file on the archive's file system for a Storage SCP to stream into."""
        return self.store.incoming_path()

    def ingest(self, temp_file: str | os.PathLike[str], *,
               policy: DuplicatePolicy | None = None, dataset: Any = None) -> IngestResult:
        """Take a complete Part 10 file (already written to a temporary path), move it into
        place and index it, durably. ``dataset``: the already-parsed header, if at hand."""
        policy = policy or self.policy
        temp = Path(temp_file)
        try:
            ds = dataset if dataset is not None else _read_header(temp)
            rec = record_from_dataset(ds)
        except (DicomError, OSError) as exc:
            raise ArchiveError(f"cannot index {temp.name}: {exc}") from exc
        return self._ingest(temp, rec, policy)

    def _ingest(self, temp: Path, rec: InstanceRecord, policy: DuplicatePolicy) -> IngestResult:
        relpath = self.store.relpath(rec.study_uid, rec.series_uid, rec.sop_uid)
        size = temp.stat().st_size
        db = self.index.db
        with db.transaction():
            old = self.index.lookup(rec.sop_uid)
            if old is not None and policy is not DuplicatePolicy.REPLACE:
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()
                if policy is DuplicatePolicy.REJECT:
                    raise DuplicateInstanceError(f"instance {rec.sop_uid} is already stored")
                return IngestResult(rec.sop_uid, old.sop_class_uid, self.store.resolve(old.path),
                                    "kept")
            self.index.add(rec, relpath, size)
            self._fault("indexed")
            # The index is authoritative: a file at the final path without a row is a crash
            # leftover, so the new file always replaces it.
            final, _ = self.store.place(temp, relpath, policy=DuplicatePolicy.REPLACE)
            try:
                self._fault("placed")
            except BaseException:
                if old is None:
                    self.store.remove(relpath)
                raise
        if old is not None and old.path != relpath:
            self.store.remove(old.path)
        return IngestResult(rec.sop_uid, rec.sop_class, final,
                            "replaced" if old is not None else "stored")

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
                os.fsync(fp.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        return self.ingest(temp, policy=policy)

    def remove(self, sop_uid: str) -> bool:
        inst = self.index.lookup(sop_uid)
        if inst is None:
            return False
        self.index.remove(sop_uid)
        self.store.remove(inst.path)
        return True

    # -- querying -------------------------------------------------------------------------

    def find(self, identifier: Any, model: Model = Model.STUDY_ROOT, *,
             options: QueryOptions | None = None, retrieve_aet: str = "") -> Iterator[Result]:
        """C-FIND matching: the response identifiers for ``identifier`` (a Dataset or a
        ``{keyword: value}`` dict with ``QueryRetrieveLevel``). Raises ``QueryError``."""
        query = parse_query(identifier, model, options or self.options)
        columns, rows, post = self.index.select(query)
        for row in rows:
            result = make_result(query, columns, row, post, retrieve_aet=retrieve_aet)
            if result is not None:
                yield result

    def retrieve(self, identifier: Any, model: Model = Model.STUDY_ROOT, *,
                 options: QueryOptions | None = None) -> list[StoredInstance]:
        """The instances a C-MOVE / C-GET identifier selects (PS3.4 C.4.2.2.1)."""
        query = parse_query(identifier, model, options or self.options, retrieve=True)
        return self.index.instances(query)

    def path_of(self, inst: StoredInstance) -> Path:
        return self.store.resolve(inst.path)

    # -- consistency ----------------------------------------------------------------------

    def check(self, *, repair: bool = True, sweep: bool = False) -> CheckReport:
        """Compare files and rows; with ``repair`` index orphan files, drop rows without
        files and quarantine unreadable files. ``sweep`` deletes temporary files (only safe
        when no SCP is writing, i.e. at start-up)."""
        report = CheckReport()
        if sweep:
            report.temporaries = [str(p) for p in self.store.sweep_temporaries()]
        files = set(self.store.iter_files())
        rows = self.index.paths()
        report.orphan_files = sorted(files - rows.keys())
        report.missing_files = sorted(rows.keys() - files)
        if not repair:
            return report
        if len(report.missing_files) > max(20, len(rows) // 2):
            # Most files gone at once is a missing mount or a wrong folder, not a crash:
            # dropping the rows would empty the index. Refuse and let the operator look.
            raise ArchiveError(
                f"{len(report.missing_files)} of {len(rows)} indexed files are missing under "
                f"{self.root}: is the storage mounted? (start with check=False to inspect)")
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
                self.index.add(rec, rel, path.stat().st_size)
                log.warning("file without index row, indexed: %s", rel)
            except (DicomError, OSError) as exc:
                log.warning("unreadable file quarantined: %s (%s)", rel, exc)
                qdir = self.root / ".quarantine"
                qdir.mkdir(exist_ok=True)
                os.replace(path, qdir / rel.replace("/", "_"))
                report.quarantined.append(rel)
        return report
