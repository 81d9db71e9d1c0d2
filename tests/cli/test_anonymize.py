"""``dicomkit anonymize`` through its module's add_parser()/run()."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest
from corpus import CORPUS

import dicomkit
from dicomkit.cli import _anonymize as anonymize

SERIES = CORPUS / "dcmqi" / "segmentations" / "24x38x3"
needs_series = pytest.mark.skipif(not SERIES.is_dir(), reason="corpus series missing")


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    anonymize.add_parser(sub)
    args = parser.parse_args(["anonymize", *argv])
    return int(args.func(args))


@needs_series
def test_folder_with_uid_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    uid_map = tmp_path / "map.json"
    assert _run(str(SERIES), str(out), "--uid-map", str(uid_map), "-q") == 0
    written = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(SERIES) for p in SERIES.rglob("*") if p.is_file())
    images = [dicomkit.read(p) for p in sorted((out / "image").iterdir())]
    originals = [dicomkit.read(p) for p in sorted((SERIES / "image").iterdir())]
    assert len({ds.StudyInstanceUID for ds in images}) == 1
    assert images[0].StudyInstanceUID != originals[0].StudyInstanceUID
    saved = json.loads(uid_map.read_text())
    assert saved["uids"][originals[0].StudyInstanceUID] == images[0].StudyInstanceUID
    seg = dicomkit.read(out / "seg" / "label.seg")
    refs = {str(e.value) for e in seg.walk() if int(e.tag) == 0x00081155}
    assert refs <= {ds.SOPInstanceUID for ds in images} | set(saved["uids"].values())
    assert refs & {ds.SOPInstanceUID for ds in images}
    # a second run loads the map: the same originals get the same replacements
    again = tmp_path / "again"
    assert _run(str(SERIES / "image"), str(again), "--uid-map", str(uid_map), "-q") == 0
    first = dicomkit.read(min(again.iterdir()))
    assert first.StudyInstanceUID == images[0].StudyInstanceUID
    assert first.SOPInstanceUID == images[0].SOPInstanceUID


@needs_series
def test_single_file_with_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = SERIES / "image" / "IMG0001.dcm"
    dst = tmp_path / "one.dcm"
    assert (
        _run(
            str(src),
            str(dst),
            "--keep-uids",
            "--retain",
            "modified-dates",
            "--date-shift",
            "-7",
            "--clean",
            "descriptors",
            "--patient-id",
            "SUBJ-1",
            "--patient-name",
            "SUBJECT^ONE",
        )
        == 0
    )
    assert "->" in capsys.readouterr().out
    ds = dicomkit.read(dst)
    orig = dicomkit.read(src)
    assert ds.SOPInstanceUID == orig.SOPInstanceUID
    assert ds.PatientID == "SUBJ-1" and ds.PatientName == "SUBJECT^ONE"
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    codes = {i.CodeValue for i in ds.DeidentificationMethodCodeSequence}
    assert codes == {"113100", "113105", "113107", "113110"}
    if orig.get("StudyDate"):
        from datetime import date, timedelta

        d = orig.StudyDate
        expect = date(int(d[:4]), int(d[4:6]), int(d[6:8])) - timedelta(days=7)
        assert ds.StudyDate == expect.strftime("%Y%m%d")
    # into an existing folder: keeps the name
    folder = tmp_path / "dir"
    folder.mkdir()
    assert _run(str(src), str(folder), "-q") == 0
    assert (folder / src.name).is_file()


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(str(tmp_path / "missing"), str(tmp_path / "o")) == 2
    assert "does not exist" in capsys.readouterr().err
    assert (
        _run(
            str(tmp_path),
            str(tmp_path / "o"),
            "--retain",
            "full-dates",
            "--retain",
            "modified-dates",
        )
        == 2
    )
    assert _run(str(tmp_path), str(tmp_path / "o"), "--date-shift", "3") == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    assert _run(str(tmp_path), str(tmp_path / "o"), "--uid-map", str(bad)) == 2
    with pytest.raises(SystemExit):
        _run(str(tmp_path), str(tmp_path / "o"), "--retain", "everything")


def test_non_dicom_file_in_folder_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "notes.txt").write_text("not dicom")
    if SERIES.is_dir():
        shutil.copy(SERIES / "image" / "IMG0001.dcm", src / "a.dcm")
    assert _run(str(src), str(tmp_path / "out"), "-q") == 1
    assert "1 of" in capsys.readouterr().err


@needs_series
def test_output_inside_input_is_not_reprocessed(tmp_path: Path) -> None:
    src = tmp_path / "in"
    shutil.copytree(SERIES / "image", src)
    assert _run(str(src), str(src / "anon"), "-q") == 0
    assert _run(str(src), str(src / "anon"), "-q") == 0
    assert sorted(p.name for p in (src / "anon").iterdir()) == sorted(
        p.name for p in (SERIES / "image").iterdir()
    )
