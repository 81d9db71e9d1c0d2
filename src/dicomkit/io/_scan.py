"""Element headers walked without decoding a value (PS3.5 7.1.2, 7.5): the one scanner.

Every reader that skips over encoded elements uses this module -- the decoder's read-time
check of sequence structure, the C-STORE head check (:mod:`dicomkit.io._headcheck`) and the
DICOMDIR record locator -- so they agree on what a header is:

- the item and delimiter tags (group FFFE) have no VR in any transfer syntax: 4-byte length;
- in explicit VR, a VR of :data:`LONG_LENGTH_VRS` has 2 reserved bytes and a 4-byte length, any
  other standard VR a 2-byte length;
- a VR of two spaces or two NULs (written by some old tools) is read as DCMTK does: a 2-byte
  length, the VR looked up in the dictionary (:func:`vr_for_blank` at the decoder);
- any other VR is not a data set in this transfer syntax: :class:`InvalidDicomError`.

Walking functions raise :class:`ShortData` (a :class:`TruncatedDataError`) when the bytes
end inside an element -- a stream may still bring the rest -- and :class:`InvalidDicomError`
when they cannot be a data set. The ``check_*`` functions are the decoder's fast validating
twins: they return an offset, or -1 for anything doubtful (the decoder then parses the bytes
for the precise error). Nesting is bounded by :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import struct
from typing import Any

from dicomkit.core._vr import ALL_VRS, LONG_LENGTH_VRS
from dicomkit.errors import InvalidDicomError, TruncatedDataError

__all__ = [
    "BLANK_VRS",
    "MAX_DEPTH",
    "UNDEFINED",
    "ShortData",
    "check_fragments",
    "check_sequence",
    "header",
    "skip_undefined",
]

#: Deepest nesting of sequences accepted (PS3.5 puts no limit; real files stay far below).
MAX_DEPTH = 96
#: The undefined length (PS3.5 7.1.1).
UNDEFINED = 0xFFFFFFFF
#: Non-standard VR fields read as "2-byte length, VR from the dictionary" (as DCMTK does).
BLANK_VRS = frozenset({b"  ", b"\x00\x00"})

VR_OF: dict[bytes, str] = {v.encode(): v for v in ALL_VRS}
LONG_B: frozenset[bytes] = frozenset(v.encode() for v in LONG_LENGTH_VRS)
SHORT_B: frozenset[bytes] = frozenset(VR_OF) - LONG_B

LE_HHL = struct.Struct("<HHL").unpack_from
BE_HHL = struct.Struct(">HHL").unpack_from
LE_EXP = struct.Struct("<HH2sH").unpack_from
BE_EXP = struct.Struct(">HH2sH").unpack_from
LE_L = struct.Struct("<L").unpack_from
BE_L = struct.Struct(">L").unpack_from

_ITEM = 0xFFFEE000
_ITEM_DELIMITATION = 0xFFFEE00D
_SEQUENCE_DELIMITATION = 0xFFFEE0DD


class ShortData(TruncatedDataError):
    """The bytes in hand end inside an element (a stream may still bring the rest)."""


def header(
    buf: Any, pos: int, end: int, implicit: bool, little: bool
) -> tuple[int, bytes, int, int]:
    """``(tag, VR bytes, value length, value offset)`` of the element at ``pos``; the VR is
    ``b""`` in implicit VR and for item/delimiter tags, ``b"  "``/``b"\\0\\0"`` as found."""
    if end - pos < 8:
        raise ShortData("the data ends inside an element header", offset=pos)
    if implicit:
        g, e, length = (LE_HHL if little else BE_HHL)(buf, pos)
        return g << 16 | e, b"", length, pos + 8
    g, e, vrb, length = (LE_EXP if little else BE_EXP)(buf, pos)
    if g == 0xFFFE:
        return g << 16 | e, b"", (LE_L if little else BE_L)(buf, pos + 4)[0], pos + 8
    if vrb in LONG_B:
        if end - pos < 12:
            raise ShortData("the data ends inside an element header", offset=pos)
        return g << 16 | e, vrb, (LE_L if little else BE_L)(buf, pos + 8)[0], pos + 12
    if vrb in SHORT_B or vrb in BLANK_VRS:
        return g << 16 | e, vrb, length, pos + 8
    raise InvalidDicomError(
        f"no valid VR ({bytes(vrb)!r}): not a data set in this transfer syntax",
        offset=pos,
        tag=g << 16 | e,
    )


def skip_undefined(
    buf: Any, pos: int, end: int, implicit: bool, little: bool, depth: int = 0
) -> int:
    """The offset past an undefined-length value starting at ``pos``: the items of a
    sequence, the fragments of encapsulated pixel data, or the implicit VR little endian items
    of an explicit UN (PS3.5 6.2.2; the caller passes ``implicit``/``little`` for the items),
    up to and past the Sequence Delimitation Item."""
    if depth > MAX_DEPTH:
        raise InvalidDicomError("sequences nested too deep", offset=pos)
    while True:
        tag, _, length, pos = header(buf, pos, end, True, little)
        if tag == _SEQUENCE_DELIMITATION:
            return pos
        if tag != _ITEM:
            raise InvalidDicomError(
                f"expected an item, found ({tag >> 16:04X},{tag & 0xFFFF:04X})",
                offset=pos - 8,
                tag=tag,
            )
        if length != UNDEFINED:
            pos += length
            if pos > end:
                raise ShortData("the data ends inside an item", offset=pos - length - 8)
            continue
        while True:  # an undefined-length item: its elements up to the Item Delimitation
            tag, vr, length, value = header(buf, pos, end, implicit, little)
            if tag == _ITEM_DELIMITATION:
                pos = value
                break
            if length == UNDEFINED:
                un = vr == b"UN"
                pos = skip_undefined(buf, value, end, implicit or un, little or un, depth + 1)
            else:
                pos = value + length
                if pos > end:
                    raise ShortData("the data ends inside an element", offset=value, tag=tag)


# -- the decoder's validating walk (little endian) -------------------------------------------------
def check_sequence(
    buf: Any, pos: int, end: int, undefined: bool, implicit: bool, depth: int
) -> int:
    """Validate a sequence value (little endian) without building anything.

    Returns where the sequence ends (past its delimiter when ``undefined``), or -1 when the
    structure is not plainly sound. It is at least as strict as the decoder: a sequence it
    accepts parses without error later (so a strict read still fails at once on a malformed
    file); anything doubtful is left to the parser (-1), which gives the precise error or the
    exact result. One call per item and per nested sequence, one loop step per element;
    recursion is bounded by :data:`MAX_DEPTH` like the parser's.
    """
    if depth >= MAX_DEPTH:
        return -1
    items = _check_implicit_item if implicit else _check_explicit_item
    inner = depth + 1
    hhl = LE_HHL
    while pos + 8 <= end:
        g, e, length = hhl(buf, pos)
        pos += 8
        if g != 0xFFFE:
            return -1
        if e == 0xE000:
            if length == UNDEFINED:
                pos = items(buf, pos, end, True, inner)
                if pos < 0:
                    return -1
            else:
                nxt = pos + length
                if nxt > end or items(buf, pos, nxt, False, inner) != nxt:
                    return -1
                pos = nxt
        elif e == 0xE0DD and undefined:
            return pos
        else:
            return -1
    return -1 if undefined or pos != end else pos


def _check_explicit_item(buf: Any, pos: int, end: int, undefined: bool, depth: int) -> int:
    """The elements of one explicit VR LE item (see :func:`check_sequence`): the offset
    past the item (past its delimiter when ``undefined``), or -1."""
    exp = LE_EXP
    short_vrs = SHORT_B
    end8 = end - 8
    while pos <= end8:
        g, e, vrb, length = exp(buf, pos)
        if vrb in short_vrs and g != 0xFFFE:  # most elements: one test
            pos += 8 + length
            continue
        if g == 0xFFFE:  # only the item's own delimiter may appear here
            return pos + 8 if e == 0xE00D and undefined else -1
        if vrb not in LONG_B or pos + 12 > end:
            return -1
        length = LE_L(buf, pos + 8)[0]
        start = pos + 12
        if length == UNDEFINED:
            if vrb == b"SQ":
                pos = check_sequence(buf, start, end, True, False, depth)
            elif vrb == b"UN":  # PS3.5 6.2.2: implicit VR LE items inside
                pos = check_sequence(buf, start, end, True, True, depth)
            elif vrb == b"OB" or vrb == b"OW" or (g == 0x7FE0 and e == 0x0010):
                pos = check_fragments(buf, start, end)
            else:
                return -1
            if pos < 0:
                return -1
            continue
        pos = start + length
        if vrb == b"SQ" and (
            pos > end or check_sequence(buf, start, pos, False, False, depth) != pos
        ):
            return -1
    return -1 if undefined or pos != end else pos


def _check_implicit_item(buf: Any, pos: int, end: int, undefined: bool, depth: int) -> int:
    """The elements of one implicit VR LE item (see :func:`check_sequence`). The VR is not
    in the data: a value that starts like an item may be read as a sequence, so it must be
    one; a short value of a tag the dictionary calls SQ (or does not know) is left to the
    parser."""
    from dicomkit.io._vrlookup import implicit_vr, known_vr

    hhl = LE_HHL
    end8 = end - 8
    while pos <= end8:
        g, e, length = hhl(buf, pos)
        if g == 0xFFFE:
            return pos + 8 if e == 0xE00D and undefined else -1
        start = pos + 8
        if length == UNDEFINED:
            if g == 0x7FE0 and e == 0x0010:
                pos = check_fragments(buf, start, end)
            else:
                pos = check_sequence(buf, start, end, True, True, depth)
            if pos < 0:
                return -1
            continue
        pos = start + length
        if pos > end:
            return -1
        if length:
            if buf[start : start + 2] == b"\xfe\xff":
                if length < 8 or check_sequence(buf, start, pos, False, True, depth) != pos:
                    return -1
            elif length < 4:
                tag = g << 16 | e
                vr = known_vr(tag) or (None if g & 1 else implicit_vr(tag))
                if vr is None or vr == "SQ":
                    return -1
    return -1 if undefined or pos != end else pos


def check_fragments(buf: Any, pos: int, end: int) -> int:
    """Encapsulated fragments up to and past their Sequence Delimitation Item, or -1."""
    hhl = LE_HHL
    while pos + 8 <= end:
        g, e, ln = hhl(buf, pos)
        if g != 0xFFFE:
            return -1
        if e == 0xE0DD:
            return pos + 8
        if e != 0xE000 or ln == UNDEFINED or pos + 8 + ln > end:
            return -1
        pos += 8 + ln
    return -1
