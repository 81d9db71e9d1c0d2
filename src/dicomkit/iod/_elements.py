"""Checks of single data elements against the data dictionary and the VR rules (PS3.5 6.2, 6.4).

Independent of any IOD: VR matches the dictionary, the number of values fits the VM, values
are well formed for their VR (lengths, character repertoire, dates that exist, UIDs under an
ISO/ITU-T root, no NUL padding outside UI), direction cosines are unit vectors, private
elements match the private dictionary of their creator, and unknown or retired public
attributes are flagged.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterator
from typing import Any

from dicomkit.core._uid import is_valid_uid
from dicomkit.core._vr import MAX_LENGTH
from dicomkit.dictionary import DictEntry, entry_for_tag, tags
from dicomkit.iod._evaluate import values_of

__all__ = ["element_problems", "uid_root_problem", "vm_allows"]

_CS = re.compile(r"^[A-Z0-9 _]*$")
_AS = re.compile(r"^\d{3}[DWMY]$")
_DA = re.compile(r"^\d{8}$")
_TM = re.compile(r"^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$")
_DT = re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$")
_IS = re.compile(r"^[+-]?\d+$")
_DS = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
# VRs whose values are padded with a trailing NUL (PS3.5 6.2: UI; the binary VRs are no text)
_NUL_PADDED = frozenset({"UI"})
_TEXT_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT"}
)
# Direction cosines (PS3.3 C.7.6.2.1.1 and the attributes defined alike): each group of three
# values is a unit vector; for the two-vector orientations the row and column are orthogonal.
_DIRECTION_COSINES: dict[int, bool] = {
    tags.ImageOrientationPatient: True,  # Image Orientation (Patient): row, column
    tags.ImageOrientationSlide: True,  # Image Orientation (Slide): row, column
    tags.VelocityEncodingDirection: False,  # Velocity Encoding Direction
}
_COSINE_TOLERANCE = 1e-3


def vm_allows(vm: str, n: int) -> bool:
    """True if ``n`` values satisfy the VM text (``"1"``, ``"1-3"``, ``"1-n"``, ``"2-2n"``)."""
    vm = vm.strip()
    if not vm or vm == "NONE":
        return True
    if "-" not in vm:
        return vm.isdigit() and n == int(vm)
    low, high = vm.split("-", 1)
    lo = int(low) if low.isdigit() else 0
    if n < lo:
        return False
    if high == "n":
        return True
    if high.endswith("n"):
        step = int(high[:-1] or 1)
        return n % step == 0
    return high.isdigit() and n <= int(high)


def _text(v: Any) -> str:
    original = getattr(v, "original", None)
    return (original if isinstance(original, str) else str(v)).strip(" \0")


def uid_root_problem(text: str) -> str | None:
    """Why ``text`` cannot be a UID under an ISO/ITU-T root, or ``None`` when it can.

    A UID is an OID (PS3.5 9.1, ISO/IEC 9834-1): its first component is 0 (ITU-T), 1 (ISO)
    or 2 (joint); under 0 and 1 the second component is 0 to 39. ``999.x`` names no root.
    """
    parts = text.split(".")
    first = parts[0]
    if first not in ("0", "1", "2"):
        return "a UID's first component is 0, 1 or 2 (an ISO/ITU-T root, PS3.5 9.1)"
    if first in ("0", "1") and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) > 39:
        return f"under root {first} the second component is 0 to 39 (ISO/IEC 9834-1)"
    return None


def _date_exists(text: str) -> bool:
    year, month, day = int(text[:4]), int(text[4:6]), int(text[6:8])
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(max(year, 1), month)[1]


def _time_exists(text: str) -> bool:
    hh = int(text[:2])
    mm = int(text[2:4]) if len(text) >= 4 else 0
    ss = int(text[4:6]) if len(text) >= 6 else 0
    return hh < 24 and mm < 60 and ss < 61  # 60: a leap second (PS3.5 6.2, TM)


def _datetime_exists(text: str) -> bool:
    body = re.split(r"[+-]", text, maxsplit=1)[0]
    if len(body) >= 6 and not 1 <= int(body[4:6]) <= 12:
        return False
    if len(body) >= 8 and not _date_exists(body[:8]):
        return False
    if len(body) >= 10 and not _time_exists(body[8:]):
        return False
    offset = text[len(body) :]
    return not offset or (int(offset[1:3]) <= 14 and int(offset[3:5]) < 60)


def _has_nul(v: Any, raw: bytes | None) -> bool:
    if raw is not None:
        return b"\0" in raw
    original = getattr(v, "original", None)
    return "\0" in (original if isinstance(original, str) else str(v))


def _cosine_problems(tag: int, values: list[Any]) -> Iterator[str]:
    try:
        numbers = [float(v) for v in values]
    except (TypeError, ValueError):
        return  # malformed numbers are reported as such
    if len(numbers) % 3 or not numbers:
        return  # the VM check reports it
    vectors = [numbers[i : i + 3] for i in range(0, len(numbers), 3)]
    for i, vec in enumerate(vectors):
        length = math.sqrt(sum(x * x for x in vec))
        if abs(length - 1.0) > _COSINE_TOLERANCE:
            which = f" (vector {i + 1})" if len(vectors) > 1 else ""
            shown = "\\".join(str(v) for v in values[i * 3 : i * 3 + 3])
            yield (
                f"direction cosines {shown}{which} are not a unit vector (length {length:.4g}); "
                "direction cosines have length 1"
            )
            return
    if _DIRECTION_COSINES.get(tag) and len(vectors) == 2:
        dot = sum(a * b for a, b in zip(vectors[0], vectors[1], strict=True))
        if abs(dot) > _COSINE_TOLERANCE:
            yield f"row and column direction cosines are not orthogonal (dot product {dot:.4g})"


def _value_problems(vr: str, values: list[Any]) -> Iterator[str]:
    for v in values:
        if vr in ("IS", "DS") and not isinstance(v, (int, float)):
            text = _text(v)
            if text and not (_IS if vr == "IS" else _DS).match(text):
                yield f"value {text!r} is not a valid {vr}"
                continue
        if vr not in MAX_LENGTH and vr != "PN":
            continue
        text = _text(v)
        limit = MAX_LENGTH.get(vr)
        if vr == "PN":
            if any(len(group) > 64 for group in text.split("=")):
                yield f"value {text!r} has a component group longer than 64 characters"
            continue
        if limit is not None and len(text) > limit:
            yield f"value {text[:40]!r} is longer than {limit} characters, the most {vr} allows"
        if not text:
            continue
        if vr == "CS" and not _CS.match(text):
            yield f"value {text!r} has characters CS does not allow (A-Z 0-9 space _)"
        elif vr == "UI":
            if not is_valid_uid(text):
                yield f"value {text!r} is not a valid UID"
            why = uid_root_problem(text)
            if why:
                yield f"illegal UID root in {text!r}: {why}"
        elif vr == "DA" and not _DA.match(text):
            yield f"value {text!r} is not a valid DA (YYYYMMDD)"
        elif vr == "DA" and not _date_exists(text):
            yield f"value {text!r} is not a date: no such month or day (DA, PS3.5 6.2)"
        elif vr == "TM" and not _TM.match(text):
            yield f"value {text!r} is not a valid TM (HHMMSS.FFFFFF)"
        elif vr == "TM" and not _time_exists(text):
            yield f"value {text!r} is not a time of day: hours 00-23, minutes and seconds 00-59"
        elif vr == "DT" and not _DT.match(text):
            yield f"value {text!r} is not a valid DT"
        elif vr == "DT" and not _datetime_exists(text):
            yield f"value {text!r} is not a date and time that exists (DT, PS3.5 6.2)"
        elif vr == "AS" and not _AS.match(text):
            yield f"value {text!r} is not a valid AS (nnnD, nnnW, nnnM or nnnY)"


def element_problems(
    tag: int,
    vr: str,
    value: Any,
    raw: bytes | None = None,
    private: DictEntry | None = None,
) -> Iterator[tuple[str, str]]:
    """(severity, message) for one element, checked against the dictionary and its VR.

    ``raw`` is the value as encoded (to see NUL padding the decoded text no longer shows);
    ``private`` the private dictionary's entry for a private element (its creator's), which
    it is then held to as a standard element is to the data dictionary.
    """
    if tag & 0xFFFF == 0:
        return  # group lengths
    if vr in _TEXT_VRS and _has_nul(value, raw):
        yield "error", f"{vr} value padded with NUL; only UI values are (PS3.5 6.2, 6.4)"
    if tag >> 16 & 1:
        # Private dictionaries are vendors' documentation gathered by others, not the
        # standard: a VR or VM differing from them is a warning. The value itself must still
        # be well formed for the VR it is encoded with (or the dictionary's, for UN).
        if private is not None:
            yield from _against(private, tag, vr, value, "the private dictionary", "warning")
        elif vr not in ("SQ", "UN") and not vr.startswith("O"):
            for message in _value_problems(vr, values_of(value)):
                yield "error", message
        return
    entry = entry_for_tag(tag)
    if entry is None:
        yield "warning", "unknown public attribute (not in the data dictionary)"
        return
    if entry.retired:
        yield "warning", "retired attribute"
    yield from _against(entry, tag, vr, value, "the data dictionary")


def _against(
    entry: DictEntry, tag: int, vr: str, value: Any, where: str, severity: str = "error"
) -> Iterator[tuple[str, str]]:
    allowed = [v.strip() for v in entry.vr.split(" or ")]
    if vr and vr != "UN" and entry.vr not in ("NONE", "UN") and vr not in allowed:
        yield severity, f"VR {vr} where {where} gives {entry.vr}"
    if vr == "UN" and entry.vr not in ("UN", "NONE"):
        yield "warning", f"VR UN where {where} gives {entry.vr}"
    if vr in ("SQ", "UN") or vr.startswith("O"):
        return
    values = values_of(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return
    vm = entry.vm.strip()
    if values and vm and vm != "NONE" and not vm_allows(vm, len(values)):
        yield severity, f"{len(values)} values where {where}'s VM is {entry.vm}"
    for message in _value_problems(vr, values):
        yield "error", message
    if tag in _DIRECTION_COSINES and vr in ("DS", "FD", "FL"):
        for message in _cosine_problems(tag, values):
            yield "error", message
