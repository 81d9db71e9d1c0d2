"""``dicomkit dicomdir create`` / ``list`` (registered in a local copy of SUBCOMMANDS until
the lead adds "dicomdir" to cli/main.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from corpus import CORPUS

from dicomkit.cli import main as cli_main

CT = CORPUS / "nema-wg04" / "RLE" / "CT1_RLE"
MR = CORPUS / "nema-wg04" / "RLE" / "MR1_RLE"

pytestmark = pytest.mark.skipif(not CT.exists(), reason="shared corpus not present")


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    if "dicomdir" not in cli_main.SUBCOMMANDS:
        monkeypatch.setattr(cli_main, "SUBCOMMANDS", (*cli_main.SUBCOMMANDS, "dicomdir"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    src = tmp_path / "in" / "some files"
    src.mkdir(parents=True)
    shutil.copyfile(CT, src / "ct.dcm")
    shutil.copyfile(MR, src / "mr.dcm")
    (src / "notes.txt").write_text("hello")
    return tmp_path / "in"


def test_create_then_list(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["dicomdir", "create", str(folder), "--fileset-id", "DEMO"]) == 0
    captured = capsys.readouterr()
    assert "2 instance(s); 2 copied, 1 skipped" in captured.out
    assert "notes.txt" in captured.err
    assert (folder / "DICOMDIR").exists()

    assert cli_main.main(["dicomdir", "list", str(folder / "DICOMDIR")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("File-set DEMO:")
    assert any(line.startswith("PATIENT  ") for line in out)
    assert any(line.startswith("  STUDY  ") for line in out)
    assert any(line.startswith("    SERIES  ") for line in out)
    images = [line for line in out if line.startswith("      IMAGE  ")]
    assert len(images) == 2
    assert all("DICOM/PAT" in line and "[missing]" not in line for line in images)

    # a folder works as well as the file; --check passes while every file is there
    assert cli_main.main(["dicomdir", "list", "--check", "--uids", str(folder)]) == 0
    capsys.readouterr()


def test_list_check_reports_missing_files(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["dicomdir", "create", str(folder), "--keep-names"]) == 0
    (folder / "some files" / "ct.dcm").unlink()
    capsys.readouterr()
    assert cli_main.main(["dicomdir", "list", str(folder)]) == 0
    out = capsys.readouterr()
    assert "[missing]" in out.out and "1 referenced file(s) missing" in out.err
    assert cli_main.main(["dicomdir", "list", "--check", str(folder)]) == 1


def test_output_folder_and_undefined_lengths(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "disc"
    assert (
        cli_main.main(["dicomdir", "create", str(folder), "-o", str(out), "--undefined-lengths"])
        == 0
    )
    assert (out / "DICOMDIR").exists() and not (folder / "DICOMDIR").exists()
    assert cli_main.main(["dicomdir", "list", "--check", str(out)]) == 0


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["dicomdir", "create", str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert cli_main.main(["dicomdir", "create", str(tmp_path), "--fileset-id", "bad id"]) == 2
    assert "File-set ID" in capsys.readouterr().err
    assert cli_main.main(["dicomdir", "list", str(tmp_path / "DICOMDIR")]) == 2
    assert cli_main.main(["dicomdir"]) == 2
    (tmp_path / "empty").mkdir()
    assert cli_main.main(["dicomdir", "create", str(tmp_path / "empty")]) == 1


def test_list_check_compares_the_files(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["dicomdir", "create", str(folder), "--keep-names"]) == 0
    shutil.copyfile(MR, folder / "some files" / "ct.dcm")  # another instance under that name
    capsys.readouterr()
    assert cli_main.main(["dicomdir", "list", "--check", str(folder)]) == 1
    assert "SOP Instance UID is" in capsys.readouterr().err
