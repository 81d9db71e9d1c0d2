"""Native pixel data (PS3.5 8.1, 8.2; PS3.3 C.7.6.3)."""

from __future__ import annotations

import numpy as np
import pytest
from pixhelp import EXPLICIT_BE, make_ds

from dicomkit.errors import PixelDataError
from dicomkit.pixels import frame, pixel_array, pixel_info
from dicomkit.pixels._native import fix_bits, pack, unpack

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("dtype", ["u1", "i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8"])
def test_full_width_integers(dtype: str) -> None:
    a = RNG.integers(
        np.iinfo(dtype).min,
        np.iinfo(dtype).max,
        size=(4, 5),
        dtype=np.dtype(dtype).newbyteorder("="),
    )
    ba = a.dtype.itemsize * 8
    ds = make_ds(a.astype(dtype).tobytes(), rows=4, cols=5, ba=ba, pr=int(a.dtype.kind == "i"))
    out = pixel_array(ds)
    assert out.dtype == a.dtype
    np.testing.assert_array_equal(out, a)


def test_bits_stored_masks_unused_high_bits() -> None:
    a = np.array([[0x0FFF, 0xF123], [0x1000, 0x8001]], "<u2")
    out = pixel_array(make_ds(a.tobytes(), rows=2, cols=2, ba=16, bs=12))
    np.testing.assert_array_equal(out, a & 0x0FFF)


def test_signed_values_are_sign_extended_from_bits_stored() -> None:
    # 12-bit two's complement, with junk in the top nibble.
    stored = np.array([[0x0800, 0x07FF], [0xAFFF, 0x0001]], "<u2")
    out = pixel_array(make_ds(stored.tobytes(), rows=2, cols=2, ba=16, bs=12, pr=1))
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out, [[-2048, 2047], [-1, 1]])


def test_high_bit_not_at_bits_stored_minus_one_shifts_down() -> None:
    stored = np.array([[0x0FF0, 0x0010]], "<u2")  # 8 bits stored in bits 4..11
    out = pixel_array(make_ds(stored.tobytes(), rows=1, cols=2, ba=16, bs=8, hb=11))
    np.testing.assert_array_equal(out, [[0xFF, 0x01]])


def test_one_bit_frames_are_not_byte_aligned() -> None:
    pydicom_pixels = pytest.importorskip("pydicom.pixels")
    frames = RNG.integers(0, 2, size=(3, 5, 3), dtype=np.uint8)  # 15 bits a frame
    packed = pydicom_pixels.pack_bits(frames)
    ds = make_ds(packed, rows=5, cols=3, ba=1, frames=3)
    np.testing.assert_array_equal(pixel_array(ds), frames)
    for i in range(3):
        np.testing.assert_array_equal(frame(ds, i), frames[i])
    info = pixel_info(ds)
    np.testing.assert_array_equal(unpack(pack(frames, info), info), frames)


@pytest.mark.parametrize("planar", [0, 1])
def test_rgb_planar_configuration(planar: int) -> None:
    a = RNG.integers(0, 256, size=(2, 4, 6, 3), dtype=np.uint8)
    data = (a.transpose(0, 3, 1, 2) if planar else a).tobytes()
    ds = make_ds(data, rows=4, cols=6, spp=3, planar=planar, frames=2)
    np.testing.assert_array_equal(pixel_array(ds), a)
    np.testing.assert_array_equal(frame(ds, 1), a[1])
    info = pixel_info(ds)
    assert pack(a, info) == data


def test_native_ybr_full_422_is_upsampled() -> None:
    # Two pixels: Y1 Y2 Cb Cr.
    data = bytes([10, 20, 100, 200, 30, 40, 110, 210])
    ds = make_ds(data, rows=1, cols=4, spp=3, photometric="YBR_FULL_422")
    out = pixel_array(ds)
    assert out.shape == (1, 4, 3)
    np.testing.assert_array_equal(
        out[0], [[10, 100, 200], [20, 100, 200], [30, 110, 210], [40, 110, 210]]
    )
    rgb = pixel_array(ds, as_rgb=True)
    assert rgb.shape == (1, 4, 3) and not np.array_equal(rgb, out)


def test_big_endian_16_bit_and_8_bit_ow() -> None:
    a = np.array([[1, 258], [65535, 4096]], dtype=np.uint16)
    ds = make_ds(a.astype(">u2").tobytes(), rows=2, cols=2, ba=16, ts=EXPLICIT_BE)
    np.testing.assert_array_equal(pixel_array(ds), a)
    b = np.arange(6, dtype=np.uint8).reshape(2, 3)
    swapped = b.reshape(-1, 2)[:, ::-1].tobytes()
    ds8 = make_ds(swapped, rows=2, cols=3, ba=8, ts=EXPLICIT_BE, vr="OW")
    np.testing.assert_array_equal(pixel_array(ds8), b)


def test_float_and_double_float_pixel_data() -> None:
    f = RNG.random((3, 4)).astype("<f4")
    ds = make_ds(f.tobytes(), rows=3, cols=4, ba=32, tag=0x7FE00008)
    np.testing.assert_array_equal(pixel_array(ds), f)
    d = RNG.random((2, 3, 4)).astype("<f8")
    ds = make_ds(d.tobytes(), rows=3, cols=4, ba=64, tag=0x7FE00009, frames=2)
    np.testing.assert_array_equal(pixel_array(ds), d)


def test_odd_length_and_padded_values() -> None:
    a = np.arange(15, dtype=np.uint8).reshape(3, 5)
    ds = make_ds(a.tobytes() + b"\0", rows=3, cols=5)  # padded to even length
    np.testing.assert_array_equal(pixel_array(ds), a)
    ds = make_ds(a.tobytes(), rows=3, cols=5)  # odd length as some writers leave it
    np.testing.assert_array_equal(pixel_array(ds), a)


def test_truncated_data_is_padded_and_earlier_frames_decode() -> None:
    a = np.arange(3 * 16, dtype=np.uint8).reshape(3, 4, 4)
    ds = make_ds(a.tobytes()[:40], rows=4, cols=4, frames=3)
    with pytest.warns(UserWarning, match="padded with zeros"):
        assert pixel_array(ds)[2, 3].tolist() == [0, 0, 0, 0]  # as DCMTK: zeros past the cut
    np.testing.assert_array_equal(frame(ds, 1), a[1])  # only this frame's bytes are read
    with pytest.raises(PixelDataError):
        frame(ds, 5)


def test_frame_reads_from_a_memoryview_without_copying_the_rest() -> None:
    a = np.arange(10 * 64 * 64, dtype=np.uint16).reshape(10, 64, 64)
    mv = memoryview(a.tobytes())
    ds = make_ds(mv, rows=64, cols=64, ba=16, frames=10)  # type: ignore[arg-type]
    np.testing.assert_array_equal(frame(ds, 7), a[7])


def test_fix_bits_on_codec_output() -> None:
    info = pixel_info(make_ds(b"\0\0", rows=1, cols=1, ba=16, bs=10, pr=1))
    out = fix_bits(np.array([0x3FF, 0x200, 0x1FF], np.uint16), info)
    np.testing.assert_array_equal(out, [-1, -512, 511])


def test_missing_attributes_raise_pixel_data_error() -> None:
    ds = make_ds(b"\0" * 4, rows=2, cols=2)
    del ds.Rows
    with pytest.raises(PixelDataError, match="Rows"):
        pixel_array(ds)


def test_iter_frames_and_decoded() -> None:
    from dicomkit.pixels import decode, iter_frames

    a = RNG.integers(0, 256, size=(4, 3, 5), dtype=np.uint8)
    ds = make_ds(a.tobytes(), rows=3, cols=5, frames=4)
    np.testing.assert_array_equal(np.stack(list(iter_frames(ds))), a)
    dec = decode(ds, frames=[2, 0])
    assert dec.photometric == "MONOCHROME2" and dec.info.number_of_frames == 4
    np.testing.assert_array_equal(dec.array, a[[2, 0]])
    assert dec.as_rgb() is dec  # grayscale: nothing to convert


def test_encapsulated_value_under_a_native_syntax_is_reported() -> None:
    ds = make_ds(b"\xfe\xff\x00\xe0\0\0\0\0", rows=1, cols=1, undefined_length=True)
    with pytest.raises(PixelDataError, match="inconsistent"):
        pixel_array(ds)


def test_one_frame_of_a_file_costs_memory_for_one_frame(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import tracemalloc

    import dicomkit
    from dicomkit.pixels import set_pixels

    frames = np.zeros((40, 256, 256), np.uint16)
    frames[:, 0, 0] = np.arange(40)
    ds = dicomkit.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.999.88.1"
    set_pixels(ds, frames)
    path = tmp_path / "multi.dcm"
    dicomkit.write(ds, path)
    del ds, frames
    back = dicomkit.read(path)
    tracemalloc.start()
    one = frame(back, 33)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert one[0, 0] == 33
    assert peak < 3 * one.nbytes  # the file holds 40 frames; only about one is touched
