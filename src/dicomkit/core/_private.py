"""Private data element blocks (PS3.5 7.8.1).

A private creator element (gggg,00xx), xx in 10-FF, reserves the block (gggg,xx00-xxFF) for
its creator. :class:`PrivateBlock` addresses the block's elements by their low byte, so code
never hard-codes which block a creator got in a particular file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dicomkit.core._element import DataElement
from dicomkit.errors import DictionaryError, InvalidValueError

if TYPE_CHECKING:
    from dicomkit.core._dataset import Dataset

__all__ = ["PrivateBlock", "find_private_block"]


class PrivateBlock:
    """The elements of one private creator in one group: ``block[0x10]`` is the element
    (gggg,xx10) where xx is the block byte the creator holds."""

    __slots__ = ("block", "creator", "dataset", "group")

    def __init__(self, dataset: Dataset, group: int, creator: str, block: int) -> None:
        self.dataset = dataset
        self.group = group
        self.creator = creator
        self.block = block

    def tag(self, offset: int) -> int:
        """The full tag of ``offset`` (0x00-0xFF) in this block."""
        if not 0 <= offset <= 0xFF:
            raise InvalidValueError(f"private element offset must be 0x00-0xFF, not {offset:#x}")
        return (self.group << 16) | (self.block << 8) | offset

    def __getitem__(self, offset: int) -> DataElement:
        return self.dataset[self.tag(offset)]

    def __contains__(self, offset: object) -> bool:
        return isinstance(offset, int) and 0 <= offset <= 0xFF and self.tag(offset) in self.dataset

    def get(self, offset: int, default: Any = None) -> Any:
        """The value at ``offset``, or ``default``."""
        return self.dataset.get(self.tag(offset), default)

    def add(self, offset: int, vr: str | None, value: Any) -> DataElement:
        """Add or replace the element at ``offset``; without ``vr`` the private dictionary
        entry for this creator decides, else UN."""
        tag = self.tag(offset)
        if vr is None:
            from dicomkit.dictionary import private_entry

            entry = private_entry(tag, self.creator)
            vr = str(entry.vr).split(" or ")[0] if entry is not None else "UN"
        el = DataElement(tag, vr, value)
        self.dataset.add(el)
        return el

    def __setitem__(self, offset: int, value: Any) -> None:
        if isinstance(value, DataElement):
            if value.tag != self.tag(offset):
                raise InvalidValueError(f"element {value.tag} is not at offset {offset:#x}")
            self.dataset.add(value)
        elif self.tag(offset) in self.dataset:
            self[offset].value = value
        else:
            self.add(offset, None, value)

    def __delitem__(self, offset: int) -> None:
        del self.dataset[self.tag(offset)]

    def __iter__(self) -> Iterator[int]:
        """The offsets present in the block, in order."""
        lo = (self.group << 16) | (self.block << 8)
        for tag in self.dataset:
            if lo <= tag <= lo | 0xFF:
                yield tag & 0xFF

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return (
            f"PrivateBlock(group={self.group:#06x}, creator={self.creator!r}, "
            f"block={self.block:#04x})"
        )


def _creator_text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("latin-1")
    return str(value or "").strip(" \x00")


def find_private_block(ds: Dataset, group: int, creator: str, create: bool) -> PrivateBlock:
    """The block of ``creator`` in ``group`` (odd, not 0001/0003/0005/0007 -- PS3.5 7.8.1)."""
    if not group & 1 or group < 0x0009 or group > 0xFFFF:
        raise InvalidValueError(f"{group:#06x} is not a private group")
    creator = creator.strip()
    free = None
    for block in range(0x10, 0x100):
        tag = (group << 16) | block
        if tag in ds:
            if _creator_text(ds.get(tag)) == creator:
                return PrivateBlock(ds, group, creator, block)
        elif free is None:
            free = block
    if not create:
        raise DictionaryError(f"no private block of {creator!r} in group {group:04X}")
    if free is None:
        raise InvalidValueError(f"group {group:04X} has no free private block left")
    ds.add(DataElement((group << 16) | free, "LO", creator))
    return PrivateBlock(ds, group, creator, free)
