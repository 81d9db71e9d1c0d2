"""The VR of an element whose encoding does not carry one (PS3.5 A.1, 6.2.2, 7.8.1).

Implicit VR reads, UN re-typing (``read(..., known_vr_for_un=True)``) and non-standard VR
fields all ask here: the data dictionary for standard tags, the private dictionary (by the
block's Private Creator, compared case-exact as PS3.5 7.8.1 says) for private ones, "UN"
when neither knows. Ambiguous dictionary VRs ("US or SS", "OB or OW") are resolved from the
data set (Pixel Representation, PS3.3 C.7.6.3).

Both caches are pure caches of the dictionaries, bounded. The standard one keeps every tag the
dictionary knows and others up to a limit; the private one is keyed by (tag, creator) strings
taken from the input, so it is bounded (:data:`PRIVATE_CACHE_SIZE`, cleared when full): a
file with millions of distinct creators cannot grow it without limit.
"""

from __future__ import annotations

from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._vr import ALL_VRS, resolve_vr

PIXEL_REPRESENTATION = 0x00280103

__all__ = ["KNOWN_VRS", "PRIVATE_CACHE_SIZE", "implicit_vr", "known_vr", "resolve_ambiguous"]

#: Most (tag, creator) pairs remembered; past it the cache starts again.
PRIVATE_CACHE_SIZE = 4096

# Standard tags: the dictionary's own are all kept (bounded by its size); others (group
# lengths, repeating groups, unknown tags: any of 2^31 values from the input) only while the
# cache is smaller than this.
_OTHER_TAGS_CACHED = 16384
_VR_CACHE: dict[int, str] = {}
_PRIVATE_CACHE: dict[tuple[int, str], str] = {}

#: The VR of a standard tag looked up before (``None`` when not looked up yet).
known_vr = _VR_CACHE.get
#: The dict behind :data:`known_vr` (the decoder's C scan looks tags up in it directly).
KNOWN_VRS = _VR_CACHE


def _dictionary_vr(tag: int) -> str:
    from dicomkit.dictionary import entry_for_tag, vr_for_tag

    entry = entry_for_tag(tag)
    vr = str(entry.vr) if entry is not None and entry.vr else str(vr_for_tag(tag))
    if vr not in ALL_VRS and " or " not in vr:
        vr = "UN"  # e.g. "NONE" for the item tags, or a dictionary oddity
    if " or " not in vr and (entry is not None or len(_VR_CACHE) < _OTHER_TAGS_CACHED):
        _VR_CACHE[tag] = vr
    return vr


def _creator(owner: Dataset, tag: int) -> str | None:
    """The Private Creator of ``tag``'s block (PS3.5 7.8.1), trailing padding removed."""
    e = owner.raw_elements.get((tag & 0xFFFF0000) | (tag >> 8 & 0xFF))
    if e is None:
        return None
    raw = e[1] if type(e) is tuple else e.raw
    if raw is None:
        v = e.value
        return v.strip(" \x00") if isinstance(v, str) else None
    return bytes(raw).decode("latin-1").strip(" \x00")


def _private_vr(tag: int, owner: Dataset) -> str:
    if (tag & 0xFFFF) < 0x1000:
        return "LO" if (tag & 0xFFFF) >= 0x10 else "UN"  # private creators (PS3.5 7.8.1)
    creator = _creator(owner, tag)
    if not creator:
        return "UN"
    key = (tag, creator)
    vr = _PRIVATE_CACHE.get(key)
    if vr is None:
        from dicomkit.dictionary import private_entry

        entry = private_entry(tag, creator)
        vr = str(entry.vr) if entry is not None and entry.vr else "UN"
        if vr not in ALL_VRS and " or " not in vr:
            vr = "UN"
        if len(_PRIVATE_CACHE) >= PRIVATE_CACHE_SIZE:
            _PRIVATE_CACHE.clear()
        _PRIVATE_CACHE[key] = vr
    return vr


def _context_int(owner: Dataset | None, tag: int) -> int | None:
    """A US value (PixelRepresentation, BitsAllocated) from this data set or an enclosing one."""
    while owner is not None:
        e: Any = owner.raw_elements.get(tag)
        if e is not None:
            raw = e[1] if type(e) is tuple else e.raw
            if raw is not None and len(raw) >= 2:
                little = owner.is_little_endian
                return int.from_bytes(bytes(raw[:2]), "little" if little else "big")
            v = e.value if type(e) is not tuple else None
            return v if isinstance(v, int) else None
        owner = owner.parent
    return None


def resolve_ambiguous(vr: str, tag: int, owner: Dataset | None) -> str:
    """Pick one VR for the dictionary's "US or SS", "OB or OW" ... (PS3.5 A.1, PS3.3 C.7.6.3):
    US/SS by Pixel Representation, OB/OW by Bits Allocated (OW in implicit VR), LUT data OW."""
    pr = _context_int(owner, PIXEL_REPRESENTATION) if "SS" in vr else None
    return resolve_vr(vr, pixel_representation=pr, implicit=True)  # the one rule: core.vr


def implicit_vr(tag: int, owner: Dataset | None = None) -> str:
    """The VR to use for ``tag`` read in implicit VR (dictionary; private dictionary; "UN")."""
    if tag >> 16 & 1:
        vr = _private_vr(tag, owner) if owner is not None else "UN"
    else:
        vr = _VR_CACHE.get(tag) or _dictionary_vr(tag)
    if " or " in vr:
        vr = resolve_ambiguous(vr, tag, owner)
    return vr
