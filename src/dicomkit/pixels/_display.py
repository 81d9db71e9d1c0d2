"""From stored values to an 8-bit picture: the explicit pipeline that ``dicomkit export`` uses.

Grayscale: Modality LUT -> VOI LUT (a given window, else the data set's, else the value range)
-> MONOCHROME1 inversion. Palette colour: palette expansion. YBR: converted to RGB (once: the
codec's own conversion is tracked). Wider colour samples are scaled down to 8 bits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dicomkit.pixels import _colour as colour
from dicomkit.pixels import _lut as lut
from dicomkit.pixels._codecs import CodecRegistry
from dicomkit.pixels._frames import decode


def display_frame(
    ds: Any,
    index: int = 0,
    *,
    center: float | None = None,
    width: float | None = None,
    function: str | None = None,
    registry: CodecRegistry | None = None,
) -> np.ndarray:
    """Frame ``index`` as uint8 ``(rows, columns)`` or ``(rows, columns, 3)``."""
    dec = decode(ds, frames=[index], registry=registry)
    info = dec.info
    arr = dec.array[0]
    photometric = dec.photometric
    if photometric == "PALETTE COLOR":
        rgb = colour.apply_palette(arr, ds)
        if rgb.dtype == np.uint16:
            rgb = (rgb >> 8).astype(np.uint8)
        return rgb
    if info.samples_per_pixel == 3:
        if photometric.startswith("YBR"):
            arr = dec.as_rgb().array[0]
        bits = info.bits_stored if not info.is_float else 8
        if arr.dtype.kind == "f":
            return _u8(lut.auto_window(arr, y_max=255.0))
        if bits > 8:
            arr = arr.astype(np.int64) >> (bits - 8)
        return _u8(arr)
    explicit = center is not None and width is not None
    pointwise = (
        explicit or lut.window_values(ds, frame=index) is not None or bool(ds.get("VOILUTSequence"))
    )
    if pointwise and arr.dtype.kind in "iu" and arr.dtype.itemsize <= 2 and arr.size > 4096:
        # every step is a function of the stored value alone (no auto window over the
        # frame's range): run the pipeline once per value present, then look up
        lo = int(arr.min())
        domain = np.arange(lo, int(arr.max()) + 1).astype(arr.dtype)
        table = _grey(domain, ds, index, center, width, function, photometric)
        out: np.ndarray = table[arr.astype(np.intp) - lo]
        return out
    return _grey(arr, ds, index, center, width, function, photometric)


def _grey(
    arr: np.ndarray,
    ds: Any,
    index: int,
    center: float | None,
    width: float | None,
    function: str | None,
    photometric: str,
) -> np.ndarray:
    """Modality LUT, VOI (the given window, else the data set's), MONOCHROME1 inversion."""
    values = lut.modality_lut(arr, ds, frame=index)
    if center is not None and width is not None:
        out = lut.window(values, center, width, function=function or "LINEAR", y_max=255.0)
    else:
        out = lut.voi_lut(values, ds, frame=index, y_max=255.0)
    if photometric == "MONOCHROME1":
        out = 255.0 - out
    return _u8(np.rint(out))


def _u8(arr: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.clip(arr, 0, 255).astype(np.uint8)
    return out
