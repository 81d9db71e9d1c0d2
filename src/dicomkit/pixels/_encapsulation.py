"""Encapsulated pixel data (PS3.5 A.4): items, offset tables, frames.

The input is the element's value as the reader keeps it: the bytes from the first Item tag up
to, not including, the Sequence Delimitation Item (docs/dev/contracts.md). Item headers are always
little endian: tag (FFFE,E000) then a 32-bit length. The first item is the Basic Offset Table
(possibly empty); each following item is one fragment. BOT and Extended Offset Table offsets
count from the first byte of the first fragment's Item tag.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dicomkit.errors import PixelDataError

Buffer = bytes | bytearray | memoryview

ITEM_TAG = b"\xfe\xff\x00\xe0"
SEQ_DELIM_TAG = b"\xfe\xff\xdd\xe0"
_HEADER = struct.Struct("<HHL")


def _view(buf: Buffer) -> memoryview:
    mv = memoryview(buf)
    return mv if mv.format == "B" and mv.ndim == 1 else mv.cast("B")


def iter_items(buf: Buffer, offset: int = 0) -> Iterator[tuple[int, memoryview]]:
    """Yield ``(offset of the item tag, item value)`` for each item from ``offset`` on.

    Stops at the end of the buffer or at a Sequence Delimitation Item (tolerated when present).
    """
    mv = _view(buf)
    end = len(mv)
    pos = offset
    while pos + 8 <= end:
        group, elem, length = _HEADER.unpack_from(mv, pos)
        tag = (group << 16) | elem
        if tag == 0xFFFEE0DD:
            return
        if tag != 0xFFFEE000:
            raise PixelDataError(
                f"encapsulated pixel data: expected an Item tag (FFFE,E000), "
                f"found ({group:04X},{elem:04X}) at byte {pos}"
            )
        if length == 0xFFFFFFFF:
            raise PixelDataError(f"encapsulated pixel data: item of undefined length at byte {pos}")
        start = pos + 8
        stop = start + length
        if stop > end:
            raise PixelDataError(
                f"encapsulated pixel data: item at byte {pos} declares {length} "
                f"bytes but only {end - start} remain"
            )
        yield pos, mv[start:stop]
        pos = stop
    if pos != end and end - pos < 8 and any(mv[pos:end]):
        raise PixelDataError(f"encapsulated pixel data: {end - pos} stray bytes at the end")


@dataclass(frozen=True, slots=True)
class Fragments:
    """The parsed items: BOT offsets, and each fragment with its offset from the first one."""

    offsets: list[int]
    fragments: list[memoryview]
    positions: list[int]


def parse(buf: Buffer) -> Fragments:
    """Split encapsulated bytes into the Basic Offset Table and the fragments."""
    items = iter_items(buf)
    try:
        first_pos, bot = next(items)
    except StopIteration:
        raise PixelDataError(
            "encapsulated pixel data has no items (not even a Basic Offset Table)"
        ) from None
    if len(bot) % 4:
        raise PixelDataError(f"Basic Offset Table length {len(bot)} is not a multiple of 4")
    offsets = list(struct.unpack(f"<{len(bot) // 4}L", bot))
    base = first_pos + 8 + len(bot)
    frags: list[memoryview] = []
    positions: list[int] = []
    for pos, value in items:
        frags.append(value)
        positions.append(pos - base)
    return Fragments(offsets, frags, positions)


def _starts_frame(frag: memoryview, family: str) -> bool:
    head = bytes(frag[:12])
    if family in ("jpeg", "") and head[:2] == b"\xff\xd8":
        return True
    if family in ("j2k", "") and (head[:4] == b"\xff\x4f\xff\x51" or head[4:8] == b"jP  "):
        return True
    if family in ("jxl", "") and (head[:2] == b"\xff\x0a" or head[4:8] == b"JXL "):
        return True
    if family == "rle" and len(head) >= 8:
        n, first = struct.unpack("<LL", head[:8])
        return bool(1 <= n <= 15 and first == 64)
    return False


def group_fragments(
    frags: Fragments,
    n_frames: int,
    *,
    family: str = "",
    eot: Sequence[int] | None = None,
    eot_lengths: Sequence[int] | None = None,
) -> list[list[memoryview]]:
    """The fragments of each frame, using (in order) the Extended Offset Table, the Basic Offset
    Table, one fragment per frame, or the codestream start markers of the fragments."""
    fr = frags.fragments
    if not fr:
        raise PixelDataError("encapsulated pixel data has no fragments")
    table = list(eot) if eot else frags.offsets
    if table and (len(table) == n_frames or n_frames <= 1):
        return _by_offsets(frags, table, eot_lengths if eot else None)
    # A table that does not list every frame is ignored (some writers fill in only the first).
    if n_frames <= 1:
        return [list(fr)]
    if len(fr) == n_frames:
        return [[f] for f in fr]
    groups: list[list[memoryview]] = []
    for f in fr:
        if not groups or _starts_frame(f, family):
            groups.append([f])
        else:
            groups[-1].append(f)
    if len(groups) != n_frames:
        # Fall back on the end-of-image marker (FFD9 for JPEG, J2K and JPEG-LS codestreams).
        groups = []
        current: list[memoryview] = []
        for f in fr:
            current.append(f)
            tail = bytes(f[-3:]).rstrip(b"\0")
            if tail.endswith(b"\xff\xd9"):
                groups.append(current)
                current = []
        if current:
            groups.append(current)
    if len(groups) != n_frames:
        raise PixelDataError(
            f"cannot find the frame boundaries: {len(fr)} fragments, "
            f"{n_frames} frames and no offset table"
        )
    return groups


def _by_offsets(
    frags: Fragments, table: Sequence[int], lengths: Sequence[int] | None
) -> list[list[memoryview]]:
    index = {p: i for i, p in enumerate(frags.positions)}
    groups: list[list[memoryview]] = []
    n = len(frags.fragments)
    for k, off in enumerate(table):
        first = index.get(off)
        if first is None:
            raise PixelDataError(f"offset table entry {k} ({off}) does not point at a fragment")
        if lengths is not None:
            stop_pos = off + lengths[k]
            last = first + 1
            while last < n and frags.positions[last] < stop_pos:
                last += 1
        elif k + 1 < len(table):
            nxt = index.get(table[k + 1])
            if nxt is None:
                raise PixelDataError(
                    f"offset table entry {k + 1} ({table[k + 1]}) does not point at a fragment"
                )
            last = nxt
        else:
            last = n
        groups.append(frags.fragments[first:last])
    return groups


def frames(
    buf: Buffer,
    n_frames: int,
    *,
    family: str = "",
    eot: Sequence[int] | None = None,
    eot_lengths: Sequence[int] | None = None,
) -> list[bytes]:
    """Every frame's bytes (fragments joined)."""
    groups = group_fragments(parse(buf), n_frames, family=family, eot=eot, eot_lengths=eot_lengths)
    return [b"".join(g) for g in groups]


def frame(
    buf: Buffer,
    index: int,
    n_frames: int,
    *,
    family: str = "",
    eot: Sequence[int] | None = None,
    eot_lengths: Sequence[int] | None = None,
) -> bytes:
    """One frame's bytes. With an offset table only that frame's items are read."""
    if not 0 <= index < max(n_frames, 1):
        raise PixelDataError(f"frame {index} out of range 0..{n_frames - 1}")
    mv = _view(buf)
    if eot:
        base = _first_fragment_position(mv)
        start = base + eot[index]
        if eot_lengths:
            stop = start + 8 + eot_lengths[index]
        else:
            stop = base + eot[index + 1] if index + 1 < len(eot) else len(mv)
        return _join_items(mv, start, stop)
    if mv[:4] == ITEM_TAG:
        (bot_len,) = struct.unpack_from("<L", mv, 4)
        if bot_len >= 4 * max(n_frames, 1) and bot_len % 4 == 0 and n_frames > 1:
            offsets = struct.unpack_from(f"<{bot_len // 4}L", mv, 8)
            base = 8 + bot_len
            start = base + offsets[index]
            stop = base + offsets[index + 1] if index + 1 < len(offsets) else len(mv)
            return _join_items(mv, start, stop)
    groups = group_fragments(parse(mv), n_frames, family=family)
    return b"".join(groups[index])


def _first_fragment_position(mv: memoryview) -> int:
    if mv[:4] != ITEM_TAG:
        raise PixelDataError("encapsulated pixel data does not start with an Item tag")
    (bot_len,) = struct.unpack_from("<L", mv, 4)
    return 8 + int(bot_len)


def _join_items(mv: memoryview, start: int, stop: int) -> bytes:
    stop = min(stop, len(mv))
    parts = [value for _, value in iter_items(mv[:stop], start)]
    if not parts:
        raise PixelDataError(f"no fragment at offset {start}")
    return b"".join(parts)


def _item(value: Buffer) -> bytes:
    data = bytes(value)
    if len(data) % 2:
        data += b"\0"
    return ITEM_TAG + struct.pack("<L", len(data)) + data


def encapsulate(
    frame_data: Sequence[Buffer],
    *,
    basic_offset_table: bool = True,
    fragment_size: int | None = None,
) -> bytes:
    """Encapsulated bytes (BOT + fragments, no delimiter) for a list of encoded frames.

    Each frame is one fragment unless ``fragment_size`` splits it (even sizes only); odd
    fragments get a trailing zero byte (PS3.5 A.4).
    """
    items: list[bytes] = []
    offsets: list[int] = []
    pos = 0
    if fragment_size is not None and (fragment_size <= 0 or fragment_size % 2):
        raise ValueError("fragment_size must be a positive even number")
    for data in frame_data:
        offsets.append(pos)
        mv = _view(data)
        step = fragment_size or max(len(mv), 1)
        for i in range(0, max(len(mv), 1), step):
            item = _item(mv[i : i + step])
            items.append(item)
            pos += len(item)
    if basic_offset_table and pos > 0xFFFFFFFF:
        raise PixelDataError(
            "frames too large for a Basic Offset Table: use encapsulate_extended()"
        )
    bot = struct.pack(f"<{len(offsets)}L", *offsets) if basic_offset_table else b""
    return ITEM_TAG + struct.pack("<L", len(bot)) + bot + b"".join(items)


def encapsulate_extended(frame_data: Sequence[Buffer]) -> tuple[bytes, bytes, bytes]:
    """Encapsulated bytes with an empty BOT, plus the Extended Offset Table (7FE0,0001) and
    Extended Offset Table Lengths (7FE0,0002) values (64-bit little endian, PS3.3 C.7.6.3)."""
    items: list[bytes] = []
    offsets: list[int] = []
    lengths: list[int] = []
    pos = 0
    for data in frame_data:
        item = _item(data)
        offsets.append(pos)
        lengths.append(len(item) - 8)
        items.append(item)
        pos += len(item)
    enc = ITEM_TAG + b"\0\0\0\0" + b"".join(items)
    return (
        enc,
        struct.pack(f"<{len(offsets)}Q", *offsets),
        struct.pack(f"<{len(lengths)}Q", *lengths),
    )


def decode_offset_table(value: Buffer | Sequence[int] | None) -> list[int] | None:
    """Extended Offset Table values as ints (the element may hold bytes or decoded numbers)."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        mv = _view(value)
        if len(mv) % 8:
            raise PixelDataError("Extended Offset Table length is not a multiple of 8")
        return list(struct.unpack(f"<{len(mv) // 8}Q", mv))
    if isinstance(value, int):
        return [value]
    return [int(v) for v in value]
