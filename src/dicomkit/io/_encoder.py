"""Data sets -> bytes for one transfer syntax encoding (PS3.5 7.1, 7.5, Annex A).

Raw value bytes kept from reading are reused whenever they are valid in the target encoding
(byte-swapped for binary VRs when the byte order changes), so that a data set read and written
back unchanged gives the same bytes, including undefined-length sequences and items. Values set
in Python are encoded with :func:`dicomkit.core.values._codec.encode_value`.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable, Iterator
from typing import IO, Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement, _codec
from dicomkit.core._vr import ALL_VRS, CHARSET_VRS, LONG_LENGTH_VRS, padding_for
from dicomkit.errors import InvalidValueError

__all__ = ["encode_dataset", "encode_element", "swap_bytes", "write_dataset"]

_LE_HHL = struct.Struct("<HHL").pack
_BE_HHL = struct.Struct(">HHL").pack
_LE_SHORT = struct.Struct("<HH2sH").pack
_BE_SHORT = struct.Struct(">HH2sH").pack
_LE_LONG = struct.Struct("<HH2sHL").pack
_BE_LONG = struct.Struct(">HH2sHL").pack
_UNDEF = 0xFFFFFFFF

#: Item size for byte swapping of binary VRs (PS3.5 7.3); AT swaps its two 16-bit halves.
_SWAP_SIZE: dict[str, int] = {
    "US": 2,
    "SS": 2,
    "OW": 2,
    "AT": 2,
    "UL": 4,
    "SL": 4,
    "FL": 4,
    "OF": 4,
    "OL": 4,
    "FD": 8,
    "OD": 8,
    "SV": 8,
    "UV": 8,
    "OV": 8,
}
_ARRAY_CODE = {2: "H", 4: "I" if array("I").itemsize == 4 else "L", 8: "Q"}


def swap_bytes(raw: bytes | memoryview, size: int) -> bytes:
    """Reverse the byte order of each ``size``-byte item (a trailing partial item is kept)."""
    n = len(raw) - len(raw) % size
    arr = array(_ARRAY_CODE[size], bytes(raw[:n]))
    arr.byteswap()
    return arr.tobytes() + bytes(raw[n:])


#: The two header bytes of every VR (explicit VR encodings).
_VR_BYTES: dict[str, bytes] = {vr: vr.encode() for vr in ALL_VRS}


def _wire_vr(vr: str) -> str:
    if vr in ALL_VRS:
        return vr
    if " or " in vr:
        return vr.split(" or ")[0]
    return "UN"


def _known_sequence(tag: int) -> bool:
    """Whether the (public) dictionary knows ``tag`` as SQ."""
    if tag >> 16 & 1:
        return False
    from dicomkit.io._vrlookup import implicit_vr

    return implicit_vr(tag) == "SQ"


class _Encoder:
    __slots__ = ("hhl", "implicit", "little", "long", "short")

    def __init__(self, implicit: bool, little: bool) -> None:
        self.implicit = implicit
        self.little = little
        self.hhl = _LE_HHL if little else _BE_HHL
        self.short = _LE_SHORT if little else _BE_SHORT
        self.long = _LE_LONG if little else _BE_LONG

    def header(self, tag: int, vr: str, length: int) -> bytes:
        g, e = tag >> 16, tag & 0xFFFF
        if self.implicit:
            return self.hhl(g, e, length)
        if vr in LONG_LENGTH_VRS:
            return self.long(g, e, vr.encode(), 0, length)
        return self.short(g, e, vr.encode(), length)

    def value_bytes(self, ds: Dataset, tag: int, vr: str, entry: Any) -> bytes | memoryview:
        """The value bytes of a non-sequence element in the target encoding."""
        if type(entry) is tuple:
            raw, little, cs_ok = entry[1], ds.is_little_endian, True
            el = None
        else:
            el = entry
            raw, little = el.raw, el.is_little_endian
            cs_ok = (
                raw is None
                or vr not in CHARSET_VRS
                or el.charsets is None
                or el.charsets == ds.charsets
            )
        if raw is not None and cs_ok:
            if len(raw) & 1:  # an odd length as read (e.g. 8-bit pixels in OW): pad it
                raw = bytes(raw) + padding_for(vr)
            if little != self.little and vr in _SWAP_SIZE:
                raw = swap_bytes(raw, _SWAP_SIZE[vr])
            return raw  # type: ignore[no-any-return]
        if el is None:  # pragma: no cover - tuples always carry raw bytes
            el = ds[tag]
        value = el.value
        if isinstance(value, (bytes, bytearray, memoryview)) and vr in (
            "OB",
            "UN",
            "OW",
            "OF",
            "OD",
            "OL",
            "OV",
        ):
            # bytes of a word VR are in the data set's byte order (values.codec convention)
            data: bytes | memoryview = bytes(value) if isinstance(value, bytearray) else value
            if ds.is_little_endian != self.little and vr in _SWAP_SIZE:
                data = swap_bytes(data, _SWAP_SIZE[vr])
            if len(data) % 2:
                data = bytes(data) + b"\x00"
            return data
        try:
            out = _codec().encode_value(vr, value, self.little, ds.charsets)
        except InvalidValueError as exc:  # say which element: "(0028,0010) Rows: ..."
            raise InvalidValueError(f"{_element_name(el.tag)}: {exc}") from None
        except (TypeError, ValueError, OverflowError, struct.error) as exc:
            raise InvalidValueError(
                f"cannot encode {value!r} as {vr} for {el.tag}: {exc}"
            ) from None
        if len(out) % 2:
            out = bytes(out) + padding_for(vr)
        return out  # type: ignore[no-any-return]

    def dataset(self, ds: Dataset, out: list[bytes | memoryview]) -> None:
        same = ds.is_implicit_vr is self.implicit and ds.is_little_endian is self.little
        tags = iter(ds)  # in tag order (the storage is sorted first when it is not)
        d = ds.raw_elements
        element = self.element
        for tag in tags:
            element(ds, d[tag], tag, same, out)

    def element(
        self, ds: Dataset, entry: Any, tag: int, same: bool, out: list[bytes | memoryview]
    ) -> None:
        if same and type(entry) is tuple:
            # Fast path: an element never touched since it was read, written in the encoding it
            # was read in: its header again and its value bytes as they are.
            vr, raw = entry[0], entry[1]
            n = len(raw)
            if n & 1 and vr != "SQ":  # odd, as some writers leave it: PS3.5 7.1.1 wants even
                raw, n = bytes(raw) + padding_for(vr), n + 1
            if self.implicit:
                out.append(self.hhl(tag >> 16, tag & 0xFFFF, n))
                out.append(raw)
                return
            code = _VR_BYTES.get(vr)
            if code is not None and vr != "SQ":
                if vr in LONG_LENGTH_VRS:
                    out.append(self.long(tag >> 16, tag & 0xFFFF, code, 0, n))
                    out.append(raw)
                    return
                if n <= 0xFFFF:
                    out.append(self.short(tag >> 16, tag & 0xFFFF, code, n))
                    out.append(raw)
                    return
        if tag & 0xFFFF == 0 and not same and tag >> 16 > 2:
            # Retired data set group lengths (PS3.5 7.2) are only kept when the encoding is
            # unchanged; command (0000) and File Meta (0002) group lengths always are.
            return
        vr = _wire_vr(entry[0] if type(entry) is tuple else entry.vr)
        if vr == "SQ":
            self.sequence(tag, entry, out, same)
            return
        if type(entry) is not tuple and entry.is_undefined_length:
            raw = entry.raw if entry.raw is not None else entry.value
            out.append(self.header(tag, vr, _UNDEF))
            out.append(raw)
            out.append(self.hhl(0xFFFE, 0xE0DD, 0))
            return
        value = self.value_bytes(ds, tag, vr, entry)
        n = len(value)
        if not self.implicit and vr not in LONG_LENGTH_VRS and n > 0xFFFF:
            vr = "UN"  # too long for a 16-bit length field (PS3.5 6.2.2 note)
        out.append(self.header(tag, vr, n))
        out.append(value)

    def sequence(
        self, tag: int, el: DataElement, out: list[bytes | memoryview], same: bool = True
    ) -> None:
        lazy = el.lazy_sequence
        if lazy is not None:
            # Never parsed, so never changed: copy its bytes when they are already in the
            # target encoding (the items as read, and the delimiter for undefined length).
            # A UN sequence's items are implicit VR little endian in every explicit syntax.
            if el.un_sequence and not self.implicit:
                raw = lazy.raw
                out.append(self.header(tag, "UN", _UNDEF))
                out.append(raw)
                return
            if not el.un_sequence and lazy.implicit is self.implicit and lazy.little is self.little:
                raw = lazy.raw
                out.append(self.header(tag, "SQ", _UNDEF if el.is_undefined_length else len(raw)))
                out.append(raw)
                return
        items = el.value or []
        if el.un_sequence and not self.implicit:
            # PS3.5 6.2.2: an explicit UN of undefined length holds implicit VR LE items.
            inner = _Encoder(True, True)
            body: list[bytes | memoryview] = []
            inner.items(items, body)
            out.append(self.header(tag, "UN", _UNDEF))
            out.extend(body)
            out.append(inner.hhl(0xFFFE, 0xE0DD, 0))
            return
        body = []
        self.items(items, body)
        undefined = el.is_undefined_length
        if undefined and self.implicit and not same and not _known_sequence(tag):
            # A reader without our dictionary sees an implicit-VR element of unknown VR: with a
            # defined length it can skip it as UN instead of guessing (PS3.5 6.2.2, CP-246).
            undefined = False
        if undefined:
            out.append(self.header(tag, "SQ", _UNDEF))
            out.extend(body)
            out.append(self.hhl(0xFFFE, 0xE0DD, 0))
        else:
            out.append(self.header(tag, "SQ", sum(len(b) for b in body)))
            out.extend(body)

    def items(self, items: list[Dataset], out: list[bytes | memoryview]) -> None:
        for item in items:
            body: list[bytes | memoryview] = []
            self.dataset(item, body)
            if item.is_undefined_length_item:
                out.append(self.hhl(0xFFFE, 0xE000, _UNDEF))
                out.extend(body)
                out.append(self.hhl(0xFFFE, 0xE00D, 0))
            else:
                out.append(self.hhl(0xFFFE, 0xE000, sum(len(b) for b in body)))
                out.extend(body)


def iter_encoded(ds: Dataset, *, implicit: bool, little: bool) -> Iterator[bytes | memoryview]:
    """The encoding of ``ds`` as a series of buffers (headers and values; large values are
    not copied)."""
    out: list[bytes | memoryview] = []
    _Encoder(implicit, little).dataset(ds, out)
    return iter(out)


def encode_dataset(ds: Dataset, *, implicit: bool, little: bool) -> bytes:
    """The bytes of ``ds`` encoded as implicit/explicit VR, little/big endian (no File Meta)."""
    out: list[bytes | memoryview] = []
    _Encoder(implicit, little).dataset(ds, out)
    return b"".join(out)


def encode_element(el: DataElement, *, implicit: bool, little: bool) -> bytes:
    """One element with its header, as it would appear in a data set."""
    ds = Dataset()
    ds.add(el)
    return encode_dataset(ds, implicit=implicit, little=little)


#: Buffers at least this long are written as they are; shorter ones are gathered first.
_DIRECT_WRITE = 64 * 1024


def write_dataset(ds: Dataset, fp: IO[bytes], *, implicit: bool, little: bool) -> None:
    """Write ``ds`` to a binary file object (large values are written without a copy)."""
    write_buffers(fp, iter_encoded(ds, implicit=implicit, little=little))


def write_buffers(fp: IO[bytes], chunks: Iterable[bytes | memoryview]) -> None:
    """Write encoded buffers in order. Small headers and values are gathered into one buffer
    and written together (one write call per element costs more than the copy it avoids);
    buffers of at least 64 KiB are written as they are."""
    pending: list[bytes | memoryview] = []
    for chunk in chunks:
        if len(chunk) >= _DIRECT_WRITE:
            if pending:
                fp.write(b"".join(pending))
                pending.clear()
            fp.write(chunk)
        else:
            pending.append(chunk)
    if pending:
        fp.write(b"".join(pending))


def _element_name(tag: int) -> str:
    """``(0028,0010) Rows`` for an error message (the keyword when the dictionary has one)."""
    from dicomkit import dictionary

    keyword = "" if tag >> 16 & 1 else dictionary.keyword_for_tag(tag)
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})" + (f" {keyword}" if keyword else "")
