"""Sequences of items (PS3.5 7.5): a ``list`` of :class:`~dicomkit.core._dataset.Dataset`.

Items remember the data set that holds the sequence (``parent``) so that they inherit its
Specific Character Set (PS3.5 6.1.2.3: an item without (0008,0005) uses the enclosing one).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Self, SupportsIndex, overload

if TYPE_CHECKING:
    from dicomkit.core._dataset import Dataset

__all__ = ["LazySequence", "Sequence"]


class Sequence(list["Dataset"]):
    """A list of data sets; ``parent`` is the data set holding the sequence element."""

    __slots__ = ("_parent",)

    def __init__(self, items: Iterable[Dataset] = (), parent: Dataset | None = None) -> None:
        super().__init__()
        self._parent: Dataset | None = parent
        for item in items:
            self.append(item)

    @classmethod
    def new_for(cls, parent: Dataset | None) -> Sequence:
        """An empty sequence held by ``parent`` (the decoder's fast constructor: items it
        appends already have their parent set)."""
        seq: Sequence = cls.__new__(cls)
        seq._parent = parent
        return seq

    @property
    def parent(self) -> Dataset | None:
        """The data set holding this sequence's element (``None`` for a free-standing sequence);
        setting it re-parents every item."""
        return self._parent

    @parent.setter
    def parent(self, ds: Dataset | None) -> None:
        self._parent = ds
        for item in self:
            item.parent = ds

    def _check(self, item: Any) -> Dataset:
        from dicomkit.core._dataset import Dataset

        if not isinstance(item, Dataset):
            raise TypeError(f"sequence items must be Dataset, not {type(item).__name__}")
        item.parent = self._parent
        return item

    def append(self, item: Dataset) -> None:
        """Add a data set at the end (its ``parent`` becomes this sequence's parent); anything but a
        Dataset raises ``TypeError``."""
        super().append(self._check(item))

    def insert(self, index: SupportsIndex, item: Dataset) -> None:
        """Insert a data set before ``index`` (list semantics); anything but a Dataset raises
        ``TypeError``."""
        super().insert(index, self._check(item))

    def extend(self, items: Iterable[Dataset]) -> None:
        """Append each data set of ``items``; anything but a Dataset raises ``TypeError``."""
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


class LazySequence:
    """A sequence read from a buffer but not parsed yet: ``load()`` parses its items.

    The reader stores one of these as the value of a sequence element (its extent was found
    by skipping a defined length, or by a scan of the item/delimiter structure), so reading a
    file with large or many sequences costs only for the sequences that are used.
    :class:`~dicomkit.core._element.DataElement` swaps it for the :class:`Sequence` on first
    access of ``value``; ``owner`` is the data set that holds the element (the parent of the
    items), updated when the element moves. ``raw`` is the encoded value as read (``buf``
    from ``start`` to ``stop``), in the encoding ``implicit`` / ``little``.

    The reader makes it with ``weak=True``: the owner is then held by a weak reference, so a
    data set read and dropped is freed at once instead of by the cycle collector (data set ->
    element -> sequence -> data set); :meth:`pin` (the data set does it when it hands the
    element out) or setting ``owner`` makes the reference strong again.
    """

    __slots__ = ("_args", "_load", "_owner", "_owner_ref", "implicit", "little", "source")

    def __init__(
        self,
        owner: Dataset | None,
        load: Any,
        args: tuple[Any, ...],
        source: tuple[Any, int, int] = (b"", 0, 0),
        implicit: bool = False,
        little: bool = True,
        weak: bool = False,
    ) -> None:
        if weak and owner is not None:
            self._owner: Dataset | None = None
            self._owner_ref: Any = weakref.ref(owner)
        else:
            self._owner = owner
            self._owner_ref = None
        self._load = load
        self._args = args
        #: (buffer, start, stop) of the encoded value as read
        self.source = source
        self.implicit = implicit
        self.little = little

    @property
    def owner(self) -> Dataset | None:
        """The data set holding the element (the parent of the items once parsed)."""
        ref = self._owner_ref
        if ref is not None:
            return ref()  # type: ignore[no-any-return]
        return self._owner

    @owner.setter
    def owner(self, owner: Dataset | None) -> None:
        self._owner = owner
        self._owner_ref = None

    def pin(self) -> None:
        """Hold the owner strongly (the element is handed out: it may outlive a dropped data
        set, whose items must still find their parent)."""
        ref = self._owner_ref
        if ref is not None:
            self._owner = ref()
            self._owner_ref = None

    def load(self) -> Sequence:
        """Parse the items (errors in malformed items are raised here, on first access)."""
        return self._load(self.owner, *self._args)  # type: ignore[no-any-return]

    def copy(self) -> LazySequence:
        return LazySequence(
            self.owner, self._load, self._args, self.source, self.implicit, self.little
        )

    @property
    def raw(self) -> Any:
        """The value bytes as read, a ``memoryview`` into the source buffer: the items, and
        for undefined length also the closing Sequence Delimitation Item. Valid to copy as is
        when writing with the same transfer syntax encoding as read (an encoder fast path)."""
        buf, start, stop = self.source
        return memoryview(buf)[start:stop]

    def __repr__(self) -> str:
        return "<LazySequence (not parsed yet)>"

    def __reduce__(self) -> tuple[Any, ...]:
        return self.load().__reduce__()
