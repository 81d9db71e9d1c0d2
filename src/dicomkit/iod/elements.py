"""Checks of single data elements against the data dictionary and the VR rules (PS3.5 6.2, 6.4).

Independent of any IOD: VR matches the dictionary, the number of values fits the VM, values
are well formed for their VR (lengths, character repertoire, dates, UIDs), and unknown or
retired public attributes are flagged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from dicomkit.core.uid import is_valid_uid
from dicomkit.dictionary import entry_for_tag
from dicomkit.iod.conditions import values_of

__all__ = ["element_problems", "vm_allows"]

# PS3.5 Table 6.2-1: maximum length of one value, in characters.
_MAX_LEN = {
    "AE": 16,
    "AS": 4,
    "CS": 16,
    "DA": 8,
    "DS": 16,
    "DT": 26,
    "IS": 12,
    "LO": 64,
    "LT": 10240,
    "SH": 16,
    "ST": 1024,
    "TM": 14,
    "UI": 64,
}
_CS = re.compile(r"^[A-Z0-9 _]*$")
_AS = re.compile(r"^\d{3}[DWMY]$")
_DA = re.compile(r"^\d{8}$")
_TM = re.compile(r"^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$")
_DT = re.compile(r"^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$")
_IS = re.compile(r"^[+-]?\d+$")
_DS = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


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


def _value_problems(vr: str, values: list[Any]) -> Iterator[str]:
    for v in values:
        if vr in ("IS", "DS") and not isinstance(v, (int, float)):
            text = _text(v)
            if text and not (_IS if vr == "IS" else _DS).match(text):
                yield f"value {text!r} is not a valid {vr}"
                continue
        if vr not in _MAX_LEN and vr != "PN":
            continue
        text = _text(v)
        limit = _MAX_LEN.get(vr)
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
        elif vr == "UI" and not is_valid_uid(text):
            yield f"value {text!r} is not a valid UID"
        elif vr == "DA" and not _DA.match(text):
            yield f"value {text!r} is not a valid DA (YYYYMMDD)"
        elif vr == "TM" and not _TM.match(text):
            yield f"value {text!r} is not a valid TM (HHMMSS.FFFFFF)"
        elif vr == "DT" and not _DT.match(text):
            yield f"value {text!r} is not a valid DT"
        elif vr == "AS" and not _AS.match(text):
            yield f"value {text!r} is not a valid AS (nnnD, nnnW, nnnM or nnnY)"


def element_problems(tag: int, vr: str, value: Any) -> Iterator[tuple[str, str]]:
    """(severity, message) for one element, checked against the dictionary and its VR."""
    if tag >> 16 & 1 or tag & 0xFFFF == 0:
        return  # private elements and group lengths: nothing in the dictionary to hold them to
    entry = entry_for_tag(tag)
    if entry is None:
        yield "warning", "unknown public attribute (not in the data dictionary)"
        return
    if entry.retired:
        yield "warning", "retired attribute"
    allowed = [v.strip() for v in entry.vr.split(" or ")]
    if vr and vr != "UN" and entry.vr != "NONE" and vr not in allowed:
        yield "error", f"VR {vr} where the data dictionary gives {entry.vr}"
    if vr == "UN" and entry.vr not in ("UN", "NONE"):
        yield "warning", f"VR UN where the data dictionary gives {entry.vr}"
    if vr in ("SQ", "UN") or vr.startswith("O"):
        return
    values = values_of(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return
    if values and not vm_allows(entry.vm, len(values)):
        yield "error", f"{len(values)} values where the data dictionary's VM is {entry.vm}"
    for message in _value_problems(vr, values):
        yield "error", message
