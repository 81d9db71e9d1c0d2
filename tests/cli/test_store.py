"""``dicomkit store``."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus import manifest

from dicomkit.cli._main import main
from dicomkit.net._sync import SyncAE
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._storage import StorageSCP, read_instance


def _files(n: int) -> list[Path]:
    rows = [
        r.path
        for r in manifest()
        if not r.broken
        and r.preamble
        and "Directory" not in r.sop
        and r.ts in ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.70")
    ]
    if len(rows) < n:
        pytest.skip("corpus not available")
    return rows[:n]


def test_store_files_and_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src" / "deep"
    src.mkdir(parents=True)
    files = _files(6)
    for i, f in enumerate(files[3:]):
        (src / f"{i}.dcm").write_bytes(f.read_bytes())
    out = tmp_path / "out"
    with SyncAE("SCP") as ae, ae.serve(0, {dimse.CStoreRequest: StorageSCP(out)}) as server:
        code = main(
            ["store", "127.0.0.1", str(server.port), *map(str, files[:3]), str(tmp_path / "src")]
        )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "stored 6 of 6 files" in captured.out
    for f in files:
        assert (out / f"{read_instance(f).sop_instance}.dcm").exists()


def test_store_reports_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("not dicom")
    good = _files(1)[0]
    with SyncAE("SCP", supported={}) as ae, ae.serve(0) as server:  # accepts nothing to store
        code = main(["store", "127.0.0.1", str(server.port), str(good), str(junk)])
    captured = capsys.readouterr()
    assert code == 1
    assert "FAILED" in captured.err and str(junk) in captured.err
    assert "2 failed" in captured.out


def test_store_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "127.0.0.1", "104", str(tmp_path / "nope.dcm")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_store_folder_skips_non_dicom_and_dicomdir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dicomdir = next((r.path for r in manifest() if "Directory" in r.sop and not r.broken), None)
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "README.txt").write_text("notes")
    if dicomdir is not None:
        (folder / "DICOMDIR").write_bytes(dicomdir.read_bytes())
    good = _files(1)[0]
    (folder / "img.dcm").write_bytes(good.read_bytes())
    out = tmp_path / "out"
    with SyncAE("SCP") as ae, ae.serve(0, {dimse.CStoreRequest: StorageSCP(out)}) as server:
        code = main(["store", "127.0.0.1", str(server.port), str(folder)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "skipped" in captured.err and "README.txt" in captured.err
    assert "stored 1 of 1 files" in captured.out
