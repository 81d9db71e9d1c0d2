"""Element value bytes <-> Python values for every VR except SQ (PS3.5 6.2, 6.4).

:func:`decode_value` is on the hot path of the reader: one dict lookup selects a decoder per VR;
binary numbers are unpacked with precompiled ``struct`` objects (one value) or a
``memoryview.cast`` (many values, host byte order); text tries a plain ASCII decode first.

Decoded values (PS3.5 6.2 for padding, 6.4 for multiplicity):

* text VRs split on ``\\`` (except LT, ST, UT, UR); one value -> the value, several ->
  :class:`MultiValue`; padding is removed: leading and trailing spaces for AE, AS, CS, DA, DS,
  DT, IS, LO, SH, TM; trailing spaces only for LT, ST, UT, UC, UR, PN (leading spaces are
  significant there); trailing NULs everywhere (UI's padding, and a common writer error);
* empty -> ``""`` for text, ``None`` for binary numbers, AT, IS and DS; ``b""`` for O* / UN;
* IS -> :class:`IS`, DS -> :class:`DS` (unparseable text stays ``str``, logged), PN ->
  :class:`PersonName`, DA/TM/DT -> ``str`` (see :mod:`.dates`), AT -> :class:`Tag`;
* OB/OD/OF/OL/OV/OW/UN -> ``bytes``, in the byte order of the data set as read (swapping a
  word VR between byte orders is the encoder's job: ``BYTES_VRS`` gives the item size).

:func:`encode_value` accepts what decoding produces and the natural Python inputs (see its
docstring); it returns the even-length, padded value bytes.
"""

from __future__ import annotations

import logging
import struct
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from decimal import Decimal
from numbers import Integral, Real
from typing import Any

from dicomkit.core._mapped import PREAD_MIN, copy_out
from dicomkit.core._tag import Tag
from dicomkit.core._vr import BINARY_VRS, STRING_VRS
from dicomkit.core.values._charset import DEFAULT_CHARSETS, Charsets
from dicomkit.core.values._dates import format_da, format_dt, format_tm
from dicomkit.core.values._numbers import DS, IS, fast_ds, fast_is, format_ds
from dicomkit.core.values._person_name import PersonName
from dicomkit.errors import InvalidValueError

log = logging.getLogger(__name__)

_LITTLE_HOST = sys.byteorder == "little"


class MultiValue(list[Any]):
    """The value of an element with VM > 1 (a plain list with a DICOM-ish ``str``)."""

    __slots__ = ()

    def __str__(self) -> str:
        return "\\".join(str(v) for v in self)


Decoder = Callable[[Any, bool, Charsets], Any]
Encoder = Callable[[str, Any, bool, Charsets], bytes]

# ---------------------------------------------------------------------------------------------
# decoding
# ---------------------------------------------------------------------------------------------


def _text(raw: Any, cs: Charsets, vr: str) -> str:
    if type(raw) is not bytes:
        raw = bytes(raw)
    if cs.is_default:
        try:
            text: str = raw.decode("ascii")
            return text
        except UnicodeDecodeError:
            pass
    return cs.decode(raw, vr)


def _strip_both(vr: str) -> Decoder:
    def dec(raw: Any, little: bool, cs: Charsets) -> Any:
        text = _text(raw, cs, vr)
        if "\\" in text:
            return MultiValue([v.strip(" \x00") for v in text.split("\\")])
        return text.strip(" \x00")

    return dec


def _strip_trailing(vr: str) -> Decoder:
    def dec(raw: Any, little: bool, cs: Charsets) -> Any:
        text = _text(raw, cs, vr)
        if "\\" in text:
            return MultiValue([v.rstrip(" \x00") for v in text.split("\\")])
        return text.rstrip(" \x00")

    return dec


def _single_text(vr: str) -> Decoder:
    def dec(raw: Any, little: bool, cs: Charsets) -> str:
        return _text(raw, cs, vr).rstrip(" \x00")

    return dec


def _dec_pn(raw: Any, little: bool, cs: Charsets) -> Any:
    text = _text(raw, cs, "PN").rstrip(" \x00")
    new = str.__new__
    if "\\" in text:
        return MultiValue([new(PersonName, v.rstrip(" ")) for v in text.split("\\")])
    return new(PersonName, text)


def _number_string(make: Callable[[str], Any], vr: str) -> Decoder:
    def one(text: str) -> Any:
        try:
            return make(text)
        except InvalidValueError:
            if not text.strip(" "):
                return None
            log.debug("invalid %s value %r kept as text", vr, text)
            return text.strip(" ")

    def dec(raw: Any, little: bool, cs: Charsets) -> Any:
        text = _text(raw, cs, vr)
        if text[-1:] == "\x00":
            text = text.rstrip("\x00")
        if "\\" in text:
            return MultiValue([one(v) for v in text.split("\\")])
        return one(text)

    return dec


def _binary_number(vr: str, fmt: str, size: int) -> Decoder:
    le, be = struct.Struct("<" + fmt), struct.Struct(">" + fmt)

    def dec(raw: Any, little: bool, cs: Charsets) -> Any:
        n = len(raw)
        if n == size:
            return (le if little else be).unpack(raw)[0]
        if n == 0:
            return None
        count, rest = divmod(n, size)
        if rest:
            raise InvalidValueError(f"{vr} value of {n} bytes is not a multiple of {size}")
        if little == _LITTLE_HOST:
            mv = memoryview(raw)
            if mv.format != "B" or mv.ndim != 1:
                mv = mv.cast("B")
            return MultiValue(mv.cast(fmt).tolist())  # type: ignore[call-overload]
        return MultiValue(struct.unpack(("<" if little else ">") + str(count) + fmt, raw))

    return dec


_AT_LE = struct.Struct("<HH").unpack
_AT_BE = struct.Struct(">HH").unpack


def _dec_at(raw: Any, little: bool, cs: Charsets) -> Any:
    n = len(raw)
    if n == 0:
        return None
    if n == 4:
        g, e = (_AT_LE if little else _AT_BE)(raw)
        return int.__new__(Tag, g << 16 | e)
    if n % 4:
        raise InvalidValueError(f"AT value of {n} bytes is not a multiple of 4")
    words = struct.unpack(("<" if little else ">") + str(n // 2) + "H", raw)
    new = int.__new__
    tags = [new(Tag, words[i] << 16 | words[i + 1]) for i in range(0, len(words), 2)]
    return tags[0] if len(tags) == 1 else MultiValue(tags)


def _dec_bytes(raw: Any, little: bool, cs: Charsets) -> bytes:
    if type(raw) is bytes:
        return raw
    if type(raw) is memoryview and len(raw) >= PREAD_MIN:
        data = copy_out(raw)  # a large value of a memory-mapped file: read, not faulted in
        if data is not None:
            return data
    return bytes(raw)


def _dec_sq(raw: Any, little: bool, cs: Charsets) -> Any:
    raise InvalidValueError("SQ values are items, decoded by the data set reader, not codec")


_NUMBER_FORMATS: dict[str, tuple[str, int]] = {
    # native-size struct codes usable with memoryview.cast ("I", not "L", for 4 bytes)
    "US": ("H", 2),
    "SS": ("h", 2),
    "UL": ("I", 4),
    "SL": ("i", 4),
    "FL": ("f", 4),
    "FD": ("d", 8),
    "SV": ("q", 8),
    "UV": ("Q", 8),
}

_NUMPY_CODES = {
    "H": "u2",
    "h": "i2",
    "I": "u4",
    "i": "i4",
    "f": "f4",
    "d": "f8",
    "q": "i8",
    "Q": "u8",
}

_DECODERS: dict[str, Decoder] = {
    **{vr: _strip_both(vr) for vr in ("AE", "AS", "CS", "DA", "DT", "LO", "SH", "TM", "UI")},
    "UC": _strip_trailing("UC"),
    **{vr: _single_text(vr) for vr in ("LT", "ST", "UT", "UR")},
    "PN": _dec_pn,
    "IS": _number_string(fast_is, "IS"),
    "DS": _number_string(fast_ds, "DS"),
    **{vr: _binary_number(vr, f, s) for vr, (f, s) in _NUMBER_FORMATS.items()},
    "AT": _dec_at,
    **dict.fromkeys(BINARY_VRS, _dec_bytes),
    "SQ": _dec_sq,
}


def decode_value(
    vr: str,
    raw: bytes | bytearray | memoryview,
    little: bool = True,
    charsets: Charsets = DEFAULT_CHARSETS,
) -> Any:
    """Decode the value bytes of one element of VR ``vr`` (not SQ).

    ``little`` is the byte order of the data set; ``charsets`` its Specific Character Set.
    Raises :class:`InvalidValueError` for a binary value whose length does not fit its VR;
    text never raises (undecodable bytes decode leniently, see :mod:`.charset`).
    """
    try:
        decoder = _DECODERS[vr]
    except KeyError:
        raise InvalidValueError(f"unknown VR {vr!r}") from None
    return decoder(raw, little, charsets)


# ---------------------------------------------------------------------------------------------
# encoding
# ---------------------------------------------------------------------------------------------


def _items(value: Any) -> list[Any]:
    if isinstance(value, (str, bytes, bytearray, memoryview, int, float, date, time, Decimal)):
        return [value]
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy array or scalar
        value = value.tolist()
        return value if isinstance(value, list) else [value]
    if isinstance(value, Iterable):
        return list(value)
    return [value]


def _text_item(vr: str, v: Any) -> str:
    if v is None:
        return ""
    if vr == "IS":
        if isinstance(v, IS):
            return v.to_text()
        if isinstance(v, str):
            if v.strip():
                IS(v)  # validate
            return v
        if isinstance(v, (Integral, Real, Decimal)) and not isinstance(v, bool):
            return IS(float(v) if not isinstance(v, Integral) else int(v)).to_text()
        raise InvalidValueError(f"IS value must be an int or integer text, not {v!r}")
    if vr == "DS":
        if isinstance(v, DS):
            return v.to_text()
        if isinstance(v, str):
            if v.strip():
                DS(v)
            return v
        if isinstance(v, Integral) and not isinstance(v, bool):
            return format_ds(int(v))
        if isinstance(v, (Real, Decimal)) and not isinstance(v, bool):
            return format_ds(float(v))
        raise InvalidValueError(f"DS value must be a number or decimal text, not {v!r}")
    if isinstance(v, str):
        return v
    if vr in ("DA", "TM", "DT"):
        if isinstance(v, datetime):
            return (
                format_da(v) if vr == "DA" else format_tm(v.time()) if vr == "TM" else format_dt(v)
            )
        if isinstance(v, date) and vr in ("DA", "DT"):
            return format_da(v)
        if isinstance(v, time) and vr == "TM":
            return format_tm(v)
    raise InvalidValueError(f"{vr} value must be text, not {type(v).__name__} {v!r}")


_SINGLE_VALUED = frozenset({"LT", "ST", "UT", "UR"})


def _enc_text(vr: str, value: Any, little: bool, cs: Charsets) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)  # already encoded
    else:
        if isinstance(value, str):
            if vr in ("IS", "DS"):
                for part in value.split("\\"):
                    _text_item(vr, part)
            text = value
        else:
            items = _items(value)
            if vr in _SINGLE_VALUED and len(items) > 1:
                raise InvalidValueError(f"{vr} holds one value, got {len(items)}")
            text = "\\".join([_text_item(vr, v) for v in items])
        data = text.encode("ascii") if text.isascii() else cs.encode(text, vr)
    if len(data) & 1:
        data += b"\x00" if vr == "UI" else b" "
    return data


def _enc_pn(vr: str, value: Any, little: bool, cs: Charsets) -> bytes:
    return _enc_text(vr, value, little, cs)


def _number_encoder(vr: str, fmt: str, size: int) -> Encoder:
    le, be = struct.Struct("<" + fmt), struct.Struct(">" + fmt)
    is_float = fmt in "fd"

    def enc(vr_: str, value: Any, little: bool, cs: Charsets) -> bytes:
        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
            if len(data) % size:
                raise InvalidValueError(f"{vr}: {len(data)} bytes is not a multiple of {size}")
            return data
        if hasattr(value, "dtype") and hasattr(value, "astype") and value.ndim > 0:
            dtype = ("<" if little else ">") + _NUMPY_CODES[fmt]
            return bytes(value.astype(dtype).tobytes())
        if isinstance(value, str):
            raise InvalidValueError(f"{vr} values must be numbers, not text {value!r}")
        try:
            if not isinstance(value, Iterable):
                return (le if little else be).pack(value)
            items = list(value)
            if any(v is None or isinstance(v, str) for v in items):
                raise InvalidValueError(f"{vr} values must be numbers, got {value!r}")
            return struct.pack(("<" if little else ">") + str(len(items)) + fmt, *items)
        except struct.error as exc:
            kind = "numbers" if is_float else "integers in range"
            raise InvalidValueError(f"{vr} values must be {kind}: {value!r} ({exc})") from None

    return enc


def _enc_at(vr: str, value: Any, little: bool, cs: Charsets) -> bytes:
    items = [value] if isinstance(value, (int, str, tuple)) else _items(value)
    words: list[int] = []
    for v in items:
        try:
            tag = Tag(v)
        except (InvalidValueError, KeyError) as exc:
            raise InvalidValueError(f"AT value must be a tag, got {v!r}: {exc}") from None
        words += (tag >> 16, tag & 0xFFFF)
    return struct.pack(("<" if little else ">") + str(len(words)) + "H", *words)


_BYTES_ITEM: dict[str, str] = {
    "OB": "B",
    "UN": "B",
    "OW": "H",
    "OF": "f",
    "OL": "I",
    "OD": "d",
    "OV": "Q",
}


def _enc_bytes(vr: str, value: Any, little: bool, cs: Charsets) -> bytes:
    if isinstance(value, bytes):
        data = value
    elif isinstance(value, (bytearray, memoryview)):
        data = bytes(value)
    elif hasattr(value, "dtype") and hasattr(value, "tobytes"):
        dtype = value.dtype
        if dtype.itemsize > 1:
            value = value.astype(dtype.newbyteorder("<" if little else ">"))
        data = bytes(value.tobytes())
    elif isinstance(value, (list, tuple)):
        fmt = _BYTES_ITEM[vr]
        try:
            data = struct.pack(("<" if little else ">") + str(len(value)) + fmt, *value)
        except struct.error as exc:
            raise InvalidValueError(f"{vr} items must be numbers for {fmt!r}: {exc}") from None
    else:
        raise InvalidValueError(f"{vr} value must be bytes or an array, not {type(value).__name__}")
    if len(data) & 1:
        data += b"\x00"
    return data


def _enc_sq(vr: str, value: Any, little: bool, cs: Charsets) -> bytes:
    raise InvalidValueError("SQ values are encoded by the data set writer, not codec")


_ENCODERS: dict[str, Encoder] = {
    **dict.fromkeys(STRING_VRS - {"PN"}, _enc_text),
    "PN": _enc_pn,
    **{vr: _number_encoder(vr, f, s) for vr, (f, s) in _NUMBER_FORMATS.items()},
    "AT": _enc_at,
    **dict.fromkeys(BINARY_VRS, _enc_bytes),
    "SQ": _enc_sq,
}


def encode_value(
    vr: str, value: Any, little: bool = True, charsets: Charsets = DEFAULT_CHARSETS
) -> bytes:
    """Encode ``value`` for VR ``vr`` (not SQ): even length, padded per PS3.5 6.2.

    Accepts ``None`` (empty); for text VRs a ``str`` (backslashes separate values), a list or
    tuple of values, ``bytes`` already encoded; ``IS``/``DS`` objects (written as their original
    text), ints/floats for IS/DS (DS formatted to at most 16 characters), ``PersonName``,
    ``date``/``time``/``datetime`` for DA/TM/DT; for AT a tag (``Tag``, int, keyword or
    ``"(gggg,eeee)"``) or a list of them; for binary numbers a number, a sequence or a numpy
    array; for O* and UN ``bytes``/``bytearray``/``memoryview``, a numpy array (written in the
    requested byte order) or a list of numbers. Raises :class:`InvalidValueError` for values
    that do not fit the VR and :class:`CharsetError` for text the character set cannot hold.
    """
    if value is None:
        return b""
    try:
        encoder = _ENCODERS[vr]
    except KeyError:
        raise InvalidValueError(f"unknown VR {vr!r}") from None
    return encoder(vr, value, little, charsets)


__all__ = ["MultiValue", "decode_value", "encode_value"]
