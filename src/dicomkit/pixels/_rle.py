"""RLE Lossless (PS3.5 Annex G): PackBits segments of byte planes, numpy-vectorised.

A frame is a 64-byte header (number of segments, then 15 segment offsets, uint32 little endian)
followed by the segments. Segment order: for each sample, the most significant byte plane
first (G.2). Each segment is a PackBits stream: header byte n in 0..127 copies the next n+1
bytes literally, n in 129..255 (-127..-1) repeats the next byte 257-n times, 128 is a no-op
(G.3.2). Each row is encoded separately (G.3.1) and segments are padded to even length.

Without imagecodecs, a segment is decoded by a packet loop that copies literal runs as
slices and makes replicate runs by bytes multiplication (few iterations for long packets, as
in CT); a stream of short packets is handed, from where the loop stopped, to a numpy path
that finds the chain of packet headers with a block-parallel scan (no Python per packet, see
:func:`_scan`) and builds the bytes with one ``np.repeat``.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable
from itertools import pairwise

import numpy as np

from dicomkit.errors import PixelDataError

Buffer = bytes | bytearray | memoryview

#: bytes from one header to the next, by header value (G.3.2)
_STEP = np.array([h + 2 if h < 128 else (2 if h > 128 else 1) for h in range(256)], dtype=np.int32)
#: bytes per block, and bytes of warm-up before each block, for the parallel header scan
_BLOCK = 256
_WARMUP = 96


def _run_chains(nxt: np.ndarray, starts: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Follow every chain from ``starts`` until it reaches ``stop`` (one numpy gather a step);
    returns the visited positions, ``(steps, chains)``, each column increasing."""
    pos = starts
    visits = [pos]
    while True:
        for _ in range(4):
            pos = nxt[pos]
            visits.append(pos)
        if (pos >= stop).all():
            return np.stack(visits)


def _scan(arr: np.ndarray, data: bytes) -> np.ndarray:
    """Positions of the packet headers of a PackBits stream, with no Python loop per packet.

    Design: the stream is cut into blocks and a chain of headers is followed for every block
    at once (one numpy gather advances all chains a step), each chain starting ``_WARMUP``
    bytes before its block as if that byte were a header. PackBits chains resynchronise within
    a few packets, so by the time a chain enters its block it almost always runs on the true
    headers. That is checked, not assumed: block b is right when its first header is where
    block b-1's chain left off (block 0 starts at the true start). A block that fails is
    walked in Python from its predecessor's true exit until it meets its own chain.
    """
    n = arr.size
    nxt = np.empty(n + 1, dtype=np.int32)
    np.minimum(np.arange(n, dtype=np.int32) + _STEP[arr], n, out=nxt[:n])
    nxt[n] = n
    lo = np.arange(0, n, _BLOCK, dtype=np.int32)
    hi = np.minimum(lo + _BLOCK, n).astype(np.int32)
    v = _run_chains(nxt, np.maximum(lo - _WARMUP, 0).astype(np.int32), hi)
    big = n + 1
    first = np.where(v >= lo, v, big).min(axis=0)
    exits = np.where(v >= hi, v, big).min(axis=0)
    w = v.T
    inside = (w >= lo[:, None]) & (w < hi[:, None])
    ok = np.ones(lo.size, dtype=bool)
    ok[1:] = first[1:] == exits[:-1]
    if ok.all():
        return w[inside].astype(np.intp)
    # Stitch from the first failing block on, in Python (one short walk per failing block).
    on = np.zeros(n + 1, dtype=bool)
    on[w[inside]] = True
    on_b = on.tobytes()
    start_at = np.zeros(lo.size, dtype=np.int64)  # the block's first true chain position
    extra: list[int] = []
    exit_l = exits.tolist()
    first_bad = int(np.argmin(ok))
    x = exit_l[first_bad - 1]
    for b in range(first_bad, lo.size):
        bound = min((b + 1) * _BLOCK, n)
        while x < bound and not on_b[x]:
            extra.append(x)
            h = data[x]
            x += h + 2 if h < 128 else (2 if h > 128 else 1)
        if x >= bound:
            start_at[b] = big  # none of this block's chain is true
            continue
        start_at[b] = x
        x = exit_l[b]
    heads = w[inside & (w >= start_at[:, None])]
    if extra:
        heads = np.sort(np.concatenate([heads, np.asarray(extra, dtype=heads.dtype)]))
    return heads.astype(np.intp)


def _scan_python(data: bytes, limit: int) -> np.ndarray | None:
    """The header chain by a plain loop: cheapest when packets are long (few of them). Gives
    up (None) after ``limit`` packets, leaving short-packet streams to :func:`_scan`."""
    heads = array("q")
    append = heads.append
    pos = 0
    try:
        for _ in range(limit):
            h = data[pos]
            append(pos)
            pos += h + 2 if h < 128 else (2 if h > 128 else 1)
        return None
    except IndexError:
        pass
    return np.frombuffer(heads, dtype=np.int64).astype(np.intp, copy=False)


def _c_packbits() -> Callable[[bytes], bytes | bytearray] | None:
    try:
        from imagecodecs import packbits_decode  # optional extra dicomkit[codecs]
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return packbits_decode


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
    # A Python step per packet beats the numpy scan except on long streams of tiny packets.
    decoded, pos = _decode_python(data, max(n // 3, 8192) + 16)
    if pos < n and len(decoded) < length:
        # short packets: the rest with the block-parallel numpy scan
        rest = _decode_numpy(data[pos:])
        out = np.concatenate([np.frombuffer(decoded, np.uint8), rest]) if decoded else rest
    else:
        out = np.frombuffer(decoded, np.uint8)
    if out.size < length:
        raise PixelDataError(f"RLE segment decodes to {out.size} bytes, {length} expected")
    return out[:length]


#: one-byte ``bytes`` by value: a replicate run is ``_BYTE[value] * count``
_BYTE = [bytes((i,)) for i in range(256)]


def _decode_python(data: bytes, limit: int) -> tuple[bytearray, int]:
    """PackBits by a packet loop: literal runs are copied as slices, replicate runs made by
    multiplying a one-byte ``bytes``, so the cost is per packet, not per byte -- the fastest
    pure path for long packets (CT-like data). Stops at the end of ``data`` or after
    ``limit`` packets (the rest of a long short-packet stream is left to
    :func:`_decode_numpy`). Returns the bytes and the offset of the next packet header."""
    out = bytearray()
    byte = _BYTE
    pos = 0
    try:
        for _ in range(limit):
            h = data[pos]
            if h < 128:
                nxt = pos + h + 2
                out += data[pos + 1 : nxt]
                pos = nxt
            elif h > 128:
                out += byte[data[pos + 1]] * (257 - h)
                pos += 2
            else:
                pos += 1
    except IndexError:  # the end of the segment
        pass
    return out, pos


def _decode_numpy(data: bytes) -> np.ndarray:
    """PackBits with no Python loop per packet: find the chain of packet headers, then build
    the segment with one ``np.repeat`` (every byte is a header, emitted 0 times, a literal,
    once, or the value of a replicate packet, 257 - header times)."""
    n = len(data)
    arr = np.frombuffer(data, np.uint8)
    heads = _scan_python(data, 64)
    if heads is None:
        heads = _scan(arr, data)
    reps = np.ones(n + 1, dtype=np.int32)
    hv = arr[heads]
    reps[heads] = 0
    run = hv > 128
    reps[heads[run] + 1] = 257 - hv[run].astype(np.int32)
    return np.repeat(arr, reps[:n])


def _header(buf: memoryview) -> list[int]:
    if len(buf) < 64:
        raise PixelDataError(f"RLE frame of {len(buf)} bytes is shorter than its 64-byte header")
    fields = struct.unpack_from("<16L", buf, 0)
    n = fields[0]
    if not 1 <= n <= 15:
        raise PixelDataError(f"RLE header declares {n} segments (1..15 allowed)")
    offsets = list(fields[1 : n + 1])
    if offsets[0] != 64 or any(b <= a for a, b in pairwise(offsets)) or offsets[-1] > len(buf):
        raise PixelDataError(f"RLE header has bad segment offsets {offsets}")
    return offsets


def decode_frame(
    data: Buffer,
    rows: int,
    columns: int,
    samples: int,
    bits_allocated: int,
    *,
    accelerated: bool = True,
) -> np.ndarray:
    """Decode one RLE frame to ``(rows, columns, samples)`` unsigned ints of
    ``bits_allocated`` bits (native byte order)."""
    mv = memoryview(data).cast("B") if not isinstance(data, memoryview) else data.cast("B")
    offsets = _header(mv)
    nbytes = max(bits_allocated // 8, 1)
    if len(offsets) != samples * nbytes:
        raise PixelDataError(
            f"RLE frame has {len(offsets)} segments, expected "
            f"{samples * nbytes} ({samples} samples x {nbytes} bytes)"
        )
    npix = rows * columns
    ends = [*offsets[1:], len(mv)]
    # Segments come most significant byte first (G.2): shift and OR the byte planes together,
    # which beats interleaving them with strided copies.
    dtype = np.dtype(f"=u{nbytes}")
    out = np.empty((rows * columns, samples), dtype=dtype)
    for s in range(samples):
        acc: np.ndarray | None = None
        for byte in range(nbytes):
            a, b = offsets[s * nbytes + byte], ends[s * nbytes + byte]
            plane = decode_segment(mv[a:b], npix, accelerated=accelerated)
            if acc is None:
                acc = plane.astype(dtype)
            else:
                acc <<= 8
                acc |= plane
        out[:, s] = acc
    return out.reshape(rows, columns, samples)


def encode_plane(plane: np.ndarray) -> bytes:
    """PackBits-encode a ``(rows, columns)`` uint8 plane row by row (PS3.5 G.3.1), vectorised:
    runs of three or more equal bytes become replicate packets, everything else literals."""
    cols = plane.shape[1]
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
        raise PixelDataError(
            f"RLE encodes integer frames (rows, columns[, samples]), "
            f"not {a.dtype} of shape {a.shape}"
        )
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
