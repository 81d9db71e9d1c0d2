"""A cheap check of an incoming data set from its first bytes (PS3.4 B.2.3, PS3.5 7.1).

A C-STORE receiver feeds the P-DATA fragments of a data set as they arrive; :class:`HeadCheck`
keeps at most ``limit`` bytes (only the head is inflated for deflated syntaxes) and walks the
element headers with the one scanner (:mod:`dicomkit.io._scan`) to tell, before the data set is
kept, whether it is a data set in the negotiated transfer syntax at all and whether its SOP
Class / Instance UIDs are the command's. It is on the hot path of every C-STORE: it decodes
nothing but the two UID values.
"""

from __future__ import annotations

import zlib
from typing import Any

from dicomkit.core._vr import MAX_LENGTH
from dicomkit.dictionary import status_codes
from dicomkit.dictionary.syntaxes import lookup as lookup_syntax
from dicomkit.errors import InvalidDicomError
from dicomkit.io._scan import UNDEFINED, ShortData, header, skip_undefined

__all__ = ["HEAD_CHECK_BYTES", "HeadCheck"]

#: Bytes of an incoming data set (inflated, for deflated syntaxes) kept for :class:`HeadCheck`.
HEAD_CHECK_BYTES = 64 * 1024
_SOP_CLASS_UID = 0x00080016
_SOP_INSTANCE_UID = 0x00080018


def _clean(value: Any) -> str:
    return str(value or "").rstrip("\x00 ").strip()


def _fit(*comments: str) -> str:
    """The first of the alternatives that fits Error Comment (LO) whole; otherwise the last,
    which the command encoder cuts between words (``net.proto`` ``fit_comment``, the one
    cutter)."""
    return next((c for c in comments if len(c) <= MAX_LENGTH["LO"]), comments[-1])


class HeadCheck:
    """A cheap check of an incoming C-STORE data set from its first bytes (PS3.4 B.2.3).

    :meth:`feed` takes the fragments as they arrive and keeps at most ``limit`` bytes (only
    the head is ever inflated for deflated syntaxes); the leading elements are walked in the
    transfer syntax up to and including (0008,0018). When the whole data set fits in the
    head, every top-level element is walked. ``failure`` is then ``(status, comment)``:
    C000 when the bytes are not a data set, A900 when (0008,0016) differs from the command's
    Affected SOP Class UID, C000 when (0008,0018) differs from its Affected SOP Instance UID.
    A head too short to decide (a long element before (0008,0018)) is let through.
    ``leading_only``: never walk past (0008,0018), for a caller that parses the whole data set
    itself before keeping it (the archive).
    """

    def __init__(
        self,
        transfer_syntax: str,
        sop_class: str,
        sop_instance: str,
        *,
        limit: int = HEAD_CHECK_BYTES,
        leading_only: bool = False,
    ) -> None:
        self.leading_only = leading_only
        self.sop_class = _clean(sop_class)
        self.sop_instance = _clean(sop_instance)
        self.limit = limit
        self.head = bytearray()
        self.full = False  # bytes past the limit were left out
        self.done = False
        self.failure: tuple[int, str] | None = None
        self._passed = False  # the leading elements are fine; the rest of the head is kept
        self._inflater: Any = None
        syntax = lookup_syntax(_clean(transfer_syntax))
        if syntax is None:  # a transfer syntax we do not know: nothing to check
            self.done = True
            self.implicit, self.little = False, True
        else:
            self.implicit, self.little, deflated = syntax.encoding
            if deflated:
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self.done:
            return
        room = self.limit - len(self.head)
        if self._inflater is not None:
            try:
                out = self._inflater.decompress(data, room) if room > 0 else b""
            except zlib.error as exc:
                self._fail(
                    status_codes.CannotUnderstand, f"cannot understand: bad deflate stream ({exc})"
                )
                return
            if self._inflater.unconsumed_tail or room <= 0:
                self.full = True
            self.head += out
        else:
            if len(data) > room:
                self.full = True
                data = memoryview(data)[: max(room, 0)]
            self.head += data
        if not self._passed:
            self._judge(complete=False)
        elif self.full:  # the leading elements were fine, and the data set is a long one
            self.done = True
        if self.done:
            self.head = bytearray()  # judged: free the head

    def finish(self) -> tuple[int, str] | None:
        """The verdict once the whole data set has been fed: None to store it."""
        if not self.done and self._passed and self.leading_only:
            self.done = True  # the leading elements were fine: the caller parses the rest
            self.head = bytearray()
        if not self.done:
            if self._inflater is not None and not self.full:
                try:
                    rest = self._inflater.flush()
                    room = self.limit - len(self.head)
                    self.full = len(rest) > room
                    self.head += rest[:room]
                except zlib.error as exc:
                    self._fail(
                        status_codes.CannotUnderstand,
                        f"cannot understand: bad deflate stream ({exc})",
                    )
                    return self.failure
            self._judge(complete=not self.full)
            self.done = True
            self.head = bytearray()
        return self.failure

    def _fail(self, status: int, comment: str) -> None:
        self.failure = (status, comment)
        self.done = True

    def _judge(self, complete: bool) -> None:
        try:
            found = self._walk(complete)
        except ShortData:
            if complete:
                self._fail(
                    status_codes.CannotUnderstand,
                    "cannot understand: the data set ends inside an element",
                )
            elif self.full:
                self.done = True  # cannot tell from the head: let it through
            return
        except InvalidDicomError as exc:
            self._fail(status_codes.CannotUnderstand, f"cannot understand: {exc}")
            return
        # fine so far: a data set that ends within the head is walked whole by finish()
        self._passed = True
        self.done = complete or self.full
        sop_class, sop_instance = found.get(_SOP_CLASS_UID), found.get(_SOP_INSTANCE_UID)
        if sop_class is not None and sop_class != self.sop_class:
            self._fail(
                0xA900,
                _fit(
                    f"SOP Class UID {sop_class} in data set, {self.sop_class} in command",
                    f"data set SOP Class UID {sop_class}",
                    "SOP Class UID of the data set differs from the command's",
                ),
            )
        elif sop_instance is not None and sop_instance != self.sop_instance:
            self._fail(
                0xC000,
                _fit(
                    f"SOP Instance UID {sop_instance} in data set, {self.sop_instance} in command",
                    f"data set SOP Instance UID {sop_instance}",
                    "SOP Instance UID of the data set differs from the command's",
                ),
            )

    def _walk(self, complete: bool) -> dict[int, str]:
        """The (0008,0016) / (0008,0018) values of the head. Not ``complete``: stops at the
        first top-level tag past (0008,0018), raises ShortData when the head ends before it."""
        buf, end = self.head, len(self.head)
        if complete and not end:
            raise InvalidDicomError("empty data set")
        implicit, little = self.implicit, self.little
        found: dict[int, str] = {}
        pos = 0
        while pos < end:
            tag, vr, length, value = header(buf, pos, end, implicit, little)
            if tag > _SOP_INSTANCE_UID and not complete:
                return found
            if tag >> 16 == 0xFFFE:
                raise InvalidDicomError(
                    f"item tag ({tag >> 16:04X},{tag & 0xFFFF:04X}) at offset {pos}"
                )
            if length == UNDEFINED:
                un = vr == b"UN"  # PS3.5 6.2.2: implicit VR little endian items inside
                pos = skip_undefined(buf, value, end, implicit or un, little or un, 1)
                continue
            pos = value + length
            if pos > end:
                raise ShortData("the data ends inside an element", offset=value, tag=tag)
            if tag in (_SOP_CLASS_UID, _SOP_INSTANCE_UID):
                found[tag] = _clean(bytes(buf[value:pos]).decode("ascii", "replace"))
        if not complete:
            raise ShortData("the head ends before (0008,0018)", offset=pos)
        return found
