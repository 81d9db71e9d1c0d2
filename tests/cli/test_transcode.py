"""``dicomkit transcode``: files and folders, lossless round trips."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from corpus import CORPUS

import dicomkit
from dicomkit.cli._main import main
from dicomkit.pixels import pixel_array

pytest.importorskip("imagecodecs")

SOURCES = [
    CORPUS / "nema-wg04" / "RLE" / "CT1_RLE",
    CORPUS / "pydicom-data" / "SC_rgb.dcm",
    CORPUS / "pydicom-data" / "emri_small_big_endian.dcm",
]


@pytest.mark.parametrize(
    "syntax",
    [
        "RLELossless",
        "JPEGLSLossless",
        "JPEG2000Lossless",
        "1.2.840.10008.1.2.4.70",
        "ExplicitVRLittleEndian",
        "ImplicitVRLittleEndian",
        "ExplicitVRBigEndian",
        "DeflatedImageFrameCompression",
    ],
)
@pytest.mark.parametrize("src", SOURCES, ids=[p.name for p in SOURCES])
def test_file_round_trip(src: Path, syntax: str, tmp_path: Path) -> None:
    out = tmp_path / "out.dcm"
    assert main(["transcode", str(src), str(out), "--ts", syntax]) == 0
    back = dicomkit.read(out)
    from dicomkit.pixels._syntax import resolve

    assert str(back.transfer_syntax) == resolve(syntax)
    np.testing.assert_array_equal(pixel_array(back), pixel_array(dicomkit.read(src)))
    again = tmp_path / "again.dcm"
    assert main(["transcode", str(out), str(again), "--ts", "ExplicitVRLittleEndian"]) == 0
    np.testing.assert_array_equal(
        pixel_array(dicomkit.read(again)), pixel_array(dicomkit.read(src))
    )


def test_folder_with_progress_and_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(SOURCES[0], src / "a.dcm")
    shutil.copy(SOURCES[1], src / "sub" / "b.dcm")
    (src / "junk.txt").write_text("not dicom")
    rc = main(["transcode", str(src), str(tmp_path / "out"), "--ts", "RLELossless"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "junk.txt" in err and "1 of 3" in err
    assert "3/3" not in err and "[#" not in err  # stderr is no terminal here: no bar
    for rel, orig in (("a.dcm", SOURCES[0]), ("sub/b.dcm", SOURCES[1])):
        back = dicomkit.read(tmp_path / "out" / rel)
        np.testing.assert_array_equal(pixel_array(back), pixel_array(dicomkit.read(orig)))
    assert not list((tmp_path / "out").rglob("*.part"))


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["transcode", str(SOURCES[0]), str(tmp_path / "x"), "--ts", "bogus"]) == 2
    assert "unknown transfer syntax" in capsys.readouterr().err
    assert main(["transcode", str(tmp_path / "nope"), str(tmp_path / "x"), "--ts", "rle"]) == 2
