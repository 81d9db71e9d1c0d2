"""The archive's group commit (archive._node): what holds when an ingest returns, and which
instances a failure inside a batch takes with it."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from archive_helpers import synthetic, write_temp

from dicomkit.archive import Archive
from dicomkit.archive._index import record_from_dataset
from dicomkit.archive._store import sync_data
from dicomkit.errors import ArchiveError


def _hold_first_batch(arch: Archive, waiting: int) -> list[int]:
    """Make the group's first batch wait until ``waiting`` more ingests have queued behind
    it, so they are committed together; returns the batch sizes as they commit."""
    group = arch._group
    inner = group._commit
    sizes: list[int] = []

    def commit(batch: list[Any]) -> None:
        sizes.append(len(batch))
        if len(sizes) == 1:
            deadline = time.monotonic() + 10
            while len(group._queue) < waiting and time.monotonic() < deadline:
                time.sleep(0.005)
        inner(batch)

    group._commit = commit  # type: ignore[method-assign]
    return sizes


def _in_other_connection(arch: Archive, sop: str) -> bool:
    """Whether another connection (another process's view) sees the instance's row."""
    with sqlite3.connect(arch.root / "index.sqlite") as db:
        row = db.execute("SELECT 1 FROM instances WHERE sop_instance_uid = ?", (sop,)).fetchone()
    return row is not None


def test_each_instance_is_committed_synced_and_on_disk_when_its_ingest_returns(
    tmp_path: Path,
) -> None:
    rows = synthetic(6)
    with Archive(tmp_path / "a") as arch:
        db = arch.index.db
        synced_log: list[int] = []
        inner_sync = db.sync_log

        def sync_log() -> None:
            inner_sync()
            synced_log.append(1)

        db.sync_log = sync_log  # type: ignore[method-assign]
        seen_by_hook: list[tuple[bool, bool, int]] = []

        def hook(result: Any) -> None:  # before any of the batch is answered
            seen_by_hook.append(
                (
                    result.path.is_file(),
                    _in_other_connection(arch, result.sop_instance_uid),
                    len(synced_log),
                )
            )

        arch.on_stored = hook
        sizes = _hold_first_batch(arch, len(rows) - 1)
        temps = [write_temp(arch, r) for r in rows]
        checks: list[tuple[bool, bool]] = []

        def ingest(t: Path) -> None:
            res = arch.ingest(t)
            checks.append((res.path.is_file(), _in_other_connection(arch, res.sop_instance_uid)))

        with ThreadPoolExecutor(len(rows)) as pool:
            first = pool.submit(ingest, temps[0])
            deadline = time.monotonic() + 10
            while not sizes and time.monotonic() < deadline:
                time.sleep(0.002)
            for f in [pool.submit(ingest, t) for t in temps[1:]] + [first]:
                f.result()
        assert checks == [(True, True)] * len(rows)
        assert len(seen_by_hook) == len(rows)
        # the hook ran after the batch's log fsync: file in place, rows visible and synced
        assert all(f and r and n >= 1 for f, r, n in seen_by_hook)
        assert sum(sizes) == len(rows) and len(sizes) < len(rows)  # batched
        assert arch.check(repair=False).clean


def _durable_after(path: Path, fail: bool) -> Callable[[], Path]:
    def durable() -> Path:
        if fail:
            raise OSError(5, "Input/output error (injected)")
        sync_data(path)
        return path

    return durable


def test_a_failing_file_sync_fails_only_its_own_instance(tmp_path: Path) -> None:
    """Three instances in one batch, the second's fdatasync fails: the other two are stored,
    indexed and answered; the second raises and leaves neither a row nor a file."""
    import dicomkit

    rows = synthetic(3)[:3]
    with Archive(tmp_path / "a") as arch:
        sizes = _hold_first_batch(arch, len(rows) - 1)
        temps = [write_temp(arch, r) for r in rows]
        recs = [record_from_dataset(dicomkit.read(t)) for t in temps]

        def ingest(i: int) -> Any:
            return arch.ingest_record(
                recs[i], temps[i].stat().st_size, _durable_after(temps[i], fail=i == 1)
            )

        with ThreadPoolExecutor(3) as pool:
            first = pool.submit(ingest, 0)
            deadline = time.monotonic() + 10
            while not sizes and time.monotonic() < deadline:
                time.sleep(0.002)
            others = [pool.submit(ingest, i) for i in (1, 2)]
            assert first.result().outcome == "stored"
            assert others[1].result().outcome == "stored"
            with pytest.raises(OSError, match="injected"):
                others[0].result()
        assert sizes[0] == 1 and sum(sizes) == 3
        assert arch.index.lookup(recs[1].sop_uid) is None
        assert arch.index.lookup(recs[0].sop_uid) is not None
        assert arch.index.lookup(recs[2].sop_uid) is not None
        assert not arch.store.path_for(
            recs[1].study_uid, recs[1].series_uid, recs[1].sop_uid
        ).exists()
        assert arch.index.count() == 2


def test_a_failing_hook_fails_only_its_own_instance(tmp_path: Path) -> None:
    rows = synthetic(4)[:4]
    with Archive(tmp_path / "a") as arch:
        bad = rows[2]["SOPInstanceUID"]

        def hook(result: Any) -> None:
            if result.sop_instance_uid == bad:
                raise ArchiveError("hook refused (injected)")

        arch.on_stored = hook
        _hold_first_batch(arch, len(rows) - 1)
        temps = [write_temp(arch, r) for r in rows]
        with ThreadPoolExecutor(len(rows)) as pool:
            futures = [pool.submit(arch.ingest, t) for t in temps]
            outcomes = []
            for f in futures:
                try:
                    outcomes.append(f.result().sop_instance_uid)
                except ArchiveError as exc:
                    assert "injected" in str(exc)
                    outcomes.append("failed")
        assert outcomes == [
            r["SOPInstanceUID"] if r["SOPInstanceUID"] != bad else "failed" for r in rows
        ]


def test_a_failing_log_sync_answers_nobody_in_the_batch(tmp_path: Path) -> None:
    """The commit went through but its fsync failed: no instance of the batch is reported
    stored (acknowledged only when durable); the next batch works again."""
    rows = synthetic(4)[:4]
    with Archive(tmp_path / "a") as arch:
        db = arch.index.db
        inner_sync = db.sync_log
        fail = threading.Event()
        fail.set()

        def sync_log() -> None:
            if fail.is_set():
                raise OSError(5, "Input/output error (injected)")
            inner_sync()

        db.sync_log = sync_log  # type: ignore[method-assign]
        _hold_first_batch(arch, 2)
        temps = [write_temp(arch, r) for r in rows[:3]]
        with ThreadPoolExecutor(3) as pool:
            futures = [pool.submit(arch.ingest, t) for t in temps]
            errors = 0
            for f in futures:
                with pytest.raises(OSError, match="injected"):
                    f.result()
                errors += 1
        assert errors == 3
        fail.clear()
        assert arch.ingest(write_temp(arch, rows[3])).outcome == "stored"
