"""`dicomkit dump`: tree output, --meta, --max-width, --json/--xml, errors."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import corpus
import pytest

import dicomkit
from dicomkit import Dataset
from dicomkit.cli._main import main

SR = corpus.CORPUS / "dcmqi/sr-example/sr.dcm"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3.4"
    ds.PatientName = "DOE^JANE"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.ReferencedStudySequence = [Dataset({"ReferencedSOPInstanceUID": "1.2.3"})]
    ds.set(0x00090010, "ACME")
    ds.set(0x00091001, b"\x01\x02\x03", vr="OB")
    ds.ImageComments = "x" * 300
    ds.set("PixelData", bytes(range(256)) * 4, vr="OB")
    path = tmp_path / "sample.dcm"
    dicomkit.write(ds, path)
    return path


def test_tree(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", str(sample)]) == 0
    out = capsys.readouterr().out
    assert "(0010,0010) PN  1      8 PatientName" in out and "DOE^JANE" in out
    assert "ORIGINAL\\PRIMARY" in out
    assert "ReferencedStudySequence" in out and "(1 items)" in out
    assert "  (FFFE,E000) item 1" in out
    assert "    (0008,1155) UI" in out  # item content indented
    assert "PrivateCreator" in out and "[ACME]" in out
    assert "00 01 02 03" in out and "(1024 bytes)" in out
    assert all(len(line) <= 120 for line in out.splitlines())
    assert "(0002," not in out


def test_meta_and_width(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", "--meta", "--max-width", "0", str(sample)]) == 0
    out = capsys.readouterr().out
    assert "# File Meta Information" in out and "(0002,0010) UI" in out
    assert "x" * 300 in out
    assert main(["dump", "-w", "70", str(sample)]) == 0
    assert all(len(line) <= 70 for line in capsys.readouterr().out.splitlines())


def test_stop_before_pixels(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", "--stop-before-pixels", str(sample)]) == 0
    assert "(7FE0,0010)" not in capsys.readouterr().out


def test_several_files_and_sequences(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not SR.exists():
        pytest.skip("corpus missing")
    assert main(["dump", str(sample), str(SR)]) == 0
    out = capsys.readouterr().out
    assert f"# {sample}" in out and f"# {SR}" in out
    assert "ContentSequence" in out and " u/l " in out


def test_unreadable_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"this is not a DICOM file at all, sorry")
    assert main(["dump", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"dicomkit dump: {bad}: not a DICOM file") and "\n" not in err
    assert main(["dump", str(tmp_path / "missing.dcm")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_truncated_lenient(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(sample.read_bytes()[:-100])
    # default: what can be read, then what could not be (the element cut off), exit 1
    assert main(["dump", str(cut)]) == 1
    io = capsys.readouterr()
    assert "PatientName" in io.out and "ImageComments" in io.out
    assert "# could not read the rest: " in io.out and "(7FE0,0010)" in io.out.splitlines()[-1]
    assert "cut off" in io.err and "--lenient" in io.err
    # --strict: refused, nothing printed
    assert main(["dump", "--strict", str(cut)]) == 2
    io = capsys.readouterr()
    assert io.out == "" and "past the end" in io.err
    # --lenient: accepted, the problem on stderr
    assert main(["dump", "--lenient", str(cut)]) == 0
    io = capsys.readouterr()
    assert "PatientName" in io.out and "past the end" in io.err and "(7FE0,0010)" in io.err


@pytest.mark.skipif(importlib.util.find_spec("dicomkit.io._json") is None, reason="no io.json")
def test_json(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", "--json", str(sample)]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["00100010"]["vr"] == "PN"


@pytest.mark.skipif(importlib.util.find_spec("dicomkit.io._xml") is None, reason="no io.xml")
def test_xml(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", "--xml", str(sample)]) == 0
    assert "NativeDicomModel" in capsys.readouterr().out


def test_missing_renderer(
    sample: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    real = importlib.import_module

    def fake(name: str, *a: object) -> object:
        if name == "dicomkit.io._xml":
            raise ModuleNotFoundError(name)
        return real(name, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib, "import_module", fake)
    assert main(["dump", "--xml", str(sample)]) == 2
    assert "needs dicomkit.io._xml" in capsys.readouterr().err


def test_format_value_helpers() -> None:
    from dicomkit.cli._dump import format_value

    assert format_value(dicomkit.DataElement(0x00100010, "PN", None)) == ""
    assert format_value(dicomkit.DataElement(0x00100020, "LO", "a\x01b")) == "a\\x01b"
    enc = dicomkit.DataElement(
        0x7FE00010, "OB", b"\xfe\xff\x00\xe0\x00\x00\x00\x00", undefined_length=True
    )
    assert format_value(enc) == "<encapsulated, 8 bytes>"


def test_stdin(sample: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "dicomkit", "dump", "-"],
        input=sample.read_bytes(),
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert b"DOE^JANE" in proc.stdout


def test_convert_un(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3.4"
    ds.set(0x00100010, b"DOE^JANE", vr="UN")
    path = tmp_path / "un.dcm"
    dicomkit.write(ds, path)
    assert main(["dump", str(path)]) == 0
    assert "(0010,0010) UN" in capsys.readouterr().out
    assert main(["dump", "--convert-un", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(0010,0010) PN" in out and "DOE^JANE" in out
