"""The codec registry instance and the optional-extra behaviour."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from pixhelp import make_ds

from dicomkit.dictionary import uids
from dicomkit.errors import MissingCodecError, PixelDataError
from dicomkit.pixels import CodecRegistry, default_registry, pixel_array
from dicomkit.pixels import _syntax as ts
from dicomkit.pixels._encapsulation import encapsulate
from dicomkit.pixels._info import PixelInfo


def test_default_registry_is_one_instance_with_builtins() -> None:
    reg = default_registry()
    assert reg is default_registry()
    for uid in (
        uids.RLELossless,
        uids.JPEGBaseline8Bit,
        uids.JPEGLSLossless,
        uids.JPEG2000,
        uids.HTJ2K,
        uids.JPEGXL,
        uids.DeflatedImageFrameCompression,
        uids.JPEGLosslessSV1,
    ):
        assert reg.can_decode(uid)
    for uid in (
        uids.RLELossless,
        uids.JPEGLSLossless,
        uids.JPEG2000Lossless,
        uids.JPEGLosslessSV1,
        uids.DeflatedImageFrameCompression,
    ):
        assert reg.can_encode(uid)
    assert not reg.can_encode(uids.JPEGBaseline8Bit)
    with pytest.raises(PixelDataError, match="read-only"):
        reg.register("1.2.3", decode=lambda d, i: (np.zeros(1), ""))
    mine = reg.copy()
    mine.register("1.2.3", decode=lambda d, i: (np.zeros(1), ""))
    assert mine.can_decode("1.2.3") and not reg.can_decode("1.2.3")
    assert mine.can_decode(uids.RLELossless)


def test_own_registry_is_used_and_does_not_touch_the_default() -> None:
    calls: list[int] = []

    def fake(data: bytes, info: PixelInfo) -> tuple[np.ndarray, str]:
        calls.append(len(data))
        return np.full(info.frame_shape, 7, info.dtype), info.photometric_interpretation

    reg = CodecRegistry(builtin=False)
    assert reg.decoders() == []
    reg.register("1.2.3.4", decode=fake)
    ds = make_ds(
        encapsulate([b"ab", b"cd"]), rows=2, cols=2, frames=2, ts="1.2.3.4", undefined_length=True
    )
    out = pixel_array(ds, registry=reg)
    assert out.shape == (2, 2, 2) and (out == 7).all() and calls == [2, 2]
    with pytest.raises(PixelDataError, match="no decoder"):
        pixel_array(ds)
    with pytest.raises(PixelDataError, match="no encoder"):
        reg.encoder("1.2.3.4")


def test_missing_imagecodecs_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "imagecodecs", None)
    ds = make_ds(
        encapsulate([b"\xff\xd8\xff\xd9"]),
        rows=2,
        cols=2,
        ts=uids.JPEGLSLossless,
        undefined_length=True,
    )
    with pytest.raises(MissingCodecError, match=r"dicomkit\[codecs\]"):
        pixel_array(ds)


def test_codec_errors_become_pixel_data_errors() -> None:
    pytest.importorskip("imagecodecs")
    ds = make_ds(
        encapsulate([b"\xff\xd8garbage\xff\xd9"]),
        rows=2,
        cols=2,
        ts=uids.JPEGLSLossless,
        undefined_length=True,
    )
    with pytest.raises(PixelDataError):
        pixel_array(ds)


def test_wrong_frame_shape_is_reported() -> None:
    reg = CodecRegistry(builtin=False)
    reg.register("1.2.3.4", decode=lambda d, i: (np.zeros((1, 1), np.uint8), "MONOCHROME2"))
    ds = make_ds(encapsulate([b"ab"]), rows=2, cols=2, ts="1.2.3.4", undefined_length=True)
    with pytest.raises(PixelDataError, match="shape"):
        pixel_array(ds, registry=reg)


def test_unknown_syntax_resolution() -> None:
    assert ts.resolve("RLELossless") == uids.RLELossless
    assert ts.resolve("jpeg-ls") == uids.JPEGLSLossless
    assert ts.resolve(uids.JPEG2000Lossless) == uids.JPEG2000Lossless
    with pytest.raises(ValueError, match="unknown transfer syntax"):
        ts.resolve("no such thing")
