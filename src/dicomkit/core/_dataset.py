"""Data sets (PS3.5 7): an ordered mapping of tag -> :class:`DataElement`.

Design: the reader fills ``_d`` with compact raw entries ``(vr, value_bytes)`` and only makes a
:class:`DataElement` when one is asked for, so reading a header costs one tuple per element.
Iteration is always in ascending tag order (PS3.5 7.1: elements are ordered by tag).
Keyword access (``ds.PatientName``) goes through :mod:`dicomkit.dictionary`; a mistyped keyword
raises with a "did you mean" suggestion.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from dicomkit.core._element import DataElement, default_charsets
from dicomkit.core._tag import SPECIFIC_CHARACTER_SET, TRANSFER_SYNTAX_UID, Tag, parse_tag
from dicomkit.core._vr import resolve_vr
from dicomkit.core.values._validate import validate
from dicomkit.dictionary import tags
from dicomkit.errors import DictionaryError

if TYPE_CHECKING:
    from dicomkit.core._private import PrivateBlock
    from dicomkit.core.values._charset import Charsets
    from dicomkit.errors import InvalidDicomError

__all__ = ["Dataset"]


def _dict() -> Any:
    import dicomkit.dictionary as d

    return d


def _suggest(name: str) -> str:
    try:
        hints = list(_dict().suggest_keywords(name))
    except Exception:  # noqa: BLE001 - a hint must never hide the real error
        hints = []
    return f"; did you mean {', '.join(hints)}?" if hints else ""


#: keyword -> tag for the keywords looked up so far (a pure cache of the dictionary; bounded
#: by the dictionary's size since only keywords it knows are stored)
_KEYWORD_TAGS: dict[str, int] = {}
_ABSENT: Any = object()  # Dataset.get: no such element


def _keyword_tag(keyword: str) -> int | None:
    tag = _KEYWORD_TAGS.get(keyword)
    if tag is None:
        found = _dict().tag_for_keyword(keyword)
        if found is None:
            return None
        tag = _KEYWORD_TAGS[keyword] = int(found)
    return tag


def _tag_of(key: Any) -> int:
    """An int tag from an int, a Tag, a keyword or "(gggg,eeee)"; DictionaryError otherwise."""
    if isinstance(key, int):
        return int(key)
    if isinstance(key, str):
        tag = _keyword_tag(key)
        if tag is not None:
            return tag
        try:
            return parse_tag(key)
        except DictionaryError:
            raise DictionaryError(f"unknown keyword or tag {key!r}{_suggest(key)}") from None
    if isinstance(key, tuple) and len(key) == 2:
        return int(Tag(key))
    raise DictionaryError(f"not a tag: {key!r}")


# What pydicom users reach for on a data set, and where it lives here. The data model sits
# below io and pixels (docs/architecture.md, checked by import-linter): a Dataset cannot call
# up into them, and reading a header never imports numpy. The AttributeError says where to go.
_PIXELS_LAYER = "(pixels are a layer above the data model, so reading headers never loads numpy)"
_ELSEWHERE = {
    "pixel_array": "use dicomkit.pixels.pixel_array(ds) " + _PIXELS_LAYER,
    "decompress": "use dicomkit.pixels.decompress(ds), in place " + _PIXELS_LAYER,
    "compress": "use dicomkit.pixels.compress(ds, 'RLELossless'), in place (a transfer syntax "
    "UID or keyword) " + _PIXELS_LAYER,
    "convert_pixel_data": "use dicomkit.pixels.decode(ds) " + _PIXELS_LAYER,
    "save_as": "use dicomkit.write(ds, path) (transfer_syntax= a UID or keyword)",
    "to_json": "use dicomkit.io._json.dumps(ds) (the PS3.18 F JSON model)",
    "to_json_dict": "use dicomkit.io._json.to_json(ds)",
    "from_json": "use dicomkit.io._json.from_json(text)",
}


class Dataset(MutableMapping[int, DataElement]):
    """A DICOM data set. ``ds.PatientName``, ``ds[0x00100010]``, ``ds["PatientName"]``.

    ``file_meta`` (the group 0002 data set), ``preamble`` and ``filename`` are set by the
    reader; ``read_errors`` lists what a lenient read skipped. ``is_undefined_length_item`` is
    true for a sequence item read with undefined length (kept when written back).
    """

    __slots__ = (
        "__dict__",
        "__weakref__",
        "_d",
        "_implicit",
        "_little",
        "_parent",
        "is_undefined_length_item",
    )

    _d: dict[int, Any]
    _little: bool
    _implicit: bool | None
    _parent: Dataset | None
    # Rarely set attributes live in the instance __dict__ with these class-level defaults, so
    # that making the (many) item data sets of a file costs only the four slots.
    _charsets: Charsets | None = None
    _ts: str | None = None
    #: (stream, inflated length): the deflate stream of a deflated file as read (PS3.5 A.5),
    #: written again instead of a new one while the data set still encodes to the same bytes
    #: (set by the reader, see :mod:`dicomkit.io._part10`)
    deflated_source: tuple[bytes, int] | None = None
    file_meta: Dataset | None = None
    #: how values set on this data set are checked (:mod:`dicomkit.core.values._validate`):
    #: "warn" (default), "raise" or "off"; ``ds.validation = "raise"`` for one data set,
    #: ``read(..., validation=...)`` for a file's
    validation: str = "warn"
    preamble: bytes | None = None
    filename: str | None = None
    is_undefined_length_item: bool

    def __init__(self, elements: Iterable[DataElement] | Mapping[Any, Any] | None = None) -> None:
        _set = object.__setattr__
        _set(self, "_d", {})
        _set(self, "_little", True)
        _set(self, "_implicit", None)
        _set(self, "_parent", None)
        _set(self, "is_undefined_length_item", False)
        if elements is not None:
            if isinstance(elements, Mapping):
                for key, value in elements.items():
                    self[key] = value
            else:
                for el in elements:
                    self.add(el)

    # -- the io layer's interface (decoders and encoders; not for applications) ----------------
    @classmethod
    def from_raw(
        cls,
        d: dict[int, Any],
        little: bool,
        implicit: bool | None,
        parent: Dataset | None = None,
        undefined_item: bool = False,
    ) -> Dataset:
        """A data set over ``d`` (see :attr:`raw_elements`) read in the given encoding: the
        decoder's fast constructor."""
        ds: Dataset = cls.__new__(cls)
        _set = object.__setattr__
        _set(ds, "_d", d)
        _set(ds, "_little", little)
        _set(ds, "_implicit", implicit)
        _set(ds, "_parent", parent)
        _set(ds, "is_undefined_length_item", undefined_item)
        return ds

    @property
    def raw_elements(self) -> dict[int, Any]:
        """The live storage, for the io layer: tag -> :class:`DataElement`, or a raw entry
        ``(vr, value bytes)`` for an element read and not asked for yet. Iteration order is
        the reader's (ascending in a file); anything added must keep raw entries' bytes in
        this data set's byte order."""
        return self._d

    def set_encoding(self, little: bool, implicit: bool | None) -> None:
        """Record the encoding the raw entries were read in (the reader's job)."""
        _set = object.__setattr__
        _set(self, "_little", little)
        _set(self, "_implicit", implicit)

    def use_charsets(self, charsets: Charsets | None) -> None:
        """Decode text with ``charsets`` (e.g. the ones an association agreed) while the data
        set has no (0008,0005) of its own; ``None`` goes back to the default rule."""
        object.__setattr__(self, "_charsets", charsets)

    @property
    def read_errors(self) -> list[InvalidDicomError]:
        """Problems a lenient read skipped over (empty for a clean read)."""
        errs = self.__dict__.get("_read_errors")
        if errs is None:
            errs = self.__dict__["_read_errors"] = []
        return errs

    @read_errors.setter
    def read_errors(self, errors: list[InvalidDicomError]) -> None:
        self.__dict__["_read_errors"] = errors

    # -- mapping protocol ----------------------------------------------------------------------
    def __getitem__(self, key: Any) -> DataElement:
        tag = key if type(key) is int else _tag_of(key)
        e = self._d[tag]
        if type(e) is tuple:
            e = DataElement.from_raw(tag, e[0], e[1], self._little, self.charsets)
            self._d[tag] = e
        elif e.vr == "SQ":
            lazy = e.lazy_sequence
            if lazy is not None:
                lazy.pin()  # handed out: it may outlive this data set (see LazySequence)
        return e  # type: ignore[no-any-return]

    def __setitem__(self, key: Any, value: Any) -> None:
        tag = key if type(key) is int else _tag_of(key)
        if isinstance(value, DataElement):
            if value.tag != tag:
                raise DictionaryError(f"element tag {value.tag} does not match key {Tag(tag)}")
            self._put(value)
        else:
            self.set(tag, value)

    def __delitem__(self, key: Any) -> None:
        tag = key if type(key) is int else _tag_of(key)
        del self._d[tag]
        if tag == SPECIFIC_CHARACTER_SET:
            self._charset_changed()

    def __iter__(self) -> Iterator[int]:
        d = self._d
        # dict preserves insertion order; the reader inserts in file order (ascending). Out
        # of order (elements added in Python): sort the dict once, so later passes are cheap.
        keys = list(d)
        if any(keys[i] > keys[i + 1] for i in range(len(keys) - 1)):
            keys.sort()
            object.__setattr__(self, "_d", {k: d[k] for k in keys})
        return iter(keys)

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        if type(key) is int:
            return key in self._d
        try:
            return _tag_of(key) in self._d
        except (DictionaryError, ValueError, TypeError):
            return False

    def __bool__(self) -> bool:
        return True

    def get(self, key: Any, default: Any = None) -> Any:
        """The *value* of an element (not the element), or ``default`` when absent."""
        tag: int | None
        if type(key) is int:
            tag = key
        else:
            tag = _KEYWORD_TAGS.get(key) if type(key) is str else None
            if tag is None:
                try:
                    tag = _tag_of(key)
                except DictionaryError:
                    return default
        e = self._d.get(tag, _ABSENT)
        if e is _ABSENT:
            return default
        if type(e) is tuple:  # __getitem__, inline: the element made from its raw entry
            cs = self._charsets
            e = DataElement.from_raw(
                tag, e[0], e[1], self._little, cs if cs is not None else self.charsets
            )
            self._d[tag] = e
        return e.value

    def elements(self) -> Iterator[DataElement]:
        """The data elements in tag order."""
        for tag in self:
            yield self[tag]

    def tags(self) -> list[int]:
        """The tags present, in order (no element objects are made)."""
        return list(self)

    # -- adding ------------------------------------------------------------------------------
    def _put(self, el: DataElement) -> None:
        tag = int(el.tag)
        self._d[tag] = el
        if el.vr == "SQ":
            el.adopt(self)
        if tag == SPECIFIC_CHARACTER_SET:
            self._charset_changed()

    def add(self, element: DataElement) -> None:
        """Add (or replace) an element."""
        self._put(element)

    def set(
        self, key: Any, value: Any, vr: str | None = None, *, validation: str | None = None
    ) -> DataElement:
        """Set the value of ``key`` (tag or keyword); the VR comes from the dictionary unless
        given (an existing element keeps its VR). Returns the element.

        The value is checked against the VR (length, format, range: PS3.5 6.2) as
        ``validation`` says -- ``"warn"``, ``"raise"`` or ``"off"`` -- by default as the data
        set's :attr:`validation` says (``"warn"``); the message names the element."""
        tag = key if type(key) is int else _tag_of(key)
        mode = self._validation_mode() if validation is None else validation
        if vr is None and tag in self._d:
            el = self[tag]
            if mode != "off":
                validate(tag, el.vr, value, mode)
            if tag == SPECIFIC_CHARACTER_SET:
                self._charset_changed()
            el.value = value
            return el
        if vr is None:
            vr = self._vr_for(tag)
        if mode != "off":
            validate(tag, vr, value, mode)
        el = DataElement(tag, vr, value)
        self._put(el)
        return el

    def _validation_mode(self) -> str:
        """This data set's :attr:`validation`, else the enclosing data set's (items follow the
        data set they belong to), else "warn"."""
        ds: Dataset | None = self
        while ds is not None:
            mode = ds.__dict__.get("validation")
            if mode is not None:
                return str(mode)
            ds = ds.parent
        return "warn"

    def _vr_for(self, tag: int) -> str:
        d = _dict()
        if tag >> 16 & 1 and (tag & 0xFFFF) >= 0x1000:
            creator = self.get((tag & 0xFFFF0000) | (tag >> 8 & 0xFF))
            if isinstance(creator, str):
                entry = d.private_entry(tag, creator.strip())
                if entry is not None:
                    return resolve_vr(str(entry.vr))
            return "UN"
        if tag >> 16 & 1 and 0x10 <= (tag & 0xFFFF) <= 0xFF:
            return "LO"
        entry = d.entry_for_tag(tag)
        vr = str(entry.vr) if entry is not None and entry.vr else str(d.vr_for_tag(tag))
        if vr == "UN" and entry is None:
            raise DictionaryError(f"no VR known for {Tag(tag)}: pass vr=")
        if " or " not in vr:
            return vr
        return resolve_vr(  # the one rule (core.vr); a sequence item inherits the values
            vr,
            pixel_representation=self._inherited_int(tags.PixelRepresentation),
            bits_allocated=self._inherited_int(tags.BitsAllocated),
        )

    def _inherited_int(self, tag: int) -> int | None:
        """An integer value of this data set, else of the nearest enclosing one that has it."""
        ds: Dataset | None = self
        while ds is not None:
            if tag in ds:
                value = ds.get(tag)
                return value if isinstance(value, int) else None
            ds = ds.parent
        return None

    # -- keyword attributes ----------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name[:1] == "_" or not name[:1].isupper():
            hint = _ELSEWHERE.get(name)
            if hint is not None:
                raise AttributeError(f"Dataset has no {name!r}: {hint}")
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        tag = _keyword_tag(name)
        if tag is None:
            raise AttributeError(f"unknown DICOM keyword {name!r}{_suggest(name)}")
        d = self.__getattribute__("_d")
        if tag not in d:
            raise AttributeError(f"data set has no element {name} {Tag(tag)}")
        return self[tag].value

    def __setattr__(self, name: str, value: Any) -> None:
        if name[:1].isupper():
            tag = _keyword_tag(name)
            if tag is None:
                raise AttributeError(f"unknown DICOM keyword {name!r}{_suggest(name)}")
            self.set(int(tag), value)
            return
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name[:1].isupper():
            tag = _keyword_tag(name)
            if tag is None:
                raise AttributeError(f"unknown DICOM keyword {name!r}{_suggest(name)}")
            if tag not in self._d:
                raise AttributeError(f"data set has no element {name} {Tag(tag)}")
            del self[int(tag)]
            return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        names = set(super().__dir__())
        kw = _dict().keyword_for_tag
        names.update(k for k in (kw(t) for t in self._d) if k)
        return sorted(names)

    # -- character sets and encoding ----------------------------------------------------------------
    @property
    def charsets(self) -> Charsets:
        """The character sets of this data set: its own (0008,0005), else the enclosing data
        set's (PS3.5 6.1.2.3 for items), else the default repertoire."""
        cs = self._charsets
        if cs is not None:
            return cs
        if SPECIFIC_CHARACTER_SET in self._d:
            e = self._d[SPECIFIC_CHARACTER_SET]
            if type(e) is tuple:
                e = DataElement.from_raw(
                    SPECIFIC_CHARACTER_SET, e[0], e[1], self._little, default_charsets()
                )
                self._d[SPECIFIC_CHARACTER_SET] = e
            cs = default_charsets().from_value(e.value)  # Charsets.from_value (cached)
            object.__setattr__(self, "_charsets", cs)
            return cs
        parent = self._parent
        if parent is not None:
            return parent.charsets
        return default_charsets()

    def _charset_changed(self) -> None:
        # Raw text decoded later would use the new character set: bind the current one first.
        for ds in self.walk_datasets():
            cs = ds.charsets
            d = ds.raw_elements
            little = ds.is_little_endian
            for tag, e in list(d.items()):
                if type(e) is tuple:
                    d[tag] = DataElement.from_raw(tag, e[0], e[1], little, cs)
        for ds in self.walk_datasets():
            ds.use_charsets(None)

    @property
    def parent(self) -> Dataset | None:
        """The data set holding the sequence this item is in (``None`` at the top)."""
        return self._parent

    @parent.setter
    def parent(self, parent: Dataset | None) -> None:
        object.__setattr__(self, "_parent", parent)

    @property
    def is_little_endian(self) -> bool:
        """Byte order of the raw values as read (True for a data set made in Python)."""
        return self._little

    @property
    def is_implicit_vr(self) -> bool | None:
        """Whether the data set was read as implicit VR (``None``: made in Python)."""
        return self._implicit

    @property
    def transfer_syntax(self) -> Any:
        """The transfer syntax UID: from ``file_meta``, or as set by the reader / the user."""
        ts: Any = None
        fm = self.file_meta
        if fm is not None and TRANSFER_SYNTAX_UID in fm:
            ts = fm[TRANSFER_SYNTAX_UID].value
        if not ts:
            ts = self._ts
        if not ts:
            return None
        ts = str(ts).rstrip("\x00 ")
        try:
            from dicomkit.core._uid import UID
        except ImportError:  # pragma: no cover - uid lands with the dictionary
            return ts
        return UID(ts)

    @transfer_syntax.setter
    def transfer_syntax(self, uid: str | None) -> None:
        object.__setattr__(self, "_ts", uid)

    # -- private blocks -------------------------------------------------------------------------
    def private_block(self, group: int, creator: str, create: bool = False) -> PrivateBlock:
        """The private block of ``creator`` in ``group`` (PS3.5 7.8.1); ``create`` reserves the
        first free (gggg,0010-00FF) slot when the creator has none."""
        from dicomkit.core._private import find_private_block

        return find_private_block(self, group, creator, create)

    # -- whole data set -----------------------------------------------------------------------
    def copy(self) -> Dataset:
        """A deep copy: elements and nested items are copied, raw value buffers are shared."""
        new: Dataset = Dataset.from_raw({}, self._little, self._implicit)
        d = new._d
        for tag, e in self._d.items():
            if type(e) is tuple:
                d[tag] = e
            else:
                el = e.copy()
                d[tag] = el
                if el.vr == "SQ":
                    el.adopt(new)
        new.file_meta = self.file_meta.copy() if self.file_meta is not None else None
        new.preamble = self.preamble
        new.filename = self.filename
        object.__setattr__(new, "_ts", self._ts)
        if self.deflated_source is not None:
            new.deflated_source = self.deflated_source
        if self.is_undefined_length_item:
            object.__setattr__(new, "is_undefined_length_item", True)
        if self.read_errors:
            new.read_errors = list(self.read_errors)
        return new

    __copy__ = copy

    def __deepcopy__(self, memo: dict[int, Any]) -> Dataset:
        return self.copy()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        if self is other:
            return True
        if set(self._d) != set(other._d):
            return False
        return all(self[t] == other[t] for t in self._d)

    __hash__ = None  # type: ignore[assignment]

    def walk(self) -> Iterator[DataElement]:
        """Every element depth-first: an SQ element, then the elements of its items."""
        for el in self.elements():
            yield el
            if el.vr == "SQ" and el.value:
                for item in el.value:
                    yield from item.walk()

    def walk_datasets(self) -> Iterator[Dataset]:
        """This data set and every nested item, depth-first."""
        yield self
        for e in list(self._d.values()):
            if type(e) is not tuple and e.vr == "SQ" and e.value:
                for item in e.value:
                    yield from item.walk_datasets()

    def __repr__(self) -> str:
        return f"<Dataset with {len(self._d)} elements>"

    def __str__(self) -> str:
        return "\n".join(_lines(self, 0))

    # pickling: slots + __dict__ (raw entries become elements so they carry their encoding)
    def __getstate__(self) -> dict[str, Any]:
        return {
            "_d": {t: self[t] for t in self._d},
            "_little": self._little,
            "_implicit": self._implicit,
            "_parent": self._parent,
            "is_undefined_length_item": self.is_undefined_length_item,
            "__extra__": dict(self.__dict__),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        extra = state.pop("__extra__", {})
        for k, v in state.items():
            object.__setattr__(self, k, v)
        self.__dict__.update(extra)
        for el in self._d.values():
            if type(el) is not tuple and el.vr == "SQ":
                el.adopt(self)


def _lines(ds: Dataset, depth: int) -> Iterator[str]:
    pad = "  " * depth
    kw = _dict().keyword_for_tag
    for el in ds.elements():
        name = kw(el.tag) or ("Private" if el.is_private else "Unknown")
        if el.vr == "SQ":
            items = el.value or []
            yield f"{pad}{el.tag} SQ {name}: {len(items)} item(s)"
            for i, item in enumerate(items, 1):
                yield f"{pad}  item {i}"
                yield from _lines(item, depth + 2)
        else:
            from dicomkit.core._element import _short_repr

            yield f"{pad}{el.tag} {el.vr} {name}: {_short_repr(el)}"
