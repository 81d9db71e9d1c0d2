"""Data element tags (PS3.5 7.1): a 32-bit (group, element) pair.

Internally dicomkit keys everything by plain ``int`` (``group << 16 | element``) for speed;
:class:`Tag` is an ``int`` subclass that prints as ``(gggg,eeee)`` and parses the usual forms.
"""

from __future__ import annotations

import re
from typing import Any, Self

from dicomkit.errors import DictionaryError, InvalidValueError

_PAREN = re.compile(r"^\(?\s*([0-9A-Fa-f]{4})\s*,\s*([0-9A-Fa-f]{4})\s*\)?$")
_HEX8 = re.compile(r"^(?:0x)?([0-9A-Fa-f]{8})$")


class Tag(int):
    """A data element tag. ``Tag(0x00100010)``, ``Tag(0x0010, 0x0010)``, ``Tag("PatientName")``,
    ``Tag("(0010,0010)")`` and ``Tag("00100010")`` are all the same tag."""

    __slots__ = ()

    def __new__(cls, value: Any, element: int | None = None) -> Self:
        if element is not None:
            if not (0 <= int(value) <= 0xFFFF and 0 <= element <= 0xFFFF):
                raise InvalidValueError(f"group/element out of range: {value!r}, {element!r}")
            return int.__new__(cls, (int(value) << 16) | element)
        if isinstance(value, Tag):
            return value  # type: ignore[return-value]  # Tag is final in practice
        if isinstance(value, int):
            if not 0 <= value <= 0xFFFFFFFF:
                raise InvalidValueError(f"tag out of range: {value:#x}")
            return int.__new__(cls, value)
        if isinstance(value, tuple) and len(value) == 2:
            return cls(value[0], value[1])
        if isinstance(value, str):
            return int.__new__(cls, parse_tag(value))
        raise InvalidValueError(f"cannot make a tag from {value!r}")

    @property
    def group(self) -> int:
        """The group number, the upper 16 bits: ``Tag(0x00100010).group == 0x0010``."""
        return self >> 16

    @property
    def element(self) -> int:
        """The element number, the lower 16 bits: ``Tag(0x00100010).element == 0x0010``."""
        return self & 0xFFFF

    @property
    def is_private(self) -> bool:
        """True for a tag of a private group (odd group number, PS3.5 7.8)."""
        return bool((self >> 16) & 1)

    @property
    def is_private_creator(self) -> bool:
        """True for a Private Creator element, (gggg,0010-00FF) of an odd group (PS3.5 7.8.1)."""
        return bool((self >> 16) & 1) and 0x0010 <= (self & 0xFFFF) <= 0x00FF

    @property
    def is_group_length(self) -> bool:
        """True for a group length element, (gggg,0000)."""
        return (self & 0xFFFF) == 0

    def __str__(self) -> str:
        return f"({self >> 16:04X},{self & 0xFFFF:04X})"

    def __repr__(self) -> str:
        return f"Tag({self >> 16:#06x}, {self & 0xFFFF:#06x})"


def parse_tag(text: str) -> int:
    """Parse ``"(0010,0010)"``, ``"0010,0010"``, ``"00100010"``, ``"0x00100010"`` or a keyword."""
    s = text.strip()
    m = _PAREN.match(s)
    if m:
        return (int(m.group(1), 16) << 16) | int(m.group(2), 16)
    m = _HEX8.match(s)
    if m:
        return int(m.group(1), 16)
    from dicomkit.dictionary import tag_for_keyword  # late import: dictionary sits below core

    tag = tag_for_keyword(s)
    if tag is None:
        raise DictionaryError(f"not a tag or known keyword: {text!r}")
    return tag


def format_tag(tag: int) -> str:
    """``(gggg,eeee)`` for an int tag."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


ITEM = 0xFFFEE000
ITEM_DELIMITATION = 0xFFFEE00D
SEQUENCE_DELIMITATION = 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
FLOAT_PIXEL_DATA = 0x7FE00008
DOUBLE_FLOAT_PIXEL_DATA = 0x7FE00009
SPECIFIC_CHARACTER_SET = 0x00080005
TRANSFER_SYNTAX_UID = 0x00020010
UNDEFINED_LENGTH = 0xFFFFFFFF
