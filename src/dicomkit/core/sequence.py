"""Sequences of items (PS3.5 7.5): a ``list`` of :class:`~dicomkit.core.dataset.Dataset`.

Items remember the data set that holds the sequence (``parent``) so that they inherit its
Specific Character Set (PS3.5 6.1.2.3: an item without (0008,0005) uses the enclosing one).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Self, SupportsIndex, overload

if TYPE_CHECKING:
    from dicomkit.core.dataset import Dataset

__all__ = ["Sequence"]


class Sequence(list["Dataset"]):
    """A list of data sets; ``parent`` is the data set holding the sequence element."""

    __slots__ = ("_parent",)

    def __init__(self, items: Iterable[Dataset] = (), parent: Dataset | None = None) -> None:
        super().__init__()
        self._parent: Dataset | None = parent
        for item in items:
            self.append(item)

    @classmethod
    def _empty(cls, parent: Dataset | None) -> Sequence:
        """Internal fast constructor used by the decoder."""
        seq = cls.__new__(cls)
        seq._parent = parent
        return seq

    @property
    def parent(self) -> Dataset | None:
        return self._parent

    @parent.setter
    def parent(self, ds: Dataset | None) -> None:
        self._parent = ds
        for item in self:
            item._set_parent(ds)

    def _check(self, item: Any) -> Dataset:
        from dicomkit.core.dataset import Dataset

        if not isinstance(item, Dataset):
            raise TypeError(f"sequence items must be Dataset, not {type(item).__name__}")
        item._set_parent(self._parent)
        return item

    def append(self, item: Dataset) -> None:
        super().append(self._check(item))

    def insert(self, index: SupportsIndex, item: Dataset) -> None:
        super().insert(index, self._check(item))

    def extend(self, items: Iterable[Dataset]) -> None:
        super().extend(self._check(i) for i in items)

    def __iadd__(self, items: Iterable[Dataset]) -> Self:  # type: ignore[override,misc]
        self.extend(items)
        return self

    @overload
    def __setitem__(self, index: SupportsIndex, item: Dataset) -> None: ...
    @overload
    def __setitem__(self, index: slice, item: Iterable[Dataset]) -> None: ...
    def __setitem__(self, index: Any, item: Any) -> None:
        if isinstance(index, slice):
            super().__setitem__(index, [self._check(i) for i in item])
        else:
            super().__setitem__(index, self._check(item))

    def copy(self) -> Sequence:
        """A deep copy of the items (raw value buffers are shared)."""
        return Sequence([item.copy() for item in self])

    def __repr__(self) -> str:
        return f"<Sequence of {len(self)} items>"

    def __reduce__(self) -> tuple[Any, ...]:
        # the parent is re-linked by Dataset.__setstate__
        return (Sequence, (list(self),))
