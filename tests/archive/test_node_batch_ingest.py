"""The node's batch ingest of instances received into memory (archive._app._BatchIngest):
concurrent stores from several associations are parsed, written, synced and committed
together, and each one is answered for itself: a data set that cannot be indexed or a file
whose sync fails is refused alone, leaving nothing behind, while the others are stored."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from archive_helpers import run_node, synthetic, to_dataset

from dicomkit.archive._app import ArchiveNode
from dicomkit.archive._config import NodeConfig
from dicomkit.archive._store import FileStore
from dicomkit.dictionary import status_codes
from dicomkit.errors import DimseError
from dicomkit.net import AE
from dicomkit.services._storage import store


def _store_concurrently(tmp_path: Path, datasets: list[Any]) -> tuple[list[int], ArchiveNode]:
    """Store each data set over an association of its own, all at once: their statuses."""

    async def one(port: int, ds: Any) -> int:
        contexts = [(str(ds.SOPClassUID), ["1.2.840.10008.1.2.1"])]
        async with AE("MODALITY").associate(
            "127.0.0.1", port, ae_title="DICOMKIT", contexts=contexts
        ) as assoc:
            try:
                return int((await store(assoc, ds)).status)
            except DimseError as exc:
                return int(exc.status)

    async def client(port: int) -> list[int]:
        return list(await asyncio.gather(*(one(port, ds) for ds in datasets)))

    return run_node(tmp_path, NodeConfig(), client, timeout=60)


def _stored(node: ArchiveNode) -> set[str]:
    with contextlib.closing(sqlite3.connect(node.archive.root / "index.sqlite")) as db:
        return {r[0] for r in db.execute("SELECT sop_instance_uid FROM instances")}


def _leftovers(node: ArchiveNode) -> list[str]:
    return sorted(p.name for p in (node.archive.root / FileStore.INCOMING).iterdir())


def test_an_unindexable_data_set_is_refused_alone(tmp_path: Path) -> None:
    rows = synthetic(6)
    datasets = [to_dataset(r) for r in rows]
    bad = datasets[2]
    del bad["StudyInstanceUID"]
    statuses, node = _store_concurrently(tmp_path, datasets)
    assert statuses[2] == status_codes.CannotUnderstand
    assert [s for i, s in enumerate(statuses) if i != 2] == [0] * (len(rows) - 1)
    good = {str(r["SOPInstanceUID"]) for i, r in enumerate(rows) if i != 2}
    assert _stored(node) == good
    assert _leftovers(node) == []


def test_a_failed_sync_fails_its_instance_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dicomkit.archive._app as app

    rows = synthetic(5)
    victim = str(rows[1]["SOPInstanceUID"])
    real = app.sync_data
    failing: list[int] = []

    def sync_data(fd: int) -> None:
        data = Path(f"/proc/self/fd/{fd}").resolve().read_bytes()  # the file written so far
        if victim.encode() in data:
            failing.append(fd)
            raise OSError(5, "Input/output error")
        real(fd)

    monkeypatch.setattr(app, "sync_data", sync_data)
    statuses, node = _store_concurrently(tmp_path, [to_dataset(r) for r in rows])
    assert failing, "the victim's file was never synced"
    assert statuses[1] == status_codes.OutOfResources
    assert [s for i, s in enumerate(statuses) if i != 1] == [0] * (len(rows) - 1)
    assert victim not in _stored(node)
    assert len(_stored(node)) == len(rows) - 1
    assert _leftovers(node) == []
