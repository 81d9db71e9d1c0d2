"""The WADO-RS metadata cache: each instance's DICOM JSON made once, at ingest, kept in
``ARCHIVE/.web-metadata.sqlite`` and assembled per study (PS3.18 10.4.1.1.2).

Viewers ask for the metadata of a whole study before they show anything; reading and
converting a thousand files on every request is what makes other archives slow there. The
cache keeps, per instance, its JSON object with BulkDataURIs relative to a placeholder
(the base URL comes from each request's Host header), and the stamp of the file it was made
from (checksum, size and relative path as the index holds them).

Validity never depends on being told: a request reads the study's rows from the index
(one indexed query) and takes a cached object only when its stamp equals the index row's.
So a replaced instance (new checksum), a deleted one (no row) or one stored by a process
that had no cache open is simply made again. Ingest tells the cache (through
:attr:`~dicomkit.archive._node.Archive.listeners`) so a background thread makes the objects
before anyone asks; while instances keep arriving it waits for a pause in the ingest (at most
:attr:`MetadataCache.MAX_DELAY`), so it does not take the CPU the acknowledgements need. The assembled answer of recently asked studies is kept in memory too,
keyed by the same stamps; and the bytes last sent for a study (base URL filled in) are sent
again as they are, without even that query, while the index has not changed at all since
(SQLite's data version and change count: any store, delete or IOCM change, by this process
or another, moves them).

The cache is a cache: deleting the file loses nothing (it is rebuilt on demand).
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dicomkit.archive._index import StoredInstance
from dicomkit.archive._node import Archive, StoredNote
from dicomkit.archive._queues import take_waiting

__all__ = ["MetadataCache"]

log = logging.getLogger("dicomkit.web")

#: stands for the request's base URL inside cached JSON; JSON writes the control characters
#: escaped (``\\u0001``), which is what :meth:`MetadataCache.assemble` replaces
_MARK = "\x01BASE\x01"
_MARK_JSON = json.dumps(_MARK)[1:-1]

_STUDY_ROWS = (
    "SELECT i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax, i.path, "
    "st.study_instance_uid, se.series_instance_uid, i.checksum, i.size "
    "FROM instances i JOIN series se ON i.series_fk = se.id "
    "JOIN studies st ON se.study_fk = st.id WHERE st.study_instance_uid = ?"
)


_SOP_ROW = _STUDY_ROWS.replace("st.study_instance_uid = ?", "i.sop_instance_uid = ?")


def _stamp(checksum: str, size: int, path: str) -> str:
    return f"{checksum}|{size}|{path}"


class MetadataCache:
    """Per-instance DICOM JSON of ``archive``, made at ingest and assembled per request.

    ``memory_bytes``: how much assembled study metadata is kept in memory (least recently
    asked studies go first)."""

    FILE = ".web-metadata.sqlite"
    #: the ingest thread works once no instance was committed for this many seconds ...
    QUIET = 0.05
    #: ... or once its oldest queued instance has waited this long
    MAX_DELAY = 2.0
    #: the data sets the ingest parsed are kept for the ingest thread (no file re-read) up to
    #: this many bytes of files; beyond, the instance's file is read again
    DATASET_BYTES = 32 << 20

    def __init__(
        self, archive: Archive, path: str | Path | None = None, *, memory_bytes: int = 64 << 20
    ) -> None:
        self.archive = archive
        self.path = Path(path) if path is not None else archive.root / self.FILE
        self.lock = threading.Lock()
        self.conn = self._open()
        self.memory_bytes = memory_bytes
        self._assembled: collections.OrderedDict[tuple[Any, ...], bytes] = collections.OrderedDict()
        self._held = 0
        # the answers last sent, with the base URL in them, valid while the index has not
        # changed at all since (:meth:`_index_version`): no index query, no copy
        self._served: collections.OrderedDict[
            tuple[str, str | None, str | None, str], tuple[tuple[int, int], bytes]
        ] = collections.OrderedDict()
        self._served_bytes = 0
        self._queue: queue.SimpleQueue[list[StoredNote] | threading.Event | None] = (
            queue.SimpleQueue()
        )
        #: bytes of ingest-parsed data sets waiting in the queue (at most DATASET_BYTES)
        self._held_datasets = 0
        self._worker: threading.Thread | None = None
        #: instances made by the ingest thread (for tests and the benchmark's log line)
        self.made_at_ingest = 0
        archive.listeners.append(self._ingested)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # a cache: losing the tail costs a rebuild
        conn.execute(
            "CREATE TABLE IF NOT EXISTS metadata (sop TEXT PRIMARY KEY, study TEXT NOT NULL, "
            "stamp TEXT NOT NULL, json TEXT NOT NULL)"
        )
        conn.execute("CREATE INDEX IF NOT EXISTS ix_metadata_study ON metadata(study)")
        return conn

    def close(self) -> None:
        """Stop the ingest thread and close the cache file."""
        with contextlib.suppress(ValueError):
            self.archive.listeners.remove(self._ingested)
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(30)
            self._worker = None
        with self.lock:
            self.conn.close()

    # -- at ingest ------------------------------------------------------------------------

    def _ingested(self, stored: list[StoredNote]) -> None:
        """(ingest thread) Queue the instances just committed; never blocks."""
        if not stored:
            return
        with self.lock:
            held = self._held_datasets
            kept: list[StoredNote] = []
            for note in stored:
                if note.dataset is not None:
                    if held + note.size > self.DATASET_BYTES:
                        note = note._replace(dataset=None)  # its file is read again
                    else:
                        held += note.size
                kept.append(note)
            self._held_datasets = held
        stored = kept
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="dicomweb-metadata", daemon=True)
            self._worker.start()
        self._queue.put(stored)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            batch = list(item)
            markers: list[threading.Event] = []
            stop = False
            # while instances keep arriving, let the ingest have the CPU: wait for a quiet
            # moment (or at most MAX_DELAY), then make everything queued in one transaction
            deadline = time.monotonic() + self.MAX_DELAY
            while not markers and not stop:
                waiting, stop = take_waiting(self._queue)  # take what else is waiting
                for more in waiting:
                    if isinstance(more, threading.Event):
                        markers.append(more)
                    else:
                        batch += more
                now = time.monotonic()
                if markers or stop or now >= deadline:
                    break
                if now - self.archive.last_commit >= self.QUIET:
                    break
                time.sleep(self.QUIET)
            try:
                self._make_for(batch)
            except Exception:
                log.debug("metadata cache: ingest batch not cached", exc_info=True)
            finally:
                let_go = sum(n.size for n in batch if n.dataset is not None)
                batch = []
                with self.lock:
                    self._held_datasets -= let_go
            for m in markers:
                m.set()
            if stop:
                return

    def _make_for(self, notes: list[StoredNote]) -> None:
        rows: list[tuple[str, str, str, str]] = []
        for note in notes:
            sop = note.sop
            got = self.archive.index.db.query(_SOP_ROW, (sop,))
            if not got:
                continue  # deleted meanwhile
            inst, stamp = _row(got[0])
            ds = note.dataset
            if ds is not None and (got[0][6] or "", got[0][7]) != (note.checksum, note.size):
                ds = None  # replaced meanwhile by another copy: made from its file
            rows.append((sop, inst.study_instance_uid, stamp, self._make(inst, ds)))
        self._put(rows)
        self.made_at_ingest += len(rows)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until the ingest thread has made everything queued so far (False on
        timeout)."""
        if self._worker is None:
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    # -- making and keeping ---------------------------------------------------------------

    def _make(self, inst: StoredInstance, dataset: Any = None) -> str:
        """The cached JSON of ``inst``, made from ``dataset`` (its parsed file) if given."""
        from dicomkit.web._wado import metadata_of

        obj = metadata_of(self.archive, inst, _MARK, dataset=dataset)
        return json.dumps(obj, ensure_ascii=False)

    def _put(self, rows: list[tuple[str, str, str, str]]) -> None:
        if not rows:
            return
        with self.lock:
            self.conn.execute("BEGIN")
            try:
                self.conn.executemany(
                    "INSERT OR REPLACE INTO metadata (sop, study, stamp, json) VALUES (?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def _forget(self, sops: Iterable[str]) -> None:
        gone = [(s,) for s in sops]
        if gone:
            with self.lock:
                self.conn.executemany("DELETE FROM metadata WHERE sop = ?", gone)

    # -- answering ------------------------------------------------------------------------

    def instances(
        self, study: str, series: str | None = None, sop: str | None = None
    ) -> list[tuple[StoredInstance, str]]:
        """The index rows (with stamps) of a study, series or instance, in index order."""
        sql = _STUDY_ROWS
        params: list[str] = [study]
        if series is not None:
            sql += " AND se.series_instance_uid = ?"
            params.append(series)
        if sop is not None:
            sql += " AND i.sop_instance_uid = ?"
            params.append(sop)
        sql += " ORDER BY se.id, i.id"
        return [_row(r) for r in self.archive.index.db.query(sql, params)]

    def assemble(
        self,
        study: str,
        base_url: str,
        series: str | None = None,
        sop: str | None = None,
    ) -> bytes | None:
        """The metadata JSON array (UTF-8) of a study, series or instance with BulkDataURIs
        under ``base_url``; None when nothing is stored there."""
        version = self._index_version()
        asked = (study, series, sop, base_url)
        if version is not None:
            with self.lock:
                hit = self._served.get(asked)
                if hit is not None and hit[0] == version:
                    self._served.move_to_end(asked)
                    return hit[1]
        found = self.instances(study, series, sop)
        if not found:
            return None
        key = (study, series, sop, tuple(stamp for _i, stamp in found))
        with self.lock:
            body = self._assembled.get(key)
            if body is not None:
                self._assembled.move_to_end(key)
        if body is None:
            body = self._build(study, found)
            self._keep(key, body)
        answer = body.replace(_MARK_JSON.encode(), json.dumps(base_url)[1:-1].encode())
        if version is not None and len(answer) <= self.memory_bytes // 4:
            with self.lock:
                old = self._served.pop(asked, None)
                self._served_bytes += len(answer) - (len(old[1]) if old else 0)
                self._served[asked] = (version, answer)
                while self._served_bytes > self.memory_bytes // 2 and self._served:
                    _k, (_v, gone) = self._served.popitem(last=False)
                    self._served_bytes -= len(gone)
        return answer

    def _index_version(self) -> tuple[int, int] | None:
        """What changes whenever the index does (SQLite: ``PRAGMA data_version`` moves with
        commits of other connections, ``total_changes`` with this one's rows, committed or
        not); None for a database that has no such cheap counter (every request then
        compares the stamps)."""
        db = self.archive.index.db
        if db.dialect != "sqlite":
            return None
        with db.lock:
            (data_version,) = db.conn.execute("PRAGMA data_version").fetchone()
            return int(data_version), int(db.conn.total_changes)

    def _build(self, study: str, found: list[tuple[StoredInstance, str]]) -> bytes:
        with self.lock:
            cached = {
                sop: (stamp, text)
                for sop, stamp, text in self.conn.execute(
                    "SELECT sop, stamp, json FROM metadata WHERE study = ?", (study,)
                )
            }
        texts: list[str] = []
        fresh: list[tuple[str, str, str, str]] = []
        for inst, stamp in found:
            hit = cached.get(inst.sop_instance_uid)
            if hit is not None and hit[0] == stamp:
                texts.append(hit[1])
                continue
            text = self._make(inst)
            texts.append(text)
            fresh.append((inst.sop_instance_uid, study, stamp, text))
        self._put(fresh)
        wanted = {i.sop_instance_uid for i, _s in found}
        if len(found) > 1:  # a whole study or series: drop rows of instances gone from it
            stale = [s for s in cached if s not in wanted]
            if stale and len(wanted) == len(self.instances(study)):
                self._forget(stale)
        return ("[" + ",".join(texts) + "]").encode()

    def _keep(self, key: tuple[Any, ...], body: bytes) -> None:
        if len(body) > self.memory_bytes // 4:
            return
        with self.lock:
            stale = [k for k in self._assembled if k[:3] == key[:3]]
            for k in stale:
                self._held -= len(self._assembled.pop(k))
            self._assembled[key] = body
            self._held += len(body)
            while self._held > self.memory_bytes and self._assembled:
                _k, old = self._assembled.popitem(last=False)
                self._held -= len(old)


def _row(r: tuple[Any, ...]) -> tuple[StoredInstance, str]:
    inst = StoredInstance(*r[:6])
    return inst, _stamp(str(r[6] or ""), int(r[7] or 0), str(r[3]))
