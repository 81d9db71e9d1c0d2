"""QIDO-RS results straight to DICOM JSON (PS3.18 F.2), without building data sets.

A search result is a list of ``(tag, keyword, VR, value)`` with text values as the index
keeps them (several values joined by ``\\``). Going through a :class:`Dataset` (encode the
text, decode it again, convert each element) cost about 0.25 ms per match -- a quarter of a
second for a thousand instances. Here each text value is split and converted once; a value
of any other shape (sequences, numbers already typed) takes the data set path, so both give
the same JSON (``tests/web/test_qido_json.py`` compares them).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from dicomkit.io import to_json
from dicomkit.services._query_retrieve import elements_to_dataset

__all__ = ["result_to_json"]

_ONE_VALUE = frozenset({"LT", "ST", "UT", "UR"})  # "\" is a character there, not a separator
_INTS = frozenset({"US", "SS", "UL", "SL", "IS"})
_FLOATS = frozenset({"FL", "FD", "DS"})
_SAFE_INT = 2**53
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
_SLOW = object()


def _number(vr: str, text: str) -> Any:
    text = text.strip()
    if not text:
        return None
    try:
        if vr in _INTS:
            return int(text)
        f = float(text)
    except ValueError:
        return _SLOW
    if not math.isfinite(f):
        return _SLOW
    if vr == "DS" and f.is_integer() and abs(f) < _SAFE_INT:
        return int(f)
    return f


def _values(vr: str, text: str) -> list[Any] | None:
    """The JSON ``Value`` array of one text value, or None when the data set path must
    convert it."""
    parts = [text] if vr in _ONE_VALUE else text.split("\\")
    out: list[Any] = []
    if vr == "PN":
        for p in parts:
            groups = {n: g for n, g in zip(_PN_GROUPS, p.split("="), strict=False) if g}
            out.append(groups or None)
        return out
    if vr in _INTS or vr in _FLOATS:
        for p in parts:
            v = _number(vr, p)
            if v is _SLOW:
                return None
            out.append(v)
        return out
    if vr == "AT":
        return None
    return [p if p != "" else None for p in parts]


def result_to_json(elements: Iterable[tuple[int, str, str, Any]]) -> dict[str, Any]:
    """The DICOM JSON object of one search result's elements."""
    out: dict[str, Any] = {}
    slow: list[tuple[int, str, str, Any]] = []
    for tag, kw, vr, value in elements:
        if value is None or value == "" or (type(value) is list and not value):
            out[f"{tag:08X}"] = {"vr": vr}
            continue
        if type(value) is list and all(type(v) is str for v in value):
            value = "\\".join(value)  # several values, as the index keeps them
        values = _values(vr, value) if type(value) is str else None
        if values is None:
            slow.append((tag, kw, vr, value))
        else:
            out[f"{tag:08X}"] = {"vr": vr, "Value": values}
    if slow:
        out.update(to_json(elements_to_dataset(slow)))
    return dict(sorted(out.items()))
