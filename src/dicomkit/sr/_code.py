"""Coded concepts (PS3.3 8.8 Code Sequence Macro): :class:`Code`.

Two codes are the same concept when their coding scheme designator and code value match
(PS3.16 8.1); the code meaning is display text and does not take part in comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dicomkit.errors import InvalidValueError

if TYPE_CHECKING:
    from dicomkit.core._dataset import Dataset

__all__ = ["Code"]

_CODE_VALUE = 0x00080100
_SCHEME = 0x00080102
_SCHEME_VERSION = 0x00080103
_MEANING = 0x00080104
_LONG_CODE_VALUE = 0x00080119
_URN_CODE_VALUE = 0x00080120


@dataclass(frozen=True, slots=True, eq=False)
class Code:
    """A coded concept ``Code("121071", "DCM", "Finding")`` (PS3.3 8.8).

    ``value`` goes into Code Value (0008,0100) when it fits 16 characters, else Long Code
    Value (0008,0119); a ``urn:`` / ``http(s):`` value goes into URN Code Value (0008,0120).
    """

    value: str
    scheme: str
    meaning: str
    version: str | None = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Code):
            return self.value == other.value and self.scheme == other.scheme
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.value, self.scheme))

    def __str__(self) -> str:
        return f'({self.value},{self.scheme},"{self.meaning}")'

    @classmethod
    def from_item(cls, item: Dataset) -> Code:
        """The code a Code Sequence item carries (PS3.3 Table 8.8-1)."""
        get = item.get
        value = get(_CODE_VALUE) or get(_LONG_CODE_VALUE) or get(_URN_CODE_VALUE)
        if not value:
            raise InvalidValueError(
                "code sequence item without Code Value (0008,0100), Long Code Value "
                "(0008,0119) or URN Code Value (0008,0120): give the code a value"
            )
        version = get(_SCHEME_VERSION)
        return cls(str(value), str(get(_SCHEME) or ""), str(get(_MEANING) or ""), version or None)

    def to_item(self) -> Dataset:
        """A Code Sequence item for this code (PS3.3 Table 8.8-1)."""
        from dicomkit.core._dataset import Dataset

        item = Dataset()
        if self.value.startswith(("urn:", "http:", "https:")):
            item.set(_URN_CODE_VALUE, self.value, "UR")
        elif len(self.value) > 16:
            item.set(_LONG_CODE_VALUE, self.value, "UC")
        else:
            item.set(_CODE_VALUE, self.value, "SH")
            item.set(_SCHEME, self.scheme, "SH")
        if _SCHEME not in item:
            item.set(_SCHEME, self.scheme, "SH")
        if self.version:
            item.set(_SCHEME_VERSION, self.version, "SH")
        item.set(_MEANING, self.meaning, "LO")
        return item
