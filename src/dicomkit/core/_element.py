"""Data elements (PS3.5 7.1): a tag, a VR and a value that is decoded on first access.

An element read from a file keeps the value bytes exactly as read (``raw``) together with the
byte order and character sets needed to decode them, so that a header scan never pays for
values nobody looks at, and an untouched element is written back byte for byte. Setting
``value`` drops the raw bytes; the encoder then encodes the Python value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dicomkit.core._sequence import LazySequence, Sequence
from dicomkit.core._tag import PIXEL_DATA, Tag

if TYPE_CHECKING:
    from dicomkit.core.values._charset import Charsets

__all__ = ["DataElement", "decode_raw", "default_charsets"]


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()

# Cached references to dicomkit.core.values (written by another layer at the same level; looked
# up lazily so that the data model imports even when values is being rebuilt).
_codec_cache: list[Any] = []


def _codec() -> Any:
    if not _codec_cache:
        from dicomkit.core.values import _codec as codec

        _codec_cache.append(codec)
    return _codec_cache[0]


def default_charsets() -> Charsets:
    """``DEFAULT_CHARSETS`` of :mod:`dicomkit.core.values._charset` (ISO_IR 6), looked up once
    (it is asked for on hot paths: every data set without Specific Character Set)."""
    if not _charsets_cache:
        from dicomkit.core.values._charset import DEFAULT_CHARSETS

        _charsets_cache.append(DEFAULT_CHARSETS)
    return _charsets_cache[0]  # type: ignore[no-any-return]


_charsets_cache: list[Any] = []


def decode_raw(vr: str, raw: bytes | memoryview, little: bool, charsets: Charsets | None) -> Any:
    """Decode value bytes with :func:`dicomkit.core.values._codec.decode_value` (PS3.5 6.2)."""
    if charsets is None:
        charsets = default_charsets()
    return _codec().decode_value(vr, raw, little, charsets)


def _normalise(vr: str, value: Any) -> Any:
    """Lists become ``Sequence`` for SQ and ``MultiValue`` for everything else."""
    if vr == "SQ":
        if value is None:
            return Sequence()
        if not isinstance(value, Sequence):
            return Sequence(value)
        return value
    if type(value) is list or type(value) is tuple:
        mv = getattr(_codec(), "MultiValue", list)
        return mv(value)
    return value


class DataElement:
    """One data element. ``DataElement(0x00100010, "PN", "DOE^J")`` makes one from a value.

    ``raw`` is the value bytes as read (``bytes`` or a ``memoryview`` into a memory-mapped
    file), ``None`` once the value has been set. ``is_undefined_length`` records a sequence or
    encapsulated pixel data read with length 0xFFFFFFFF (PS3.5 7.1.3), kept when written back.
    """

    __slots__ = (
        "_charsets",
        "_little",
        "_raw",
        "_tag",
        "_value",
        "is_undefined_length",
        "un_sequence",
        "vr",
    )

    _tag: Tag
    vr: str
    is_undefined_length: bool
    #: an explicit-VR ``UN`` of undefined length read as an implicit-VR sequence (PS3.5 6.2.2);
    #: written back as such in explicit VR little endian so the file stays byte-identical.
    un_sequence: bool

    def __init__(
        self, tag: int | str, vr: str, value: Any = None, *, undefined_length: bool = False
    ) -> None:
        if isinstance(tag, str):
            tag = Tag(tag)
        self._tag = tag if type(tag) is Tag else int.__new__(Tag, tag)
        self.vr = str(vr)
        self._value = _normalise(self.vr, value)
        self._raw: bytes | memoryview | None = None
        self._little = True
        self._charsets: Charsets | None = None
        self.is_undefined_length = undefined_length
        self.un_sequence = False

    @classmethod
    def from_raw(
        cls,
        tag: int,
        vr: str,
        raw: bytes | memoryview,
        little: bool = True,
        charsets: Charsets | None = None,
        undefined_length: bool = False,
    ) -> DataElement:
        """An element whose value is decoded from ``raw`` on first access."""
        el: DataElement = cls.__new__(cls)
        el._tag = int.__new__(Tag, tag)
        el.vr = vr
        el._value = _UNSET
        el._raw = raw
        el._little = little
        el._charsets = charsets
        el.is_undefined_length = undefined_length
        el.un_sequence = False
        return el

    @classmethod
    def from_sequence(cls, tag: int, seq: Any, undefined_length: bool) -> DataElement:
        """A sequence element holding ``seq`` as it is (a :class:`Sequence` or a
        :class:`LazySequence`): the decoder's fast constructor."""
        el: DataElement = cls.__new__(cls)
        el._tag = int.__new__(Tag, tag)
        el.vr = "SQ"
        el._value = seq
        el._raw = None
        el._little = True
        el._charsets = None
        el.is_undefined_length = undefined_length
        el.un_sequence = False
        return el

    # -- identity ------------------------------------------------------------------------
    @property
    def tag(self) -> Tag:
        """The element's tag, a :class:`~dicomkit.core._tag.Tag` (an ``int`` with group/element)."""
        return self._tag

    @property
    def keyword(self) -> str:
        """The dictionary keyword, ``""`` for an unknown or private tag."""
        from dicomkit.dictionary import keyword_for_tag

        return str(keyword_for_tag(self._tag))

    @property
    def name(self) -> str:
        """The dictionary name (``"Private Creator"`` / ``"Private tag data"`` for private)."""
        from dicomkit.dictionary import entry_for_tag

        entry = entry_for_tag(self._tag)
        if entry is not None:
            return str(entry.name)
        if self._tag >> 16 & 1:
            if 0x10 <= (self._tag & 0xFFFF) <= 0xFF:
                return "Private Creator"
            return "Private tag data"
        if self._tag & 0xFFFF == 0:
            return "Group Length"
        return "Unknown"

    @property
    def is_private(self) -> bool:
        """True for an element of a private group (odd group number, PS3.5 7.8)."""
        return bool(self._tag >> 16 & 1)

    # -- value ---------------------------------------------------------------------------
    @property
    def value(self) -> Any:
        """The Python value (decoded from ``raw`` on first access, PS3.5 6.2)."""
        v = self._value
        if v is _UNSET:
            raw = self._raw
            if raw is None:  # pragma: no cover - defensive
                v = None
            elif self.is_undefined_length and self._tag == PIXEL_DATA:
                v = raw  # encapsulated fragments: kept as bytes (see contracts)
            else:
                # decode_raw, inline (the hot path of reading a header's values)
                cs = self._charsets
                if cs is None:
                    cs = default_charsets()
                codec = _codec_cache[0] if _codec_cache else _codec()
                v = codec.decode_value(self.vr, raw, self._little, cs)
            self._value = v
        elif type(v) is LazySequence:  # a sequence read but not parsed yet
            v = self._value = v.load()
        return v

    @value.setter
    def value(self, value: Any) -> None:
        self._value = _normalise(self.vr, value)
        self._raw = None

    @property
    def lazy_sequence(self) -> LazySequence | None:
        """The sequence value while it is not parsed yet (``None`` once parsed, or not SQ)."""
        v = self._value
        return v if type(v) is LazySequence else None

    def adopt(self, owner: Any) -> None:
        """Make ``owner`` (a data set) the parent of this sequence's items (PS3.5 6.1.2.3
        character sets are inherited through it); nothing for other elements."""
        v = self._value
        if type(v) is LazySequence:
            v.owner = owner
        elif isinstance(v, Sequence):
            v.parent = owner

    @property
    def raw(self) -> bytes | memoryview | None:
        """The value bytes as read; ``None`` for an element made or changed in Python."""
        return self._raw

    @property
    def is_little_endian(self) -> bool:
        """Byte order of ``raw``."""
        return self._little

    @property
    def charsets(self) -> Charsets | None:
        """Character sets ``raw`` is decoded with (``None``: the default repertoire)."""
        return self._charsets

    @property
    def length(self) -> int:
        """The value length as read (``raw`` length), or ``-1`` when not known without encoding."""
        if self._raw is not None:
            return len(self._raw)
        return -1

    @property
    def VM(self) -> int:
        """Value Multiplicity (PS3.5 6.4): 0 for an empty value, 1 for a sequence or bytes."""
        v = self.value
        if v is None or (isinstance(v, str) and v == ""):
            return 0
        if self.vr == "SQ":
            return 1
        if isinstance(v, (bytes, bytearray, memoryview)):
            return 1 if len(v) else 0
        if isinstance(v, list):
            return len(v)
        return 1

    # -- comparison / display -------------------------------------------------------------
    # pickling: raw bytes read from a file may be views into the file's buffer (or a memory
    # map): they are pickled as bytes; a value not yet decoded stays undecoded
    def __getstate__(self) -> dict[str, Any]:
        value = self._value
        raw = self._raw
        return {
            "tag": int(self._tag),
            "vr": self.vr,
            "value": None
            if value is _UNSET
            else bytes(value)
            if isinstance(value, memoryview)
            else value,
            "unset": value is _UNSET,
            "raw": bytes(raw) if isinstance(raw, memoryview) else raw,
            "little": self._little,
            "charsets": self._charsets,
            "undefined": self.is_undefined_length,
            "un_sequence": self.un_sequence,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._tag = int.__new__(Tag, state["tag"])
        self.vr = state["vr"]
        self._value = _UNSET if state["unset"] else state["value"]
        self._raw = state["raw"]
        self._little = state["little"]
        self._charsets = state["charsets"]
        self.is_undefined_length = state["undefined"]
        self.un_sequence = state["un_sequence"]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataElement):
            return NotImplemented
        if self._tag != other._tag or self.vr != other.vr:
            return False
        if (
            self._raw is not None
            and other._raw is not None
            and self._little == other._little
            and self._charsets == other._charsets
            and self._raw == other._raw
        ):
            return True
        return _values_equal(self.value, other.value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"DataElement({self._tag}, {self.vr!r}, {_short_repr(self)})"

    def copy(self) -> DataElement:
        """A copy; sequences are copied item by item, raw buffers are shared (immutable)."""
        el: DataElement = DataElement.__new__(DataElement)
        el._tag = self._tag
        el.vr = self.vr
        el._raw = self._raw
        el._little = self._little
        el._charsets = self._charsets
        el.is_undefined_length = self.is_undefined_length
        el.un_sequence = self.un_sequence
        v = self._value
        if type(v) is LazySequence:
            v = v.copy()
        elif self.vr == "SQ" and v is not _UNSET and v is not None:
            v = Sequence([item.copy() for item in v])
        elif isinstance(v, list):
            v = type(v)(v)
        el._value = v
        return el


def _values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, memoryview):
        a = bytes(a)
    if isinstance(b, memoryview):
        b = bytes(b)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001  # pragma: no cover - exotic value types
        return False


def _short_repr(el: DataElement, width: int = 60) -> str:
    if el.vr == "SQ":
        v = el.value
        return f"<Sequence of {len(v) if v is not None else 0} items>"
    try:
        v = el.value
    except Exception as exc:  # noqa: BLE001 - repr must not fail
        return f"<undecodable: {exc}>"
    if isinstance(v, (bytes, bytearray, memoryview)) and len(v) > 16:
        return f"<{len(v)} bytes>"
    text = repr(v)
    return text if len(text) <= width else text[: width - 3] + "..."
