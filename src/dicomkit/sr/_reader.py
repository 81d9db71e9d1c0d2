"""Read the content tree of an SR data set (PS3.3 C.17.3, the SR Document Content module).

The reader walks the (lazily decoded) nested items directly and asks each item only for the
elements its value type uses, so reading costs one small :class:`ContentItem` per item.

Design: values are decoded straight from each item's raw entries (``Dataset.raw_elements``)
with the character sets and byte order of the document, found once at the root, instead of
through ``item[tag]``: that would make a :class:`DataElement` per value and look up the
inherited character set through every enclosing item (PS3.5 6.1.2.3) each time. An item
with its own Specific Character Set (0008,0005) switches to its own for its subtree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dicomkit.core._element import decode_raw
from dicomkit.errors import InvalidValueError
from dicomkit.sr import _tags as T
from dicomkit.sr._code import Code
from dicomkit.sr._model import ContentItem, Reference

if TYPE_CHECKING:
    from dicomkit.core._dataset import Dataset
    from dicomkit.core.values._charset import Charsets

__all__ = ["read_content", "read_item"]


_SPECIFIC_CHARACTER_SET = 0x00080005


class _Values:
    """Decodes values from raw entries with one encoding and character set.

    Sequences not parsed yet are decoded once per distinct encoded value: a report repeats a
    few dozen concept names and units, the same modifiers (derivation, method) under many
    measurements and the same image references thousands of times, and the same bytes in
    the same encoding and character set carry the same content. Codes and references are
    immutable and shared; a repeated small content subtree is cloned."""

    __slots__ = ("codes", "cs", "little", "refs", "subtrees")

    def __init__(self, little: bool, cs: Charsets) -> None:
        self.little = little
        self.cs = cs
        self.codes: dict[bytes, Code | None] = {}
        self.refs: dict[bytes, Reference | None] = {}
        self.subtrees: dict[bytes, list[ContentItem]] = {}

    def code_at(self, d: dict[int, Any], tag: int) -> Code | None:
        """The code of the code sequence ``tag`` of raw entries ``d`` (None if absent)."""
        e = d.get(tag)
        if e is None:
            return None
        if type(e) is tuple:
            return self.code(self.get(d, tag))
        lazy = e.lazy_sequence
        if lazy is None:
            return self.code(e.value)
        key = bytes(lazy.raw)
        found = self.codes.get(key, _MISSING)
        if found is _MISSING:
            found = self.codes[key] = self.code(e.value)
        return found  # type: ignore[no-any-return]

    def get(self, d: dict[int, Any], tag: int) -> Any:
        e = d.get(tag)
        if e is None:
            return None
        if type(e) is tuple:
            return decode_raw(e[0], e[1], self.little, self.cs)
        return e.value

    def code(self, seq: Any) -> Code | None:
        if not seq:
            return None
        d = seq[0].raw_elements
        get = self.get
        value = get(d, _CODE_VALUE) or get(d, _LONG_CODE_VALUE) or get(d, _URN_CODE_VALUE)
        if not value:
            return Code.from_item(seq[0])  # raises the typed error
        version = get(d, _SCHEME_VERSION)
        return Code(
            str(value), str(get(d, _SCHEME) or ""), str(get(d, _MEANING) or ""), version or None
        )


_MISSING: Any = object()
_CODE_VALUE = 0x00080100
_SCHEME = 0x00080102
_SCHEME_VERSION = 0x00080103
_MEANING = 0x00080104
_LONG_CODE_VALUE = 0x00080119
_URN_CODE_VALUE = 0x00080120


def _ints(value: Any) -> tuple[int, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, (int, float)):
        return (int(value),)
    return tuple(int(v) for v in value)


def _floats(value: Any) -> tuple[float, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, (int, float)):
        return (float(value),)
    return tuple(float(v) for v in value)


def _reference(v: _Values, d: dict[int, Any], where: str) -> Reference | None:
    e = d.get(T.REFERENCED_SOP)
    lazy = e.lazy_sequence if e is not None and type(e) is not tuple else None
    if lazy is None:
        return _parse_reference(v, d, where)
    key = bytes(lazy.raw)
    found = v.refs.get(key, _MISSING)
    if found is _MISSING:
        found = v.refs[key] = _parse_reference(v, d, where)
    return found  # type: ignore[no-any-return]


def _parse_reference(v: _Values, d: dict[int, Any], where: str) -> Reference | None:
    seq = v.get(d, T.REFERENCED_SOP)
    if not seq:
        return None
    r = seq[0].raw_elements
    get = v.get
    sop_class, sop_instance = get(r, T.REF_SOP_CLASS), get(r, T.REF_SOP_INSTANCE)
    if not sop_class or not sop_instance:
        raise InvalidValueError(
            f"content item {where}: Referenced SOP Sequence item lacks Referenced SOP "
            "Class/Instance UID (0008,1150)/(0008,1155)"
        )
    presentation = None
    nested = get(r, T.REFERENCED_SOP)
    if nested:
        n = nested[0].raw_elements
        presentation = (str(get(n, T.REF_SOP_CLASS)), str(get(n, T.REF_SOP_INSTANCE)))
    return Reference(
        str(sop_class),
        str(sop_instance),
        _ints(get(r, T.REF_FRAMES)),
        _ints(get(r, T.REF_SEGMENTS)),
        _ints(get(r, T.REF_CHANNELS)),
        presentation,
    )


def read_item(
    item: Dataset,
    position: tuple[int, ...],
    relationship: str | None,
    values: _Values | None = None,
) -> ContentItem:
    """One content item (and its subtree) from its sequence item; ``position`` is where it
    sits in the tree (used in error messages)."""
    d = item.raw_elements
    if values is None or _SPECIFIC_CHARACTER_SET in d:
        values = _Values(item.is_little_endian, item.charsets)
    v = values
    get = v.get
    where = ".".join(map(str, position))
    if T.REF_CONTENT_ITEM in d:
        node = ContentItem.by_reference(relationship or "", _ints(get(d, T.REF_CONTENT_ITEM)))
        node.relationship = relationship
        return node
    vt = get(d, T.VALUE_TYPE)
    if not vt:
        raise InvalidValueError(
            f"content item {where} has no Value Type (0040,A040) and no Referenced Content "
            "Item Identifier (0040,DB73): every content item needs one of them"
        )
    vt = str(vt)
    node = ContentItem(vt, v.code_at(d, T.CONCEPT_NAME))
    node.relationship = relationship
    string_tag = T.STRING_VALUE_TAG.get(vt)
    if string_tag is not None:
        s = get(d, string_tag[0])
        node.value = "" if s is None else str(s)
    elif vt == "CONTAINER":
        node.value = str(get(d, T.CONTINUITY) or "SEPARATE")
    elif vt == "CODE":
        node.value = v.code_at(d, T.CONCEPT_CODE)
    elif vt == "NUM":
        mv = get(d, T.MEASURED_VALUE)
        if mv:
            m = mv[0].raw_elements
            num = get(m, T.NUMERIC_VALUE)
            node.value = None if num is None else str(num)
            node.units = v.code_at(m, T.UNITS)
        if T.QUALIFIER in d:
            node.qualifier = v.code_at(d, T.QUALIFIER)
    elif vt in ("IMAGE", "COMPOSITE", "WAVEFORM"):
        node.reference = _reference(v, d, where)
        node.value = node.reference
    elif vt == "SCOORD" or vt == "SCOORD3D":
        node.value = _floats(get(d, T.GRAPHIC_DATA))
        node.graphic_type = str(get(d, T.GRAPHIC_TYPE) or "")
        if vt == "SCOORD3D":
            node.frame_of_reference = str(get(d, T.FRAME_OF_REFERENCE) or "")
    elif vt == "TCOORD":
        node.graphic_type = str(get(d, T.TEMPORAL_RANGE_TYPE) or "")
        if T.SAMPLE_POSITIONS in d:
            node.frame_of_reference, node.value = "SAMPLE", _ints(get(d, T.SAMPLE_POSITIONS))
        elif T.TIME_OFFSETS in d:
            node.frame_of_reference, node.value = "OFFSET", _floats(get(d, T.TIME_OFFSETS))
        else:
            dt = get(d, T.REF_DATETIME)
            dts = [] if dt is None else [dt] if isinstance(dt, str) else list(dt)
            node.frame_of_reference, node.value = "DATETIME", tuple(str(x) for x in dts)
    elif vt == "TABLE":
        seq = get(d, T.TABULATED_VALUES)
        node.value = seq[0] if seq else None
    if T.CONTENT_TEMPLATE in d:
        tpl = get(d, T.CONTENT_TEMPLATE)
        if tpl:
            t = tpl[0].raw_elements
            node.template = (
                str(get(t, T.MAPPING_RESOURCE) or ""),
                str(get(t, T.TEMPLATE_ID) or ""),
            )
    if T.OBSERVATION_UID in d:
        node.observation_uid = str(get(d, T.OBSERVATION_UID))
    if T.OBSERVATION_DATETIME in d:
        node.observation_datetime = str(get(d, T.OBSERVATION_DATETIME))
    if relationship is not None:
        _keep_extra(node, item)
    e = d.get(T.CONTENT_SEQUENCE)
    if e is None:
        return node
    lazy = e.lazy_sequence if type(e) is not tuple else None
    key = bytes(lazy.raw) if lazy is not None and _small(lazy) else None
    if key is not None:
        cached = v.subtrees.get(key)
        if cached is not None:
            node.children = [_clone(c) for c in cached]
            return node
    content = get(d, T.CONTENT_SEQUENCE)
    if content:
        kids = node.children
        for i, child in enumerate(content, 1):
            rel = get(child.raw_elements, T.RELATIONSHIP_TYPE)
            if not rel:
                raise InvalidValueError(
                    f"content item {where}.{i} has no Relationship Type (0040,A010): a child "
                    "item must say how it relates to its parent"
                )
            kids.append(read_item(child, (*position, i), str(rel), v))
        if key is not None:
            v.subtrees[key] = [_clone(c) for c in kids]
    return node


#: content sequences up to this many bytes are remembered (see :class:`_Values`)
_SUBTREE_BYTES = 2048


def _small(lazy: Any) -> bool:
    _, start, stop = lazy.source
    return bool(stop - start <= _SUBTREE_BYTES)


def _clone(item: ContentItem) -> ContentItem:
    new = ContentItem.__new__(ContentItem)
    for name in _SLOTS:
        setattr(new, name, getattr(item, name))
    new.children = [_clone(c) for c in item.children]
    if item.extra is not None:
        new.extra = item.extra.copy()
    return new


_SLOTS = ContentItem.__slots__


def _keep_extra(node: ContentItem, item: Dataset) -> None:
    modelled = T.MODELLED
    others = [t for t in item.raw_elements if t not in modelled]
    if others:
        from dicomkit.core._dataset import Dataset

        extra = Dataset()
        for t in others:
            extra.add(item[t].copy())
        node.extra = extra


def read_content(ds: Dataset) -> ContentItem:
    """The root content item (with the whole tree) of an SR data set."""
    if ds.get(T.VALUE_TYPE) is None:
        raise InvalidValueError(
            "not an SR document: the data set has no Value Type (0040,A040) at its root "
            "(the SR Document Content module, PS3.3 C.17.3)"
        )
    return read_item(ds, (1,), None)
