"""Reading PNG files (ISO/IEC 15948) into numpy arrays, with zlib from the stdlib.

Grayscale, grayscale+alpha, RGB, RGBA and palette images at bit depths 1-16, all five
filter types; Adam7-interlaced files are refused (re-save without interlacing). Alpha is
dropped (DICOM has no alpha channel); palette images are expanded to RGB.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from dicomkit.errors import InvalidValueError

__all__ = ["read_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out = []
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">L", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        out.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
        if kind == b"IEND":
            break
    return out


def _unfilter(raw: np.ndarray, rows: int, stride: int, bpp: int) -> np.ndarray:
    """Undo the per-line filters (ISO/IEC 15948 clause 9)."""
    lines = raw.reshape(rows, stride + 1)
    out = np.zeros((rows, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(rows):
        ftype = int(lines[y, 0])
        cur = lines[y, 1:].astype(np.int32)
        if ftype == 0:
            rec = cur
        elif ftype == 2:
            rec = (cur + prev) & 0xFF
        elif ftype == 1:  # Sub: a running sum per byte position within the pixel
            rec = cur.copy()
            for k in range(min(bpp, stride)):
                rec[k::bpp] = np.cumsum(cur[k::bpp]) & 0xFF
        elif ftype in (3, 4):
            rec = np.asarray(_average_or_paeth(cur.tolist(), prev.tolist(), bpp, ftype), np.int32)
        else:
            raise InvalidValueError(f"PNG line {y} has unknown filter type {ftype}")
        out[y] = rec
        prev = rec
    return out


def _average_or_paeth(rec: list[int], prev: list[int], bpp: int, ftype: int) -> list[int]:
    """Undo the Average (3) or Paeth (4) filter of one line: each byte depends on the one
    reconstructed ``bpp`` before it, so this runs byte by byte (on plain ints: fast enough)."""
    for x in range(len(rec)):
        a = rec[x - bpp] if x >= bpp else 0
        b = prev[x]
        if ftype == 3:
            pred = (a + b) >> 1
        else:
            c = prev[x - bpp] if x >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        rec[x] = (rec[x] + pred) & 0xFF
    return rec


def read_png(source: str | Path | bytes) -> np.ndarray:
    """A PNG as ``(rows, columns)`` (grayscale) or ``(rows, columns, 3)`` (colour), uint8 for
    bit depths up to 8 and uint16 for 16."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    if not data.startswith(_SIGNATURE):
        raise InvalidValueError("not a PNG file (no PNG signature): give a .png image")
    chunks = _chunks(data)
    if not chunks or chunks[0][0] != b"IHDR":
        raise InvalidValueError("PNG without IHDR chunk: the file is damaged")
    cols, rows, depth, ctype, _comp, _filt, interlace = struct.unpack(">LLBBBBB", chunks[0][1])
    if ctype not in _CHANNELS:
        raise InvalidValueError(f"PNG colour type {ctype} is not defined by ISO/IEC 15948")
    if interlace:
        raise InvalidValueError(
            "interlaced (Adam7) PNG files are not read: save the image without interlacing"
        )
    channels = _CHANNELS[ctype]
    idat = b"".join(body for kind, body in chunks if kind == b"IDAT")
    try:
        raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8)
    except zlib.error as exc:
        raise InvalidValueError(f"PNG image data does not decompress: {exc}") from exc
    bits_per_pixel = channels * depth
    stride = (cols * bits_per_pixel + 7) // 8
    if raw.size < rows * (stride + 1):
        raise InvalidValueError("PNG image data is shorter than its header says: file damaged")
    lines = _unfilter(raw[: rows * (stride + 1)], rows, stride, max(1, bits_per_pixel // 8))
    if depth == 16:
        arr = lines.view(">u2").reshape(rows, cols, channels).astype(np.uint16)
    elif depth == 8:
        arr = lines.reshape(rows, cols, channels)
    else:
        bits = np.unpackbits(lines, axis=1)[:, : cols * channels * depth]
        weights = (1 << np.arange(depth - 1, -1, -1)).astype(np.uint8)
        arr = (bits.reshape(rows, cols * channels, depth) * weights).sum(axis=2).astype(np.uint8)
        arr = arr.reshape(rows, cols, channels)
        if ctype == 0:  # scale low-depth grayscale to the full 8-bit range
            arr = (arr.astype(np.uint16) * 255 // ((1 << depth) - 1)).astype(np.uint8)
    if ctype == 3:
        plte = next((body for kind, body in chunks if kind == b"PLTE"), None)
        if plte is None:
            raise InvalidValueError("palette PNG without PLTE chunk: the file is damaged")
        palette = np.frombuffer(plte, dtype=np.uint8).reshape(-1, 3)
        out: np.ndarray = palette[arr[..., 0]]
        return out
    if ctype in (0, 4):
        return np.ascontiguousarray(arr[..., 0])
    return np.ascontiguousarray(arr[..., :3])
