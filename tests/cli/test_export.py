"""``dicomkit export``: windowed 8-bit PNGs."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
from corpus import CORPUS

from dicomkit.cli._main import main
from dicomkit.pixels._png import encode_png


def read_png(path: Path) -> np.ndarray:
    """Decode the PNGs we write (filter 0, 8-bit gray or RGB) to check them."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        n = int.from_bytes(data[pos : pos + 4], "big")
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        assert zlib.crc32(kind + body) == int.from_bytes(data[pos + 8 + n : pos + 12 + n], "big")
        if kind == b"IHDR":
            width, height = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            ctype = body[9]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    spp = 3 if ctype == 2 else 1
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, width * spp + 1)
    assert (raw[:, 0] == 0).all()
    return raw[:, 1:].reshape(height, width, spp).squeeze()


def test_png_writer_round_trip_and_matches_imagecodecs(tmp_path: Path) -> None:
    a = np.random.default_rng(1).integers(0, 256, size=(13, 17, 3), dtype=np.uint8)
    p = tmp_path / "x.png"
    p.write_bytes(encode_png(a))
    np.testing.assert_array_equal(read_png(p), a)
    imagecodecs = pytest.importorskip("imagecodecs")
    np.testing.assert_array_equal(imagecodecs.png_decode(p.read_bytes()), a)
    g = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    np.testing.assert_array_equal(imagecodecs.png_decode(encode_png(g)), g)


def test_export_window(tmp_path: Path) -> None:
    src = CORPUS / "nema-wg04" / "RLE" / "CT1_RLE"
    out = tmp_path / "ct.png"
    assert main(["export", str(src), str(out), "--window", "40", "400"]) == 0
    img = read_png(out)
    assert img.shape == (512, 512) and img.dtype == np.uint8
    assert img.min() == 0 and img.max() == 255
    wide = tmp_path / "wide.png"
    assert main(["export", str(src), str(wide), "--window", "0", "4000"]) == 0
    assert read_png(wide).std() < img.std()


@pytest.mark.parametrize(
    "name, shape",
    [
        ("pydicom-data/SC_rgb.dcm", (100, 100, 3)),
        ("pydicom-data/OT-PAL-8-face.dcm", (480, 640, 3)),
        ("dcm4che/YBR_FULL-RLE.dcm", None),
        ("pydicom-data/emri_small.dcm", (64, 64)),
    ],
)
def test_export_kinds(name: str, shape: tuple[int, ...] | None, tmp_path: Path) -> None:
    out = tmp_path / "x.png"
    assert main(["export", str(CORPUS / name), str(out), "--frame", "0"]) == 0
    img = read_png(out)
    if shape is not None:
        assert img.shape == shape


def test_export_frame_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = CORPUS / "pydicom-data" / "emri_small.dcm"
    assert main(["export", str(src), str(tmp_path / "x.png"), "--frame", "99"]) == 1
    assert "out of range" in capsys.readouterr().err


def _marked_frames(tmp_path: Path) -> Path:
    """Four 16x16 frames, frame k bright at row 2 + 3k only: which frame a picture shows is
    the row of its brightest line, whatever windowing a tool applies."""
    import dicomkit
    from dicomkit.core._uid import generate_uid
    from dicomkit.pixels import set_pixels

    frames = np.zeros((4, 16, 16), np.uint8)
    for k in range(4):
        frames[k, 2 + 3 * k, :] = 200
    ds = dicomkit.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7.2"  # Multi-frame Grayscale Byte SC
    ds.SOPInstanceUID = str(generate_uid())
    set_pixels(ds, frames, photometric="MONOCHROME2", multi_frame=True)
    ds.transfer_syntax = "1.2.840.10008.1.2.1"
    path = tmp_path / "frames.dcm"
    dicomkit.write(ds, path)
    return path


def _bright_row(img: np.ndarray) -> int:
    return int(np.argmax(img.reshape(img.shape[0], -1).sum(axis=1)))


@pytest.mark.interop
def test_frame_numbering_against_dcm2pnm(tmp_path: Path) -> None:
    from peers import run_dcmtk

    src = _marked_frames(tmp_path)
    for k in range(4):
        ours = tmp_path / f"f{k}.png"
        assert main(["export", str(src), str(ours), "--frame", str(k)]) == 0
        assert _bright_row(read_png(ours)) == 2 + 3 * k
        by_number = tmp_path / f"n{k}.png"
        assert main(["export", str(src), str(by_number), "--frame-number", str(k + 1)]) == 0
        assert by_number.read_bytes() == ours.read_bytes()
        # dcm2pnm +F counts from 1: +F k+1 shows the frame --frame k shows
        pgm = tmp_path / f"d{k}.pgm"
        run_dcmtk("dcm2pnm", "+F", str(k + 1), "+op", str(src), str(pgm))
        data = pgm.read_bytes()
        assert data.startswith(b"P5")
        pixels = np.frombuffer(data[-256:], np.uint8).reshape(16, 16)
        assert _bright_row(pixels) == 2 + 3 * k


def test_frame_number_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _marked_frames(tmp_path)
    assert main(["export", str(src), str(tmp_path / "x.png"), "--frame-number", "0"]) == 1
    assert "numbered 1..4 (as dcm2pnm +F)" in capsys.readouterr().err
    assert main(["export", str(src), str(tmp_path / "x.png"), "--frame", "4"]) == 1
    assert "indexed 0..3" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", str(src), str(tmp_path / "x.png"), "--frame", "1", "--frame-number", "2"])


def test_short_pixel_data_is_exported_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As dcm2pnm: the missing bytes are zeros, and the user is told in one line."""
    import dicomkit

    src = _marked_frames(tmp_path)
    ds = dicomkit.read(src)
    raw = bytes(ds.PixelData)
    ds.PixelData = raw[: 3 * 256 + 40]  # frame 3 cut after 40 pixels
    short = tmp_path / "short.dcm"
    dicomkit.write(ds, short)
    out = tmp_path / "x.png"
    assert main(["export", str(short), str(out), "--frame", "3"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("dicomkit export: warning: pixel data is 216 byte(s) shorter")
    assert err.count("\n") == 1
    assert read_png(out)[5:].max() == 0  # the rows past the cut are zeros (the bright row 11)
