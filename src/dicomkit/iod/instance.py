"""Checks that span elements of one composite instance (beyond a single module's table).

* The File Meta Information describes the data set it precedes: Media Storage SOP Class and
  Instance UID equal the data set's SOP Class and Instance UID (PS3.10 7.1).
* A UID identifies one thing (PS3.5 9): the study, the series, the instance and the frame of
  reference of one file are different objects, so their UIDs differ.
* Native Pixel Data with Bits Allocated above 8 is OW in an explicit VR transfer syntax; OB
  only holds 8-bit (or encapsulated) pixel data (PS3.5 8.2, A.2).
* Pixel Aspect Ratio, where the IOD makes it Type 1C ("required if the aspect ratio values do
  not have a ratio of 1:1 ...", PS3.3 C.7.6.3, with no "may be present otherwise"), shall not
  be present with a ratio of 1:1 (PS3.5 7.4.4); the templates' conditions cannot say "ratio".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dicomkit.core.dataset import Dataset
from dicomkit.errors import DicomError

__all__ = ["instance_problems"]

_MEDIA_SOP_CLASS = 0x00020002
_MEDIA_SOP_INSTANCE = 0x00020003
_SOP_CLASS = 0x00080016
_SOP_INSTANCE = 0x00080018
_STUDY = 0x0020000D
_SERIES = 0x0020000E
_FRAME_OF_REFERENCE = 0x00200052
_BITS_ALLOCATED = 0x00280100
_PIXEL_DATA = 0x7FE00010
_PIXEL_ASPECT_RATIO = 0x00280034

# The identities of one instance, most specific first: a clash is reported on the first.
_IDENTITIES = (
    (_SOP_INSTANCE, "SOP Instance UID"),
    (_SERIES, "Series Instance UID"),
    (_FRAME_OF_REFERENCE, "Frame of Reference UID"),
    (_STUDY, "Study Instance UID"),
)

Problem = tuple[int, str]  # (tag, message); every one is an error


def _text(ds: Dataset | None, tag: int) -> str | None:
    if ds is None or tag not in ds:
        return None
    try:
        value = ds[tag].value
    except (DicomError, ValueError):
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None  # not decoded as text (UN): the VR checks report it
    text = str(value).strip(" \0")
    return text or None


def instance_problems(ds: Dataset, *, aspect_ratio_conditional: bool = False) -> Iterator[Problem]:
    """The cross-element errors of ``ds`` (a top-level data set, with its ``file_meta``).

    ``aspect_ratio_conditional``: the IOD has Pixel Aspect Ratio as Type 1C only.
    """
    meta: Any = getattr(ds, "file_meta", None)
    pairs = (
        (_MEDIA_SOP_CLASS, _SOP_CLASS, "Media Storage SOP Class UID", "SOP Class UID"),
        (_MEDIA_SOP_INSTANCE, _SOP_INSTANCE, "Media Storage SOP Instance UID", "SOP Instance UID"),
    )
    for meta_tag, tag, meta_name, name in pairs:
        outer, inner = _text(meta, meta_tag), _text(ds, tag)
        if outer is not None and inner is not None and outer != inner:
            yield (
                meta_tag,
                (
                    f"{meta_name} {outer} differs from the data set's {name} {inner}; "
                    "the File Meta Information must describe the data set it precedes (PS3.10 7.1)"
                ),
            )
    seen: dict[str, str] = {}
    found = [(tag, name, _text(ds, tag)) for tag, name in _IDENTITIES]
    for tag, name, uid in reversed(found):  # least specific first: report on the later one
        if uid is None:
            continue
        if uid in seen:
            yield (
                tag,
                (
                    f"{name} {uid} is the UID also used as {seen[uid]}: a study, a series, an "
                    "instance and a frame of reference are different objects (PS3.5 9)"
                ),
            )
        else:
            seen[uid] = name
    yield from _pixel_data_vr(ds)
    if aspect_ratio_conditional:
        yield from _aspect_ratio(ds)


def _aspect_ratio(ds: Dataset) -> Iterator[Problem]:
    if _PIXEL_ASPECT_RATIO not in ds:
        return
    try:
        values = ds[_PIXEL_ASPECT_RATIO].value
        ratio = [int(str(v)) for v in (values if isinstance(values, list) else [values])]
    except (DicomError, TypeError, ValueError):
        return  # malformed: the VR checks report it
    if len(ratio) == 2 and ratio[0] == ratio[1] != 0:
        yield (
            _PIXEL_ASPECT_RATIO,
            (
                f"Pixel Aspect Ratio {ratio[0]}\\{ratio[1]} is 1:1; it is required only when the "
                "ratio is not 1:1 and shall not be present otherwise (PS3.3 C.7.6.3, PS3.5 7.4.4)"
            ),
        )


def _pixel_data_vr(ds: Dataset) -> Iterator[Problem]:
    if _PIXEL_DATA not in ds or ds.is_implicit_vr:
        return
    el = ds[_PIXEL_DATA]
    if el.vr != "OB" or el.is_undefined_length:
        return  # encapsulated pixel data is OB (PS3.5 A.4)
    try:
        bits = int(ds[_BITS_ALLOCATED].value) if _BITS_ALLOCATED in ds else 0
    except (DicomError, TypeError, ValueError):
        return
    if bits > 8:
        yield (
            _PIXEL_DATA,
            (
                f"Pixel Data with Bits Allocated {bits} is encoded as OB; native pixel data of "
                "more than 8 bits is OW in explicit VR (PS3.5 8.2, A.2)"
            ),
        )
