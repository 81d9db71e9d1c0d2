"""RLE Lossless (PS3.5 Annex G), against PackBits in C (imagecodecs) and pydicom's codec."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from helpers import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from dicomkit.errors import PixelDataError
from dicomkit.pixels import _rle as rle

RNG = np.random.default_rng(3)


def planes() -> list[np.ndarray]:
    y, x = np.mgrid[0:64, 0:96]
    return [
        RNG.integers(0, 3, size=(64, 96)).astype(np.uint8),
        RNG.integers(0, 256, size=(64, 96)).astype(np.uint8),
        np.zeros((64, 96), np.uint8),
        ((x // 7 + y // 5) % 256).astype(np.uint8),
        np.where(np.hypot(y - 32, x - 48) < 20, RNG.integers(0, 40, size=(64, 96)), 0).astype(
            np.uint8
        ),
        np.full((3, 300), 7, np.uint8),  # runs longer than 128
        RNG.integers(0, 256, size=(1, 1)).astype(np.uint8),
    ]


@pytest.mark.parametrize("accelerated", [False, True])
@pytest.mark.parametrize("k", range(7))
def test_plane_round_trip_and_agreement_with_c_packbits(k: int, accelerated: bool) -> None:
    imagecodecs = pytest.importorskip("imagecodecs")
    plane = planes()[k]
    seg = rle.encode_plane(plane)
    assert imagecodecs.packbits_decode(seg) == plane.tobytes()
    out = rle.decode_segment(seg, plane.size, accelerated=accelerated)
    np.testing.assert_array_equal(out, plane.reshape(-1))


def test_rows_are_encoded_separately() -> None:
    plane = np.full((2, 4), 9, np.uint8)
    # Each row is its own replicate packet (G.3.1), never one run across the row boundary.
    assert rle.encode_plane(plane) == bytes([257 - 4, 9, 257 - 4, 9])


def test_known_packbits_stream_with_noop_header() -> None:
    seg = bytes([2, 1, 2, 3, 128, 254, 7, 0, 5])
    np.testing.assert_array_equal(
        rle.decode_segment(seg, 7, accelerated=False), [1, 2, 3, 7, 7, 7, 5]
    )


@settings(max_examples=examples(60), deadline=None)
@given(st.binary(min_size=1, max_size=3000))
def test_numpy_decoder_matches_c_on_arbitrary_streams(data: bytes) -> None:
    imagecodecs = pytest.importorskip("imagecodecs")
    try:
        ref = imagecodecs.packbits_decode(data)
    except Exception:  # noqa: BLE001 - the C decoder refuses some truncated streams
        return
    if not ref:
        return
    out = rle.decode_segment(data, len(ref), accelerated=False)
    assert out.tobytes() == ref


@settings(max_examples=examples(40), deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.sampled_from([1, 3]),
    st.sampled_from(["u1", "<u2", "<i2", "<u4"]),
    st.integers(0, 2**31),
)
def test_frame_round_trip(rows: int, cols: int, spp: int, dtype: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, size=(rows, cols, spp), dtype=np.dtype(dtype))
    a[:, : cols // 2] = a[0, 0]  # some runs
    enc = rle.encode_frame(a)
    out = rle.decode_frame(enc, rows, cols, spp, a.dtype.itemsize * 8, accelerated=False)
    np.testing.assert_array_equal(out.view(a.dtype.newbyteorder("=")), a)


def test_decodes_pydicom_encoded_frames_and_pydicom_decodes_ours() -> None:
    pytest.importorskip("pydicom")
    from pydicom.dataset import Dataset
    from pydicom.encaps import generate_frames
    from pydicom.pixels.decoders.rle import _rle_decode_frame
    from pydicom.uid import RLELossless

    a = RNG.integers(0, 4096, size=(32, 48), dtype=np.uint16)
    a[5:20] = 100
    ours = rle.encode_frame(a)
    theirs = _rle_decode_frame(ours, 32, 48, 1, 16)
    np.testing.assert_array_equal(np.frombuffer(theirs, "<u2").reshape(32, 48), a)
    ds = Dataset()
    ds.set_pixel_data(a, "MONOCHROME2", 12)
    ds.compress(RLELossless, encoding_plugin="pydicom")
    enc = next(generate_frames(ds.PixelData, number_of_frames=1))
    out = rle.decode_frame(enc, 32, 48, 1, 16, accelerated=False)
    np.testing.assert_array_equal(out[..., 0], a)


def test_header_errors() -> None:
    with pytest.raises(PixelDataError, match="64-byte header"):
        rle.decode_frame(b"\0" * 10, 1, 1, 1, 8)
    with pytest.raises(PixelDataError, match="segments"):
        rle.decode_frame(struct.pack("<16L", 16, *([64] * 15)), 1, 1, 1, 8)
    with pytest.raises(PixelDataError, match="offsets"):
        rle.decode_frame(struct.pack("<16L", 1, 60, *([0] * 14)), 1, 1, 1, 8)
    frame = rle.encode_frame(np.zeros((2, 2), np.uint8))
    with pytest.raises(PixelDataError, match="expected 2"):
        rle.decode_frame(frame, 2, 2, 1, 16)
    with pytest.raises(PixelDataError, match="expected"):
        rle.decode_frame(frame, 4, 4, 1, 8)
    with pytest.raises(PixelDataError, match="15 segments"):
        rle.encode_frame(np.zeros((2, 2, 4), np.uint32))
