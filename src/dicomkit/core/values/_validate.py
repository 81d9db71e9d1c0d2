"""Checking a value against its VR when it is set (PS3.5 6.2): length, character repertoire,
format (dates, times, UIDs, numbers) and range.

:class:`Validation` is the mode, chosen per call (``ds.set(key, value, validation=...)``) or
per data set (``ds.validation``, also ``read(..., validation=...)``); there is no global
switch. ``WARN`` (the default) issues an :class:`InvalidValueWarning`, ``RAISE`` raises
:class:`~dicomkit.errors.InvalidValueError`, ``OFF`` skips the check (for speed, or for
query identifiers whose wildcards and ranges are not storage values). Every message names
the element: tag and keyword. Reading never checks (values decode lazily, on first use).
"""

from __future__ import annotations

import re
import warnings
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from dicomkit.core._vr import MAX_LENGTH
from dicomkit.errors import InvalidValueError

__all__ = ["InvalidValueWarning", "Validation", "problem", "validate"]


class Validation(StrEnum):
    """What setting an invalid value does: warn (default), raise, or nothing (off)."""

    OFF = "off"
    WARN = "warn"
    RAISE = "raise"


class InvalidValueWarning(UserWarning):
    """A value that does not fit its VR was set (:attr:`Validation.WARN`)."""


_SINGLE = frozenset({"LT", "ST", "UT", "UR"})  # VM 1 by definition: a backslash is text
_CS = re.compile(r"[A-Z0-9 _]*")
_AS = re.compile(r"\d{3}[DWMY]")
_TM = re.compile(r"([01]\d|2[0-3])([0-5]\d(60|[0-5]\d(\.\d{1,6})?)?)?")
_DT = re.compile(r"\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?")
_UID = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")
_IS = re.compile(r"[+-]?\d+")
_DS = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_INT_RANGE = {
    "US": (0, 0xFFFF),
    "SS": (-0x8000, 0x7FFF),
    "UL": (0, 0xFFFFFFFF),
    "SL": (-0x80000000, 0x7FFFFFFF),
    "UV": (0, 0xFFFFFFFFFFFFFFFF),
    "SV": (-0x8000000000000000, 0x7FFFFFFFFFFFFFFF),
}
_TEXT = frozenset(MAX_LENGTH) | {"UC", "UR", "UT"}


def _values(vr: str, value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value] if vr in _SINGLE else value.split("\\")
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _text_problem(vr: str, v: str) -> str | None:
    text = v.strip(" \x00") if vr not in ("LT", "ST", "UT") else v.rstrip(" \x00")
    if vr in ("DA", "DT", "TM"):
        return _temporal_problem(vr, text) if text else None
    limit = MAX_LENGTH.get(vr)
    if vr == "PN":
        long = [g for g in text.split("=") if len(g) > 64]
        if long:
            return f"a component group of {len(long[0])} characters (at most 64)"
    elif limit is not None and len(text) > limit:
        return f"{len(text)} characters (at most {limit})"
    if not text:
        return None
    if vr == "CS" and not _CS.fullmatch(text):
        return "only upper-case letters, digits, space and underscore are allowed"
    if vr == "AE" and (not text.isascii() or not text.isprintable() or "\\" in text):
        return "only printable ASCII without a backslash is allowed"
    if vr == "AS" and not _AS.fullmatch(text):
        return "not an age: nnnD, nnnW, nnnM or nnnY"
    if vr == "UI":
        if not _UID.fullmatch(text):
            return "not a UID: digits separated by single dots, no leading zeros"
    elif vr == "IS":
        if not _IS.fullmatch(text):
            return "not an integer string"
        if not -(2**31) <= int(text) < 2**31:
            return "out of the IS range (-2^31 .. 2^31-1)"
    elif vr == "DS" and not _DS.fullmatch(text):
        return "not a decimal string"
    return None


def _temporal_problem(vr: str, text: str) -> str | None:
    """DA, TM, DT: one value, or a range ``A-B`` / ``A-`` / ``-B`` of them (PS3.4 C.2.2.2.5,
    as query keys carry them); DA also as ACR-NEMA ``YYYY.MM.DD`` (PS3.5 6.2, still met)."""
    if _temporal_ok(vr, text):
        return None
    for i, c in enumerate(text):
        if c == "-":
            low, high = text[:i], text[i + 1 :]
            if (low or high) and all(not x or _temporal_ok(vr, x) for x in (low, high)):
                return None
    return {
        "DA": "not a date YYYYMMDD",
        "TM": "not a time HHMMSS.FFFFFF",
        "DT": "not a date-time YYYYMMDDHHMMSS.FFFFFF&ZZXX",
    }[vr]


def _temporal_ok(vr: str, text: str) -> bool:
    if vr == "DA":
        if len(text) == 10 and text[4] == text[7] == ".":
            text = text.replace(".", "")
        if len(text) != 8 or not text.isdigit():
            return False
        try:
            date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            return False
        return True
    return (_TM if vr == "TM" else _DT).fullmatch(text) is not None


def _one(vr: str, v: Any) -> str | None:
    if v is None or isinstance(v, (bytes, bytearray, memoryview)):
        return None
    if vr in _INT_RANGE:
        if isinstance(v, bool) or not isinstance(v, int):
            if isinstance(v, str) and _IS.fullmatch(v.strip()):
                v = int(v)
            else:
                return f"{v!r} is not an integer"
        low, high = _INT_RANGE[vr]
        return None if low <= v <= high else f"{v} is out of range ({low} .. {high})"
    if vr in ("FL", "FD"):
        if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
            return f"{v!r} is not a number"
        return None
    if vr in ("IS", "DS") and isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
        if vr == "IS" and (not float(v).is_integer() or not -(2**31) <= int(v) < 2**31):
            return f"{v!r} is not an integer in the IS range"
        return None
    if vr in _TEXT:
        if isinstance(v, (date, datetime, time)):
            return None  # typed dates and times format themselves
        if not isinstance(v, str):
            v = str(v)  # PersonName, numbers as text ...
        return _text_problem(vr, v)
    return None


def problem(vr: str, value: Any) -> str | None:
    """What is wrong with ``value`` for ``vr`` (the first problem found), or None."""
    if vr in ("SQ", "UN", "OB", "OW", "OF", "OD", "OL", "OV") or value is None:
        return None
    for v in _values(vr, value):
        found = _one(vr, v)
        if found is not None:
            numeric = vr in _INT_RANGE or vr in ("FL", "FD")  # the message shows the value
            shown = repr(v) if len(repr(v)) <= 50 else repr(v)[:40] + "...'"
            return found if numeric else f"{shown}: {found}"
    return None


def validate(tag: int, vr: str, value: Any, mode: Validation | str) -> None:
    """Check ``value`` for element ``tag`` (VR ``vr``) and warn or raise as ``mode`` says.
    The message names the element: ``(0008,0020) StudyDate: DA '20241399': not a date``."""
    if mode == Validation.OFF:
        return
    found = problem(vr, value)
    if found is None:
        return
    message = f"{_name(tag)}: {vr} {found}"
    if mode == Validation.RAISE:
        raise InvalidValueError(message)
    warnings.warn(message, InvalidValueWarning, stacklevel=4)


def _name(tag: int) -> str:
    from dicomkit import dictionary

    keyword = dictionary.keyword_for_tag(tag) if not tag >> 16 & 1 else ""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})" + (f" {keyword}" if keyword else "")
