"""Write a content tree back to SR data set items (PS3.3 C.17.3, Table C.17-6 / C.17-5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.errors import InvalidValueError
from dicomkit.sr import _tags as T

if TYPE_CHECKING:
    from dicomkit.sr._code import Code
    from dicomkit.sr._model import ContentItem

__all__ = ["write_content", "write_item"]


def _code_seq(code: Code) -> Sequence:
    return Sequence([code.to_item()])


def write_item(node: ContentItem, item: Dataset, where: str = "1") -> None:
    """Put ``node``'s attributes (and its subtree) into the sequence item ``item``."""
    s = item.set
    if node.extra is not None:
        for el in node.extra.elements():
            item.add(el.copy())
    if node.relationship is not None:
        s(T.RELATIONSHIP_TYPE, str(node.relationship), "CS")
    if node.ref is not None:
        s(T.REF_CONTENT_ITEM, list(node.ref), "UL")
        return
    vt = node.value_type
    s(T.VALUE_TYPE, vt, "CS")
    if node.concept is not None:
        s(T.CONCEPT_NAME, _code_seq(node.concept), "SQ")
    value = node.value
    string_tag = T.STRING_VALUE_TAG.get(vt)
    if string_tag is not None:
        s(string_tag[0], "" if value is None else str(value), string_tag[1])
    elif vt == "CONTAINER":
        s(T.CONTINUITY, str(value or "SEPARATE"), "CS")
    elif vt == "CODE":
        if value is None:
            raise InvalidValueError(f"CODE content item {where} has no value: give it a Code")
        s(T.CONCEPT_CODE, _code_seq(value), "SQ")
    elif vt == "NUM":
        mv = Sequence()
        if value is not None:
            if node.units is None:
                raise InvalidValueError(
                    f"NUM content item {where} has a value but no units: give units (UCUM, "
                    'e.g. Code("mm", "UCUM", "millimeter"), or "1" for no units)'
                )
            m = Dataset()
            m.set(T.NUMERIC_VALUE, [str(value)], "DS")
            m.set(T.UNITS, _code_seq(node.units), "SQ")
            mv.append(m)
        s(T.MEASURED_VALUE, mv, "SQ")
        if node.qualifier is not None:
            s(T.QUALIFIER, _code_seq(node.qualifier), "SQ")
    elif vt in ("IMAGE", "COMPOSITE", "WAVEFORM"):
        ref = node.reference or value
        if ref is None:
            raise InvalidValueError(f"{vt} content item {where} references nothing")
        r = Dataset()
        r.set(T.REF_SOP_CLASS, ref.sop_class, "UI")
        r.set(T.REF_SOP_INSTANCE, ref.sop_instance, "UI")
        if ref.frames:
            s_ = [int(f) for f in ref.frames]
            r.set(T.REF_FRAMES, s_, "IS")
        if ref.segments:
            r.set(T.REF_SEGMENTS, [int(x) for x in ref.segments], "US")
        if ref.channels:
            r.set(T.REF_CHANNELS, [int(x) for x in ref.channels], "US")
        if ref.presentation is not None:
            p = Dataset()
            p.set(T.REF_SOP_CLASS, ref.presentation[0], "UI")
            p.set(T.REF_SOP_INSTANCE, ref.presentation[1], "UI")
            r.set(T.REFERENCED_SOP, Sequence([p]), "SQ")
        s(T.REFERENCED_SOP, Sequence([r]), "SQ")
    elif vt in ("SCOORD", "SCOORD3D"):
        s(T.GRAPHIC_DATA, [float(v) for v in value or ()], "FL")
        s(T.GRAPHIC_TYPE, str(node.graphic_type or ""), "CS")
        if vt == "SCOORD3D":
            s(T.FRAME_OF_REFERENCE, str(node.frame_of_reference or ""), "UI")
    elif vt == "TCOORD":
        s(T.TEMPORAL_RANGE_TYPE, str(node.graphic_type or ""), "CS")
        kind = node.frame_of_reference or "SAMPLE"
        if kind == "SAMPLE":
            s(T.SAMPLE_POSITIONS, [int(v) for v in value or ()], "UL")
        elif kind == "OFFSET":
            s(T.TIME_OFFSETS, [str(v) for v in value or ()], "DS")
        else:
            s(T.REF_DATETIME, [str(v) for v in value or ()], "DT")
    elif vt == "TABLE":
        if value is None:
            raise InvalidValueError(f"TABLE content item {where} has no Tabulated Values item")
        s(T.TABULATED_VALUES, Sequence([value.copy()]), "SQ")
    if node.template is not None:
        t = Dataset()
        t.set(T.MAPPING_RESOURCE, node.template[0], "CS")
        t.set(T.TEMPLATE_ID, node.template[1], "CS")
        s(T.CONTENT_TEMPLATE, Sequence([t]), "SQ")
    if node.observation_uid:
        s(T.OBSERVATION_UID, node.observation_uid, "UI")
    if node.observation_datetime:
        s(T.OBSERVATION_DATETIME, node.observation_datetime, "DT")
    if node.children:
        seq = Sequence()
        for i, child in enumerate(node.children, 1):
            if child.relationship is None:
                raise InvalidValueError(
                    f"content item {where}.{i} has no relationship to its parent: add it "
                    "with parent.add(relationship, child)"
                )
            sub = Dataset()
            write_item(child, sub, f"{where}.{i}")
            seq.append(sub)
        s(T.CONTENT_SEQUENCE, seq, "SQ")


def write_content(root: ContentItem, ds: Dataset) -> None:
    """Write the tree under ``root`` into the data set ``ds`` (the document's top level):
    the root's attributes replace what ``ds`` held of the content module."""
    for tag in (T.CONTENT_SEQUENCE, T.CONCEPT_NAME, T.CONTINUITY, T.CONTENT_TEMPLATE):
        if tag in ds:
            del ds[tag]
    if root.value_type != "CONTAINER":
        raise InvalidValueError(
            f"the root content item must be a CONTAINER (PS3.3 C.17.3.2.1), not {root.value_type}"
        )
    if root.concept is None:
        raise InvalidValueError("the root CONTAINER needs a concept name (the document title)")
    rel = root.relationship
    root.relationship = None
    try:
        write_item(root, ds)
    finally:
        root.relationship = rel
