"""Native (uncompressed) pixel data: bytes <-> numpy arrays (PS3.5 8.1, 8.2; PS3.3 C.7.6.3).

Frames are cut from the buffer before anything is copied, so that :func:`unpack_frame` on a
memory-mapped value touches only the bytes of that frame.

Two repairs, as DCMTK makes them: a value shorter than Rows x Columns x Samples x frames is
padded with zeros (a :class:`~dicomkit.pixels._info.PixelDataWarning` says how many bytes were
missing), and BitsAllocated 12 -- the packed encoding of ACR-NEMA 1.0/2.0 files, two pixels in
three bytes read as a little endian bit stream (pixel 0 = byte 0 and the low nibble of byte 1,
pixel 1 = the high nibble of byte 1 and byte 2) -- is decoded to 16-bit values.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from dicomkit.errors import PixelDataError
from dicomkit.pixels._info import PixelDataWarning, PixelInfo

Buffer = bytes | bytearray | memoryview


def _container(info: PixelInfo, little: bool) -> np.dtype[Any]:
    """The dtype in which stored samples are read (byte order of the transfer syntax)."""
    dt = info.dtype
    if dt.itemsize == 1:
        return dt
    return dt.newbyteorder("<" if little else ">")


def fix_bits(arr: np.ndarray, info: PixelInfo) -> np.ndarray:
    """Apply BitsStored / HighBit: shift the stored bits down, mask off the unused high bits
    and sign-extend two's complement values (PS3.5 8.1.1). Returns an array of ``info.dtype``."""
    if info.is_float or info.bits_allocated == 1:
        return arr
    ba, bs = info.bits_allocated, info.bits_stored
    target = info.dtype
    if arr.dtype != target:
        if arr.dtype.itemsize == target.itemsize and arr.dtype.kind in "iu":
            arr = arr.view(target)
        else:
            arr = arr.astype(target)
    if bs >= ba and ba == target.itemsize * 8:
        return arr
    shift = info.high_bit + 1 - bs
    if shift < 0 or info.high_bit >= ba:
        shift = 0
    unsigned = arr.view(target.str.replace("i", "u")) if info.is_signed else arr
    if shift:
        unsigned = unsigned >> shift
    if info.is_signed:
        # Move the stored sign bit to the top of the container and shift back arithmetically.
        up = target.itemsize * 8 - bs
        return ((unsigned << up).view(target) >> up).astype(target, copy=False)
    mask = (1 << bs) - 1
    masked: np.ndarray = unsigned & np.array(mask, dtype=unsigned.dtype)
    return masked


def _expected_length(info: PixelInfo, frames: int) -> int:
    return (info.frame_bits * frames + 7) // 8


def _as_view(buf: Buffer) -> memoryview:
    mv = memoryview(buf)
    if mv.format != "B" or mv.ndim != 1:
        mv = mv.cast("B")
    return mv


def _swap_ow_bytes(raw: np.ndarray) -> np.ndarray:
    """8- or 1-bit data in an OW value of a big endian data set: undo the 16-bit word swap."""
    n = raw.size - raw.size % 2
    out = raw.copy()
    out[:n] = raw[:n].reshape(-1, 2)[:, ::-1].reshape(-1)
    return out


def unpack(
    buf: Buffer,
    info: PixelInfo,
    *,
    start: int = 0,
    count: int | None = None,
    little: bool | None = None,
    ow_big_endian: bool = False,
) -> np.ndarray:
    """Decode ``count`` native frames starting at frame ``start``.

    Returns shape ``(count, rows, columns[, samples])`` in ``info.dtype``. ``little`` defaults to
    the transfer syntax's byte order; ``ow_big_endian`` marks 8-bit data stored as OW in a big
    endian data set, whose bytes are swapped in pairs.
    """
    if count is None:
        count = info.number_of_frames - start
    if start < 0 or count < 0 or start + count > info.number_of_frames:
        raise PixelDataError(
            f"frame range {start}..{start + count - 1} outside 0..{info.number_of_frames - 1}"
        )
    if little is None:
        little = info.syntax.little_endian
    mv = _as_view(buf)
    fb = info.frame_bits
    bit0 = fb * start
    byte0 = bit0 // 8
    byte1 = (fb * (start + count) + 7) // 8
    if byte1 > len(mv):
        have = len(mv) * 8 // fb if fb else 0
        warnings.warn(
            f"pixel data is {_expected_length(info, info.number_of_frames) - len(mv)} byte(s) "
            f"shorter than {info.number_of_frames} frame(s) of {info.rows}x{info.columns}x"
            f"{info.samples_per_pixel} at {info.bits_allocated} bits: {len(mv)} bytes hold "
            f"{have} whole frame(s); "
            + (f"frame {start} was" if count == 1 else f"frames {start}..{start + count - 1} were")
            + " padded with zeros (as DCMTK does)",
            PixelDataWarning,
            stacklevel=3,
        )
        # Only the asked frames' bytes, from an even offset (OW word swaps stay aligned).
        base = byte0 - byte0 % 2
        padded = bytearray(byte1 - base)
        tail = mv[base:]
        padded[: len(tail)] = tail
        mv = memoryview(bytes(padded))
        byte0, byte1, bit0 = byte0 - base, byte1 - base, bit0 - base * 8
    if info.bits_allocated == 12:  # from an even offset: the words may need swapping
        e0 = byte0 - byte0 % 2
        return _unpack12(mv[e0 : byte1 + byte1 % 2], info, count, bit0 - e0 * 8, little)
    chunk = mv[byte0:byte1]
    if ow_big_endian and info.bits_allocated <= 8:
        # The word swap is aligned to the value, not to the frame: cut on even boundaries.
        e0, e1 = byte0 - byte0 % 2, min(byte1 + byte1 % 2, len(mv))
        fixed = _swap_ow_bytes(np.frombuffer(mv[e0:e1], np.uint8))
        chunk = memoryview(fixed[byte0 - e0 : byte0 - e0 + (byte1 - byte0)].tobytes())
    if info.bits_allocated == 1:
        bits = np.unpackbits(np.frombuffer(chunk, np.uint8), bitorder="little")
        off = bit0 - byte0 * 8
        per = info.rows * info.columns * info.samples_per_pixel
        arr = bits[off : off + per * count]
        return _arrange(arr, info, count)
    arr = np.frombuffer(chunk, dtype=_container(info, little))
    arr = arr.astype(info.dtype, copy=False) if not arr.dtype.isnative else arr
    if info.is_422:
        arr = _upsample_422(arr, info, count)
        return fix_bits(arr, info)
    arr = _arrange(arr, info, count)
    return fix_bits(arr, info)


def _unpack12(chunk: memoryview, info: PixelInfo, count: int, off: int, little: bool) -> np.ndarray:
    """ACR-NEMA packed 12-bit samples: a little endian bit stream over 16-bit words, each
    sample 12 bits from bit ``off`` on (0, or 4 when a frame starts mid-byte)."""
    raw = np.frombuffer(chunk, np.uint8)
    if not little:  # words stored big endian: make the stream little endian first
        raw = _swap_ow_bytes(raw)
    n = info.rows * info.columns * info.samples_per_pixel * count
    data = np.zeros(raw.size + 2, np.uint16)
    data[: raw.size] = raw
    pos = off + 12 * np.arange(n, dtype=np.int64)
    at, shift = pos >> 3, (pos & 7).astype(np.uint16)
    words = data[at] | (data[at + 1] << np.uint16(8))
    flat = ((words >> shift) & np.uint16(0x0FFF)).astype(info.dtype, copy=False)
    return fix_bits(_arrange(flat, info, count), info)


def _pack12(a: np.ndarray) -> bytes:
    """Samples to the packed 12-bit layout (the inverse of :func:`_unpack12`)."""
    v = (a.reshape(-1).astype(np.int64) & 0x0FFF).astype(np.uint16)
    if v.size % 2:
        v = np.append(v, np.uint16(0))
    p0, p1 = v[0::2], v[1::2]
    out = np.empty((p0.size, 3), np.uint8)
    out[:, 0] = p0 & 0xFF
    out[:, 1] = ((p0 >> 8) & 0x0F) | ((p1 & 0x0F) << 4)
    out[:, 2] = p1 >> 4
    return out.tobytes()


def _arrange(flat: np.ndarray, info: PixelInfo, count: int) -> np.ndarray:
    r, c, s = info.rows, info.columns, info.samples_per_pixel
    if s == 1:
        return flat.reshape(count, r, c)
    if info.planar_configuration == 1:
        return flat.reshape(count, s, r, c).transpose(0, 2, 3, 1)
    return flat.reshape(count, r, c, s)


def _upsample_422(flat: np.ndarray, info: PixelInfo, count: int) -> np.ndarray:
    """Y1 Y2 Cb Cr per pair of pixels -> (Y, Cb, Cr) per pixel (PS3.3 C.7.6.3.1.2)."""
    r, c = info.rows, info.columns
    quads = flat.reshape(count, r, c // 2, 4)
    out = np.empty((count, r, c // 2, 2, 3), dtype=flat.dtype)
    out[..., 0, 0] = quads[..., 0]
    out[..., 1, 0] = quads[..., 1]
    out[..., :, 1] = quads[..., 2:3]
    out[..., :, 2] = quads[..., 3:4]
    return out.reshape(count, r, c, 3)


def unpack_frame(buf: Buffer, info: PixelInfo, index: int, **kw: Any) -> np.ndarray:
    """One native frame, ``(rows, columns[, samples])``, reading only that frame's bytes."""
    one: np.ndarray = unpack(buf, info, start=index, count=1, **kw)[0]
    return one


def frame_count_available(buf: Buffer, info: PixelInfo) -> int:
    return len(_as_view(buf)) * 8 // info.frame_bits


def pack(arr: np.ndarray, info: PixelInfo, *, little: bool = True) -> bytes:
    """Native bytes for ``arr`` of shape ``(frames, rows, columns[, samples])`` (or one frame),
    laid out per ``info`` (planar configuration, bits allocated), padded to even length."""
    a = np.asarray(arr)
    if a.ndim == len(info.frame_shape):
        a = a[np.newaxis]
    if info.bits_allocated == 1:
        packed = np.packbits(a.astype(bool).reshape(-1), bitorder="little").tobytes()
        return packed + b"\0" * (len(packed) % 2)
    if info.samples_per_pixel > 1 and info.planar_configuration == 1:
        a = a.transpose(0, 3, 1, 2)
    if info.bits_allocated == 12:
        packed = _pack12(np.ascontiguousarray(a))
        packed += b"\0" * (len(packed) % 2)
        return packed if little else _swap_ow_bytes(np.frombuffer(packed, np.uint8)).tobytes()
    dt = _container(info, little)
    data = np.ascontiguousarray(a).astype(dt, copy=False).tobytes()
    return data + b"\0" * (len(data) % 2)
