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

import mmap
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.core._sequence import LazySequence, Sequence
from dicomkit.core._tag import (
    DOUBLE_FLOAT_PIXEL_DATA,
    FLOAT_PIXEL_DATA,
    ITEM,
    ITEM_DELIMITATION,
    PIXEL_DATA,
    SEQUENCE_DELIMITATION,
    SPECIFIC_CHARACTER_SET,
)
from dicomkit.errors import InvalidDicomError, TruncatedDataError
from dicomkit.io._scan import (
    BE_EXP,
    BE_HHL,
    BE_L,
    BLANK_VRS,
    LE_EXP,
    LE_HHL,
    LE_L,
    LONG_B,
    MAX_DEPTH,
    VR_OF,
    check_sequence,
)
from dicomkit.io._vrlookup import KNOWN_VRS, implicit_vr, known_vr, resolve_ambiguous

__all__ = [
    "LARGE_VALUE",
    "MAX_DEPTH",
    "DecodeOptions",
    "DecodeResult",
    "decode_dataset",
    "decode_into",
    "guess_encoding",
    "implicit_vr",
    "resolve_ambiguous",
]

#: Values at least this long are kept as ``memoryview`` slices of the source buffer.
LARGE_VALUE = 64 * 1024

_UNDEF = 0xFFFFFFFF
_PIXEL_TAGS = frozenset({PIXEL_DATA, FLOAT_PIXEL_DATA, DOUBLE_FLOAT_PIXEL_DATA})

#: The calling convention of dicomkit.io._cscan this module was written for (its ``API``).
CSCAN_API = 2
#: Environment variable that, set to anything but "" or "0", keeps the C scan unused.
PURE_PYTHON_ENV = "DICOMKIT_PURE_PYTHON"


def _load_extension() -> Any:
    """The optional C element scan (``dicomkit.io._cscan``, built by setup.py), or None when it
    is not built or :data:`PURE_PYTHON_ENV` asks for the pure-Python loop."""
    if os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0"):
        return None
    try:
        from dicomkit.io import _cscan
    except ImportError:
        return None
    if getattr(_cscan, "API", 0) != CSCAN_API:
        return None  # built from another version of _cscan.c: rebuild (pip install -e .)
    _cscan.init(VR_OF, LONG_B)
    return _cscan


#: The C scan in use (None: the pure-Python loops). Tests switch it with :func:`use_extension`.
_EXT: Any = _load_extension()


def use_extension(on: bool) -> bool:
    """Use the C element scan (``on``, when it is built) or the pure-Python loops; returns
    whether the C scan is now in use. Both give the same data sets and the same errors."""
    global _EXT
    _EXT = _load_extension() if on else None
    return _EXT is not None


def extension_active() -> bool:
    """Whether reads use the C element scan (built, and not switched off)."""
    return _EXT is not None


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """What a read is asked to do (frozen: one value per call, nothing module-level).

    ``check_sequences``: validate the structure of defined-length sequences at read time (so
    a strict read fails at once on a malformed one); False only skips them, and a malformed
    sequence raises when first accessed (memory-mapped files, see part10).
    ``known_vr_for_un``: re-type UN elements whose VR the dictionary or the private dictionary
    knows (PS3.5 6.2.2); UN sequences of undefined length become SQ.
    """

    stop_before_pixels: bool = False
    specific_tags: frozenset[int] | None = None
    lenient: bool = False
    large_value: int = LARGE_VALUE
    check_sequences: bool = True
    known_vr_for_un: bool = False

    @classmethod
    def make(
        cls,
        *,
        stop_before_pixels: bool = False,
        specific_tags: Iterable[int] | None = None,
        lenient: bool = False,
        known_vr_for_un: bool = False,
        check_sequences: bool = True,
    ) -> DecodeOptions:
        """Options from the arguments of ``read()`` (``specific_tags`` any iterable)."""
        if specific_tags is None:
            # one frozen value per combination of flags (reads of many files ask again and again)
            key = (stop_before_pixels, lenient, known_vr_for_un, check_sequences)
            opts = _OPTIONS.get(key)
            if opts is None:
                opts = _OPTIONS[key] = cls(
                    stop_before_pixels=stop_before_pixels,
                    lenient=lenient,
                    check_sequences=check_sequences,
                    known_vr_for_un=known_vr_for_un,
                )
            return opts
        return cls(
            stop_before_pixels=stop_before_pixels,
            specific_tags=frozenset(specific_tags),
            lenient=lenient,
            check_sequences=check_sequences,
            known_vr_for_un=known_vr_for_un,
        )

    def but(self, **changes: Any) -> DecodeOptions:
        """A copy with ``changes`` (``dataclasses.replace``)."""
        return replace(self, **changes)


#: DecodeOptions.make's values without specific tags, by flags (at most 16)
_OPTIONS: dict[tuple[bool, bool, bool, bool], DecodeOptions] = {}


@dataclass(slots=True)
class DecodeResult:
    """What one read found: the problems noted (``errors``; a strict read raises on the
    first fatal one), whether ``stop_before_pixels`` reached the pixel data or a strict
    ``specific_tags`` read passed the last tag asked for (``stopped``), and whether a lenient
    read gave up on the rest of its container (``aborted``)."""

    errors: list[InvalidDicomError] = field(default_factory=list)
    stopped: bool = False
    aborted: bool = False


# -- encoding detection (PS3.5 A: no File Meta to say which transfer syntax) ----------------------
def guess_encoding(buf: Any, pos: int = 0) -> tuple[bool, bool]:
    """``(implicit, little)`` from the first element at ``pos``: explicit when bytes 4-5 are a
    VR, and the byte order that gives the smaller (more plausible) group number."""
    if len(buf) - pos < 8:
        raise TruncatedDataError("too short for a data element", offset=pos)
    head = bytes(buf[pos : pos + 8])
    explicit = head[4:6] in VR_OF
    g_le = head[0] | head[1] << 8
    g_be = head[0] << 8 | head[1]
    little = g_le <= g_be or not explicit
    return (not explicit, little)


# -- the reader -----------------------------------------------------------------------------------
#: what :meth:`_Reader.special` asks of the loop: stop (no delimiter), stop past an item's
#: delimiter, or go on at the offset returned (a stray tag was skipped)
_STOP, _DELIMITED, _SKIP = 0, 1, 2


class _Reader:
    """Parses one buffer. Sequences are lazy in a strict read: at read time a sequence whose
    structure :func:`~dicomkit.io._scan.check_sequence` finds sound becomes a
    :class:`LazySequence`; its items are parsed on first access by the ``trusted`` twin of this
    reader, which makes nested defined-length sequences lazy without checking them again (they
    were checked with their ancestor) and parses nested undefined-length ones at once (finding
    their end needs the same walk). A lenient read, and big endian undefined lengths, parse
    everything at once."""

    __slots__ = ("_twin", "buf", "ext", "opts", "past_specific", "res", "trusted")

    def __init__(
        self, buf: Any, opts: DecodeOptions, res: DecodeResult, trusted: bool = False
    ) -> None:
        self.buf = buf
        self.opts = opts
        self.res = res
        self.trusted = trusted
        self._twin: _Reader | None = self if trusted else None
        # the C scan slices values to bytes as bytes and mmap do (not bytearray/memoryview)
        self.ext: Any = _EXT if type(buf) is bytes or type(buf) is mmap.mmap else None
        #: the stop tag of a specific_tags read (past the last tag asked for; -1: none)
        self.past_specific = -1

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
            # items parsed later report to a result of their own (a strict parse raises)
            twin = self._twin = _Reader(self.buf, self.opts, DecodeResult(), True)
        return LazySequence(
            owner,
            _load_sequence,
            (twin, pos, end, undefined, implicit, little, depth, tag),
            (self.buf, pos, end),
            implicit,
            little,
            True,  # weak owner: a data set read and dropped is freed without the GC
        )

    def lazy_element(
        self, owner: Dataset, little: bool, depth: int, tag: int, pos: int, end: int
    ) -> DataElement:
        """An explicit VR sequence of defined length at ``buf[pos:end]``, unparsed (the C
        scan's ``on_sq``; the Python loop does the same inline)."""
        return DataElement.from_sequence(
            tag, self._lazy(owner, pos, end, False, False, little, depth, tag), False
        )

    def note(self, exc: InvalidDicomError) -> None:
        """A problem read past (both modes): the data around it is sound."""
        self.res.errors.append(exc)

    def fail(self, exc: InvalidDicomError) -> None:
        """A problem the rest of the container cannot be read past: raised in a strict
        read, noted (and the container given up) in a lenient one."""
        if not self.opts.lenient:
            raise exc
        self.res.errors.append(exc)
        self.res.aborted = True

    def cut(self, tag: int, start: int, pos: int, length: int, end: int) -> None:
        """A value whose length runs past its container: a truncated file, or a bad length."""
        self.fail(
            TruncatedDataError(
                f"value length {length} past the end of its container "
                f"({end - pos} bytes left): the element is cut off",
                offset=start,
                tag=tag,
            )
        )

    def header_cut(self, pos: int, end: int, little: bool) -> None:
        """An element header that does not fit: named by its tag when that much is there."""
        tag = None
        if end - pos >= 4:
            g, e = struct.unpack_from("<HH" if little else ">HH", self.buf, pos)
            tag = g << 16 | e
        self.fail(
            TruncatedDataError(
                "data element header past the end: the element is cut off", offset=pos, tag=tag
            )
        )

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
        """Fill ``owner`` from ``buf[pos:end]``. Returns (next offset, delimiter found).

        One comparison per element (``tag >= stop``) routes the rare cases -- item and
        delimiter tags, pixel data under ``stop_before_pixels``, the end of group 0002 -- to
        :meth:`special`; explicit VR and implicit VR have their own loops.
        """
        stop = 0xFFFE0000
        if only_group >= 0:
            stop = (only_group + 1) << 16
        elif depth == 0:
            opts = self.opts
            if opts.stop_before_pixels:
                stop = FLOAT_PIXEL_DATA
            if opts.specific_tags and not opts.lenient:
                # a strict read of chosen tags ends after the last of them (elements come in
                # ascending tag order, PS3.5 7.1); a lenient one reads on, for what it finds
                last = max(opts.specific_tags) + 1
                if last < stop:
                    stop = self.past_specific = last
        if implicit:
            return self.parse_implicit(owner, pos, end, little, depth, in_undef_item, stop)
        return self.parse_explicit(owner, pos, end, little, depth, in_undef_item, stop)

    def special(
        self, tag: int, start: int, end: int, little: bool, in_undef_item: bool, stop: int
    ) -> tuple[int, int] | None:
        """A tag at or past ``stop``: None to read it as an element, else ``(offset, what)``
        with ``what`` one of _STOP (offset -1: give up), _DELIMITED, _SKIP."""
        if tag < 0xFFFE0000 and stop < 0xFFFE0000:
            if stop == FLOAT_PIXEL_DATA:
                if tag not in _PIXEL_TAGS:
                    return None
                self.res.stopped = True
            elif stop == self.past_specific:
                self.res.stopped = True  # past the last tag asked for: all of them were read
            return start, _STOP
        if tag >> 16 != 0xFFFE:
            return None
        if tag == ITEM_DELIMITATION and in_undef_item:
            return start + 8, _DELIMITED
        name = f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
        length = (LE_L if little else BE_L)(self.buf, start + 4)[0] if start + 8 <= end else -1
        if tag == SEQUENCE_DELIMITATION and in_undef_item and self.opts.lenient:
            # the item's own delimiter is missing: end the item here, the sequence ends next
            self.note(
                InvalidDicomError(
                    "item without an item delimitation (ended at its sequence's delimiter)",
                    offset=start,
                    tag=tag,
                )
            )
            return start, _DELIMITED
        if tag != ITEM and length == 0 and not in_undef_item:
            # PS3.5 7.5: a delimiter closes what was opened; a stray one (some writers end the
            # file with one) closes nothing and holds nothing: noted and skipped.
            self.note(InvalidDicomError(f"stray delimiter {name} skipped", offset=start, tag=tag))
            return start + 8, _SKIP
        if tag == ITEM and self.opts.lenient and length >= 0:
            # an item where a data element belongs: skipped whole when its length fits (its
            # elements are not this data set's); an undefined-length one only by its header
            nxt = start + 8 + length if length != _UNDEF else start + 8
            self.note(
                InvalidDicomError(
                    f"item tag {name} where a data element was expected: skipped",
                    offset=start,
                    tag=tag,
                )
            )
            return (nxt if nxt <= end else start + 8), _SKIP
        self.fail(
            InvalidDicomError(f"unexpected delimiter or item tag {name}", offset=start, tag=tag)
        )
        return -1, _STOP

    def blank_vr(
        self, owner: Dataset, tag: int, vrb: bytes, pos: int, end: int, length: int
    ) -> int:
        """A VR field of two spaces or two NULs (old writers): read as DCMTK does, with a
        2-byte length and the dictionary's VR (PS3.5 6.2 has no such VR). -1 when the value
        does not fit."""
        nxt = pos + 8 + length
        if nxt > end:
            return -1
        vr = implicit_vr(tag, owner)
        self.note(
            InvalidDicomError(
                f"non-standard VR {bytes(vrb)!r}: read with a 2-byte length as {vr}",
                offset=pos,
                tag=tag,
            )
        )
        specific = self.opts.specific_tags
        if specific is None or tag in specific:
            owner.raw_elements[tag] = ("UN" if vr == "SQ" else vr, self.buf[pos + 8 : nxt])
        return nxt

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
        d = owner.raw_elements
        exp = LE_EXP if little else BE_EXP
        ul = LE_L if little else BE_L
        vr_of = VR_OF
        long_vrs = LONG_B
        specific = self.opts.specific_tags
        large = self.opts.large_value
        end8 = end - 8
        scan = self.ext.explicit_le if little and self.ext is not None else None
        nul_tail = -1
        lazy_now = self.trusted or not (self.opts.lenient or self.opts.check_sequences)
        from_sequence = DataElement.from_sequence
        on_sq = partial(self.lazy_element, owner, little, depth) if lazy_now and scan else None
        while pos <= end8:
            if scan is not None:
                # the C scan stores the ordinary elements as below (and the defined-length
                # sequences as the fast path below does, through on_sq) and stops at the first
                # element it leaves to this loop (or at the end)
                pos = scan(buf, pos, end, d, stop, specific, large, on_sq)
                if pos > end8:
                    break
            g, e, vrb, length = exp(buf, pos)
            tag = g << 16 | e
            if tag >= stop:
                res = self.special(tag, pos, end, little, in_undef_item, stop)
                if res is not None:
                    if res[1] == _SKIP:
                        pos = res[0]
                        continue
                    return (end, False) if res[0] < 0 else (res[0], res[1] == _DELIMITED)
            try:
                vr = vr_of[vrb]
            except KeyError:
                if g == 0xFFFE:
                    res = self.special(tag, pos, end, little, in_undef_item, 0)
                    if res is not None and res[1] == _SKIP:
                        pos = res[0]
                        continue
                    if res is None or res[0] < 0:
                        return end, False
                    return res[0], res[1] == _DELIMITED
                if depth == 0:
                    if nul_tail < 0:
                        # where the trailing NULs start (found once: a run of blank VRs
                        # would otherwise copy the rest of the buffer at every element)
                        nul_tail = pos + len(bytes(buf[pos:end]).rstrip(b"\x00"))
                    if pos >= nul_tail:
                        return end, False  # trailing NUL padding after the last element
                if vrb in BLANK_VRS:
                    nxt = self.blank_vr(owner, tag, vrb, pos, end, length)
                    if nxt >= 0:
                        pos = nxt
                        continue
                self.fail(InvalidDicomError(f"unknown VR {bytes(vrb)!r}", offset=pos, tag=tag))
                return end, False
            if vrb in long_vrs:
                if pos + 12 > end:
                    break
                length = ul(buf, pos + 8)[0]
                start = pos
                pos += 12
                if vr == "SQ" and lazy_now and length != 0xFFFFFFFF and pos + length <= end:
                    # complex()'s most common case, inline: a defined-length sequence kept
                    # unparsed (its items are read on first access)
                    if specific is None or tag in specific:
                        d[tag] = from_sequence(
                            tag,
                            self._lazy(owner, pos, pos + length, False, False, little, depth, tag),
                            False,
                        )
                    pos += length
                    continue
                if length == 0xFFFFFFFF or vr == "SQ":
                    res2 = self.complex(
                        owner, d, tag, vr, pos, end, length, False, little, depth, start
                    )
                    if res2 < 0:
                        return end, False
                    pos = res2
                    continue
                nxt = pos + length
                if nxt > end:
                    self.cut(tag, start, pos, length, end)
                    return end, False
                if specific is None or tag in specific:
                    d[tag] = (vr, buf[pos:nxt] if length < large else memoryview(buf)[pos:nxt])
                pos = nxt
                continue
            pos += 8
            nxt = pos + length
            if nxt > end:
                self.cut(tag, pos - 8, pos, length, end)
                return end, False
            if specific is None or tag in specific:
                d[tag] = (vr, buf[pos:nxt])
            pos = nxt
        if pos < end:
            self.header_cut(pos, end, little)
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
        d = owner.raw_elements
        hhl = LE_HHL if little else BE_HHL
        cache = known_vr
        specific = self.opts.specific_tags
        large = self.opts.large_value
        end8 = end - 8
        scan = self.ext.implicit_le if little and self.ext is not None else None
        while pos <= end8:
            if scan is not None:
                pos = scan(buf, pos, end, d, stop, specific, large, KNOWN_VRS)
                if pos > end8:
                    break
            g, e, length = hhl(buf, pos)
            tag = g << 16 | e
            if tag >= stop:
                res = self.special(tag, pos, end, little, in_undef_item, stop)
                if res is not None:
                    if res[1] == _SKIP:
                        pos = res[0]
                        continue
                    return (end, False) if res[0] < 0 else (res[0], res[1] == _DELIMITED)
            vr = cache(tag) or implicit_vr(tag, owner)
            start = pos
            pos += 8
            if length == 0xFFFFFFFF or vr == "SQ":
                res2 = self.complex(owner, d, tag, vr, pos, end, length, True, little, depth, start)
                if res2 < 0:
                    return end, False
                pos = res2
                continue
            nxt = pos + length
            if nxt > end:
                self.cut(tag, start, pos, length, end)
                return end, False
            if specific is None or tag in specific:
                d[tag] = (vr, buf[pos:nxt] if length < large else memoryview(buf)[pos:nxt])
            pos = nxt
        if pos < end:
            self.header_cut(pos, end, little)
            return end, False
        return pos, False

    def complex(
        self,
        owner: Dataset,
        d: dict[int, Any],
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
        """A sequence or an undefined-length value; returns the next offset (-1: stop).
        ``d`` is ``owner.raw_elements``."""
        opts = self.opts
        res = self.res
        specific = opts.specific_tags
        if length == 0xFFFFFFFF:
            und = self.undefined(owner, tag, vr, pos, end, implicit, little, depth, start)
            if und is None:
                return -1
            if specific is None or tag in specific:
                d[tag] = und[0]
            return -1 if res.aborted else und[1]
        nxt = pos + length
        if nxt > end:
            self.cut(tag, start, pos, length, end)
            return -1
        if (
            implicit
            and length >= 4
            and self.buf[pos : pos + 2] != (b"\xfe\xff" if little else b"\xff\xfe")
        ):
            # The dictionary says SQ but the value holds no items (a retired meaning): keep it.
            if specific is None or tag in specific:
                d[tag] = ("UN", self.buf[pos:nxt])
            return nxt
        if specific is None or tag in specific:
            if self.trusted or (
                not opts.lenient
                and (
                    not opts.check_sequences
                    or (
                        little and check_sequence(self.buf, pos, nxt, False, implicit, depth) == nxt
                    )
                )
            ):
                # Sound structure: the items are parsed on first access (see _lazy).
                d[tag] = DataElement.from_sequence(
                    tag, self._lazy(owner, pos, nxt, False, implicit, little, depth, tag), False
                )
                return nxt
            seq = self.sequence(owner, pos, nxt, False, implicit, little, depth, tag)
            if seq is None:
                return -1
            d[tag] = DataElement.from_sequence(tag, seq[0], False)
            if res.aborted:
                # lenient: the damage is contained in a sequence of defined length, so the
                # elements after it can still be read.
                res.aborted = False
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
        """An element of undefined length: a sequence (PS3.5 7.5.1), an explicit UN holding
        implicit VR little endian items in any transfer syntax (PS3.5 6.2.2, CP-246), or
        encapsulated pixel data (PS3.5 A.4)."""
        if vr == "SQ" or vr == "UN" or (implicit and tag != PIXEL_DATA):
            un = vr == "UN" and not implicit
            inner_little = True if un else little
            if inner_little and not self.trusted and not self.opts.lenient:
                stop = check_sequence(self.buf, pos, end, True, implicit or un, depth)
                if stop >= 0:
                    el = DataElement.from_sequence(
                        tag,
                        self._lazy(owner, pos, stop, True, implicit or un, True, depth, tag),
                        True,
                    )
                    el.un_sequence = un
                    return el, stop
                # doubtful structure: parse now, for the precise error
            res = self.sequence(owner, pos, end, True, implicit or un, inner_little, depth, tag)
            if res is None:
                return None
            el = DataElement.from_sequence(tag, res[0], True)
            el.un_sequence = un
            return el, res[1]
        if vr in ("OB", "OW") or tag == PIXEL_DATA:
            return self.fragments(tag, vr, pos, end, little, depth, start)
        self.fail(InvalidDicomError(f"undefined length for VR {vr}", offset=start, tag=tag))
        return None

    def fragments(
        self, tag: int, vr: str, pos: int, end: int, little: bool, depth: int, start: int
    ) -> tuple[DataElement, int] | None:
        """Encapsulated pixel data (PS3.5 A.4): the fragments up to the delimiter, raw."""
        buf = self.buf
        hhl = LE_HHL if little else BE_HHL
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
                    self.note(err)
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
                    InvalidDicomError("bad fragment in encapsulated pixel data", offset=p, tag=tag)
                )
                return None
            p += 8 + ln
        raw = buf[pos:p] if p - pos < self.opts.large_value else memoryview(buf)[pos:p]
        el = DataElement.from_raw(tag, vr or "OB", raw, little, None, True)
        return el, p + delim

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
        hhl = LE_HHL if little else BE_HHL
        res = self.res
        lenient = self.opts.lenient
        seq = Sequence.new_for(owner)
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
                    return (seq, end) if lenient else None
                return seq, pos
            if pos + 8 > end:
                self.fail(TruncatedDataError("item header past the end", offset=pos, tag=tag))
                return (seq, end) if lenient else None
            g, e, length = hhl(buf, pos)
            itag = g << 16 | e
            if itag == ITEM:
                if length == _UNDEF:
                    item = Dataset.from_raw({}, little, implicit, owner, True)
                    p, found = parse(item, pos + 8, end, little, depth + 1, True, stop)
                    if not found and not res.aborted:
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
                        if not lenient:
                            return None
                        # As DCMTK: the item's elements up to the end of the sequence are
                        # kept (e.g. a DICOMDIR record whose length was not updated when
                        # elements were removed from it).
                        item = Dataset.from_raw({}, little, implicit, owner)
                        parse(item, pos + 8, end, little, depth + 1, False, stop)
                        append(seq, item)
                        return seq, end
                    item = Dataset.from_raw({}, little, implicit, owner)
                    parse(item, pos + 8, pos + 8 + length, little, depth + 1, False, stop)
                    pos += 8 + length
                append(seq, item)
                if res.aborted:
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
                return (seq, end) if lenient else None


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


# -- UN re-typed from the dictionaries (PS3.5 6.2.2) ---------------------------------------------
def retype_un(ds: Dataset, res: DecodeResult) -> None:
    """Give UN elements the VR the data dictionary or the private dictionary knows (the
    Private Creator compared case-exact, PS3.5 7.8.1), in ``ds`` and every item: a value
    becomes the known VR's raw value, an SQ's bytes are parsed as implicit VR little endian
    items (PS3.5 6.2.2), an undefined-length UN sequence becomes an SQ. UN the dictionaries
    do not know stays UN."""
    d = ds.raw_elements
    for tag, e in list(d.items()):
        if type(e) is tuple:
            if e[0] != "UN":
                continue
            vr = implicit_vr(tag, ds)
            if vr == "UN":
                continue
            if vr != "SQ":
                d[tag] = (vr, e[1])
                continue
            raw = e[1]
            reader = _Reader(raw, DecodeOptions(lenient=True), res)
            seq = reader.sequence(ds, 0, len(raw), False, True, True, 0, tag)
            if seq is None or res.aborted:
                res.aborted = False
                continue  # not items after all: kept as UN (noted)
            d[tag] = DataElement.from_sequence(tag, seq[0], False)
            e = d[tag]
        if e.vr == "SQ":
            if e.un_sequence and implicit_vr(tag, ds) == "SQ":
                e.un_sequence = False
            for item in e.value or ():
                retype_un(item, res)


def decode_into(
    ds: Dataset,
    buf: Any,
    offset: int,
    end: int,
    *,
    implicit: bool,
    little: bool,
    opts: DecodeOptions,
    result: DecodeResult | None = None,
    only_group: int = -1,
) -> int:
    """Fill ``ds`` from ``buf[offset:end]``; return the offset where reading stopped. What
    the read found goes to ``result`` (errors, stopped, aborted)."""
    ds.set_encoding(little, implicit)
    res = result if result is not None else DecodeResult()
    reader = _Reader(buf, opts, res)
    try:
        pos, _ = reader.parse(ds, offset, end, implicit, little, 0, False, only_group)
    except struct.error as exc:  # pragma: no cover - every read is bounds-checked first
        raise InvalidDicomError(f"malformed data: {exc}", offset=offset) from None
    if opts.known_vr_for_un:
        retype_un(ds, res)
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
    known_vr_for_un: bool = False,
) -> Dataset:
    """Decode a data set encoded as ``implicit``/``little`` from ``buf[offset:end]``.

    ``charsets`` (a :class:`~dicomkit.core.values._charset.Charsets`) applies when the data set
    has no (0008,0005) of its own, e.g. a C-FIND identifier in an association that agreed one.
    """
    ds = Dataset()
    opts = DecodeOptions.make(
        lenient=lenient,
        stop_before_pixels=stop_before_pixels,
        specific_tags=specific_tags,
        known_vr_for_un=known_vr_for_un,
    )
    res = DecodeResult()
    decode_into(
        ds,
        buf,
        offset,
        len(buf) if end is None else end,
        implicit=implicit,
        little=little,
        opts=opts,
        result=res,
    )
    ds.read_errors = res.errors
    if charsets is not None and SPECIFIC_CHARACTER_SET not in ds.raw_elements:
        ds.use_charsets(charsets)
    return ds
