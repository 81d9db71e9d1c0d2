"""Pieces several templates share: observer context (TID 1002-1004), language (TID 1204),
image references from data sets, and small tree-reading helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dicomkit.dictionary import tags
from dicomkit.errors import InvalidValueError
from dicomkit.sr import _items as items
from dicomkit.sr._codes import DCM, RFC5646
from dicomkit.sr._model import ContentItem

if TYPE_CHECKING:
    from dicomkit.core._dataset import Dataset
    from dicomkit.sr._code import Code

__all__ = ["add_language", "add_observer", "image_of", "instance_ref"]


def add_language(root: ContentItem, language: Code | None = None) -> None:
    """TID 1204: Language of Content Item and Descendants."""
    root.add(
        "HAS CONCEPT MOD",
        items.code(DCM.LanguageOfContentItemAndDescendants, language or RFC5646.English),
    )


def add_observer(
    root: ContentItem,
    *,
    person: str | None = None,
    device_uid: str | None = None,
    device_name: str | None = None,
) -> None:
    """TID 1002 Observer Context: a person (TID 1003) and/or a device (TID 1004)."""
    if person:
        root.add("HAS OBS CONTEXT", items.code(DCM.ObserverType, DCM.Person))
        root.add("HAS OBS CONTEXT", items.pname(DCM.PersonObserverName, person))
    if device_uid:
        root.add("HAS OBS CONTEXT", items.code(DCM.ObserverType, DCM.Device))
        root.add("HAS OBS CONTEXT", items.uidref(DCM.DeviceObserverUID, device_uid))
        if device_name:
            root.add("HAS OBS CONTEXT", items.text(DCM.DeviceObserverName, device_name))


def instance_ref(ds: Dataset) -> tuple[str, str]:
    """(SOP Class UID, SOP Instance UID) of a data set, or a typed error saying what lacks."""
    sop_class, sop_instance = ds.get(tags.SOPClassUID), ds.get(tags.SOPInstanceUID)
    if not sop_class or not sop_instance:
        raise InvalidValueError(
            "a referenced data set has no SOP Class UID / SOP Instance UID: pass the header of "
            "the instance the report is about"
        )
    return str(sop_class), str(sop_instance)


def image_of(name: Code | None, ds: Dataset, frames: tuple[int, ...] = ()) -> ContentItem:
    """An IMAGE item referencing ``ds``."""
    sop_class, sop_instance = instance_ref(ds)
    return items.image(name, sop_class, sop_instance, frames=frames)


def child_value(item: ContentItem, concept: Code) -> object:
    """The value of the first direct child named ``concept`` (``None`` if there is none)."""
    found = item.find(concept, recursive=False)
    return None if found is None else found.value


def child_values(item: ContentItem, concept: Code) -> list[object]:
    return [c.value for c in item.find_all(concept, recursive=False)]
