"""Deflated Explicit VR Little Endian (PS3.5 A.5): the data set after the File Meta is a raw
deflate stream (RFC 1951, no zlib header). Inflation is capped so that a deflate bomb fails
with :class:`InvalidDicomError` instead of exhausting memory.
"""

from __future__ import annotations

import zlib

from dicomkit.errors import InvalidDicomError, TruncatedDataError

__all__ = ["MAX_INFLATED", "deflate", "inflate"]

#: Largest inflated data set accepted by default (bytes).
MAX_INFLATED = 1 << 30
_CHUNK = 1 << 24


def inflate(data: bytes | memoryview, *, max_size: int = MAX_INFLATED, offset: int = 0,
            lenient: bool = False) -> bytes:
    """Inflate a raw deflate stream, refusing output larger than ``max_size``."""
    d = zlib.decompressobj(-zlib.MAX_WBITS)
    out = bytearray()
    view = memoryview(data)
    try:
        pos = 0
        while pos < len(view) and not d.eof:
            chunk = view[pos:pos + _CHUNK]
            pos += len(chunk)
            out += d.decompress(chunk, max_size + 1 - len(out))
            while d.unconsumed_tail and not d.eof:
                if len(out) > max_size:
                    break
                out += d.decompress(d.unconsumed_tail, max_size + 1 - len(out))
            if len(out) > max_size:
                raise InvalidDicomError(
                    f"deflated data set inflates past the {max_size} byte limit", offset=offset)
        if not d.eof and not lenient:
            out += d.flush()
            if not d.eof:
                raise TruncatedDataError("deflate stream ends early", offset=offset + len(view))
    except zlib.error as exc:
        raise InvalidDicomError(f"bad deflate stream: {exc}", offset=offset) from None
    return bytes(out)


def deflate(data: bytes | bytearray | memoryview, level: int = 6) -> bytes:
    """A raw deflate stream of ``data`` (no zlib header), as PS3.5 A.5 requires."""
    c = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()
