"""Small constructors for content items of each value type (PS3.3 C.17.3.2.1).

``container(title, ...)``, ``text(name, "..."), num(name, 12.5, UCUM_MM)``, ``code(name, value)``,
``image(name, sop_class, sop_instance, frames=(1,))``, ``scoord(name, "POLYLINE", points)`` ...
Each returns a :class:`~dicomkit.sr._model.ContentItem` without a relationship; attach it with
``parent.add("CONTAINS", item)``.
"""

from __future__ import annotations

from collections.abc import Iterable

from dicomkit.errors import InvalidValueError
from dicomkit.sr._code import Code
from dicomkit.sr._model import ContentItem, Reference

__all__ = [
    "code",
    "composite",
    "container",
    "date",
    "datetime",
    "image",
    "num",
    "pname",
    "scoord",
    "scoord3d",
    "tcoord",
    "text",
    "time",
    "uidref",
    "waveform",
]


def container(
    name: Code | None,
    *children: ContentItem,
    continuous: bool = False,
    template: str | None = None,
) -> ContentItem:
    """A CONTAINER (children added with CONTAINS unless they carry a relationship already);
    ``template`` a DCMR Template Identifier ("1500") recorded in Content Template Sequence."""
    item = ContentItem("CONTAINER", name, "CONTINUOUS" if continuous else "SEPARATE")
    if template is not None:
        item.template = ("DCMR", template)
    for c in children:
        item.add(c.relationship or "CONTAINS", c)
    return item


def text(name: Code, value: str) -> ContentItem:
    return ContentItem("TEXT", name, value)


def code(name: Code, value: Code) -> ContentItem:
    return ContentItem("CODE", name, value)


def _ds_text(value: float | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    s = repr(float(value))
    if len(s) > 16:  # DS holds 16 characters (PS3.5 6.2)
        s = f"{float(value):.10g}"
        if len(s) > 16:
            s = f"{float(value):.8e}"
    return s


def num(
    name: Code,
    value: float | str | None,
    units: Code | None,
    *,
    qualifier: Code | None = None,
) -> ContentItem:
    """A NUM; ``value=None`` with a ``qualifier`` for a measurement that has no value."""
    if value is not None and units is None:
        raise InvalidValueError(f"NUM {name.meaning!r}: a value needs units (UCUM)")
    return ContentItem(
        "NUM", name, None if value is None else _ds_text(value), units=units, qualifier=qualifier
    )


def datetime(name: Code, value: str) -> ContentItem:
    return ContentItem("DATETIME", name, value)


def date(name: Code, value: str) -> ContentItem:
    return ContentItem("DATE", name, value)


def time(name: Code, value: str) -> ContentItem:
    return ContentItem("TIME", name, value)


def uidref(name: Code, value: str) -> ContentItem:
    return ContentItem("UIDREF", name, value)


def pname(name: Code, value: str) -> ContentItem:
    return ContentItem("PNAME", name, value)


def _reference_item(
    vt: str,
    name: Code | None,
    sop_class: str,
    sop_instance: str,
    frames: tuple[int, ...] = (),
    segments: tuple[int, ...] = (),
    channels: tuple[int, ...] = (),
) -> ContentItem:
    ref = Reference(sop_class, sop_instance, frames, segments, channels)
    return ContentItem(vt, name, ref, reference=ref)


def image(
    name: Code | None,
    sop_class: str,
    sop_instance: str,
    *,
    frames: Iterable[int] = (),
    segments: Iterable[int] = (),
) -> ContentItem:
    return _reference_item(
        "IMAGE", name, sop_class, sop_instance, frames=tuple(frames), segments=tuple(segments)
    )


def composite(name: Code | None, sop_class: str, sop_instance: str) -> ContentItem:
    return _reference_item("COMPOSITE", name, sop_class, sop_instance)


def waveform(
    name: Code | None, sop_class: str, sop_instance: str, channels: Iterable[int] = ()
) -> ContentItem:
    return _reference_item("WAVEFORM", name, sop_class, sop_instance, channels=tuple(channels))


def scoord(name: Code | None, graphic_type: str, points: Iterable[float]) -> ContentItem:
    """A SCOORD: image coordinates (column/row pairs, PS3.3 C.18.6)."""
    return ContentItem("SCOORD", name, tuple(float(p) for p in points), graphic_type=graphic_type)


def scoord3d(
    name: Code | None, graphic_type: str, points: Iterable[float], frame_of_reference: str
) -> ContentItem:
    """A SCOORD3D: patient coordinates (x/y/z triplets) in ``frame_of_reference``."""
    return ContentItem(
        "SCOORD3D",
        name,
        tuple(float(p) for p in points),
        graphic_type=graphic_type,
        frame_of_reference=frame_of_reference,
    )


def tcoord(
    name: Code | None, range_type: str, values: Iterable[object], kind: str = "SAMPLE"
) -> ContentItem:
    """A TCOORD; ``kind`` says what ``values`` are: SAMPLE positions, time OFFSETs (s) or
    DATETIMEs."""
    vals = tuple(values)
    return ContentItem("TCOORD", name, vals, graphic_type=range_type, frame_of_reference=kind)
