"""Lookups over the generated tables (the implementation behind :mod:`dicomkit.dictionary`).

Tags are plain ints (``group << 16 | element``). Every lookup for an ordinary tag is one dict
access; repeating groups (50xx, 60xx, 7Fxx, (0020,31xx) ...), group lengths (gggg,0000) and
private creator elements (gggg,0010-00FF) are resolved after that misses.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING

from dicomkit.dictionary._commands import COMMAND_FIELDS as _COMMAND_FIELDS
from dicomkit.dictionary._elements import EDITION, ELEMENTS
from dicomkit.dictionary._repeating import REPEATING
from dicomkit.dictionary._uids import UIDS

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "COMMAND_FIELDS",
    "EDITION",
    "DictEntry",
    "UIDInfo",
    "entry_for_tag",
    "keyword_for_tag",
    "private_entry",
    "storage_sop_classes",
    "suggest_keywords",
    "tag_for_keyword",
    "transfer_syntaxes",
    "uid_for_keyword",
    "uid_info",
    "vr_for_tag",
]


@dataclass(frozen=True, slots=True)
class DictEntry:
    """One data dictionary row. ``vr`` is the standard's text ("US or SS", "OB or OW" ...)."""

    tag: int
    vr: str
    vm: str
    name: str
    keyword: str
    retired: bool


@dataclass(frozen=True, slots=True)
class UIDInfo:
    """One UID registry row (PS3.6 Annex A): type is "SOP Class", "Transfer Syntax", ..."""

    uid: str
    name: str
    keyword: str
    type: str
    retired: bool


#: DIMSE Command Field (0000,0100) values by message name, "C-STORE-RQ" -> 0x0001 (PS3.7 E.1-1).
COMMAND_FIELDS: Mapping[str, int] = MappingProxyType(_COMMAND_FIELDS)

# Built once at import from the generated literal tuples (a few ms; see tests/dictionary).
_ROWS: dict[int, tuple[int, str, str, str, str, bool]] = {row[0]: row for row in ELEMENTS}
# Item and delimitation tags have no VR ("NONE" in their entries): vr_for_tag says "UN".
_VR: dict[int, str] = {
    row[0]: "UN" if row[1] == "NONE" else row[1].split(" or ", 1)[0] for row in ELEMENTS
}
_KEYWORD: dict[int, str] = {row[0]: row[4] for row in ELEMENTS}
_TAG: dict[str, int] = {row[4]: row[0] for row in reversed(ELEMENTS) if row[4]}

# Repeating entries grouped by mask: [(mask, {value: row})], probed in order.
_REPEAT: list[tuple[int, dict[int, tuple[int, int, str, str, str, str, bool]]]] = []
for _row in REPEATING:
    for _mask, _table in _REPEAT:
        if _mask == _row[0]:
            _table.setdefault(_row[1], _row)
            break
    else:
        _REPEAT.append((_row[0], {_row[1]: _row}))
    _TAG.setdefault(_row[5], _row[1])
del _row

_GROUP_LENGTH_NAME = "Group Length"
_PRIVATE_CREATOR_NAME = "Private Creator"


def _is_private_creator(tag: int) -> bool:
    group, element = tag >> 16, tag & 0xFFFF
    return group & 1 == 1 and group > 8 and 0x0010 <= element <= 0x00FF


@lru_cache(maxsize=4096)  # overlay/curve tags recur in every file that has them
def _repeating_row(tag: int) -> tuple[int, int, str, str, str, str, bool] | None:
    for mask, table in _REPEAT:
        row = table.get(tag & mask)
        if row is not None:
            return row
    return None


def entry_for_tag(tag: int) -> DictEntry | None:
    """The dictionary entry for ``tag``, or None. Repeating-group entries are returned with the
    queried tag (e.g. (6002,3000) Overlay Data); any (gggg,0000) is a UL group length."""
    row = _ROWS.get(tag)
    if row is not None:
        return DictEntry(*row)
    rep = _repeating_row(tag)
    if rep is not None:
        return DictEntry(tag, rep[2], rep[3], rep[4], rep[5], rep[6])
    if tag & 0xFFFF == 0 and 0 <= tag <= 0xFFFFFFFF:
        return DictEntry(tag, "UL", "1", _GROUP_LENGTH_NAME, "", False)
    if _is_private_creator(tag):
        return DictEntry(tag, "LO", "1", _PRIVATE_CREATOR_NAME, "", False)
    return None


def vr_for_tag(tag: int) -> str:
    """One VR for ``tag``: the first alternative of an ambiguous VR ("US or SS" -> "US"),
    "UL" for group lengths, "LO" for private creators, "UN" when unknown (PS3.5 6.2.2)."""
    vr = _VR.get(tag)
    if vr is not None:
        return vr
    rep = _repeating_row(tag)
    if rep is not None:
        return rep[2].split(" or ", 1)[0]
    if tag & 0xFFFF == 0:
        return "UL"
    if _is_private_creator(tag):
        return "LO"
    return "UN"


def keyword_for_tag(tag: int) -> str:
    """The keyword (``PatientName``) for ``tag``; "" when unknown or private."""
    kw = _KEYWORD.get(tag)
    if kw is not None:
        return kw
    rep = _repeating_row(tag)
    return rep[5] if rep is not None else ""


def tag_for_keyword(keyword: str) -> int | None:
    """The tag for a keyword; repeating-group keywords give their first group (60xx -> 6000)."""
    return _TAG.get(keyword)


@lru_cache(maxsize=1)
def _all_keywords() -> tuple[str, ...]:
    return tuple(sorted(_TAG))


def suggest_keywords(text: str, n: int = 3) -> list[str]:
    """Keywords close to ``text``, best first, for "did you mean" messages."""
    keywords = _all_keywords()
    lowered = {k.lower(): k for k in keywords}
    exact = lowered.get(text.lower())
    found = difflib.get_close_matches(text, keywords, n=n, cutoff=0.6)
    if exact is not None and exact != text:
        found = [exact] + [k for k in found if k != exact]
    return found[:n]


# --------------------------------------------------------------------------------------------
# private dictionaries: loaded on first use (a large table most programs never touch)
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _private_tables() -> tuple[
    Mapping[str, Mapping[int, tuple[str, str, str, str]]],
    Mapping[str, tuple[tuple[int, int, int, str, str, str, str], ...]],
]:
    from dicomkit.dictionary._private import PRIVATE, PRIVATE_RANGES

    return PRIVATE, PRIVATE_RANGES


def private_entry(tag: int, creator: str) -> DictEntry | None:
    """The private dictionary entry for ``tag`` reserved by ``creator`` (PS3.5 7.8.1).

    ``tag`` is as found in the file, e.g. (0019,xx0C) with the block byte xx = 0x10; only its
    group and low element byte are used to look it up under the creator. Creator text is
    matched exactly after stripping padding spaces."""
    group, element = tag >> 16, tag & 0xFFFF
    if group & 1 == 0 or element < 0x0100:
        return None
    plain, ranges = _private_tables()
    key = creator.strip(" \x00")
    byte = element & 0xFF
    table = plain.get(key)
    if table is not None:
        row = table.get(group << 8 | byte)
        if row is not None:
            return DictEntry(tag, row[0], row[1], row[2], row[3], False)
    for mask, value, b, vr, vm, name, kw in ranges.get(key, ()):
        if b == byte and group & mask == value:
            return DictEntry(tag, vr, vm, name, kw, False)
    return None


# --------------------------------------------------------------------------------------------
# UID registry
# --------------------------------------------------------------------------------------------
_UID_ROWS: dict[str, tuple[str, str, str, str, bool]] = {row[0]: row for row in UIDS}
_UID_BY_KEYWORD: dict[str, str] = {row[2]: row[0] for row in UIDS if row[2]}

# Storage SOP classes (PS3.4 Annex B and its relatives): SOP classes named "... Storage",
# except the services that only mention storage.
_NOT_STORAGE = ("Storage Commitment", "Media Storage Directory", "Storage Management")


def uid_info(uid: str) -> UIDInfo | None:
    """The registry entry for ``uid`` (trailing NUL / space padding ignored), or None."""
    row = _UID_ROWS.get(uid) or _UID_ROWS.get(uid.rstrip("\x00 "))
    return UIDInfo(*row) if row is not None else None


def uid_for_keyword(keyword: str) -> str | None:
    """``uid_for_keyword("CTImageStorage") == "1.2.840.10008.5.1.4.1.1.2"``."""
    return _UID_BY_KEYWORD.get(keyword)


@lru_cache(maxsize=1)
def _storage() -> tuple[str, ...]:
    return tuple(
        uid
        for uid, name, _kw, typ, _ret in UIDS
        if typ == "SOP Class" and "Storage" in name and not any(x in name for x in _NOT_STORAGE)
    )


def storage_sop_classes() -> list[str]:
    """Every Storage SOP Class UID in the registry (retired ones included), in UID order."""
    return list(_storage())


def transfer_syntaxes() -> list[str]:
    """Every Transfer Syntax UID in the registry (retired ones included), in UID order."""
    return [row[0] for row in UIDS if row[3] == "Transfer Syntax"]
