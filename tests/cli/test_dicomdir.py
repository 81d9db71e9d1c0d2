"""``dicomkit dicomdir create`` / ``list`` (registered in a local copy of SUBCOMMANDS until
the lead adds "dicomdir" to cli/main.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from corpus import CORPUS

from dicomkit.cli import _main as cli_main

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


def test_create_then_list(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cd = tmp_path / "cd"
    assert cli_main.main(["dicomdir", "create", str(folder), "-o", str(cd), "-F", "DEMO"]) == 0
    captured = capsys.readouterr()
    assert "(STD-GEN-CD)" in captured.out
    assert "2 instance(s) added: 0 copied, 2 converted, 0 refused, 1 skipped" in captured.out
    assert "notes.txt" in captured.err and "converted" in captured.err
    assert (cd / "DICOMDIR").exists() and not (folder / "DICOMDIR").exists()
    folder = cd

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


def test_list_check_reports_missing_files(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert cli_main.main(["dicomdir", "create", str(folder), "-o", str(out), "--keep-names"]) == 0
    folder = out
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


def test_list_check_compares_the_files(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert cli_main.main(["dicomdir", "create", str(folder), "-o", str(out), "--keep-names"]) == 0
    folder = out
    shutil.copyfile(MR, folder / "some files" / "ct.dcm")  # another instance under that name
    capsys.readouterr()
    assert cli_main.main(["dicomdir", "list", "--check", str(folder)]) == 1
    assert "SOP Instance UID is" in capsys.readouterr().err


def test_list_a_dicomdir_without_offsets(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main.main(["dicomdir", "create", str(folder), "-o", str(tmp_path / "cd")]) == 0
    folder = tmp_path / "cd"
    path = folder / "DICOMDIR"
    data = bytearray(path.read_bytes())
    for tag in (b"\x04\x00\x00\x12", b"\x04\x00\x02\x12", b"\x04\x00\x00\x14", b"\x04\x00\x20\x14"):
        at = data.find(tag + b"UL\x04\x00")
        while at >= 0:
            data[at + 8 : at + 12] = b"\x00\x00\x00\x00"
            at = data.find(tag + b"UL\x04\x00", at + 1)
    path.write_bytes(bytes(data))
    capsys.readouterr()
    assert cli_main.main(["dicomdir", "list", str(folder)]) == 0
    out = capsys.readouterr()
    assert len([line for line in out.out.splitlines() if line.startswith("      IMAGE  ")]) == 2
    assert "note: no directory record carries an offset" in out.err
    # the file does not meet the standard (the offsets are Type 1): --check says so
    assert cli_main.main(["dicomdir", "list", "--check", str(folder)]) == 1


def test_in_place_is_refused_with_the_reason(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main.main(["dicomdir", "create", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "in place: 2 file(s) would have to be copied or converted" in err
    assert "RLE Lossless" in err and "--output OUT" in err
    assert not (folder / "DICOMDIR").exists()


def test_add_to_a_file_set(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cd = tmp_path / "cd"
    first = tmp_path / "first"
    first.mkdir()
    shutil.copyfile(CT, first / "ct.dcm")
    assert cli_main.main(["dicomdir", "create", str(first), "-o", str(cd)]) == 0
    capsys.readouterr()
    assert cli_main.main(["dicomdir", "add", str(cd), str(folder)]) == 0
    out = capsys.readouterr()
    assert "1 already there, 1 instance(s) added" in out.out
    assert "already in the File-set" in out.err  # ct.dcm again
    assert cli_main.main(["dicomdir", "list", "--check", str(cd)]) == 0
    listing = capsys.readouterr().out
    assert listing.count("IMAGE  ") == 2
    # nothing new is no error; a folder without a DICOMDIR cannot be added to
    assert cli_main.main(["dicomdir", "add", str(cd), str(first)]) == 0
    assert "0 instance(s) added" in capsys.readouterr().out
    assert cli_main.main(["dicomdir", "add", str(tmp_path / "first"), str(folder)]) == 2
    assert "no DICOMDIR to update" in capsys.readouterr().err


def test_profiles_compress_and_refusals(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dvd = tmp_path / "dvd"
    argv = ["dicomdir", "create", str(folder), "-o", str(dvd), "-P", "STD-GEN-DVD-J2K"]
    assert cli_main.main([*argv, "--compress"]) == 0
    assert "(STD-GEN-DVD-J2K)" in capsys.readouterr().out
    assert cli_main.main(["dicomdir", "list", "--check", "--uids", str(dvd)]) == 0
    capsys.readouterr()
    assert cli_main.main(["dicomdir", "list", "--check", "-P", "STD-GEN-DVD-J2K", str(dvd)]) == 0
    assert cli_main.main(["dicomdir", "list", "--check", "-P", "STD-GEN-CD", str(dvd)]) == 1
    assert "1.2.840.10008.1.2.4.90 is not allowed by STD-GEN-CD" in capsys.readouterr().err
    assert cli_main.main([*argv[:-2], "-P", "STD-GEN-XYZ"]) == 2
    assert "unknown media profile" in capsys.readouterr().err
    assert cli_main.main([*argv[:4], str(tmp_path / "cd"), "--compress"]) == 2
    assert "STD-GEN-CD allows no compression" in capsys.readouterr().err
    # a file no codec can convert: the others go in, exit 1 names it
    import dicomkit

    ds = dicomkit.read(CT)
    ds.file_meta.TransferSyntaxUID = ds.transfer_syntax = "1.2.3.4.5.6"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.5.6.7"
    dicomkit.write(ds, folder / "some files" / "private.dcm")
    assert cli_main.main(["dicomdir", "create", str(folder), "-o", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "refused" in err and "private.dcm" in err and "no decoder" in err


def test_help_documents_profiles_and_dcmtk(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_main.main(["dicomdir", "create", "--help"])
    text = capsys.readouterr().out
    for word in ("STD-GEN-CD", "STD-GEN-DVD-JPEG", "STD-GEN-DVD-J2K", "--compress", "dcmmkdir"):
        assert word in text


@pytest.mark.interop
def test_list_checks_what_dcmmkdir_writes(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from peers import run_dcmtk

    cd = tmp_path / "cd"
    assert cli_main.main(["dicomdir", "create", str(folder), "-o", str(cd)]) == 0
    (cd / "DICOMDIR").unlink()
    run_dcmtk("dcmmkdir", "+r", "+I", "-Pgp", "+D", "DICOMDIR", "DICOM", cwd=cd)
    capsys.readouterr()
    assert cli_main.main(["dicomdir", "list", "--check", "-P", "STD-GEN-CD", str(cd)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("File-set DCMTK_MEDIA_DEMO: 8 record(s), 2 referenced file(s)")
    images = [line.split()[-1] for line in out.splitlines() if line.startswith("      IMAGE  ")]
    assert sorted(images) == sorted(
        "/".join(p.relative_to(cd).parts) for p in (cd / "DICOM").rglob("IMG*")
    )
