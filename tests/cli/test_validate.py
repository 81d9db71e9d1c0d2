"""``dicomkit validate``: one finding per line, exit status, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from corpus import CORPUS

import dicomkit
from dicomkit.cli._main import main

CLEAN = CORPUS / "nema-wg04" / "RLE" / "CT1_RLE"
FLAWED = CORPUS / "pydicom-data" / "693_UNCI.dcm"

pytestmark = pytest.mark.skipif(not CLEAN.exists(), reason="shared corpus not present")


def test_clean_file_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(CLEAN)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "CTImage"
    assert not any(line.startswith("Error") for line in out)


def test_errors_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(FLAWED), "--errors-only"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert (
        "Error - (0020,0052) FrameOfReferenceUID: missing attribute, Type 1 required "
        "[module FrameOfReference]" in out
    )
    assert all(line.startswith("Error") for line in out[1:])


def test_broken_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds = dicomkit.read(CLEAN)
    del ds[0x00100010]
    path = tmp_path / "broken.dcm"
    dicomkit.write(ds, path)
    assert main(["validate", str(path), "--no-not-checked"]) == 1
    out = capsys.readouterr().out
    assert "Error - (0010,0010) PatientName: missing attribute, Type 2 required" in out
    assert "Not checked" not in out


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--json", str(CLEAN), str(FLAWED)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [f["iod"] for f in doc["files"]] == ["CTImage", "CTImage"]
    findings = doc["files"][1]["findings"]
    assert {"severity", "path", "module", "message", "tag"} <= set(findings[0])
    assert any(f["path"] == "(0020,0052)" and f["severity"] == "error" for f in findings)


def test_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "missing.dcm"
    assert main(["validate", str(path)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_lenient_validates_a_damaged_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = CLEAN.read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[: len(data) // 2])  # cut inside the pixel data
    assert main(["validate", str(path)]) == 2
    assert "try --lenient" in capsys.readouterr().err
    assert main(["validate", "--lenient", "--errors-only", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "CTImage"
    assert any(line.startswith("Error - (7FE0,0010) PixelData: read: ") for line in out)
    assert not any("StudyInstanceUID" in line for line in out)  # read before the cut
