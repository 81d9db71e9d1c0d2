"""Read the content tree of an SR data set (PS3.3 C.17.3, the SR Document Content module).

The reader walks the (lazily decoded) nested items directly and asks each item only for the
elements its value type uses, so reading costs one small :class:`ContentItem` per item.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dicomkit.errors import InvalidValueError
from dicomkit.sr import _tags as T
from dicomkit.sr.codes import Code
from dicomkit.sr.model import ContentItem, Reference

if TYPE_CHECKING:
    from dicomkit.core.dataset import Dataset

__all__ = ["read_content", "read_item"]


def _code(seq: Any) -> Code | None:
    if not seq:
        return None
    return Code.from_item(seq[0])


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


def _reference(item: Dataset, where: str) -> Reference | None:
    seq = item.get(T.REFERENCED_SOP)
    if not seq:
        return None
    ref = seq[0]
    get = ref.get
    sop_class, sop_instance = get(T.REF_SOP_CLASS), get(T.REF_SOP_INSTANCE)
    if not sop_class or not sop_instance:
        raise InvalidValueError(
            f"content item {where}: Referenced SOP Sequence item lacks Referenced SOP "
            "Class/Instance UID (0008,1150)/(0008,1155)"
        )
    presentation = None
    nested = get(T.REFERENCED_SOP)
    if nested:
        presentation = (str(nested[0].get(T.REF_SOP_CLASS)), str(nested[0].get(T.REF_SOP_INSTANCE)))
    return Reference(
        str(sop_class),
        str(sop_instance),
        _ints(get(T.REF_FRAMES)),
        _ints(get(T.REF_SEGMENTS)),
        _ints(get(T.REF_CHANNELS)),
        presentation,
    )


def read_item(item: Dataset, position: tuple[int, ...], relationship: str | None) -> ContentItem:
    """One content item (and its subtree) from its sequence item; ``position`` is where it
    sits in the tree (used in error messages)."""
    get = item.get
    d = item.raw_elements
    where = ".".join(map(str, position))
    if T.REF_CONTENT_ITEM in d:
        node = ContentItem.by_reference(relationship or "", _ints(get(T.REF_CONTENT_ITEM)))
        node.relationship = relationship
        return node
    vt = get(T.VALUE_TYPE)
    if not vt:
        raise InvalidValueError(
            f"content item {where} has no Value Type (0040,A040) and no Referenced Content "
            "Item Identifier (0040,DB73): every content item needs one of them"
        )
    vt = str(vt)
    node = ContentItem(vt, _code(get(T.CONCEPT_NAME)) if T.CONCEPT_NAME in d else None)
    node.relationship = relationship
    string_tag = T.STRING_VALUE_TAG.get(vt)
    if string_tag is not None:
        v = get(string_tag[0])
        node.value = "" if v is None else str(v)
    elif vt == "CONTAINER":
        node.value = str(get(T.CONTINUITY) or "SEPARATE")
    elif vt == "CODE":
        node.value = _code(get(T.CONCEPT_CODE))
    elif vt == "NUM":
        mv = get(T.MEASURED_VALUE)
        if mv:
            m = mv[0]
            num = m.get(T.NUMERIC_VALUE)
            node.value = None if num is None else str(num)
            node.units = _code(m.get(T.UNITS))
        if T.QUALIFIER in d:
            node.qualifier = _code(get(T.QUALIFIER))
    elif vt in ("IMAGE", "COMPOSITE", "WAVEFORM"):
        node.reference = _reference(item, where)
        node.value = node.reference
    elif vt == "SCOORD" or vt == "SCOORD3D":
        node.value = _floats(get(T.GRAPHIC_DATA))
        node.graphic_type = str(get(T.GRAPHIC_TYPE) or "")
        if vt == "SCOORD3D":
            node.frame_of_reference = str(get(T.FRAME_OF_REFERENCE) or "")
    elif vt == "TCOORD":
        node.graphic_type = str(get(T.TEMPORAL_RANGE_TYPE) or "")
        if T.SAMPLE_POSITIONS in d:
            node.frame_of_reference, node.value = "SAMPLE", _ints(get(T.SAMPLE_POSITIONS))
        elif T.TIME_OFFSETS in d:
            node.frame_of_reference, node.value = "OFFSET", _floats(get(T.TIME_OFFSETS))
        else:
            v = get(T.REF_DATETIME)
            dts = [] if v is None else [v] if isinstance(v, str) else list(v)
            node.frame_of_reference, node.value = "DATETIME", tuple(str(x) for x in dts)
    elif vt == "TABLE":
        seq = get(T.TABULATED_VALUES)
        node.value = seq[0] if seq else None
    if T.CONTENT_TEMPLATE in d:
        tpl = get(T.CONTENT_TEMPLATE)
        if tpl:
            node.template = (
                str(tpl[0].get(T.MAPPING_RESOURCE) or ""),
                str(tpl[0].get(T.TEMPLATE_ID) or ""),
            )
    if T.OBSERVATION_UID in d:
        node.observation_uid = str(get(T.OBSERVATION_UID))
    if T.OBSERVATION_DATETIME in d:
        node.observation_datetime = str(get(T.OBSERVATION_DATETIME))
    if relationship is not None:
        _keep_extra(node, item)
    content = get(T.CONTENT_SEQUENCE) if T.CONTENT_SEQUENCE in d else None
    if content:
        kids = node.children
        for i, child in enumerate(content, 1):
            rel = child.get(T.RELATIONSHIP_TYPE)
            if not rel:
                raise InvalidValueError(
                    f"content item {where}.{i} has no Relationship Type (0040,A010): a child "
                    "item must say how it relates to its parent"
                )
            kids.append(read_item(child, (*position, i), str(rel)))
    return node


def _keep_extra(node: ContentItem, item: Dataset) -> None:
    modelled = T.MODELLED
    others = [t for t in item.raw_elements if t not in modelled]
    if others:
        from dicomkit.core.dataset import Dataset

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
