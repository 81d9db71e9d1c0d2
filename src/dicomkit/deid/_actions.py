"""Values for the actions of PS3.15 E.1.1: dummy values for each VR (``D``), cleaned values
(``C``), longitudinal date shifts (E.3.6 Modified Dates) and combined-code resolution.

These functions work on one value and know nothing of data sets; :mod:`.engine` walks the
data set and calls them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

from dicomkit.core._vr import BINARY_VRS
from dicomkit.core.values._codec import MultiValue

__all__ = [
    "DEFAULT_DUMMIES",
    "TEXT_VRS",
    "clean_value",
    "derive_shift",
    "dummy_value",
    "resolve",
    "shift_days",
    "shift_value",
]

#: The dummy value written for ``D`` per VR (PS3.15 E.1.1: "non-zero length ... consistent
#: with the VR"). UI is not here: a UI dummy is a consistent replacement UID. OB/OW/UN get
#: two zero bytes; the other O* VRs one zero of their word size.
DEFAULT_DUMMIES: Mapping[str, Any] = MappingProxyType(
    {
        "AE": "ANONYMIZED",
        "AS": "000Y",
        "CS": "ANONYMIZED",
        "DA": "19000101",
        "DS": "0",
        "DT": "19000101000000",
        "FD": 0.0,
        "FL": 0.0,
        "IS": "0",
        "LO": "ANONYMIZED",
        "LT": "ANONYMIZED",
        "OB": b"\x00\x00",
        "OD": b"\x00" * 8,
        "OF": b"\x00" * 4,
        "OL": b"\x00" * 4,
        "OV": b"\x00" * 8,
        "OW": b"\x00\x00",
        "PN": "ANONYMIZED",
        "SH": "ANONYMIZED",
        "SL": 0,
        "SS": 0,
        "ST": "ANONYMIZED",
        "SV": 0,
        "TM": "000000",
        "UC": "ANONYMIZED",
        "UL": 0,
        "UN": b"\x00\x00",
        "UR": "ANONYMIZED",
        "US": 0,
        "UT": "ANONYMIZED",
        "UV": 0,
        "AT": 0,
    }
)

#: VRs whose values are free text (or names) that may carry identifying information.
TEXT_VRS = frozenset({"AE", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"})
#: Binary VRs: a cleaned value keeps its length, every byte zero.
_BINARY_VRS = BINARY_VRS

# Strength of each alternative of a combined code: how much of the attribute it leaves.
_STRENGTH = {"X": 0, "Z": 1, "D": 2, "U*": 2}


def resolve(code: str, attr_type: str | None) -> str:
    """One action out of a combined code (``X/Z``, ``X/D``, ``X/Z/D``, ``Z/D``, ``X/Z/U*``),
    and ``Z`` made ``D`` where a value is required.

    ``attr_type`` is the attribute's type in the IOD where it appears ("1", "1C", "2", "2C",
    "3"), ``""`` when the IOD (or the enclosing sequence item) is known but does not list it,
    and ``None`` when nothing is known. A combined code takes the first alternative that
    keeps the IOD conformant: Type 3 (or not in the IOD) -> X, Type 2 -> Z, Type 1 -> D.
    Conditional types count as required (the condition is not evaluated). Unknown: the last
    alternative, which always keeps conformance and still removes the identifying value.

    ``X/Z/U*`` (sequences of references) always keeps the references with their UIDs
    replaced: a replaced UID identifies no one, and removing references breaks the
    referential integrity of the set and the conditions of other attributes (e.g. the
    Referenced Series Sequence of the Common Instance Reference Module, PS3.3 C.12.2).

    ``Z`` of a Type 1 attribute becomes ``D`` (E.1.1 lets Z write "a non-zero length value
    that may be a dummy value").
    """
    choices = code.split("/")
    if len(choices) == 1:
        if code == "Z" and attr_type is not None and attr_type.startswith("1"):
            return "D"
        return code
    if choices[-1] == "U*" or attr_type is None:
        return choices[-1]
    need = 2 if attr_type.startswith("1") else 1 if attr_type.startswith("2") else 0
    for choice in choices:
        if _STRENGTH[choice] >= need:
            return choice
    return choices[-1]


def values_of(value: Any) -> list[Any]:
    """The values of an element value as a list (``[]`` when empty)."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _pack(values: list[Any]) -> Any:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return MultiValue(values)


def dummy_value(vr: str, dummies: Mapping[str, Any] = DEFAULT_DUMMIES) -> Any:
    """The ``D`` value for ``vr`` (a KeyError names a VR with no dummy, e.g. SQ or UI)."""
    return dummies[vr]


def clean_value(vr: str, value: Any, dummies: Mapping[str, Any] = DEFAULT_DUMMIES) -> Any:
    """The ``C`` value of a non-sequence, non-UID, non-date attribute.

    Free text (:data:`TEXT_VRS`) is replaced by the dummy; binary values keep their length
    and become zeros (e.g. overlay planes under Clean Graphics); coded strings (CS, AS) and
    numbers cannot carry free text and are kept.
    """
    if vr in TEXT_VRS:
        return None if value in (None, "") else dummies[vr]
    if vr in _BINARY_VRS:
        return bytes(len(value)) if isinstance(value, (bytes, bytearray, memoryview)) else value
    return value


def derive_shift(seed: str, salt: bytes, max_days: int = 3650) -> int:
    """A date shift in days, the same for the same ``seed`` (e.g. the Patient ID) and salt:
    between ``-max_days`` and ``-1`` (dates move into the past)."""
    digest = hmac.new(salt, seed.encode("utf-8", "replace"), hashlib.sha256).digest()
    return -(1 + int.from_bytes(digest[:8], "big") % max_days)


def shift_days(shift: int | timedelta) -> int:
    """Whole days of a shift; ``ValueError`` for a fraction of a day (times are kept, so a
    sub-day shift would make dates and times disagree)."""
    if isinstance(shift, timedelta):
        if shift.seconds or shift.microseconds:
            raise ValueError("date_shift must be a whole number of days")
        return shift.days
    return int(shift)


def _shift_da(text: str, days: int) -> str:
    text = text.strip()
    if len(text) != 8 or not text.isdigit():
        return text if not text else "19000101"  # not a date: nothing safe to keep
    try:
        day = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        return (day + timedelta(days=days)).strftime("%Y%m%d")
    except (ValueError, OverflowError):
        return "19000101"


def _shift_dt(text: str, days: int) -> str:
    # YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]: shift the date part, keep the rest as written.
    text = text.strip()
    if len(text) >= 8 and text[:8].isdigit():
        return _shift_da(text[:8], days) + text[8:]
    if len(text) in (4, 6) and text.isdigit():  # year (and month) only: keep the precision
        shifted = _shift_da(text + "0101"[len(text) - 4 :], days)
        return shifted[: len(text)]
    return text


def shift_value(vr: str, value: Any, days: int) -> Any:
    """A DA or DT value (one or several, DA ranges too) moved by ``days``; other VRs (TM)
    are returned unchanged."""
    if vr == "DA":

        def one(v: Any) -> str:
            text = str(v)
            if "-" in text:
                return "-".join(_shift_da(p, days) if p else "" for p in text.split("-"))
            return _shift_da(text, days)

        fn: Callable[[Any], str] = one
    elif vr == "DT":

        def one_dt(v: Any) -> str:
            return _shift_dt(str(v), days)

        fn = one_dt
    else:
        return value
    return _pack([fn(v) for v in values_of(value)])
