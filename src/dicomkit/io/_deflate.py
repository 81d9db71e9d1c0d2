"""Deflated Explicit VR Little Endian (PS3.5 A.5): the data set after the File Meta is a raw
deflate stream (RFC 1951, no zlib header). Inflation is capped so that a deflate bomb fails
with :class:`InvalidDicomError` instead of exhausting memory.

:func:`inflates_to` tells whether a stream as read still holds a given data set encoding, so
that a data set read from a deflated file and not changed is written back with the very bytes
it was read from (deflate output depends on the compressor and its settings; see part10).
"""

from __future__ import annotations

import zlib

from dicomkit.errors import InvalidDicomError, TruncatedDataError

__all__ = ["MAX_INFLATED", "deflate", "inflate", "inflates_to"]

#: Largest inflated data set accepted by default (bytes).
MAX_INFLATED = 1 << 30
_CHUNK = 1 << 24
#: Compressed input fed, and inflated output compared, per step of :func:`inflates_to`.
_STEP = 1 << 20


def inflate(
    data: bytes | memoryview,
    *,
    max_size: int = MAX_INFLATED,
    offset: int = 0,
    lenient: bool = False,
) -> bytes:
    """Inflate a raw deflate stream, refusing output larger than ``max_size``."""
    d = zlib.decompressobj(-zlib.MAX_WBITS)
    out = bytearray()
    view = memoryview(data)
    try:
        pos = 0
        while pos < len(view) and not d.eof:
            chunk = view[pos : pos + _CHUNK]
            pos += len(chunk)
            out += d.decompress(chunk, max_size + 1 - len(out))
            while d.unconsumed_tail and not d.eof:
                if len(out) > max_size:
                    break
                out += d.decompress(d.unconsumed_tail, max_size + 1 - len(out))
            if len(out) > max_size:
                raise InvalidDicomError(
                    f"deflated data set inflates past the {max_size} byte limit", offset=offset
                )
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


def inflates_to(data: bytes | memoryview, expected: bytes | bytearray | memoryview) -> bool:
    """Whether the raw deflate stream ``data`` inflates to exactly ``expected``.

    Compared step by step, stopping at the first difference: no inflated copy is made, and a
    stream that would inflate to more than ``expected`` stops there. Bytes after the end of the
    stream are ignored, as :func:`inflate` ignores them; a bad or unfinished stream is False.
    """
    d = zlib.decompressobj(-zlib.MAX_WBITS)
    src = memoryview(data)
    want = bytes(expected)  # the same object for bytes; slices of bytes compare fastest
    done = pos = 0
    pending: bytes | memoryview = b""
    try:
        while not d.eof:
            if not pending:
                pending = src[pos : pos + _STEP]
                pos += len(pending)
                if not pending:  # all input given: what zlib still holds, and the end
                    return bool(d.flush() == want[done:] and d.eof)
            out = d.decompress(pending, _STEP)
            pending = d.unconsumed_tail
            if out:
                if want[done : done + len(out)] != out:
                    return False
                done += len(out)
    except zlib.error:
        return False
    return done == len(want)
