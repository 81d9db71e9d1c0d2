"""Encoding: native pixels from arrays, compression and decompression, checked with pydicom and
with DCMTK's decompressors."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from corpus import CORPUS
from peers import require_module, run_dcmtk

import dicomkit
from dicomkit import Dataset
from dicomkit.dictionary import uids
from dicomkit.errors import PixelDataError
from dicomkit.pixels import frame, pixel_array, pixel_info
from dicomkit.pixels._encode import compress, decompress, set_pixels

RNG = np.random.default_rng(5)
CT_SOP = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture


def new_ds() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = CT_SOP
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.999.77." + str(RNG.integers(1, 10**9))
    ds.PatientName = "PIXEL^TEST"
    return ds


def pydicom_array(data: bytes) -> np.ndarray:
    pydicom = require_module("pydicom")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(pydicom.dcmread(io.BytesIO(data)).pixel_array)


def to_bytes(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    dicomkit.write(ds, buf)
    return buf.getvalue()


ARRAYS = {
    "u8": RNG.integers(0, 256, size=(40, 30), dtype=np.uint8),
    "u16_12bit": RNG.integers(0, 4096, size=(40, 30), dtype=np.uint16),
    "i16": RNG.integers(-2000, 2000, size=(40, 30), dtype=np.int16),
    "rgb": RNG.integers(0, 256, size=(20, 30, 3), dtype=np.uint8),
    "frames": RNG.integers(0, 1000, size=(3, 16, 24), dtype=np.uint16),
}
BITS = {"u16_12bit": 12}


@pytest.mark.parametrize("name", ARRAYS)
def test_set_pixels_round_trips_through_a_file(name: str) -> None:
    a = ARRAYS[name]
    ds = new_ds()
    set_pixels(ds, a, bits_stored=BITS.get(name))
    data = to_bytes(ds)
    back = dicomkit.read(data)
    np.testing.assert_array_equal(pixel_array(back), a)
    np.testing.assert_array_equal(pydicom_array(data), a)
    info = pixel_info(back)
    assert info.bits_stored == BITS.get(name, a.dtype.itemsize * 8)
    assert info.number_of_frames == (3 if name == "frames" else 1)


def test_set_pixels_bool_and_float() -> None:
    ds = new_ds()
    b = RNG.integers(0, 2, size=(3, 7, 5)).astype(bool)
    set_pixels(ds, b)
    assert ds.BitsAllocated == 1
    np.testing.assert_array_equal(pixel_array(dicomkit.read(to_bytes(ds))), b)
    f = RNG.random((6, 4)).astype(np.float32)
    set_pixels(ds, f)
    assert 0x7FE00008 in ds and 0x7FE00010 not in ds
    np.testing.assert_array_equal(pixel_array(ds), f)


def test_set_pixels_validation() -> None:
    with pytest.raises(PixelDataError, match="do not fit"):
        set_pixels(new_ds(), np.array([[5000]], np.uint16), bits_stored=12)
    with pytest.raises(PixelDataError):
        set_pixels(new_ds(), np.zeros((2, 2), np.complex64))
    with pytest.raises(PixelDataError):
        set_pixels(new_ds(), np.zeros((2, 2, 2), np.uint8), photometric="RGB")


LOSSLESS = [
    uids.RLELossless,
    uids.JPEGLSLossless,
    uids.JPEG2000Lossless,
    uids.JPEGLosslessSV1,
    uids.HTJ2KLossless,
    uids.DeflatedImageFrameCompression,
]
PYDICOM_CANNOT = {uids.DeflatedImageFrameCompression}


@pytest.mark.parametrize("uid", LOSSLESS)
@pytest.mark.parametrize("name", ARRAYS)
def test_lossless_compression_round_trips(uid: str, name: str) -> None:
    if uid != uids.RLELossless:
        pytest.importorskip("imagecodecs")
    a = ARRAYS[name]
    ds = new_ds()
    set_pixels(ds, a, bits_stored=BITS.get(name))
    compress(ds, uid)
    assert str(ds.transfer_syntax) == uid
    data = to_bytes(ds)
    back = dicomkit.read(data)
    np.testing.assert_array_equal(pixel_array(back), a)
    np.testing.assert_array_equal(frame(back, 0), a if a.ndim == 2 or name == "rgb" else a[0])
    if uid not in PYDICOM_CANNOT:
        np.testing.assert_array_equal(pydicom_array(data), a)
    decompress(back)
    assert str(back.transfer_syntax) == uids.ExplicitVRLittleEndian
    np.testing.assert_array_equal(pixel_array(dicomkit.read(to_bytes(back))), a)


def test_extended_offset_table_compression() -> None:
    a = ARRAYS["frames"]
    ds = new_ds()
    set_pixels(ds, a)
    compress(ds, uids.RLELossless, extended_offset_table=True)
    assert 0x7FE00001 in ds and 0x7FE00002 in ds
    back = dicomkit.read(to_bytes(ds))
    np.testing.assert_array_equal(pixel_array(back), a)
    np.testing.assert_array_equal(frame(back, 2), a[2])


def test_ybr_full_422_is_compressed_as_ybr_full() -> None:
    ds = dicomkit.read(CORPUS / "dcm4che" / "YBR_422.dcm")
    ref = pixel_array(ds, as_rgb=True)
    compress(ds, uids.RLELossless)
    assert ds.PhotometricInterpretation == "YBR_FULL"
    np.testing.assert_array_equal(pixel_array(dicomkit.read(to_bytes(ds)), as_rgb=True), ref)


# -- DCMTK decompresses what we compress -------------------------------------------------------

DCMTK_TOOLS = {
    uids.RLELossless: "dcmdrle",
    uids.JPEGLSLossless: "dcmdjpls",
    uids.JPEGLosslessSV1: "dcmdjpeg",
}


@pytest.mark.interop
@pytest.mark.parametrize("uid", list(DCMTK_TOOLS))
@pytest.mark.parametrize("name", ["u8", "u16_12bit", "i16", "rgb", "frames"])
def test_dcmtk_decodes_our_encoding(uid: str, name: str, tmp_path: Path) -> None:
    pytest.importorskip("imagecodecs")
    a = ARRAYS[name]
    ds = new_ds()
    set_pixels(ds, a, bits_stored=BITS.get(name))
    compress(ds, uid)
    src, out = tmp_path / "in.dcm", tmp_path / "out.dcm"
    dicomkit.write(ds, src)
    run_dcmtk(DCMTK_TOOLS[uid], str(src), str(out))
    back = dicomkit.read(out)
    assert str(back.transfer_syntax) in (uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian)
    np.testing.assert_array_equal(pixel_array(back), a)


@pytest.mark.interop
@pytest.mark.parametrize("name", ["CT1_RLE", "MR1_RLE", "US1_RLE", "VL1_RLE"])
def test_corpus_recompressed_with_rle_decodes_in_dcmtk(name: str, tmp_path: Path) -> None:
    src = CORPUS / "nema-wg04" / "RLE" / name
    if not src.exists():
        pytest.skip("not in the corpus")
    ds = dicomkit.read(src)
    ref = pixel_array(ds)
    decompress(ds)
    compress(ds, uids.RLELossless)
    mine, out = tmp_path / "mine.dcm", tmp_path / "out.dcm"
    dicomkit.write(ds, mine)
    run_dcmtk("dcmdrle", str(mine), str(out))
    np.testing.assert_array_equal(pixel_array(dicomkit.read(out)), ref)


DCMTK_COMPRESSORS = {
    "dcmcrle": uids.RLELossless,
    "dcmcjpls": uids.JPEGLSLossless,
    "dcmcjpeg": uids.JPEGLosslessSV1,
}


@pytest.mark.interop
@pytest.mark.parametrize("tool", list(DCMTK_COMPRESSORS))
@pytest.mark.parametrize("name", ["u16_12bit", "i16", "rgb", "frames"])
def test_we_decode_dcmtk_compression(tool: str, name: str, tmp_path: Path) -> None:
    pytest.importorskip("imagecodecs")
    a = ARRAYS[name]
    ds = new_ds()
    set_pixels(ds, a, bits_stored=BITS.get(name))
    src, out = tmp_path / "in.dcm", tmp_path / "out.dcm"
    dicomkit.write(ds, src)
    run_dcmtk(tool, str(src), str(out))
    back = dicomkit.read(out)
    assert str(back.transfer_syntax) == DCMTK_COMPRESSORS[tool]
    np.testing.assert_array_equal(pixel_array(back), a)
