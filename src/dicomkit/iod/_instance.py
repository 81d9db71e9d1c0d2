"""Checks that span elements of one composite instance (beyond a single module's table).

* The File Meta Information describes the data set it precedes: Media Storage SOP Class and
  Instance UID equal the data set's SOP Class and Instance UID (PS3.10 7.1).
* A UID identifies one thing (PS3.5 9): the study, the series, the instance and the frame of
  reference of one file are different objects, so their UIDs differ.
* Native Pixel Data with Bits Allocated above 8 is OW in an explicit VR transfer syntax; OB
  only holds 8-bit (or encapsulated) pixel data (PS3.5 8.2, A.2).
* Native Pixel Data holds every frame: Rows x Columns x Samples per Pixel x Number of Frames
  values of Bits Allocated each (PS3.5 8.1.1, PS3.3 C.7.6.3; YBR_FULL_422 and YBR_PARTIAL_422
  carry two values per pair of pixels, C.7.6.3.1.2), padded to an even length.
* Pixel Aspect Ratio, where the IOD makes it Type 1C ("required if the aspect ratio values do
  not have a ratio of 1:1 ...", PS3.3 C.7.6.3, with no "may be present otherwise"), shall not
  be present with a ratio of 1:1 (PS3.5 7.4.4); the templates' conditions cannot say "ratio".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dicomkit.core._dataset import Dataset
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
_ROWS = 0x00280010
_COLUMNS = 0x00280011
_SAMPLES_PER_PIXEL = 0x00280002
_NUMBER_OF_FRAMES = 0x00280008
_PHOTOMETRIC = 0x00280004

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
                    f"{meta_name} differs from the data set's {name}; "
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
                    f"{name} is the UID also used as {seen[uid]}: a study, a series, an "
                    "instance and a frame of reference are different objects (PS3.5 9)"
                ),
            )
        else:
            seen[uid] = name
    yield from _pixel_data_vr(ds)
    yield from _pixel_data_length(ds)
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


def _int(ds: Dataset, tag: int, default: int | None = None) -> int | None:
    if tag not in ds:
        return default
    try:
        value = ds[tag].value
        return int(str(value[0] if isinstance(value, list) else value))
    except (DicomError, TypeError, ValueError, IndexError):
        return None


def _pixel_data_length(ds: Dataset) -> Iterator[Problem]:
    if _PIXEL_DATA not in ds:
        return
    el = ds[_PIXEL_DATA]
    if el.is_undefined_length:
        return  # encapsulated: the codec's business
    dims = [
        _int(ds, _ROWS),
        _int(ds, _COLUMNS),
        _int(ds, _SAMPLES_PER_PIXEL, 1),
        _int(ds, _NUMBER_OF_FRAMES, 1),
        _int(ds, _BITS_ALLOCATED),
    ]
    if any(d is None or d <= 0 for d in dims):
        return  # missing or malformed: the module checks report it
    rows, cols, samples, frames, bits = (int(d or 0) for d in dims)
    photometric = str(ds[_PHOTOMETRIC].value).strip() if _PHOTOMETRIC in ds else ""
    if photometric in ("YBR_FULL_422", "YBR_PARTIAL_422") and samples == 3:
        samples = 2  # two luminance values and one pair of chrominance values per two pixels
    expected = (rows * cols * samples * frames * bits + 7) // 8
    length = el.length
    if length < 0:
        try:
            length = len(el.value)
        except (DicomError, TypeError, ValueError):
            return
    if length < expected:
        yield (
            _PIXEL_DATA,
            (
                f"Pixel Data holds {length} bytes where Rows {rows}, Columns {cols}, "
                f"{samples} samples, {frames} frames of {bits} bits need {expected} "
                "(PS3.5 8.1.1): frames are missing or cut"
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
