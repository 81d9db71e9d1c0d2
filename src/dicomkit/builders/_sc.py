"""Secondary Capture images from a numpy array or a PNG (PS3.3 A.8).

A 2-D array (or ``(rows, columns, 3)`` RGB) becomes a Secondary Capture Image (A.8.1); a
3-D grayscale ``(frames, rows, columns)`` or 4-D colour ``(frames, rows, columns, 3)`` array
becomes the Multi-frame SC IOD its samples fit (A.8.2-A.8.5): bool -> Single Bit, uint8 ->
Grayscale Byte, uint16 -> Grayscale Word, uint8 RGB -> True Color.

>>> import numpy as np
>>> from dicomkit.builders import secondary_capture
>>> ds = secondary_capture(np.zeros((4, 5), np.uint8), patient={"PatientID": "P1"})
>>> ds.Modality, ds.Rows, ds.ConversionType
('OT', 4, 'WSD')
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dicomkit.builders._header import new_instance, now
from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import tags, uids
from dicomkit.errors import InvalidValueError

__all__ = ["secondary_capture"]


def _sop_class(frames: np.ndarray, colour: bool, multi: bool) -> str:
    if not multi:
        return uids.SecondaryCaptureImageStorage
    kind, size = frames.dtype.kind, frames.dtype.itemsize
    if colour:
        if kind == "u" and size == 1:
            return uids.MultiFrameTrueColorSecondaryCaptureImageStorage
    elif kind == "b":
        return uids.MultiFrameSingleBitSecondaryCaptureImageStorage
    elif kind == "u" and size == 1:
        return uids.MultiFrameGrayscaleByteSecondaryCaptureImageStorage
    elif kind == "u" and size == 2:
        return uids.MultiFrameGrayscaleWordSecondaryCaptureImageStorage
    raise InvalidValueError(
        f"a multi-frame Secondary Capture holds bool, uint8 or uint16 grayscale or uint8 RGB "
        f"samples (PS3.3 A.8.2-A.8.5), not {'RGB ' if colour else ''}{frames.dtype}: "
        f"convert the array (e.g. arr.astype(np.uint16))"
    )


def secondary_capture(
    image: np.ndarray | str | Path,
    *,
    like: Dataset | None = None,
    patient: Mapping[str, Any] | None = None,
    multi_frame: bool | None = None,
    photometric: str | None = None,
    same_series: bool = False,
    series_number: int = 900,
    instance_number: int = 1,
    series_description: str | None = None,
    modality: str = "OT",
    conversion_type: str = "WSD",
    burned_in_annotation: bool = False,
) -> Dataset:
    """A Secondary Capture instance holding ``image`` (an array, or a PNG file's path).

    Patient and study come from ``like`` (the image the capture is about) and/or ``patient``
    (keywords to values). ``multi_frame`` forces the IOD choice (default: multi-frame when
    the array has a frame axis); ``photometric`` says how to read an ambiguous 3-D array
    (``"MONOCHROME2"``: frames of grayscale; ``"RGB"``: one colour frame).
    """
    from dicomkit.pixels._encode import set_pixels

    if isinstance(image, (str, Path)):
        from dicomkit.builders._pngfile import read_png

        arr = read_png(image)
    else:
        arr = np.asarray(image)
    if arr.ndim not in (2, 3, 4) or arr.size == 0:
        raise InvalidValueError(
            f"a Secondary Capture image is a 2-D to 4-D non-empty array, not shape {arr.shape}"
        )
    if photometric is not None:
        colour = photometric.upper() in ("RGB", "YBR_FULL")
    else:
        colour = arr.ndim == 4 or (arr.ndim == 3 and arr.shape[-1] == 3)
    has_frames = arr.ndim == 4 or (arr.ndim == 3 and not colour)
    multi = has_frames if multi_frame is None else multi_frame
    if has_frames and not multi:
        if arr.shape[0] != 1:
            raise InvalidValueError(
                f"{arr.shape[0]} frames do not fit the single-frame Secondary Capture IOD: "
                "leave multi_frame unset (or True)"
            )
        arr = arr[0]
    frames = arr if has_frames else arr[np.newaxis]
    sop_class = _sop_class(frames, colour, multi)
    ds = new_instance(
        sop_class,
        modality,
        like=like,
        patient=patient,
        series_number=series_number,
        instance_number=instance_number,
        series_description=series_description,
        same_series=same_series,
    )
    ds.set("ConversionType", conversion_type, "CS")  # SC Equipment (C.8.6.1)
    ds.set("PatientOrientation", "", "CS")  # General Image, Type 2C
    ds.set("BurnedInAnnotation", "YES" if burned_in_annotation else "NO", "CS")
    date, time = now()
    ds.set("DateOfSecondaryCapture", date, "DA")  # SC Image (C.8.6.2)
    ds.set("TimeOfSecondaryCapture", time, "TM")
    set_pixels(
        ds,
        frames if multi else arr,
        photometric=photometric.upper() if photometric else ("RGB" if colour else None),
        multi_frame=multi,
    )
    if multi:
        n = frames.shape[0]
        # Multi-frame module (C.7.6.6) with the frames as pages (SC Multi-frame Vector, C.8.6.4)
        ds.set("FrameIncrementPointer", tags.PageNumberVector, "AT")
        ds.set("PageNumberVector", list(range(1, n + 1)), "IS")
        if not colour and frames.dtype.kind != "b":
            # SC Multi-frame Image (C.8.6.3): identity grayscale pipeline
            ds.set("PresentationLUTShape", "IDENTITY", "CS")
            ds.set("RescaleIntercept", "0", "DS")
            ds.set("RescaleSlope", "1", "DS")
            ds.set("RescaleType", "US", "LO")
    return ds
