"""Per-frame facts of source images: which instance and frame, and where it lies in the
patient (Image Plane module PS3.3 C.7.6.2, or the Plane Position / Orientation and Pixel
Measures functional groups of an enhanced multi-frame image, C.7.6.16.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.errors import InvalidValueError

__all__ = ["SourceFrame", "source_frames"]


@dataclass(frozen=True, slots=True)
class SourceFrame:
    """One frame of a source image: ``dataset`` and ``frame`` (1-based Referenced Frame
    Number; 0 for a single-frame instance), with its geometry when the image has one."""

    dataset: Dataset
    frame: int
    position: tuple[float, float, float] | None
    orientation: tuple[float, ...] | None
    spacing: tuple[float, float] | None
    thickness: float | None

    @property
    def sop_instance_uid(self) -> str:
        """The SOP Instance UID of the source image."""
        return str(self.dataset.get("SOPInstanceUID") or "")


def _floats(value: Any) -> tuple[float, ...] | None:
    if value is None or value == "":
        return None
    vals = value if isinstance(value, (list, tuple)) else [value]
    try:
        return tuple(float(v) for v in vals)
    except (TypeError, ValueError):
        return None


def _group(ds: Dataset, index: int, seq: str, keyword: str) -> Any:
    for fg in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
        groups = ds.get(fg)
        if not groups:
            continue
        item = groups[index] if fg.startswith("PerFrame") and index < len(groups) else groups[0]
        inner = item.get(seq)
        if inner and keyword in inner[0]:
            return inner[0].get(keyword)
    return None


def source_frames(sources: list[Dataset]) -> list[SourceFrame]:
    """Every frame of ``sources`` in order: single-frame images one each, multi-frame images
    frame by frame."""
    if not sources:
        raise InvalidValueError("no source images: pass the images the object is derived from")
    out: list[SourceFrame] = []
    for ds in sources:
        n = int(ds.get("NumberOfFrames") or 1)
        if ds.get("PerFrameFunctionalGroupsSequence") or ds.get("SharedFunctionalGroupsSequence"):
            for i in range(n):
                pos = _floats(_group(ds, i, "PlanePositionSequence", "ImagePositionPatient"))
                ori = _floats(_group(ds, i, "PlaneOrientationSequence", "ImageOrientationPatient"))
                sp = _floats(_group(ds, i, "PixelMeasuresSequence", "PixelSpacing"))
                th = _floats(_group(ds, i, "PixelMeasuresSequence", "SliceThickness"))
                out.append(_frame(ds, i + 1, pos, ori, sp, th))
        else:
            pos = _floats(ds.get("ImagePositionPatient"))
            ori = _floats(ds.get("ImageOrientationPatient"))
            sp = _floats(ds.get("PixelSpacing"))
            th = _floats(ds.get("SliceThickness"))
            for i in range(n):
                out.append(_frame(ds, i + 1 if n > 1 else 0, pos, ori, sp, th))
    return out


def _frame(
    ds: Dataset,
    frame: int,
    pos: tuple[float, ...] | None,
    ori: tuple[float, ...] | None,
    sp: tuple[float, ...] | None,
    th: tuple[float, ...] | None,
) -> SourceFrame:
    return SourceFrame(
        ds,
        frame,
        (pos[0], pos[1], pos[2]) if pos and len(pos) == 3 else None,
        ori if ori and len(ori) == 6 else None,
        (sp[0], sp[1]) if sp and len(sp) == 2 else None,
        th[0] if th else None,
    )
