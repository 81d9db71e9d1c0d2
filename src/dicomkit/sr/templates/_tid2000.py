"""TID 2000 Basic Diagnostic Imaging Report: sections (CID 7001 headings, TID 2001) holding
report elements (TID 2002: TEXT or CODE with a CID 7002 concept name, optionally inferred from
images), for the Basic Text and Enhanced SR IODs.

Build: :func:`diagnostic_imaging_report`. Read: :func:`read_diagnostic_report`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from dicomkit.errors import InvalidValueError
from dicomkit.sr import _items as items
from dicomkit.sr._code import Code
from dicomkit.sr._codes import CID, DCM, LN
from dicomkit.sr._document import BASIC_TEXT_SR, Document, new_document
from dicomkit.sr._model import ContentItem
from dicomkit.sr.templates._common import add_language, add_observer, image_of

if TYPE_CHECKING:
    from dicomkit.core._dataset import Dataset

__all__ = ["diagnostic_imaging_report", "read_diagnostic_report"]

#: the default report element for each heading (CID 7001 -> CID 7002)
_ELEMENT_FOR = {
    DCM.Findings: DCM.Finding,
    DCM.Impressions: DCM.Impression,
    DCM.Recommendations: DCM.Recommendation,
    DCM.Conclusions: DCM.Conclusion,
}


def _heading(key: Code | str) -> Code:
    if isinstance(key, Code):
        return key
    for code in CID[7001]:
        if code.meaning.casefold() == key.casefold():
            return code
    names = ", ".join(c.meaning for c in CID[7001])
    raise InvalidValueError(f"{key!r} is not a CID 7001 report heading: use one of {names}")


Entry = str | tuple[Code, str] | tuple[Code, Code] | ContentItem


def diagnostic_imaging_report(
    sections: Mapping[Code | str, Sequence[Entry]],
    *,
    title: Code = LN.DiagnosticImagingReport,
    observer_person: str | None = None,
    evidence: Sequence[Dataset] = (),
    key_images: Sequence[Dataset] = (),
    sop_class: str = BASIC_TEXT_SR,
) -> Document:
    """A TID 2000 report. ``sections`` maps a heading (a CID 7001 code or its meaning, e.g.
    "Findings") to entries: a str (a TEXT with the heading's element concept), a
    ``(concept, text)`` or ``(concept, code)`` pair, or a ready :class:`ContentItem`.
    ``key_images`` are referenced (INFERRED FROM) from the first entry of the first section."""
    root = items.container(title, template="2000")
    add_language(root)
    add_observer(root, person=observer_person)
    first: ContentItem | None = None
    for key, entries in sections.items():
        heading = _heading(key)
        section = root.add("CONTAINS", items.container(heading))
        for entry in entries:
            if isinstance(entry, ContentItem):
                item = entry
            elif isinstance(entry, str):
                item = items.text(_ELEMENT_FOR.get(heading, DCM.Comment), entry)
            else:
                name, value = entry
                item = (
                    items.code(name, value) if isinstance(value, Code) else items.text(name, value)
                )
            section.add(item.relationship or "CONTAINS", item)
            first = first or item
    if key_images:
        if first is None or first.value_type not in ("TEXT", "CODE"):
            raise InvalidValueError(
                "key images need a first TEXT or CODE entry to be inferred from"
            )
        for ds in key_images:
            first.add("INFERRED FROM", image_of(None, ds))
    refs = [*evidence, *key_images]
    return new_document(root, sop_class=sop_class, evidence=refs, like=refs[0] if refs else None)


def read_diagnostic_report(doc: Document | ContentItem) -> dict[str, list[tuple[str, str]]]:
    """Section heading -> [(element concept meaning, value text)] of a TID 2000 report."""
    root = doc.root if isinstance(doc, Document) else doc
    out: dict[str, list[tuple[str, str]]] = {}
    for section in root.children:
        if section.value_type != "CONTAINER" or section.relationship != "CONTAINS":
            continue
        heading = section.concept.meaning if section.concept else ""
        rows = out.setdefault(heading, [])
        for item in section.children:
            if item.value_type in ("TEXT", "CODE") and item.concept is not None:
                v = item.value
                rows.append((item.concept.meaning, v.meaning if isinstance(v, Code) else str(v)))
    return out
