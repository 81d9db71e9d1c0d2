"""Instances that arrive by STOW-RS go through the node's storage observers as C-STORE ones
do: routing rules queue them in the outbox before the STOW answer (DCMTK storescp as the
destination receives them), and IAN marks their studies."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
sys.path.insert(0, str(Path(__file__).parent.parent))

import peers
from archive_helpers import ROOT, serving, synthetic, write_files
from peers import free_port, wait_for_port

import dicomkit
from dicomkit.archive._app import ArchiveNode
from dicomkit.archive._config import from_mapping
from dicomkit.web import WebClient


def _rows() -> list[dict[str, Any]]:
    rows = synthetic(4)
    for r in rows:
        for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            r[k] = r[k].replace(ROOT, f"{ROOT}.93")
    return rows


def _received(folder: Path) -> set[str]:
    return {str(dicomkit.read(p, stop_before_pixels=True).SOPInstanceUID) for p in folder.iterdir()}


def _wait(predicate: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.interop
@pytest.mark.slow  # `dicomkit serve` as a process and storescp
def test_stow_instances_are_routed_to_storescp(tmp_path: Path) -> None:
    rows = _rows()
    files = write_files(rows, tmp_path / "files")
    expected = {r["SOPInstanceUID"] for r in rows if r["Modality"] == "CT"}
    assert expected and len(expected) < len(rows)
    out = tmp_path / "dcmtk"
    out.mkdir()
    dimse, http, dest = free_port(), free_port(), free_port()
    cfg = tmp_path / "node.toml"
    cfg.write_text(
        f'[peers.STORESCP]\nhost = "127.0.0.1"\nport = {dest}\n\n'
        "[routing]\nretry_initial = 0.2\nretry_max = 0.5\n\n"
        '[[routing.rules]]\nto = ["STORESCP"]\nmodality = ["CT"]\n',
        encoding="utf-8",
    )
    with (
        peers.dcmtk_server("storescp", "-od", str(out), "-aet", "STORESCP", str(dest), port=dest),
        serving(tmp_path / "arch", dimse, "--config", str(cfg), "--http-port", str(http)),
    ):
        wait_for_port(http, timeout=20)
        client = WebClient(f"http://127.0.0.1:{http}/dicom-web")
        answer = client.store([p.read_bytes() for p in files])
        stored = {str(it.ReferencedSOPInstanceUID) for it in answer.ReferencedSOPSequence}
        assert stored == {r["SOPInstanceUID"] for r in rows}
        _wait(lambda: _received(out) == expected, "the routed CT instances at storescp")
    assert _received(out) == expected  # the others (MR, SR) were not routed


def test_stow_observer_queues_before_the_answer_and_marks_ian(tmp_path: Path) -> None:
    """In process, the STOW-RS ingest path (receive_parts, store_parts) with the node's
    ``observe_stored``: each stored instance is queued in the outbox and its study marked
    for IAN by the time store_parts returns (before the answer)."""
    import asyncio
    from collections.abc import AsyncIterator

    from dicomkit.archive import _outbox as outbox
    from dicomkit.web import _stow as stow
    from dicomkit.web._wado import multipart_parts

    rows = _rows()
    files = write_files(rows, tmp_path / "files")
    cfg = from_mapping(
        {
            "server": {"archive": str(tmp_path / "arch"), "port": 0},
            "peers": {"PACS": {"host": "127.0.0.1", "port": 1}},
            "routing": {"rules": [{"to": ["PACS"], "modality": ["CT"]}]},
            "ian": {"subscribers": ["PACS"], "stable_after": 3600},
        }
    )
    node = ArchiveNode(cfg)
    try:
        boundary = "dkboundary"
        body = (
            b"".join(
                multipart_parts(
                    iter([("application/dicom", iter([p.read_bytes()])) for p in files]), boundary
                )
            )
            + f"--{boundary}--\r\n".encode()
        )

        async def chunks() -> AsyncIterator[bytes]:
            yield body

        async def run() -> list[stow.StowOutcome]:
            parts = await stow.receive_parts(node.archive, chunks(), boundary)
            return await stow.store_parts(
                node.archive, parts, None, on_stored=node.storage.observe_stored
            )

        outcomes = asyncio.run(run())
        assert [o.reason for o in outcomes] == [0] * len(rows)
        queued = {item.ref for item in outbox.items(node.archive.index.db, kind="store")}
        assert queued == {r["SOPInstanceUID"] for r in rows if r["Modality"] == "CT"}
        marked = {
            row[0] for row in node.archive.index.db.query("SELECT study_uid FROM ian_studies")
        }
        assert marked == {r["StudyInstanceUID"] for r in rows}
    finally:
        node.archive.close()
