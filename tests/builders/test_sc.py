"""Secondary Capture builder: the IOD chosen by the array, pixels stored as given, patient and
study from the reference, PNG input; dciodvfy and dcmdump accept what we write."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from buildkit import ct_slices, dciodvfy_errors, dcmdump_problems

import dicomkit
from dicomkit.builders import read_png, secondary_capture
from dicomkit.dictionary import uids
from dicomkit.errors import InvalidValueError
from dicomkit.pixels._png import encode_png

RNG = np.random.default_rng(7)

CASES = {
    "gray8": (RNG.integers(0, 256, (20, 30), dtype=np.uint8), uids.SecondaryCaptureImageStorage),
    "gray16": (
        RNG.integers(0, 65536, (20, 30), dtype=np.uint16),
        uids.SecondaryCaptureImageStorage,
    ),
    "rgb": (RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8), uids.SecondaryCaptureImageStorage),
    "mf-byte": (
        RNG.integers(0, 256, (3, 20, 30), dtype=np.uint8),
        uids.MultiFrameGrayscaleByteSecondaryCaptureImageStorage,
    ),
    "mf-word": (
        RNG.integers(0, 65536, (2, 20, 30), dtype=np.uint16),
        uids.MultiFrameGrayscaleWordSecondaryCaptureImageStorage,
    ),
    "mf-rgb": (
        RNG.integers(0, 256, (2, 20, 30, 3), dtype=np.uint8),
        uids.MultiFrameTrueColorSecondaryCaptureImageStorage,
    ),
    "mf-bit": (RNG.random((3, 20, 32)) > 0.5, uids.MultiFrameSingleBitSecondaryCaptureImageStorage),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sc_round_trip(name: str, tmp_path: Path) -> None:
    arr, sop_class = CASES[name]
    ref = ct_slices(1)[0]
    ds = secondary_capture(arr, like=ref, series_description="capture")
    path = tmp_path / f"{name}.dcm"
    dicomkit.write(ds, path)
    back = dicomkit.read(path)
    assert back.SOPClassUID == sop_class
    assert back.PatientName == ref.PatientName and back.PatientID == "PID-7"
    assert back.StudyInstanceUID == ref.StudyInstanceUID
    assert back.SeriesInstanceUID != ref.SeriesInstanceUID
    assert back.ConversionType == "WSD"
    got = dicomkit.pixels.pixel_array(back)
    want = arr.astype(np.uint8) if arr.dtype == bool else arr
    assert got.shape == want.shape
    assert np.array_equal(got, want)


@pytest.mark.interop
@pytest.mark.parametrize("name", sorted(CASES))
def test_sc_valid_for_dciodvfy_and_dcmdump(name: str, tmp_path: Path) -> None:
    arr, _ = CASES[name]
    path = tmp_path / f"{name}.dcm"
    dicomkit.write(secondary_capture(arr, like=ct_slices(1)[0]), path)
    assert dciodvfy_errors(path) == []
    assert dcmdump_problems(path) == []


def test_sc_without_reference_gets_given_patient_and_new_study() -> None:
    ds = secondary_capture(
        np.zeros((4, 4), np.uint8), patient={"PatientName": "Roe^Richard", "PatientID": "X9"}
    )
    assert ds.PatientName == "Roe^Richard" and ds.PatientID == "X9"
    assert ds.StudyInstanceUID and ds.SeriesInstanceUID != ds.StudyInstanceUID


def test_sc_same_series_keeps_reference_series() -> None:
    ref = ct_slices(1)[0]
    ds = secondary_capture(np.zeros((4, 4), np.uint8), like=ref, same_series=True)
    assert ds.SeriesInstanceUID == ref.SeriesInstanceUID


@pytest.mark.parametrize(
    "arr", [np.zeros((4, 4, 3), np.uint16)[np.newaxis], np.zeros((2, 4, 4), np.float32)]
)
def test_sc_refuses_samples_no_multiframe_iod_holds(arr: np.ndarray) -> None:
    with pytest.raises(InvalidValueError, match="multi-frame Secondary Capture"):
        secondary_capture(arr)


def test_sc_refuses_bad_shapes_and_patient_keywords() -> None:
    with pytest.raises(InvalidValueError, match="2-D to 4-D"):
        secondary_capture(np.zeros(5, np.uint8))
    with pytest.raises(InvalidValueError, match="frames do not fit"):
        secondary_capture(np.zeros((2, 4, 4), np.uint8), multi_frame=False)
    with pytest.raises(InvalidValueError, match="PatientNmae"):
        secondary_capture(np.zeros((4, 4), np.uint8), patient={"PatientNmae": "x"})


def test_sc_photometric_resolves_ambiguous_shape() -> None:
    arr = np.zeros((3, 5, 3), np.uint8)  # three frames of 5x3, or one 3x5 colour image
    assert secondary_capture(arr).SamplesPerPixel == 3
    ds = secondary_capture(arr, photometric="MONOCHROME2")
    assert ds.SamplesPerPixel == 1 and int(ds.NumberOfFrames) == 3


@pytest.mark.parametrize("shape", [(9, 13), (9, 13, 3)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_round_trip_through_sc(shape: tuple[int, ...], dtype: type, tmp_path: Path) -> None:
    top = np.iinfo(dtype).max
    arr = RNG.integers(0, int(top) + 1, shape).astype(dtype)
    png = tmp_path / "in.png"
    png.write_bytes(encode_png(arr))
    assert np.array_equal(read_png(png), arr)
    ds = secondary_capture(png)
    assert np.array_equal(dicomkit.pixels.pixel_array(ds), arr)


def _png_with_filter(arr: np.ndarray, ftype: int) -> bytes:
    """An 8-bit RGB PNG whose every line uses filter ``ftype`` (ISO/IEC 15948 clause 9),
    made independently of the reader under test."""
    import struct
    import zlib

    rows, cols, ch = arr.shape
    bpp = ch
    raw = bytearray()
    prev = np.zeros(cols * ch, np.int64)
    for y in range(rows):
        cur = arr[y].reshape(-1).astype(np.int64)
        out = np.zeros_like(cur)
        for x in range(cur.size):
            a = int(cur[x - bpp]) if x >= bpp else 0
            b = int(prev[x])
            c = int(prev[x - bpp]) if x >= bpp else 0
            if ftype == 1:
                pred = a
            elif ftype == 2:
                pred = b
            elif ftype == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            out[x] = (cur[x] - pred) % 256
        raw += bytes([ftype]) + bytes(out.astype(np.uint8))
        prev = cur

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">L", len(data)) + kind + data + struct.pack(">L", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">LLBBBBB", cols, rows, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("ftype", [1, 2, 3, 4])
def test_png_filters(ftype: int) -> None:
    arr = RNG.integers(0, 256, (6, 7, 3)).astype(np.uint8)
    assert np.array_equal(read_png(_png_with_filter(arr, ftype)), arr)


def test_png_refuses_non_png(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="not a PNG"):
        read_png(b"GIF89a....")


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "P", "1", "I;16"])
def test_png_from_another_encoder(mode: str, tmp_path: Path) -> None:
    """PNGs written by Pillow (test-only; its encoder picks the filters) read to the
    same pixels Pillow decodes."""
    from peers import require_module

    require_module("PIL")
    from PIL import Image

    y, x = np.mgrid[0:23, 0:31]
    base = np.stack([(x * 8 + y) % 256, (x * y) % 256, (y * 11) % 256], -1).astype(np.uint8)
    img = Image.fromarray(base, "RGB")
    if mode == "I;16":
        img = Image.fromarray(base[..., 0].astype(np.uint16) * 257)
    elif mode == "P":
        img = img.quantize(colors=16)
    else:
        img = img.convert(mode)
    path = tmp_path / f"{mode.replace(';', '')}.png"
    img.save(path, optimize=True)
    with Image.open(path) as back:
        want_img = back.convert("RGB") if mode in ("RGBA", "P") else back
        if mode == "LA":
            want_img = back.convert("L")
        want = np.asarray(want_img)
    if mode == "1":
        want = want.astype(np.uint8) * 255
    got = read_png(path)
    assert got.shape == want.shape
    assert np.array_equal(got, want.astype(got.dtype))
