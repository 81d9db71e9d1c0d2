"""Frame Level Retrieve (PS3.4 C.6.3 FRAME level, Annexes Y and Z): a C-MOVE / C-GET in the
Composite Instance Root model at the FRAME level names one multi-frame instance and the frames
wanted -- Simple Frame List (0008,1161), Calculated Frame List (0008,1162: start, end,
increment triplets) or Time Range (0008,1163: start and end in seconds from the first frame)
-- and the SCP sends a new instance holding just those frames.

:func:`extract_frames` makes that instance: a new SOP Instance UID (same SOP class, study and
series), the selected frames' pixel data (decoded first when compressed), Number of Frames,
the per-frame functional groups and Frame Time Vector cut to the same frames, and the Frame
Extraction Module (PS3.3 C.12.3): a Frame Extraction Sequence item naming the source
instance (Multi-frame Source SOP Instance UID) and the request's frame keys.
"""

from __future__ import annotations

import datetime
import itertools
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.dictionary import tags
from dicomkit.dictionary.uids import ExplicitVRLittleEndian
from dicomkit.errors import DicomError

#: Frame Level Retrieve statuses (PS3.4 C.4.2.1.5 / C.4.3.1.4)
NO_SUCH_FRAMES = 0xAA00  # none of the frames requested were found in the SOP Instance
CANNOT_CREATE = 0xAA01  # unable to create a new object for this SOP class
CANNOT_EXTRACT = 0xAA02  # unable to extract frames
NOT_TIME_BASED = 0xAA03  # time-based request for a non-time-based original SOP Instance
INVALID_REQUEST = 0xAA04  # invalid request

FRAME_KEYS = (tags.SimpleFrameList, tags.CalculatedFrameList, tags.TimeRange)


class FrameRetrieveError(DicomError):
    """A frame level retrieve that cannot be served; ``status`` is the DIMSE status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _values(ds: Dataset, tag: int) -> list[Any]:
    if tag not in ds:
        return []
    value = ds[tag].value
    if value is None or value == b"" or value == "":
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def frame_request(identifier: Dataset) -> dict[int, list[Any]]:
    """The frame range keys of a FRAME level identifier (exactly one must have a value)."""
    given = {tag: _values(identifier, tag) for tag in FRAME_KEYS}
    given = {t: v for t, v in given.items() if v}
    if len(given) != 1:
        raise FrameRetrieveError(
            "a FRAME level retrieve needs exactly one of Simple Frame List, Calculated Frame "
            "List or Time Range (PS3.4 C.4.2.2.1)",
            INVALID_REQUEST,
        )
    return given


def select_frames(request: dict[int, list[Any]], ds: Dataset) -> list[int]:
    """The 1-based frame numbers ``request`` selects in ``ds``, in order, without repeats."""
    total = int(_values(ds, tags.NumberOfFrames)[0]) if tags.NumberOfFrames in ds else 1
    [(tag, values)] = request.items()
    if tag == tags.SimpleFrameList:
        wanted = [int(v) for v in values]
    elif tag == tags.CalculatedFrameList:
        if len(values) % 3:
            raise FrameRetrieveError(
                "Calculated Frame List holds start, end, increment triplets", INVALID_REQUEST
            )
        wanted = []
        for i in range(0, len(values), 3):
            start, end, step = (int(v) for v in values[i : i + 3])
            if step < 1 or start < 1:
                raise FrameRetrieveError(
                    "Calculated Frame List: start and increment must be at least 1",
                    INVALID_REQUEST,
                )
            wanted += list(range(start, min(end, total) + 1, step))
    else:
        if len(values) != 2:
            raise FrameRetrieveError("Time Range holds a start and an end", INVALID_REQUEST)
        wanted = _frames_in_time(ds, float(values[0]), float(values[1]), total)
    seen: dict[int, None] = {}
    for f in wanted:
        if 1 <= f <= total:
            seen.setdefault(f, None)
    if not seen:
        raise FrameRetrieveError(
            f"none of the frames requested is in the instance (it has {total})", NO_SUCH_FRAMES
        )
    return list(seen)


def _frames_in_time(ds: Dataset, start: float, end: float, total: int) -> list[int]:
    """Frames whose time (seconds since the first frame) lies in [start, end]."""
    times_ms: list[float]
    vector = _values(ds, tags.FrameTimeVector)
    if vector:  # increments: the first is 0, each gives the time since the previous frame
        acc = 0.0
        times_ms = []
        for v in vector[:total]:
            acc += float(v)
            times_ms.append(acc)
    elif tags.FrameTime in ds and _values(ds, tags.FrameTime):
        step = float(_values(ds, tags.FrameTime)[0])
        times_ms = [i * step for i in range(total)]
    else:
        raise FrameRetrieveError(
            "a Time Range was asked of an instance without Frame Time or Frame Time Vector",
            NOT_TIME_BASED,
        )
    return [i + 1 for i, t in enumerate(times_ms) if start * 1000 <= t <= end * 1000]


def extract_frames(
    ds: Dataset, frames: list[int], request: dict[int, list[Any]], new_uid: str
) -> Dataset:
    """A new instance from ``ds`` holding ``frames`` (1-based), in place of ``ds``; returned.
    Compressed pixel data is decoded first (the new instance is native)."""
    if tags.PixelData not in ds:
        raise FrameRetrieveError(
            "the instance has no Pixel Data to take frames from", CANNOT_CREATE
        )
    from dicomkit.services._convert import convert

    total = int(_values(ds, tags.NumberOfFrames)[0]) if tags.NumberOfFrames in ds else 1
    try:
        if not _native(ds):
            convert(ds, ExplicitVRLittleEndian)
    except DicomError as exc:
        raise FrameRetrieveError(f"cannot decode the frames: {exc}", CANNOT_EXTRACT) from exc
    rows, cols = int(ds.Rows), int(ds.Columns)
    spp = int(ds.SamplesPerPixel) if tags.SamplesPerPixel in ds else 1
    bits = int(ds.BitsAllocated)
    if bits % 8:
        raise FrameRetrieveError(
            f"frames of {bits}-bit samples cannot be cut out here", CANNOT_EXTRACT
        )
    size = rows * cols * spp * bits // 8
    data = bytes(ds[tags.PixelData].value)
    if len(data) < size * total:
        raise FrameRetrieveError("the pixel data is shorter than its frames", CANNOT_EXTRACT)
    out = b"".join(data[(f - 1) * size : f * size] for f in frames)
    if len(out) % 2:
        out += b"\0"
    source_uid = str(ds.SOPInstanceUID)
    vr = ds[tags.PixelData].vr
    del ds[tags.PixelData]
    ds.set(tags.PixelData, out, vr=vr if vr in ("OB", "OW") else "OW")
    ds.set(tags.NumberOfFrames, str(len(frames)), vr="IS")
    if tags.PerFrameFunctionalGroupsSequence in ds:
        items = list(ds[tags.PerFrameFunctionalGroupsSequence].value or [])
        if len(items) == total:
            ds.set(
                tags.PerFrameFunctionalGroupsSequence,
                Sequence([items[f - 1] for f in frames]),
                vr="SQ",
            )
    vector = _values(ds, tags.FrameTimeVector)
    if len(vector) == total:
        times = [sum(float(v) for v in vector[:f]) for f in frames]
        ds.set(
            tags.FrameTimeVector,
            [0.0] + [b - a for a, b in itertools.pairwise(times)],
            vr="DS",
        )
    item = Dataset()
    item.MultiFrameSourceSOPInstanceUID = source_uid
    for tag, values in request.items():
        vr_ = "FD" if tag == tags.TimeRange else "UL"
        cast = float if tag == tags.TimeRange else int
        item.set(tag, [cast(v) for v in values], vr=vr_)
    ds.set(tags.FrameExtractionSequence, Sequence([item]), vr="SQ")
    ds.SOPInstanceUID = new_uid
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        meta.set(tags.MediaStorageSOPInstanceUID, new_uid, vr="UI")
    now = datetime.datetime.now(datetime.UTC)
    ds.InstanceCreationDate = now.strftime("%Y%m%d")
    ds.InstanceCreationTime = now.strftime("%H%M%S")
    return ds


def _native(ds: Dataset) -> bool:
    from dicomkit.dictionary.syntaxes import NATIVE

    return str(ds.transfer_syntax or ExplicitVRLittleEndian) in NATIVE
