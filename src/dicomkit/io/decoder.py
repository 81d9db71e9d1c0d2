"""Bytes -> data sets for one transfer syntax encoding (PS3.5 7.1, 7.5, Annex A). Never opens files.

The loop is written for speed: one buffer (``bytes`` or an ``mmap``), ``struct.unpack_from`` at an
offset, and a plain dict of ``tag -> (vr, value bytes)`` per data set; :class:`DataElement`
objects are made only when asked for. Sequences are checked at read time and parsed on
first access (their items become data sets), values stay raw. Values of 64 KiB or more are kept as ``memoryview`` slices so a
memory-mapped file is not copied.

Nesting is bounded by :data:`MAX_DEPTH` (a typed error, never ``RecursionError``), every length
is checked against the end of its container, so bad input fails in bounded time and memory
with :class:`InvalidDicomError` / :class:`TruncatedDataError` naming the offset and tag.

Sequences are lazy in a strict read (see :class:`_Reader`): their structure is validated at
read time without building anything, so a malformed file still fails in ``read()``, and their
items are parsed on first access.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from dicomkit.core.dataset import Dataset
from dicomkit.core.element import DataElement
from dicomkit.core.sequence import LazySequence, Sequence
from dicomkit.core.tag import (
    DOUBLE_FLOAT_PIXEL_DATA,
    FLOAT_PIXEL_DATA,
    ITEM,
    ITEM_DELIMITATION,
    PIXEL_DATA,
    SEQUENCE_DELIMITATION,
)
from dicomkit.core.vr import ALL_VRS, LONG_LENGTH_VRS
from dicomkit.errors import InvalidDicomError, TruncatedDataError

__all__ = [
    "LARGE_VALUE",
    "MAX_DEPTH",
    "DecodeOptions",
    "decode_dataset",
    "guess_encoding",
    "implicit_vr",
]

#: Deepest nesting of sequences accepted (PS3.5 puts no limit; real files stay far below).
MAX_DEPTH = 96
#: Values at least this long are kept as ``memoryview`` slices of the source buffer.
LARGE_VALUE = 64 * 1024

_UNDEF = 0xFFFFFFFF
_VR_OF: dict[bytes, str] = {v.encode(): v for v in ALL_VRS}
_LONG_B: frozenset[bytes] = frozenset(v.encode() for v in LONG_LENGTH_VRS)
_SHORT_B: frozenset[bytes] = frozenset(_VR_OF) - _LONG_B
_PIXEL_TAGS = frozenset({PIXEL_DATA, FLOAT_PIXEL_DATA, DOUBLE_FLOAT_PIXEL_DATA})

_LE_HHL = struct.Struct("<HHL").unpack_from
_BE_HHL = struct.Struct(">HHL").unpack_from
_LE_EXP = struct.Struct("<HH2sH").unpack_from
_BE_EXP = struct.Struct(">HH2sH").unpack_from
_LE_L = struct.Struct("<L").unpack_from
_BE_L = struct.Struct(">L").unpack_from


class DecodeOptions:
    """Per-read options (a plain value object; nothing module-level is mutated)."""

    __slots__ = (
        "aborted",
        "check_sequences",
        "errors",
        "large_value",
        "lenient",
        "specific_tags",
        "stop_before_pixels",
        "stopped",
    )

    def __init__(
        self,
        *,
        stop_before_pixels: bool = False,
        specific_tags: Iterable[int] | None = None,
        lenient: bool = False,
        large_value: int = LARGE_VALUE,
        check_sequences: bool = True,
    ) -> None:
        self.stop_before_pixels = stop_before_pixels
        #: validate the structure of defined-length sequences at read time (so a strict
        #: read fails at once on a malformed one); False: only skip them, and a malformed
        #: sequence raises when first accessed (used for memory-mapped files, see part10)
        self.check_sequences = check_sequences
        self.specific_tags = frozenset(specific_tags) if specific_tags is not None else None
        self.lenient = lenient
        self.errors: list[InvalidDicomError] = []
        self.large_value = large_value
        self.stopped = False  # stop_before_pixels reached pixel data
        self.aborted = False  # lenient read gave up after an error


# -- implicit VR: the VR comes from the dictionary (PS3.5 A.1) -----------------------------------
_VR_CACHE: dict[int, str] = {}  # a pure cache of dictionary lookups, never configuration
_PRIVATE_CACHE: dict[tuple[int, str], str] = {}


def _dictionary_vr(tag: int) -> str:
    from dicomkit.dictionary import entry_for_tag, vr_for_tag

    entry = entry_for_tag(tag)
    vr = str(entry.vr) if entry is not None and entry.vr else str(vr_for_tag(tag))
    if vr not in ALL_VRS and " or " not in vr:
        vr = "UN"  # e.g. "NONE" for the item tags, or a dictionary oddity
    if " or " not in vr:
        _VR_CACHE[tag] = vr
    return vr


def _creator(owner: Dataset, tag: int) -> str | None:
    e = owner._d.get((tag & 0xFFFF0000) | (tag >> 8 & 0xFF))
    if e is None:
        return None
    raw = e[1] if type(e) is tuple else e.raw
    if raw is None:
        v = e.value
        return v.strip() if isinstance(v, str) else None
    return bytes(raw).decode("latin-1").strip(" \x00")


def _private_vr(tag: int, owner: Dataset) -> str:
    if (tag & 0xFFFF) < 0x1000:
        return "LO" if (tag & 0xFFFF) >= 0x10 else "UN"  # private creators (PS3.5 7.8.1)
    creator = _creator(owner, tag)
    if not creator:
        return "UN"
    key = (tag, creator)
    vr = _PRIVATE_CACHE.get(key)
    if vr is None:
        from dicomkit.dictionary import private_entry

        entry = private_entry(tag, creator)
        vr = str(entry.vr) if entry is not None and entry.vr else "UN"
        if vr not in ALL_VRS and " or " not in vr:
            vr = "UN"
        _PRIVATE_CACHE[key] = vr
    return vr


def _context_int(owner: Dataset | None, tag: int) -> int | None:
    """A US value (PixelRepresentation, BitsAllocated) from this data set or an enclosing one."""
    while owner is not None:
        e = owner._d.get(tag)
        if e is not None:
            raw = e[1] if type(e) is tuple else e.raw
            if raw is not None and len(raw) >= 2:
                return int.from_bytes(bytes(raw[:2]), "little" if owner._little else "big")
            v = e.value if type(e) is not tuple else None
            return v if isinstance(v, int) else None
        owner = owner._parent
    return None


def resolve_ambiguous(vr: str, tag: int, owner: Dataset | None) -> str:
    """Pick one VR for the dictionary's "US or SS", "OB or OW" ... (PS3.5 A.1, PS3.3 C.7.6.3):
    US/SS by Pixel Representation, OB/OW by Bits Allocated (OW in implicit VR), LUT data OW."""
    alts = vr.split(" or ")
    if "SS" in alts and "US" in alts and "OW" not in alts:
        pr = _context_int(owner, 0x00280103)
        return "SS" if pr == 1 else "US"
    if "OW" in alts:
        return "OW"  # implicit VR little endian: pixel, overlay and LUT data are OW (PS3.5 A.1)
    return alts[0]


def implicit_vr(tag: int, owner: Dataset | None = None) -> str:
    """The VR to use for ``tag`` read in implicit VR (dictionary; private dictionary; "UN")."""
    if tag >> 16 & 1:
        vr = _private_vr(tag, owner) if owner is not None else "UN"
    else:
        vr = _VR_CACHE.get(tag) or _dictionary_vr(tag)
    if " or " in vr:
        vr = resolve_ambiguous(vr, tag, owner)
    return vr


# -- encoding detection (PS3.5 A: no File Meta to say which transfer syntax) ----------------------
def guess_encoding(buf: Any, pos: int = 0) -> tuple[bool, bool]:
    """``(implicit, little)`` from the first element at ``pos``: explicit when bytes 4-5 are a
    VR, and the byte order that gives the smaller (more plausible) group number."""
    if len(buf) - pos < 8:
        raise TruncatedDataError("too short for a data element", offset=pos)
    head = bytes(buf[pos : pos + 8])
    explicit = head[4:6] in _VR_OF
    g_le = head[0] | head[1] << 8
    g_be = head[0] << 8 | head[1]
    little = g_le <= g_be or not explicit
    return (not explicit, little)


# -- the reader -----------------------------------------------------------------------------------
class _Reader:
    """Parses one buffer. Sequences are lazy in a strict read: at read time a sequence whose
    structure :func:`_check_sequence` finds sound becomes a :class:`LazySequence`; its items
    are parsed on first access by the ``trusted`` twin of this reader, which makes nested
    defined-length sequences lazy without checking them again (they were checked with their
    ancestor) and parses nested undefined-length ones at once (finding their end needs the
    same walk). A lenient read, and big endian undefined lengths, parse everything at once."""

    __slots__ = ("_twin", "buf", "opts", "trusted")

    def __init__(self, buf: Any, opts: DecodeOptions, trusted: bool = False) -> None:
        self.buf = buf
        self.opts = opts
        self.trusted = trusted
        self._twin: _Reader | None = self if trusted else None

    def _lazy(
        self,
        owner: Dataset,
        pos: int,
        end: int,
        undefined: bool,
        implicit: bool,
        little: bool,
        depth: int,
        tag: int,
    ) -> LazySequence:
        twin = self._twin
        if twin is None:
            twin = self._twin = _Reader(self.buf, self.opts, True)
        return LazySequence(
            owner, _load_sequence, (twin, pos, end, undefined, implicit, little, depth, tag)
        )

    def fail(self, exc: InvalidDicomError) -> None:
        if not self.opts.lenient:
            raise exc
        self.opts.errors.append(exc)
        self.opts.aborted = True

    def parse(
        self,
        owner: Dataset,
        pos: int,
        end: int,
        implicit: bool,
        little: bool,
        depth: int,
        in_undef_item: bool,
        only_group: int = -1,
    ) -> tuple[int, bool]:
        """Fill ``owner._d`` from ``buf[pos:end]``. Returns (next offset, delimiter found).

        One comparison per element (``tag >= stop``) routes the rare cases -- item and
        delimiter tags, pixel data under ``stop_before_pixels``, the end of group 0002 -- to
        :meth:`special`; explicit VR and implicit VR have their own loops.
        """
        stop = 0xFFFE0000
        if only_group >= 0:
            stop = (only_group + 1) << 16
        elif self.opts.stop_before_pixels and depth == 0:
            stop = FLOAT_PIXEL_DATA
        if implicit:
            return self.parse_implicit(owner, pos, end, little, depth, in_undef_item, stop)
        return self.parse_explicit(owner, pos, end, little, depth, in_undef_item, stop)

    def special(
        self, tag: int, start: int, length: int, in_undef_item: bool, stop: int
    ) -> tuple[int, bool] | None:
        """A tag at or past ``stop``: returns the parse result, or None to go on reading."""
        if tag < 0xFFFE0000 and stop < 0xFFFE0000:
            if stop == FLOAT_PIXEL_DATA:
                if tag not in _PIXEL_TAGS:
                    return None
                self.opts.stopped = True
            return start, False
        if tag >> 16 != 0xFFFE:
            return None
        if tag == ITEM_DELIMITATION and in_undef_item:
            return start + 8, True
        self.fail(
            InvalidDicomError(
                f"unexpected delimiter or item tag ({tag >> 16:04X},{tag & 0xFFFF:04X})",
                offset=start,
                tag=tag,
            )
        )
        return -1, False

    def parse_explicit(
        self,
        owner: Dataset,
        pos: int,
        end: int,
        little: bool,
        depth: int,
        in_undef_item: bool,
        stop: int,
    ) -> tuple[int, bool]:
        buf = self.buf
        d = owner._d
        exp = _LE_EXP if little else _BE_EXP
        ul = _LE_L if little else _BE_L
        vr_of = _VR_OF
        long_vrs = _LONG_B
        specific = self.opts.specific_tags
        end8 = end - 8
        while pos <= end8:
            g, e, vrb, length = exp(buf, pos)
            tag = g << 16 | e
            if tag >= stop:
                res = self.special(tag, pos, length, in_undef_item, stop)
                if res is not None:
                    return (end, False) if res[0] < 0 else res
            try:
                vr = vr_of[vrb]
            except KeyError:
                if g == 0xFFFE:
                    res = self.special(tag, pos, length, in_undef_item, 0)
                    return (end, False) if res is None or res[0] < 0 else res
                if depth == 0 and not bytes(buf[pos:end]).strip(b"\x00"):
                    return end, False  # trailing NUL padding after the last element
                self.fail(InvalidDicomError(f"unknown VR {bytes(vrb)!r}", offset=pos, tag=tag))
                return end, False
            if vrb in long_vrs:
                if pos + 12 > end:
                    break
                length = ul(buf, pos + 8)[0]
                start = pos
                pos += 12
                if length == 0xFFFFFFFF or vr == "SQ":
                    res2 = self.complex(
                        owner, tag, vr, pos, end, length, False, little, depth, start
                    )
                    if res2 < 0:
                        return end, False
                    pos = res2
                    continue
                nxt = pos + length
                if nxt > end:
                    self.fail(
                        TruncatedDataError(
                            f"value length {length} past the end of its container "
                            f"({end - pos} bytes left)",
                            offset=start,
                            tag=tag,
                        )
                    )
                    return end, False
                if specific is None or tag in specific:
                    d[tag] = (
                        vr,
                        buf[pos:nxt]
                        if length < self.opts.large_value
                        else memoryview(buf)[pos:nxt],
                    )
                pos = nxt
                continue
            pos += 8
            nxt = pos + length
            if nxt > end:
                self.fail(
                    TruncatedDataError(
                        f"value length {length} past the end of its container "
                        f"({end - pos} bytes left)",
                        offset=pos - 8,
                        tag=tag,
                    )
                )
                return end, False
            if specific is None or tag in specific:
                d[tag] = (vr, buf[pos:nxt])
            pos = nxt
        if pos < end:
            self.fail(TruncatedDataError("data element header past the end", offset=pos))
            return end, False
        return pos, False

    def parse_implicit(
        self,
        owner: Dataset,
        pos: int,
        end: int,
        little: bool,
        depth: int,
        in_undef_item: bool,
        stop: int,
    ) -> tuple[int, bool]:
        buf = self.buf
        d = owner._d
        hhl = _LE_HHL if little else _BE_HHL
        cache = _VR_CACHE
        specific = self.opts.specific_tags
        large = self.opts.large_value
        end8 = end - 8
        while pos <= end8:
            g, e, length = hhl(buf, pos)
            tag = g << 16 | e
            if tag >= stop:
                res = self.special(tag, pos, length, in_undef_item, stop)
                if res is not None:
                    return (end, False) if res[0] < 0 else res
            vr = cache.get(tag) or implicit_vr(tag, owner)
            start = pos
            pos += 8
            if length == 0xFFFFFFFF or vr == "SQ":
                res2 = self.complex(owner, tag, vr, pos, end, length, True, little, depth, start)
                if res2 < 0:
                    return end, False
                pos = res2
                continue
            nxt = pos + length
            if nxt > end:
                self.fail(
                    TruncatedDataError(
                        f"value length {length} past the end of its container "
                        f"({end - pos} bytes left)",
                        offset=start,
                        tag=tag,
                    )
                )
                return end, False
            if specific is None or tag in specific:
                d[tag] = (vr, buf[pos:nxt] if length < large else memoryview(buf)[pos:nxt])
            pos = nxt
        if pos < end:
            self.fail(TruncatedDataError("data element header past the end", offset=pos))
            return end, False
        return pos, False

    def complex(
        self,
        owner: Dataset,
        tag: int,
        vr: str,
        pos: int,
        end: int,
        length: int,
        implicit: bool,
        little: bool,
        depth: int,
        start: int,
    ) -> int:
        """A sequence or an undefined-length value; returns the next offset (-1: stop)."""
        opts = self.opts
        specific = opts.specific_tags
        if length == 0xFFFFFFFF:
            res = self.undefined(owner, tag, vr, pos, end, implicit, little, depth, start)
            if res is None:
                return -1
            if specific is None or tag in specific:
                owner._d[tag] = res[0]
            return -1 if opts.aborted else res[1]
        nxt = pos + length
        if nxt > end:
            self.fail(
                TruncatedDataError(
                    f"value length {length} past the end of its container ({end - pos} bytes left)",
                    offset=start,
                    tag=tag,
                )
            )
            return -1
        if (
            implicit
            and length >= 4
            and self.buf[pos : pos + 2] != (b"\xfe\xff" if little else b"\xff\xfe")
        ):
            # The dictionary says SQ but the value holds no items (a retired meaning): keep it.
            if specific is None or tag in specific:
                owner._d[tag] = ("UN", self.buf[pos:nxt])
            return nxt
        if specific is None or tag in specific:
            if self.trusted or (
                not opts.lenient
                and (
                    not opts.check_sequences
                    or (
                        little
                        and _check_sequence(self.buf, pos, nxt, False, implicit, depth) == nxt
                    )
                )
            ):
                # Sound structure: the items are parsed on first access (see _lazy).
                owner._d[tag] = DataElement._sequence(
                    tag, self._lazy(owner, pos, nxt, False, implicit, little, depth, tag), False
                )
                return nxt
            seq = self.sequence(owner, pos, nxt, False, implicit, little, depth, tag)
            if seq is None:
                return -1
            owner._d[tag] = DataElement._sequence(tag, seq[0], False)
            if opts.aborted:
                # lenient: the damage is contained in a sequence of defined length, so the
                # elements after it can still be read.
                opts.aborted = False
        return nxt

    def undefined(
        self,
        owner: Dataset,
        tag: int,
        vr: str,
        pos: int,
        end: int,
        implicit: bool,
        little: bool,
        depth: int,
        start: int,
    ) -> tuple[DataElement, int] | None:
        """An element of undefined length: a sequence (PS3.5 7.5.1), an explicit UN holding an
        implicit VR LE sequence (PS3.5 6.2.2), or encapsulated pixel data (PS3.5 A.4)."""
        if vr == "SQ" or vr == "UN" or (implicit and tag != PIXEL_DATA):
            un = vr == "UN" and not implicit
            if little and not self.trusted and not self.opts.lenient:
                stop = _check_sequence(self.buf, pos, end, True, implicit or un, depth)
                if stop >= 0:
                    el = DataElement._sequence(
                        tag,
                        self._lazy(owner, pos, stop, True, implicit or un, True, depth, tag),
                        True,
                    )
                    el.un_sequence = un
                    return el, stop
                # doubtful structure: parse now, for the precise error
            res = self.sequence(
                owner, pos, end, True, implicit or un, True if un else little, depth, tag
            )
            if res is None:
                return None
            el = DataElement._sequence(tag, res[0], True)
            el.un_sequence = un
            return el, res[1]
        if vr in ("OB", "OW") or tag == PIXEL_DATA:
            buf = self.buf
            hhl = _LE_HHL if little else _BE_HHL
            p = pos
            delim = 8
            while True:
                if p + 8 > end:
                    err = TruncatedDataError(
                        "encapsulated pixel data without a sequence delimiter",
                        offset=start,
                        tag=tag,
                    )
                    if p == end == len(buf) and depth == 0:
                        # Fragments intact up to the end of the file: keep them, note it.
                        self.opts.errors.append(err)
                        delim = 0
                        break
                    self.fail(err)
                    return None
                g, e, ln = hhl(buf, p)
                t = g << 16 | e
                if t == SEQUENCE_DELIMITATION:
                    break
                if t != ITEM or ln == _UNDEF or p + 8 + ln > end:
                    self.fail(
                        InvalidDicomError(
                            "bad fragment in encapsulated pixel data", offset=p, tag=tag
                        )
                    )
                    return None
                p += 8 + ln
            raw = self.buf[pos:p] if p - pos < self.opts.large_value else memoryview(buf)[pos:p]
            el = DataElement.from_raw(tag, vr or "OB", raw, little, None, True)
            return el, p + delim
        self.fail(InvalidDicomError(f"undefined length for VR {vr}", offset=start, tag=tag))
        return None

    def sequence(
        self,
        owner: Dataset,
        pos: int,
        end: int,
        undefined: bool,
        implicit: bool,
        little: bool,
        depth: int,
        tag: int,
    ) -> tuple[Sequence, int] | None:
        """The items of a sequence (PS3.5 7.5.2): defined length ends at ``end``, undefined
        length at the Sequence Delimitation Item."""
        if depth >= MAX_DEPTH:
            self.fail(
                InvalidDicomError(f"sequences nested deeper than {MAX_DEPTH}", offset=pos, tag=tag)
            )
            return None
        buf = self.buf
        hhl = _LE_HHL if little else _BE_HHL
        seq = Sequence._empty(owner)
        append = list.append
        parse = self.parse_implicit if implicit else self.parse_explicit
        stop = 0xFFFE0000
        while True:
            if pos >= end:
                if undefined:
                    self.fail(
                        TruncatedDataError(
                            "sequence without a delimitation item", offset=pos, tag=tag
                        )
                    )
                    return (seq, end) if self.opts.lenient else None
                return seq, pos
            if pos + 8 > end:
                self.fail(TruncatedDataError("item header past the end", offset=pos, tag=tag))
                return (seq, end) if self.opts.lenient else None
            g, e, length = hhl(buf, pos)
            itag = g << 16 | e
            if itag == ITEM:
                if length == _UNDEF:
                    item = Dataset._from_raw({}, little, implicit, owner, True)
                    p, found = parse(item, pos + 8, end, little, depth + 1, True, stop)
                    if not found and not self.opts.aborted:
                        self.fail(
                            TruncatedDataError(
                                "item without an item delimitation", offset=pos, tag=tag
                            )
                        )
                    pos = p
                else:
                    if pos + 8 + length > end:
                        self.fail(
                            TruncatedDataError(
                                f"item length {length} past the end", offset=pos, tag=tag
                            )
                        )
                        return (seq, end) if self.opts.lenient else None
                    item = Dataset._from_raw({}, little, implicit, owner)
                    parse(item, pos + 8, pos + 8 + length, little, depth + 1, False, stop)
                    pos += 8 + length
                append(seq, item)
                if self.opts.aborted:
                    return seq, end
            elif itag == SEQUENCE_DELIMITATION:
                if undefined:
                    return seq, pos + 8
                # A delimiter inside a defined-length sequence: tolerated as trailing padding.
                pos += 8
            else:
                self.fail(
                    InvalidDicomError(
                        f"expected an item tag, found ({g:04X},{e:04X})", offset=pos, tag=tag
                    )
                )
                return (seq, end) if self.opts.lenient else None


def _load_sequence(
    owner: Dataset,
    reader: _Reader,
    pos: int,
    end: int,
    undefined: bool,
    implicit: bool,
    little: bool,
    depth: int,
    tag: int,
) -> Sequence:
    """Parse the items of a :class:`LazySequence` (strict: errors raise)."""
    try:
        res = reader.sequence(owner, pos, end, undefined, implicit, little, depth, tag)
    except struct.error as exc:  # pragma: no cover - every read is bounds-checked first
        raise InvalidDicomError(f"malformed data: {exc}", offset=pos, tag=tag) from None
    if res is None:  # pragma: no cover - a strict reader raises instead
        raise InvalidDicomError("malformed sequence", offset=pos, tag=tag)
    return res[0]


def _check_sequence(
    buf: Any, pos: int, end: int, undefined: bool, implicit: bool, depth: int
) -> int:
    """Validate a sequence value (little endian) without building anything.

    Returns where the sequence ends (past its delimiter when ``undefined``), or -1 when the
    structure is not plainly sound. It is at least as strict as :meth:`_Reader.sequence`: a
    sequence it accepts parses without error later (so a strict read still fails at once on
    a malformed file); anything doubtful is left to the parser (-1), which gives the precise
    error or the exact result. One call per item and per nested sequence, one loop step per
    element; recursion is bounded by :data:`MAX_DEPTH` like the parser's.
    """
    if depth >= MAX_DEPTH:
        return -1
    items = _check_implicit_item if implicit else _check_explicit_item
    inner = depth + 1
    hhl = _LE_HHL
    while pos + 8 <= end:
        g, e, length = hhl(buf, pos)
        pos += 8
        if g != 0xFFFE:
            return -1
        if e == 0xE000:
            if length == _UNDEF:
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
    """The elements of one explicit VR LE item (see :func:`_check_sequence`): the offset
    past the item (past its delimiter when ``undefined``), or -1."""
    exp = _LE_EXP
    short_vrs = _SHORT_B
    end8 = end - 8
    while pos <= end8:
        g, e, vrb, length = exp(buf, pos)
        if vrb in short_vrs and g != 0xFFFE:  # most elements: one test
            pos += 8 + length
            continue
        if g == 0xFFFE:  # only the item's own delimiter may appear here
            return pos + 8 if e == 0xE00D and undefined else -1
        if vrb not in _LONG_B or pos + 12 > end:
            return -1
        length = _LE_L(buf, pos + 8)[0]
        start = pos + 12
        if length == _UNDEF:
            if vrb == b"SQ":
                pos = _check_sequence(buf, start, end, True, False, depth)
            elif vrb == b"UN":  # PS3.5 6.2.2: implicit VR LE items inside
                pos = _check_sequence(buf, start, end, True, True, depth)
            elif vrb == b"OB" or vrb == b"OW" or (g == 0x7FE0 and e == 0x0010):
                pos = _check_fragments(buf, start, end)
            else:
                return -1
            if pos < 0:
                return -1
            continue
        pos = start + length
        if vrb == b"SQ" and (
            pos > end or _check_sequence(buf, start, pos, False, False, depth) != pos
        ):
            return -1
    return -1 if undefined or pos != end else pos


def _check_implicit_item(buf: Any, pos: int, end: int, undefined: bool, depth: int) -> int:
    """The elements of one implicit VR LE item (see :func:`_check_sequence`). The VR is not
    in the data: a value that starts like an item may be read as a sequence, so it must be
    one; an SQ too short to hold an item header does not parse."""
    hhl = _LE_HHL
    end8 = end - 8
    while pos <= end8:
        g, e, length = hhl(buf, pos)
        if g == 0xFFFE:
            return pos + 8 if e == 0xE00D and undefined else -1
        start = pos + 8
        if length == _UNDEF:
            if g == 0x7FE0 and e == 0x0010:
                pos = _check_fragments(buf, start, end)
            else:
                pos = _check_sequence(buf, start, end, True, True, depth)
            if pos < 0:
                return -1
            continue
        pos = start + length
        if pos > end:
            return -1
        if length:
            if buf[start : start + 2] == b"\xfe\xff":
                if length < 8 or _check_sequence(buf, start, pos, False, True, depth) != pos:
                    return -1
            elif length < 4:
                tag = g << 16 | e
                vr = _VR_CACHE.get(tag) or (None if g & 1 else implicit_vr(tag))
                if vr is None or vr == "SQ":
                    return -1
    return -1 if undefined or pos != end else pos


def _check_fragments(buf: Any, pos: int, end: int) -> int:
    """Encapsulated fragments up to and past their Sequence Delimitation Item, or -1."""
    hhl = _LE_HHL
    while pos + 8 <= end:
        g, e, ln = hhl(buf, pos)
        if g != 0xFFFE:
            return -1
        if e == 0xE0DD:
            return pos + 8
        if e != 0xE000 or ln == _UNDEF or pos + 8 + ln > end:
            return -1
        pos += 8 + ln
    return -1


def decode_into(
    ds: Dataset,
    buf: Any,
    offset: int,
    end: int,
    *,
    implicit: bool,
    little: bool,
    opts: DecodeOptions,
    only_group: int = -1,
) -> int:
    """Fill ``ds`` from ``buf[offset:end]``; return the offset where reading stopped."""
    object.__setattr__(ds, "_little", little)
    object.__setattr__(ds, "_implicit", implicit)
    reader = _Reader(buf, opts)
    try:
        pos, _ = reader.parse(ds, offset, end, implicit, little, 0, False, only_group)
    except struct.error as exc:  # pragma: no cover - every read is bounds-checked first
        raise InvalidDicomError(f"malformed data: {exc}", offset=offset) from None
    return pos


def decode_dataset(
    buf: Any,
    offset: int = 0,
    *,
    implicit: bool,
    little: bool,
    end: int | None = None,
    charsets: Any = None,
    lenient: bool = False,
    stop_before_pixels: bool = False,
    specific_tags: Iterable[int] | None = None,
) -> Dataset:
    """Decode a data set encoded as ``implicit``/``little`` from ``buf[offset:end]``.

    ``charsets`` (a :class:`~dicomkit.core.values.charset.Charsets`) applies when the data set
    has no (0008,0005) of its own, e.g. a C-FIND identifier in an association that agreed one.
    """
    ds = Dataset()
    opts = DecodeOptions(
        lenient=lenient, stop_before_pixels=stop_before_pixels, specific_tags=specific_tags
    )
    decode_into(
        ds,
        buf,
        offset,
        len(buf) if end is None else end,
        implicit=implicit,
        little=little,
        opts=opts,
    )
    ds.read_errors = opts.errors
    if charsets is not None and 0x00080005 not in ds._d:
        object.__setattr__(ds, "_charsets", charsets)
    return ds
