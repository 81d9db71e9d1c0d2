"""Colour spaces and palettes (PS3.3 C.7.6.3.1.2, C.7.6.3.1.5, C.7.9).

Explicit steps, never applied behind the caller's back: :func:`ybr_to_rgb`,
:func:`rgb_to_ybr`, :func:`apply_palette` (normal and segmented palettes).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from dicomkit.errors import PixelDataError

# ITU-R BT.601 full range, as given for YBR_FULL in PS3.3 C.7.6.3.1.2.
_YBR_TO_RGB = np.array(
    [[1.0, 0.0, 1.402], [1.0, -0.114 * 1.772 / 0.587, -0.299 * 1.402 / 0.587], [1.0, 1.772, 0.0]]
)
_RGB_TO_YBR = np.array(
    [
        [0.299, 0.587, 0.114],
        [-0.299 / 1.772, -0.587 / 1.772, 0.5],
        [0.5, -0.587 / 1.402, -0.114 / 1.402],
    ]
)


def ybr_to_rgb(arr: np.ndarray, photometric: str = "YBR_FULL", bits: int = 8) -> np.ndarray:
    """YBR_FULL / YBR_FULL_422 (already upsampled) / YBR_PARTIAL_* -> RGB, same dtype.

    ``bits`` is Bits Stored; chroma is centred on ``2**(bits-1)``."""
    if arr.shape[-1] != 3:
        raise PixelDataError(f"YBR -> RGB needs three samples, the array has shape {arr.shape}")
    if photometric in ("YBR_ICT", "YBR_RCT"):
        raise PixelDataError(f"{photometric} is undone by the JPEG 2000 decoder, not here")
    top = (1 << bits) - 1
    half = float(1 << (bits - 1))
    ybr = arr.astype(np.float64)
    if photometric.startswith("YBR_PARTIAL"):
        scale = top / 255.0
        ybr[..., 0] = (ybr[..., 0] - 16 * scale) * (255.0 / 219.0)
        ybr[..., 1:] = (ybr[..., 1:] - half) * (255.0 / 224.0) + half
    ybr[..., 1:] -= half
    rgb = ybr @ _YBR_TO_RGB.T
    np.clip(np.rint(rgb, out=rgb), 0, top, out=rgb)
    out: np.ndarray = rgb.astype(arr.dtype)
    return out


def rgb_to_ybr(arr: np.ndarray, bits: int = 8) -> np.ndarray:
    """RGB -> YBR_FULL (PS3.3 C.7.6.3.1.2), same dtype."""
    if arr.shape[-1] != 3:
        raise PixelDataError(f"RGB -> YBR needs three samples, the array has shape {arr.shape}")
    top = (1 << bits) - 1
    ybr = arr.astype(np.float64) @ _RGB_TO_YBR.T
    ybr[..., 1:] += float(1 << (bits - 1))
    np.clip(np.rint(ybr, out=ybr), 0, top, out=ybr)
    out: np.ndarray = ybr.astype(arr.dtype)
    return out


def descriptor(desc: Any) -> tuple[int, int, int]:
    """A LUT Descriptor (entries, first mapped value, bits per entry) from whatever the value
    decoded to: numbers, a backslash-separated string, or raw little endian bytes."""
    if isinstance(desc, (bytes, bytearray, memoryview)):
        raw = bytes(desc)
        if len(raw) < 6:
            raise PixelDataError(f"LUT Descriptor of {len(raw)} bytes")
        values = list(struct.unpack("<3H", raw[:6]))
    elif isinstance(desc, str):
        values = [int(float(v)) for v in desc.strip("\0 ").split("\\")]
    else:
        values = [int(v) for v in desc]
    if len(values) != 3:
        raise PixelDataError(f"LUT Descriptor needs 3 values, not {desc!r}")
    return values[0], values[1], values[2]


def _lut_values(desc: Any, data: Any, *, segmented: bool = False) -> np.ndarray:
    """One palette channel: the descriptor (entries, first mapped, bits) and the LUT data."""
    entries, _, bits = descriptor(desc)
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = np.frombuffer(bytes(data), "<u2")
        if bits == 8 and not segmented and raw.size * 2 == (entries or 65536):
            raw = np.frombuffer(bytes(data), "u1").astype("<u2")
    else:
        raw = np.asarray(list(data) if not isinstance(data, np.ndarray) else data, dtype="u2")
    if segmented:
        raw = expand_segmented(raw)
    n = entries or 65536
    if raw.size < n:
        raise PixelDataError(f"palette data has {raw.size} entries, the descriptor says {n}")
    return raw[:n].astype(np.uint16)


def expand_segmented(data: np.ndarray) -> np.ndarray:
    """Expand Segmented Palette Color LUT Data (PS3.3 C.7.9.2): discrete (opcode 0), linear
    (1: from the previous value to the given end value) and indirect segments (2: copy a number
    of segments found at a byte offset from the start, stored as low then high 16 bits)."""
    words = [int(v) for v in data]
    out: list[float] = []
    _expand(words, 0, None, out, allow_indirect=True)
    return np.rint(np.asarray(out, dtype=np.float64)).astype(np.uint16)


def _expand(
    words: list[int], pos: int, count: int | None, out: list[float], *, allow_indirect: bool
) -> None:
    done = 0
    while pos + 1 < len(words) and (count is None or done < count):
        op, length = words[pos], words[pos + 1]
        pos += 2
        if op == 0:
            out.extend(words[pos : pos + length])
            pos += length
        elif op == 1:
            if not out or pos >= len(words):
                raise PixelDataError("segmented palette: a linear segment with no start value")
            y0, y1 = out[-1], words[pos]
            pos += 1
            step = (y1 - y0) / length if length else 0.0
            out.extend(y0 + step * (k + 1) for k in range(length))
        elif op == 2 and allow_indirect:
            if pos + 2 > len(words):
                raise PixelDataError("segmented palette: truncated indirect segment")
            offset = words[pos] | (words[pos + 1] << 16)
            pos += 2
            if offset % 2:
                raise PixelDataError(f"segmented palette: odd byte offset {offset}")
            _expand(words, offset // 2, length, out, allow_indirect=False)
        else:
            raise PixelDataError(f"segmented palette: bad segment opcode {op}")
        done += 1


def palette_luts(ds: Any) -> tuple[np.ndarray, int, int]:
    """The red, green and blue LUTs of a PALETTE COLOR data set as an ``(entries, 3)`` array,
    with the first mapped value and the bits per entry."""
    channels = []
    first = 0
    bits = 16
    for name in ("Red", "Green", "Blue"):
        desc = ds.get(f"{name}PaletteColorLookupTableDescriptor")
        if desc is None:
            raise PixelDataError(f"PALETTE COLOR without {name}PaletteColorLookupTableDescriptor")
        seg = ds.get(f"Segmented{name}PaletteColorLookupTableData")
        data = ds.get(f"{name}PaletteColorLookupTableData")
        if data is None and seg is None:
            raise PixelDataError(f"PALETTE COLOR without {name} palette data")
        vals = _lut_values(desc, seg if data is None else data, segmented=data is None)
        channels.append(vals)
        _, first, bits = descriptor(desc)
    n = max(c.size for c in channels)
    lut = np.zeros((n, 3), dtype=np.uint16)
    for k, c in enumerate(channels):
        lut[: c.size, k] = c
        lut[c.size :, k] = c[-1]
    return lut, first, bits


def apply_palette(arr: np.ndarray, ds: Any) -> np.ndarray:
    """Map palette indices to RGB (PS3.3 C.7.6.3.1.5): values below the first mapped value use
    the first entry, above the last the last entry. 8-bit palettes give uint8, else uint16."""
    lut, first, bits = palette_luts(ds)
    idx = np.clip(arr.astype(np.int64) - first, 0, lut.shape[0] - 1)
    out = lut[idx]
    if bits == 8:
        return out.astype(np.uint8)
    return out
