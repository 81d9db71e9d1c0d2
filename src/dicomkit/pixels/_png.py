"""A minimal PNG writer (ISO/IEC 15948): 8- or 16-bit grayscale or RGB, zlib from the stdlib."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from dicomkit.errors import PixelDataError

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">L", len(data)) + kind + data + struct.pack(">L", crc)


def encode_png(arr: np.ndarray, *, level: int = 6) -> bytes:
    """PNG bytes for ``(rows, columns)`` grayscale or ``(rows, columns, 3)`` RGB, uint8 or
    uint16 (filter type 0 on every row)."""
    a = np.asarray(arr)
    if a.dtype not in (np.uint8, np.uint16):
        raise PixelDataError(f"PNG takes uint8 or uint16 samples, not {a.dtype}")
    if a.ndim == 2:
        colour_type = 0
    elif a.ndim == 3 and a.shape[2] == 3:
        colour_type = 2
    else:
        raise PixelDataError(f"PNG takes (rows, columns) or (rows, columns, 3), not {a.shape}")
    rows, cols = a.shape[:2]
    depth = 8 * a.dtype.itemsize
    body = np.ascontiguousarray(a.astype(a.dtype.newbyteorder(">"), copy=False))
    lines = body.reshape(rows, -1).view(np.uint8)
    raw = np.zeros((rows, lines.shape[1] + 1), dtype=np.uint8)
    raw[:, 1:] = lines
    ihdr = struct.pack(">LLBBBBB", cols, rows, depth, colour_type, 0, 0, 0)
    return (
        SIGNATURE
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
        + _chunk(b"IEND", b"")
    )
