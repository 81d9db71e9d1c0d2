"""STOW-RS: instances stored through the C-STORE ingest path, the PS3.18 response."""

from __future__ import annotations

import io
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

import dicomkit
from dicomkit.archive._node import Archive
from dicomkit.dictionary import status_codes
from dicomkit.io._json import from_json

sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
from archive_helpers import ROOT, synthetic, to_dataset
from web_helpers import serve_archive


def _part10(ds: Any) -> bytes:
    buf = io.BytesIO()
    dicomkit.write(ds, buf)
    return buf.getvalue()


def _body(parts: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = b""
    for ctype, data in parts:
        out += f"--{boundary}\r\nContent-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f'multipart/related; type="application/dicom"; boundary={boundary}'


@pytest.fixture
def node(tmp_path: Path) -> Any:
    archive = Archive(tmp_path / "a")
    with serve_archive(archive) as port:
        yield archive, f"http://127.0.0.1:{port}/dicom-web"
    archive.close()


def _rows(tag: str) -> list[dict[str, Any]]:
    rows = synthetic(2)
    for r in rows:  # UIDs of their own: the module's archive is not this one
        for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            r[k] = r[k].replace(ROOT, f"{ROOT}.9{tag}")
    return rows


def test_store_is_durable_and_indexed_when_acknowledged(node: Any) -> None:
    archive, url = node
    rows = _rows("1")
    body, ctype = _body([("application/dicom", _part10(to_dataset(r, pixels=True))) for r in rows])
    resp = requests.post(f"{url}/studies", data=body, headers={"Content-Type": ctype}, timeout=60)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/dicom+json")
    ds = from_json(resp.json())
    refs = {str(it.ReferencedSOPInstanceUID) for it in ds.ReferencedSOPSequence}
    assert refs == {r["SOPInstanceUID"] for r in rows}
    assert "FailedSOPSequence" not in ds
    for r in rows:  # acknowledged: indexed, and the file is in place with the same content
        inst = archive.index.lookup(r["SOPInstanceUID"])
        assert inst is not None
        assert dicomkit.read(archive.path_of(inst)).PatientID == r["PatientID"]
    item = next(iter(ds.ReferencedSOPSequence))
    r0 = next(r for r in rows if r["SOPInstanceUID"] == item.ReferencedSOPInstanceUID)
    assert str(item.RetrieveURL) == (
        f"{url}/studies/{r0['StudyInstanceUID']}/series/{r0['SeriesInstanceUID']}"
        f"/instances/{r0['SOPInstanceUID']}"
    )
    assert not list((archive.root / ".incoming").glob("*"))  # no temporary left


def test_failures_are_listed_with_reasons(node: Any) -> None:
    archive, url = node
    good, other = _rows("2")[:2]
    study = good["StudyInstanceUID"]
    other["StudyInstanceUID"] = f"{ROOT}.77"
    body, ctype = _body(
        [
            ("application/dicom", _part10(to_dataset(good))),
            ("application/dicom", b"this is not a DICOM file"),
            ("application/dicom", _part10(to_dataset(other))),
        ]
    )
    resp = requests.post(
        f"{url}/studies/{study}", data=body, headers={"Content-Type": ctype}, timeout=60
    )
    assert resp.status_code == 202, resp.text
    ds = from_json(resp.json())
    assert [str(i.ReferencedSOPInstanceUID) for i in ds.ReferencedSOPSequence] == [
        good["SOPInstanceUID"]
    ]
    reasons = sorted(int(i.FailureReason) for i in ds.FailedSOPSequence)
    assert reasons == sorted([status_codes.CannotUnderstand, 0xC409])
    assert archive.index.lookup(other["SOPInstanceUID"]) is None
    assert archive.index.count() == 1
    assert not list((archive.root / ".incoming").glob("*"))


def test_all_failed_is_409_and_wrong_media_type_415(node: Any) -> None:
    _archive, url = node
    body, ctype = _body([("application/dicom", b"junk")])
    resp = requests.post(f"{url}/studies", data=body, headers={"Content-Type": ctype}, timeout=60)
    assert resp.status_code == 409
    resp = requests.post(
        f"{url}/studies", data=b"{}", headers={"Content-Type": "application/json"}, timeout=60
    )
    assert resp.status_code == 415
    assert "multipart/related" in resp.text


def test_each_instance_synced_before_ingest_and_checksum_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The part's fdatasync runs while the body is still being received, and the ingest
    (of files whose contents are durable) only starts once every sync is over; the
    request's instances go in as one batch, committed once (one transaction for the
    request); the checksum computed on the way is the file's (``verify`` finds every file
    sound)."""
    import asyncio
    import threading

    from dicomkit.web import _stow

    archive = Archive(tmp_path / "a")
    rows = _rows("4")
    body, ctype = _body([("application/dicom", _part10(to_dataset(r, pixels=True))) for r in rows])
    events: list[str] = []
    commits: list[int] = []
    lock = threading.Lock()
    real_sync, real_batch = _stow.sync_data, archive.ingest_batch
    real_commit = archive._group._commit

    def sync(fd: Any) -> None:
        real_sync(fd)
        with lock:
            events.append("synced")

    def ingest_batch(files: Any, **kw: Any) -> Any:
        assert all(str(c).startswith("crc32:") for _p, _ds, c in files)
        with lock:
            events.append("ingest")
        return real_batch(files, **kw)

    def commit(jobs: Any) -> None:
        commits.append(len(jobs))
        real_commit(jobs)

    monkeypatch.setattr(_stow, "sync_data", sync)
    monkeypatch.setattr(archive, "ingest_batch", ingest_batch)
    monkeypatch.setattr(archive._group, "_commit", commit)

    async def run() -> list[Any]:
        async def chunks() -> Any:
            for i in range(0, len(body), 4096):
                yield body[i : i + 4096]

        parts = await _stow.receive_parts(archive, chunks(), _stow.boundary_of(ctype))
        return await _stow.store_parts(archive, parts, None)

    outcomes = asyncio.run(run())
    assert [o.reason for o in outcomes] == [0] * len(rows)
    assert events == ["synced"] * len(rows) + ["ingest"]
    assert commits == [len(rows)]
    report = archive.verify()
    assert report.ok == len(rows) and not report.damaged and not report.unchecked
    assert not list((archive.root / ".incoming").glob("*"))
    archive.close()
