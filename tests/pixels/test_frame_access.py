"""One frame of a multi-frame data set: the right pixels, a writable array of its own, and
the RLE packet-loop decoder agreeing with the numpy one."""

from __future__ import annotations

import io

import numpy as np
import pytest
from pixhelp import make_ds

import dicomkit
from dicomkit.pixels import _rle as rle
from dicomkit.pixels import frame, iter_frames, pixel_array


def _multiframe(n: int = 5, bs: int = 12) -> tuple[np.ndarray, bytes]:
    rng = np.random.default_rng(7)
    arr = rng.integers(0, 1 << bs, size=(n, 6, 4), dtype=np.uint16)
    ds = make_ds(
        arr.astype("<u2").tobytes(),
        rows=6,
        cols=4,
        ba=16,
        bs=bs,
        frames=n,
        SOPClassUID="1.2.840.10008.5.1.4.1.1.2.1",
        SOPInstanceUID="1.2.3",
    )
    out = io.BytesIO()
    dicomkit.write(ds, out)
    return arr, out.getvalue()


@pytest.mark.parametrize("bs", [12, 16])
def test_frame_matches_pixel_array(bs: int) -> None:
    arr, data = _multiframe(bs=bs)
    ds = dicomkit.read(data)
    for i in range(arr.shape[0]):
        one = frame(ds, i)
        assert one.shape == (6, 4) and one.dtype == np.uint16
        assert np.array_equal(one, arr[i])
    assert np.array_equal(np.stack(list(iter_frames(ds))), pixel_array(ds))


def test_frame_is_writable_and_detached(tmp_path) -> None:  # type: ignore[no-untyped-def]
    arr, data = _multiframe(bs=16)  # no masking: the decoder could return a view of the file
    path = tmp_path / "mf.dcm"
    path.write_bytes(data)
    ds = dicomkit.read(path)
    one = frame(ds, 2)
    assert one.flags.writeable
    one[:] = 0
    assert np.array_equal(frame(ds, 2), arr[2])  # the source was not touched


@pytest.mark.parametrize(
    "make",
    [
        lambda r: r.integers(0, 256, 5000, dtype=np.uint8),  # mostly literals
        lambda r: np.repeat(r.integers(0, 4, 300, dtype=np.uint8), 17),  # long runs
        lambda r: np.repeat(r.integers(0, 3, 4000, dtype=np.uint8), r.integers(1, 4, 4000)),
    ],
)
def test_packet_loop_matches_numpy_path(make) -> None:  # type: ignore[no-untyped-def]
    plane = make(np.random.default_rng(3))
    cols = 50
    plane = plane[: plane.size - plane.size % cols].reshape(-1, cols)
    seg = rle.encode_plane(plane)
    expected = plane.reshape(-1)
    py, pos = rle._decode_python(seg, 1 << 30)
    assert pos >= len(seg)
    assert np.array_equal(np.frombuffer(py, np.uint8)[: expected.size], expected)
    assert np.array_equal(rle._decode_numpy(seg)[: expected.size], expected)
    # a packet budget hands the rest to numpy mid-stream
    head, pos = rle._decode_python(seg, 7)
    rest = rle._decode_numpy(seg[pos:])
    both = np.concatenate([np.frombuffer(head, np.uint8), rest])
    assert np.array_equal(both[: expected.size], expected)
    out = rle.decode_segment(seg, expected.size, accelerated=False)
    assert np.array_equal(out, expected)
