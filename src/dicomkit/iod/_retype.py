"""Give UN elements the VR the dictionaries know, so a data set can be held to its IOD.

A file written by a tool that did not know its attributes carries them as UN (PS3.5 6.2.2);
their values are still the bytes of the real VR (little endian, sequences as implicit VR
items). To validate such a data set against its IOD the validator reads those bytes again as
implicit VR little endian, where the VR comes from the data dictionary, or from the private
dictionary under the block's Private Creator. What neither dictionary knows stays UN.
"""

from __future__ import annotations

import struct

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.errors import DicomError
from dicomkit.io._decoder import decode_dataset

__all__ = ["has_un", "retyped"]

_PIXEL_REPRESENTATION = 0x00280103
_SPECIFIC_CHARACTER_SET = 0x00080005


def has_un(ds: Dataset, depth: int = 0) -> bool:
    """True if ``ds`` or an item nested in it holds an element of VR UN."""
    for el in ds.elements():
        if el.vr == "UN":
            return True
        if el.vr == "SQ" and depth < 32:
            value = el.value
            if isinstance(value, list) and any(
                isinstance(i, Dataset) and has_un(i, depth + 1) for i in value
            ):
                return True
    return False


def retyped(ds: Dataset) -> Dataset:
    """A copy of ``ds`` whose UN elements carry the dictionaries' VR (``ds`` is untouched)."""
    new = ds.copy()
    _retype_level(new, 0)
    return new


def _implicit(tag: int, raw: bytes) -> bytes:
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(raw)) + raw


def _helper_raw(el: DataElement) -> bytes | None:
    """The little-endian bytes of a Private Creator, Pixel Representation or character set."""
    if el.raw is not None:
        if el.vr in ("US", "SS") and not el.is_little_endian:
            return bytes(el.raw)[::-1]
        return bytes(el.raw)
    try:
        value = el.value
    except (DicomError, ValueError):
        return None
    if isinstance(value, int):
        return struct.pack("<H", value & 0xFFFF)
    values = value if isinstance(value, list) else [value]
    text = "\\".join(str(v) for v in values).encode("ascii", "replace")
    return text + b" " * (len(text) & 1)


def _retype_level(ds: Dataset, depth: int) -> None:
    un = [el for el in ds.elements() if el.vr == "UN" and el.raw is not None]
    if un:
        # The elements a UN's VR depends on travel with it: the Private Creators of the
        # blocks (PS3.5 7.8.1) and Pixel Representation ("US or SS", PS3.3 C.7.6.3).
        parts = {int(el.tag): bytes(el.raw or b"") for el in un}
        for el in ds.elements():
            tag = int(el.tag)
            if el.vr != "UN" and (
                tag in (_PIXEL_REPRESENTATION, _SPECIFIC_CHARACTER_SET)
                or (tag >> 16 & 1 and 0x10 <= tag & 0xFFFF <= 0xFF)
            ):
                raw = _helper_raw(el)
                if raw is not None:
                    parts[tag] = raw
        stream = b"".join(_implicit(tag, parts[tag]) for tag in sorted(parts))
        try:
            again = decode_dataset(stream, implicit=True, little=True, lenient=True)
        except (DicomError, ValueError):
            again = None
        if again is not None:
            for el in un:
                tag = int(el.tag)
                if tag in again and again[tag].vr != "UN":
                    ds.add(again[tag])
    if depth >= 32:
        return
    for el in ds.elements():
        if el.vr == "SQ":
            value = el.value
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, Dataset):
                        _retype_level(item, depth + 1)
