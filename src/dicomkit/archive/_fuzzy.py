"""Fuzzy semantic matching of person names (PS3.4 C.2.2.2.1.1, offered by extended
negotiation, PS3.4 C.5.1.1.1 byte 3).

The standard leaves the fuzzy algorithm to the SCP. When a C-FIND requestor asks for it and
the node accepts, each Person Name key without wildcards is matched as the words it holds, in
order, anywhere in the stored name, whatever separates them (component ``^``, group ``=``,
spaces) and whatever their case: ``DOE JOHN`` matches ``DOE^JOHN``, ``Doe^John^^Dr``, and
``van Doe^John``. A key with wildcards (``*``, ``?``) keeps its plain meaning; sequence items
are left as they are.
"""

from __future__ import annotations

import re

from dicomkit.core._dataset import Dataset

_SPLIT = re.compile(r"[\s^=,]+")


def fuzzy_pattern(value: str) -> str:
    """The wildcard pattern a fuzzy Person Name key stands for (``DOE JOHN`` ->
    ``*DOE*JOHN*``); a value with wildcards, or with no words, is returned as it is."""
    if "*" in value or "?" in value:
        return value
    words = [w for w in _SPLIT.split(value) if w]
    if not words:
        return value
    return "*" + "*".join(words) + "*"


def fuzzy_identifier(identifier: Dataset) -> Dataset:
    """A copy of a C-FIND identifier with its top-level Person Name keys made fuzzy."""
    out = identifier.copy()
    for tag in list(out):
        el = out[tag]
        if str(el.vr) != "PN" or el.value in (None, "", []):
            continue
        value = el.value
        text = "\\".join(str(v) for v in value) if isinstance(value, list) else str(value)
        if "\\" in text:
            continue  # several values: not a single-value key, leave it to the matching
        out.set(tag, fuzzy_pattern(text.strip()), vr="PN")
    return out
