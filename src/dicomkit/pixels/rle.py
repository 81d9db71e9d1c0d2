"""RLE Lossless (PS3.5 Annex G): PackBits segments of byte planes, numpy-vectorised.

A frame is a 64-byte header (number of segments, then 15 segment offsets, uint32 little endian)
followed by the segments. Segment order: for each sample, the most significant byte plane
first (G.2). Each segment is a PackBits stream: header byte n in 0..127 copies the next n+1
bytes literally, n in 129..255 (-127..-1) repeats the next byte 257-n times, 128 is a no-op
(G.3.2). Each row is encoded separately (G.3.1) and segments are padded to even length.

Decoding reads the chain of header bytes in one short Python loop and then builds the whole
segment with one numpy gather; for streams with many short packets, the header chain is found
with pointer doubling instead, so that no Python loop runs per packet.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np

from dicomkit.errors import PixelDataError

Buffer = bytes | bytearray | memoryview

#: bytes from one header to the next, by header value (G.3.2)
_STEP = np.array([h + 2 if h < 128 else (2 if h > 128 else 1) for h in range(256)],
                 dtype=np.int32)
#: bytes per block for the block-parallel header scan
_BLOCK = 128


def _scan(arr: np.ndarray, data: bytes) -> np.ndarray:
    """Positions of the packet headers of a PackBits stream, without a Python loop per packet.

    Design: the stream is cut into blocks of ``_BLOCK`` bytes and a chain of headers is
    followed from every block start at once, as if each start were a header (one numpy gather
    advances all chains a step). PackBits chains resynchronise quickly, so the true chain,
    entering block b at x, almost always lands on a position that block b's speculative chain
    visited; from there on the speculative chain *is* the true chain. Where it does not, the
    true chain is walked in Python until it merges. Only this stitching loop runs per block.
    """
    n = arr.size
    nxt = np.empty(n + 1, dtype=np.int32)
    np.minimum(np.arange(n, dtype=np.int32) + _STEP[arr], n, out=nxt[:n])
    nxt[n] = n
    starts = np.arange(0, n, _BLOCK, dtype=np.int32)
    bounds = np.minimum(starts + _BLOCK, n).astype(np.int32)
    visits = [starts]
    pos = starts
    while True:
        for _ in range(8):
            pos = nxt[pos]
            visits.append(pos)
        if (pos >= bounds).all():
            break
    v = np.stack(visits)
    inside = v < bounds
    on = np.zeros(n + 1, dtype=bool)
    on[v[inside]] = True
    exits = np.where(inside, n, v).min(axis=0).tolist()
    on_b = on.tobytes()
    nb = starts.size
    entry = [0] * nb
    extra: list[int] = []
    x = 0
    for b in range(nb):
        bound = min((b + 1) * _BLOCK, n)
        while x < bound and not on_b[x]:
            extra.append(x)
            hb = data[x]
            x += hb + 2 if hb < 128 else (2 if hb > 128 else 1)
        if x >= bound:
            entry[b] = bound
            continue
        entry[b] = x
        x = exits[b]
    heads = np.flatnonzero(on[:n])
    heads = heads[heads >= np.asarray(entry)[heads // _BLOCK]]
    if extra:
        heads = np.union1d(heads, np.asarray(extra, dtype=heads.dtype))
    return heads


def _scan_python(data: bytes, limit: int) -> np.ndarray | None:
    """The header chain by a plain loop: cheapest when packets are long (few of them). Gives
    up (None) after ``limit`` packets, leaving short-packet streams to :func:`_scan`."""
    pos = 0
    n = len(data)
    heads: list[int] = []
    append = heads.append
    while pos < n:
        append(pos)
        h = data[pos]
        pos += h + 2 if h < 128 else (2 if h > 128 else 1)
        if len(heads) > limit:
            return None
    return np.asarray(heads, dtype=np.intp)


def _c_packbits() -> Callable[[bytes], bytes] | None:
    try:
        from imagecodecs import packbits_decode  # optional extra dicomkit[codecs]
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return packbits_decode  # type: ignore[no-any-return]


#: PackBits in C from the optional ``imagecodecs`` (decoding only; ``accelerated=False``
#: forces the numpy path). Detected once at import; never reassigned.
_C_PACKBITS = _c_packbits()


def decode_segment(seg: Buffer, length: int, *, accelerated: bool = True) -> np.ndarray:
    """Decode one PackBits segment to exactly ``length`` bytes (padding dropped, a short
    segment is an error)."""
    data = bytes(seg)
    n = len(data)
    if n == 0:
        raise PixelDataError("RLE segment is empty")
    if accelerated and _C_PACKBITS is not None:
        out = np.frombuffer(_C_PACKBITS(data), np.uint8)
        if out.size < length:
            raise PixelDataError(f"RLE segment decodes to {out.size} bytes, {length} expected")
        return out[:length]
    arr = np.frombuffer(data, np.uint8)
    heads = _scan_python(data, n // 4 + 64)
    if heads is None:
        heads = _scan(arr, data)
    # Every byte is a header (emitted 0 times), a literal byte (once) or the value of a
    # replicate packet (257 - header times): one np.repeat builds the segment.
    reps = np.ones(n + 1, dtype=np.int32)
    hv = arr[heads]
    reps[heads] = 0
    run = hv > 128
    reps[heads[run] + 1] = 257 - hv[run].astype(np.int32)
    out = np.repeat(arr, reps[:n])
    if out.size < length:
        raise PixelDataError(f"RLE segment decodes to {out.size} bytes, {length} expected")
    return out[:length]


def _header(buf: memoryview) -> list[int]:
    if len(buf) < 64:
        raise PixelDataError(f"RLE frame of {len(buf)} bytes is shorter than its 64-byte header")
    fields = struct.unpack_from("<16L", buf, 0)
    n = fields[0]
    if not 1 <= n <= 15:
        raise PixelDataError(f"RLE header declares {n} segments (1..15 allowed)")
    offsets = list(fields[1:n + 1])
    if offsets[0] != 64 or any(b <= a for a, b in zip(offsets, offsets[1:])) \
            or offsets[-1] > len(buf):
        raise PixelDataError(f"RLE header has bad segment offsets {offsets}")
    return offsets


def decode_frame(data: Buffer, rows: int, columns: int, samples: int,
                 bits_allocated: int, *, accelerated: bool = True) -> np.ndarray:
    """Decode one RLE frame to ``(rows, columns, samples)`` unsigned ints of
    ``bits_allocated`` bits (native byte order)."""
    mv = memoryview(data).cast("B") if not isinstance(data, memoryview) else data.cast("B")
    offsets = _header(mv)
    nbytes = max(bits_allocated // 8, 1)
    if len(offsets) != samples * nbytes:
        raise PixelDataError(f"RLE frame has {len(offsets)} segments, expected "
                             f"{samples * nbytes} ({samples} samples x {nbytes} bytes)")
    npix = rows * columns
    ends = offsets[1:] + [len(mv)]
    # Byte k of sample s goes straight to its place in a little endian (pixel, sample, byte)
    # buffer: segment order is most significant byte first (G.2).
    out = np.empty((npix, samples, nbytes), dtype=np.uint8)
    for k, (a, b) in enumerate(zip(offsets, ends)):
        s, byte = divmod(k, nbytes)
        out[:, s, nbytes - 1 - byte] = decode_segment(mv[a:b], npix, accelerated=accelerated)
    arr = out.view(f"<u{nbytes}").reshape(rows, columns, samples)
    return arr.astype(f"=u{nbytes}", copy=False)


def encode_plane(plane: np.ndarray) -> bytes:
    """PackBits-encode a ``(rows, columns)`` uint8 plane row by row (PS3.5 G.3.1), vectorised:
    runs of three or more equal bytes become replicate packets, everything else literals."""
    rows, cols = plane.shape
    x = np.ascontiguousarray(plane).reshape(-1)
    n = x.size
    if n == 0:
        return b""
    brk = np.ones(n, dtype=bool)
    brk[1:] = x[1:] != x[:-1]
    brk[::cols] = True  # a row start always starts a run
    run_start = np.flatnonzero(brk)
    run_len = np.diff(np.append(run_start, n))
    rep = run_len >= 3
    row_start = (run_start % cols) == 0
    # Literal stretches: consecutive non-replicate runs within a row merge into one.
    new_group = rep | row_start
    new_group[1:] |= rep[:-1]
    gid = np.cumsum(new_group) - 1
    g_start = run_start[new_group]
    g_len = np.bincount(gid, weights=run_len).astype(np.int64)
    g_rep = rep[new_group]
    # Cut each group into packets of at most 128 bytes.
    n_pk = (g_len + 127) // 128
    pk_group = np.repeat(np.arange(g_len.size), n_pk)
    first_pk = np.cumsum(n_pk) - n_pk
    k = np.arange(pk_group.size) - first_pk[pk_group]
    p_start = g_start[pk_group] + 128 * k
    p_len = np.minimum(128, g_len[pk_group] - 128 * k)
    p_rep = g_rep[pk_group] & (p_len >= 2)
    size = np.where(p_rep, 2, p_len + 1)
    out_pos = np.cumsum(size) - size
    out = np.empty(int(size.sum()), dtype=np.uint8)
    out[out_pos] = np.where(p_rep, 257 - p_len, p_len - 1).astype(np.uint8)
    out[out_pos[p_rep] + 1] = x[p_start[p_rep]]
    lit = ~p_rep
    l_len = p_len[lit]
    l_dst = np.repeat(out_pos[lit] + 1, l_len)
    l_src = np.repeat(p_start[lit], l_len)
    ramp = np.arange(l_len.sum()) - np.repeat(np.cumsum(l_len) - l_len, l_len)
    out[l_dst + ramp] = x[l_src + ramp]
    return out.tobytes()


def encode_frame(frame: np.ndarray, bits_allocated: int | None = None) -> bytes:
    """RLE-encode one frame, ``(rows, columns)`` or ``(rows, columns, samples)`` of 8-, 16-,
    32- or 64-bit integers (signed values keep their two's complement bytes)."""
    a = np.asarray(frame)
    if a.ndim == 2:
        a = a[:, :, np.newaxis]
    if a.ndim != 3 or a.dtype.kind not in "uib":
        raise PixelDataError(f"RLE encodes integer frames (rows, columns[, samples]), "
                             f"not {a.dtype} of shape {a.shape}")
    nbytes = (bits_allocated or a.dtype.itemsize * 8) // 8
    if a.dtype.kind == "b":
        a = a.astype(np.uint8)
    rows, cols, samples = a.shape
    if samples * nbytes > 15:
        raise PixelDataError(f"RLE allows 15 segments: {samples} samples x {nbytes} bytes")
    le = np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<"), copy=False))
    if le.dtype.itemsize != nbytes:
        le = le.astype(f"<{'i' if a.dtype.kind == 'i' else 'u'}{nbytes}")
    bytes_ = le.view(np.uint8).reshape(rows, cols, samples, nbytes)
    segments: list[bytes] = []
    for s in range(samples):
        for b in range(nbytes - 1, -1, -1):
            seg = encode_plane(bytes_[:, :, s, b])
            if len(seg) % 2:
                seg += b"\0"
            segments.append(seg)
    offsets = []
    pos = 64
    for seg in segments:
        offsets.append(pos)
        pos += len(seg)
    header = struct.pack("<16L", len(segments), *offsets, *([0] * (15 - len(segments))))
    return header + b"".join(segments)
