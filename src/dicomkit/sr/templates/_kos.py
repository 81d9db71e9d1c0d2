"""Key Object Selection (TID 2010; the Key Object Selection Document IOD, PS3.3 A.35.4) and
the IOCM rejection notes (PS3.4 Annex KK: a KOS titled from CID 7011).

Build: :func:`key_object_selection`, :func:`rejection_note`. Read: :func:`read_key_objects`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dicomkit.errors import InvalidValueError
from dicomkit.sr import _items as items
from dicomkit.sr._codes import CID, DCM
from dicomkit.sr._document import KEY_OBJECT_SELECTION, Document, new_document
from dicomkit.sr.templates._common import add_observer, instance_ref

if TYPE_CHECKING:
    from dicomkit.core._dataset import Dataset
    from dicomkit.sr._code import Code
    from dicomkit.sr._model import ContentItem, Reference

__all__ = ["KeyObjects", "key_object_selection", "read_key_objects", "rejection_note"]

_WAVEFORM_PREFIX = "1.2.840.10008.5.1.4.1.1.9."
_IMAGE_HINT = 0x00280010  # Rows: an image


def _is_title(code: Code) -> bool:
    return code in CID[7010] or code in CID[7011]


@dataclass
class KeyObjects:
    """A KOS as read back: its title, description, and the instances it selects."""

    title: Code | None
    description: str | None
    references: list[Reference]

    @property
    def is_rejection(self) -> bool:
        """True for an IOCM rejection note (title from CID 7011)."""
        return self.title is not None and self.title in CID[7011]


def _selected(ds: Dataset) -> ContentItem:
    sop_class, sop_instance = instance_ref(ds)
    if sop_class.startswith(_WAVEFORM_PREFIX):
        return items.waveform(None, sop_class, sop_instance)
    if _IMAGE_HINT in ds:
        return items.image(None, sop_class, sop_instance)
    return items.composite(None, sop_class, sop_instance)


def key_object_selection(
    instances: Sequence[Dataset],
    *,
    title: Code = DCM.OfInterest,
    description: str | None = None,
    observer_person: str | None = None,
    observer_device_uid: str | None = None,
    series_number: int = 1,
) -> Document:
    """A Key Object Selection Document selecting ``instances`` (their headers suffice)."""
    if not instances:
        raise InvalidValueError("a Key Object Selection needs at least one instance to select")
    if not _is_title(title):
        raise InvalidValueError(
            f"{title} is not a Key Object Selection document title: use one of CID 7010 "
            "(e.g. DCM.OfInterest) or CID 7011 (the rejection reasons)"
        )
    root = items.container(title, template="2010")
    add_observer(root, person=observer_person, device_uid=observer_device_uid)
    if description:
        root.add("CONTAINS", items.text(DCM.KeyObjectDescription, description))
    for ds in instances:
        root.add("CONTAINS", _selected(ds))
    return new_document(
        root,
        sop_class=KEY_OBJECT_SELECTION,
        evidence=list(instances),
        series_number=series_number,
    )


def rejection_note(
    instances: Sequence[Dataset],
    reason: Code = DCM.RejectedForQualityReasons,
    *,
    description: str | None = None,
) -> Document:
    """An IOCM rejection note (PS3.4 KK): a KOS titled with ``reason`` from CID 7011."""
    if reason not in CID[7011]:
        titles = ", ".join(f"{c.meaning} ({c.value})" for c in CID[7011])
        raise InvalidValueError(
            f"{reason} is not a rejection reason of CID 7011: use one of {titles}"
        )
    return key_object_selection(instances, title=reason, description=description)


def read_key_objects(doc: Document | ContentItem) -> KeyObjects:
    """The title, description and selected instances of a KOS."""
    root = doc.root if isinstance(doc, Document) else doc
    description = root.find(DCM.KeyObjectDescription, recursive=False)
    refs = [
        c.reference
        for c in root.children
        if c.relationship == "CONTAINS" and c.reference is not None
    ]
    return KeyObjects(root.concept, None if description is None else str(description.value), refs)
