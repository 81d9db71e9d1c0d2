"""Value normalisation shared by indexing and matching.

Everything the index stores is text. The same functions turn an attribute value into its stored
text at ingest and a query value into the text it is compared with, so that the two always
agree: padding removed (PS3.5 6.2), trailing empty person-name components dropped, integers
without leading zeros, old ``YYYY.MM.DD`` dates without dots, and zero-padded shadows of times
and date-times whose string order is time order (for range matching, PS3.4 C.2.2.2.5).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def text(value: Any) -> str:
    """A decoded element value as index text; several values are joined with ``\\``."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return ""
    if isinstance(value, str):
        return value.strip(" \0")
    if isinstance(value, list | tuple):
        return "\\".join(text(v) for v in value)
    original = getattr(value, "original", None)
    if isinstance(original, str):
        return original.strip(" \0")
    if isinstance(value, float) and value.is_integer():
        return str(value)
    return str(value).strip(" \0")


def values(value: Any) -> list[str]:
    """The individual values of an element as texts (empty list when empty)."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [text(v) for v in value]
    s = text(value)
    return s.split("\\") if s else []


def norm_pn(s: str) -> str:
    """Person name without trailing empty components or groups (``DOE^J^^`` -> ``DOE^J``)."""
    groups = [g.rstrip("^ ") for g in s.split("=")]
    while groups and not groups[-1]:
        groups.pop()
    return "=".join(groups)


def norm_is(s: str) -> str:
    try:
        return str(int(s.strip()))
    except ValueError:
        return s.strip()


def norm_da(s: str) -> str:
    return s.strip().replace(".", "") if s else ""


def norm_value(vr: str, s: str) -> str:
    """The stored / compared form of one value of ``vr``."""
    if vr == "PN":
        return norm_pn(s)
    if vr == "IS":
        return norm_is(s)
    if vr == "DA":
        return norm_da(s)
    return s.strip(" \0")


def norm_text(vr: str, value: Any) -> str:
    """Normalise every value of an element and join them again."""
    return "\\".join(norm_value(vr, v) for v in values(value))


# -- times and date-times as comparable text ---------------------------------------------------

_TM = re.compile(r"^(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?$")
_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$")


def norm_tm(s: str, *, upper: bool = False) -> str:
    """``HHMMSS.ffffff`` with missing parts filled by their lowest (or highest) value; ``""`` for
    text that is not a time. ``14`` -> ``140000.000000`` (upper: ``145959.999999``)."""
    m = _TM.match(s.strip().replace(":", ""))
    if not m:
        return ""
    hh, mm, ss, frac = m.groups()
    fill, ffill = ("59", "9") if upper else ("00", "0")
    frac_out = (frac or "").ljust(6, ffill)
    return f"{hh}{mm or fill}{ss or fill}.{frac_out}"


def norm_dt(s: str, *, upper: bool = False) -> str:
    """``YYYYMMDDHHMMSS.ffffff`` (timezone offset dropped) filled like :func:`norm_tm`."""
    m = _DT.match(s.strip())
    if not m:
        return ""
    yyyy, mo, dd, hh, mi, ss, frac, _tz = m.groups()
    if upper:
        parts = [mo or "12", dd or "31", hh or "23", mi or "59", ss or "59"]
        frac_out = (frac or "").ljust(6, "9")
    else:
        parts = [mo or "01", dd or "01", hh or "00", mi or "00", ss or "00"]
        frac_out = (frac or "").ljust(6, "0")
    return f"{yyyy}{''.join(parts)}.{frac_out}"


def shadow(vr: str, s: str) -> str:
    """The ``_n`` shadow column for TM / DT values (first value only)."""
    first = s.split("\\", 1)[0]
    if vr == "TM":
        return norm_tm(first)
    if vr == "DT":
        return norm_dt(first)
    return first


def split_range(vr: str, s: str) -> tuple[str, str] | None:
    """Split a range-matching value ``A-B``, ``-B`` or ``A-`` (PS3.4 C.2.2.2.5); ``None`` when
    ``s`` is not a range. For DT the ``-`` of a timezone offset is not the range separator."""
    if "-" not in s:
        return None
    if vr != "DT":
        if s.count("-") != 1:
            return None
        lo, hi = s.split("-")
        return lo.strip(), hi.strip()
    # DT: try every '-' as the separator; keep the split where both sides are valid or empty.
    for i, ch in enumerate(s):
        if ch != "-":
            continue
        lo, hi = s[:i].strip(), s[i + 1 :].strip()
        if (not lo or _DT.match(lo)) and (not hi or _DT.match(hi)) and (lo or hi):
            return lo, hi
    return None


def join(items: Iterable[str]) -> str:
    return "\\".join(items)
