"""The node's asynchronous operations window (PS3.7 D.3.3.3, ``[server] async_ops``,
``serve --async-ops``): what it grants a requestor that proposes one, pipelined C-STOREs on
one association all stored and answered, and no window by default."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from archive_helpers import run_node, synthetic, to_dataset, write_files
from peers import require_module

from dicomkit.archive._app import ArchiveNode
from dicomkit.archive._config import ConfigError, NodeConfig, from_mapping, load
from dicomkit.net import AEConfig
from dicomkit.net._blocking import BlockingAssociation, associate
from dicomkit.net._messages import encode_data
from dicomkit.net.proto import _dimse as dimse

EXPLICIT = "1.2.840.10008.1.2.1"
VERIFICATION = "1.2.840.10008.1.1"


def _with_node(tmp_path: Path, cfg: NodeConfig, client: Any) -> tuple[Any, ArchiveNode]:
    """Run the node on this thread's loop and ``client(port)`` (blocking) in a worker thread."""
    return run_node(tmp_path, cfg, lambda port: asyncio.to_thread(client, port))


def _connect(port: int, datasets: list[Any], window: tuple[int, int] | None) -> Any:
    classes = sorted({str(ds.SOPClassUID) for ds in datasets})
    return associate(
        "127.0.0.1",
        port,
        AEConfig(ae_title="MODALITY"),
        ae_title="DICOMKIT",
        contexts=[(VERIFICATION, [EXPLICIT]), *((uid, [EXPLICIT]) for uid in classes)],
        async_ops=window,
    )


def _pipeline(assoc: BlockingAssociation, datasets: list[Any], depth: int) -> list[Any]:
    """C-STORE every data set with up to ``depth`` requests outstanding; the responses in
    the order of the data sets."""
    out: list[Any] = []
    inflight: list[int] = []
    for ds in datasets:
        if len(inflight) >= depth:
            out.append(assoc.final_response(inflight.pop(0)))
        req = dimse.CStoreRequest(
            affected_sop_class_uid=str(ds.SOPClassUID),
            affected_sop_instance_uid=str(ds.SOPInstanceUID),
        )
        inflight.append(assoc.send_request(req, encode_data(ds, EXPLICIT)))
    out += [assoc.final_response(mid) for mid in inflight]
    return out


def _stored(node: ArchiveNode) -> dict[str, str]:
    """SOP Instance UID -> stored file path, from the index."""
    with contextlib.closing(sqlite3.connect(node.archive.root / "index.sqlite")) as db:
        return dict(db.execute("SELECT sop_instance_uid, path FROM instances"))


@pytest.mark.parametrize(
    ("configured", "proposed", "granted"),
    [
        (1, (8, 8), (1, 1)),  # the default: no window
        (0, (8, 8), (1, 1)),  # 0 is no window too (not "unlimited")
        (8, (16, 16), (8, 8)),  # at most what is configured
        (8, (4, 2), (4, 2)),  # or less, when less is proposed
        (8, None, (1, 1)),  # not proposed: none
    ],
)
def test_the_window_granted(
    tmp_path: Path, configured: int, proposed: tuple[int, int] | None, granted: tuple[int, int]
) -> None:
    ds = to_dataset(synthetic(1)[0])

    def client(port: int) -> tuple[int, int]:
        with _connect(port, [ds], proposed) as assoc:
            assert assoc.echo_status() == 0
            return assoc.async_ops

    got, _ = _with_node(tmp_path, NodeConfig(async_ops=configured), client)
    assert got == granted


def test_the_default_grants_no_window() -> None:
    assert NodeConfig().async_ops == 1
    assert load(None).async_ops == 1


@pytest.mark.parametrize("window", [8, 1])
def test_fifty_pipelined_stores_are_stored_and_answered(tmp_path: Path, window: int) -> None:
    """Window 8: 50 C-STOREs with 8 outstanding. Window 1 (the default): the requestor
    pipelines past it anyway; the association reads them as it answers (back-pressure, no
    abort), so every one is still stored and answered."""
    rows = synthetic(16)[:50]
    assert len(rows) == 50
    datasets = [to_dataset(r) for r in rows]

    def client(port: int) -> tuple[tuple[int, int], list[Any], bool]:
        with _connect(port, datasets, (window, window)) as assoc:
            rsps = _pipeline(assoc, datasets, 8)
            return assoc.async_ops, rsps, assoc.is_closed

    (ops, rsps, closed), node = _with_node(tmp_path, NodeConfig(async_ops=window), client)
    assert ops == (window, window)
    assert not closed
    assert [r.status for r in rsps] == [0] * 50
    uids = [str(ds.SOPInstanceUID) for ds in datasets]
    assert [r.message.affected_sop_instance_uid for r in rsps] == uids
    stored = _stored(node)
    assert set(stored) == set(uids)
    for uid in uids:  # durable: the file is where the index says
        assert (node.archive.root / stored[uid]).is_file()


def test_a_pynetdicom_requestor_is_granted_the_window(tmp_path: Path) -> None:
    pynetdicom = require_module("pynetdicom")
    from pynetdicom.pdu_primitives import AsynchronousOperationsWindowNegotiation

    rows = synthetic(4)[:10]
    datasets = [to_dataset(r) for r in rows]
    files = write_files(rows, tmp_path / "files")

    def client(port: int) -> tuple[Any, list[int]]:
        ae = pynetdicom.AE(ae_title="PYSCU")
        for uid in sorted({str(ds.SOPClassUID) for ds in datasets}):
            ae.add_requested_context(uid, [EXPLICIT])
        item = AsynchronousOperationsWindowNegotiation()
        item.maximum_number_operations_invoked = 16
        item.maximum_number_operations_performed = 16
        assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT", ext_neg=[item])
        assert assoc.is_established
        try:
            window = assoc.acceptor.asynchronous_operations
            statuses = [int(assoc.send_c_store(str(f)).Status) for f in files]
        finally:
            assoc.release()
        return window, statuses

    (window, statuses), node = _with_node(tmp_path, NodeConfig(async_ops=4), client)
    assert tuple(window) == (4, 4)
    assert statuses == [0] * len(datasets)
    assert set(_stored(node)) == {str(ds.SOPInstanceUID) for ds in datasets}


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (-1, "a number >= 0"),
        (2.5, "a whole number of operations"),
        (65536, "0 to 65535"),
        ("8", "a number >= 0"),
    ],
)
def test_a_bad_async_ops_is_refused_in_words(value: Any, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        from_mapping({"server": {"async_ops": value}})


def test_the_config_key_and_the_option() -> None:
    assert from_mapping({"server": {"async_ops": 16}}).async_ops == 16
    assert load(None, async_ops=4).async_ops == 4
    with pytest.raises(ConfigError, match="0 to 65535"):
        load(None, async_ops=70000)


def test_pipelined_stores_share_a_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the window the node stores pipelined C-STOREs at once: while the first batch
    is held back until 8 instances were handed in, the rest queue up and are ingested (one
    commit) together; stored one at a time, no second instance would come meanwhile."""
    import threading

    from dicomkit.archive._app import _BatchIngest

    submitted: list[int] = []
    eight = threading.Event()
    sizes: list[int] = []
    submit, ingest = _BatchIngest.submit, _BatchIngest._ingest

    def counting(self: _BatchIngest, sink: Any) -> Any:
        submitted.append(1)
        if len(submitted) >= 8:
            eight.set()
        return submit(self, sink)

    def held(self: _BatchIngest, sinks: list[Any]) -> list[Any]:
        eight.wait(10)
        sizes.append(len(sinks))
        return ingest(self, sinks)

    monkeypatch.setattr(_BatchIngest, "submit", counting)
    monkeypatch.setattr(_BatchIngest, "_ingest", held)
    datasets = [to_dataset(r) for r in synthetic(8)[:20]]

    def client(port: int) -> list[Any]:
        with _connect(port, datasets, (8, 8)) as assoc:
            return _pipeline(assoc, datasets, 8)

    rsps, node = _with_node(tmp_path, NodeConfig(async_ops=8), client)
    assert [r.status for r in rsps] == [0] * 20
    assert set(_stored(node)) == {str(ds.SOPInstanceUID) for ds in datasets}
    assert max(sizes) > 1
    assert sum(sizes) == 20


def test_a_move_to_a_node_granting_a_window(tmp_path: Path) -> None:
    """C-MOVE from one node to another that grants a window of 16: the source pipelines its
    C-STORE sub-operations within it, the destination stores them at once; every instance
    arrives, durable and indexed, and the C-MOVE counts them all completed."""
    from dicomkit.archive._config import Peer
    from dicomkit.net import AE
    from dicomkit.services import _query_retrieve as qr

    rows = synthetic(16)[:40]
    datasets = [to_dataset(r) for r in rows]
    studies = sorted({str(r["StudyInstanceUID"]) for r in rows})
    dest = ArchiveNode(
        NodeConfig(archive=tmp_path / "dest", host="127.0.0.1", port=0, async_ops=16)
    )

    async def main() -> tuple[int, int]:
        dest_server = await dest.start()
        src = ArchiveNode(
            NodeConfig(
                archive=tmp_path / "src",
                host="127.0.0.1",
                port=0,
                peers={"DEST": Peer("DEST", "127.0.0.1", dest_server.port)},
            )
        )
        src_server = await src.start()
        try:
            await asyncio.to_thread(
                lambda: _pipeline_all(src_server.port, datasets)  # into the source first
            )
            async with AE("MOVER").associate(
                "127.0.0.1",
                src_server.port,
                ae_title="DICOMKIT",
                contexts=[qr.MOVE[qr.Model.STUDY_ROOT]],
            ) as assoc:
                res = await qr.move(
                    assoc, qr.identifier("STUDY", {"StudyInstanceUID": "\\".join(studies)}), "DEST"
                )
            return res.completed, res.failed
        finally:
            await src_server.close()
            src.storage.close()
            src.archive.close()
            await dest_server.close()
            dest.storage.close()

    try:
        completed, failed = asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        dest.archive.close()
    assert (completed, failed) == (40, 0)
    stored = _stored(dest)
    assert set(stored) == {str(ds.SOPInstanceUID) for ds in datasets}
    assert all((dest.archive.root / p).is_file() for p in stored.values())


def _pipeline_all(port: int, datasets: list[Any]) -> None:
    with _connect(port, datasets, None) as assoc:
        assert [r.status for r in _pipeline(assoc, datasets, 1)] == [0] * len(datasets)
