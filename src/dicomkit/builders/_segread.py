"""Segmentation instances back to masks (PS3.3 C.8.20): per segment, one mask frame per
source frame, arranged in the order of the source images.

>>> from dicomkit.builders import read_segmentation
>>> seg = read_segmentation("seg.dcm")                       # doctest: +SKIP
>>> [s.label for s in seg.segments]                          # doctest: +SKIP
>>> liver = seg.mask(1, sources=ct_slices)                   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dicomkit.builders._frames import source_frames
from dicomkit.builders._segment import Segment
from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import uids
from dicomkit.errors import InvalidValueError

__all__ = ["SegmentationData", "read_segmentation"]

SourceKey = tuple[str, int]  # (SOP Instance UID, frame number; 0 for single-frame)


@dataclass(frozen=True, slots=True)
class _Frame:
    segment: int
    sources: tuple[SourceKey, ...]
    position: tuple[float, ...] | None


def _first(item: Dataset, keyword: str) -> Dataset | None:
    seq = item.get(keyword)
    return seq[0] if seq else None


def _frame_info(ds: Dataset, index: int, per: Any, shared: Dataset | None) -> _Frame:
    item = per[index] if per and index < len(per) else Dataset()

    def group(keyword: str) -> Dataset | None:
        got = _first(item, keyword)
        if got is None and shared is not None:
            got = _first(shared, keyword)
        return got

    ident = group("SegmentIdentificationSequence")
    if ident is None or ident.get("ReferencedSegmentNumber") is None:
        raise InvalidValueError(
            f"frame {index + 1} has no Segment Identification Sequence: the Segmentation "
            "does not say which segment it belongs to (PS3.3 C.8.20.3)"
        )
    refs: list[SourceKey] = []
    for deriv in item.get("DerivationImageSequence") or ():
        for src in deriv.get("SourceImageSequence") or ():
            uid = str(src.get("ReferencedSOPInstanceUID") or "")
            frames = src.get("ReferencedFrameNumber")
            if frames is None or frames == "":
                refs.append((uid, 0))
            else:
                for f in frames if isinstance(frames, list) else [frames]:
                    refs.append((uid, int(f)))
    pos_item = group("PlanePositionSequence")
    pos = None
    if pos_item is not None and pos_item.get("ImagePositionPatient") is not None:
        pos = tuple(float(v) for v in pos_item.get("ImagePositionPatient"))
    return _Frame(int(ident.get("ReferencedSegmentNumber")), tuple(refs), pos)


@dataclass
class SegmentationData:
    """A Segmentation read: ``segments`` (with their numbers), the segmentation type and
    the frames; :meth:`mask` arranges one segment's frames by source frame."""

    dataset: Dataset
    segments: list[Segment]
    segmentation_type: str
    fractional_type: str | None
    max_fractional_value: int
    frames: list[_Frame] = field(repr=False)
    pixels: np.ndarray = field(repr=False)

    @property
    def referenced_sources(self) -> list[SourceKey]:
        """The source frames the segmentation's frames reference, in order of position along
        the slice normal when the frames have one, else in order of first mention."""
        seen: dict[SourceKey, float] = {}
        for i, f in enumerate(self.frames):
            for key in f.sources:
                if key not in seen:
                    seen[key] = self._depth(f) if f.position else float(i)
        return sorted(seen, key=lambda k: seen[k])

    def _depth(self, f: _Frame) -> float:
        shared = _first(self.dataset, "SharedFunctionalGroupsSequence")
        ori = _first(shared, "PlaneOrientationSequence") if shared is not None else None
        if ori is None or f.position is None:
            return 0.0
        o = np.array([float(v) for v in ori.get("ImageOrientationPatient")])
        return float(np.dot(np.cross(o[:3], o[3:]), f.position))

    def segment(self, number: int) -> Segment:
        """The description of segment ``number`` (raises when there is none)."""
        for s in self.segments:
            if s.number == number:
                return s
        raise InvalidValueError(
            f"no segment {number}: this Segmentation has segments "
            f"{', '.join(str(s.number) for s in self.segments)}"
        )

    def mask(self, number: int, *, sources: list[Dataset] | None = None) -> np.ndarray:
        """Segment ``number`` as ``(frames, rows, columns)``: bool for a binary segmentation,
        float32 in 0..1 for a fractional one. Frames follow ``sources`` (the source images, in
        the order wanted; multi-frame ones frame by frame) or, without them,
        :attr:`referenced_sources`; a source frame the segment does not cover is all zero."""
        self.segment(number)
        if sources is not None:
            src_frames = source_frames(list(sources))
            order: list[SourceKey] = [(f.sop_instance_uid, f.frame) for f in src_frames]
            positions = [f.position for f in src_frames]
        else:
            order = self.referenced_sources
            positions = [None] * len(order)
        index = {key: i for i, key in enumerate(order)}
        rows, cols = self.pixels.shape[1:3]
        fractional = self.segmentation_type == "FRACTIONAL"
        out = np.zeros((len(order), rows, cols), np.float32 if fractional else bool)
        for i, f in enumerate(self.frames):
            if f.segment != number:
                continue
            targets = [index[k] for k in f.sources if k in index]
            if not targets and f.position is not None:  # no reference: match by position
                targets = [
                    j
                    for j, p in enumerate(positions)
                    if p is not None and np.allclose(p, f.position, atol=1e-3)
                ]
            frame = self.pixels[i]
            for t in targets:
                if fractional:
                    out[t] = np.maximum(out[t], frame / float(self.max_fractional_value))
                else:
                    out[t] |= frame.astype(bool)
        return out

    def masks(self, *, sources: list[Dataset] | None = None) -> dict[int, np.ndarray]:
        """Every segment's mask (see :meth:`mask`), by segment number."""
        return {s.number: self.mask(s.number, sources=sources) for s in self.segments}


def read_segmentation(source: str | Path | Dataset) -> SegmentationData:
    """Read a Segmentation instance (a file or a data set)."""
    import dicomkit
    from dicomkit.pixels._frames import decode

    ds = source if isinstance(source, Dataset) else dicomkit.read(source)
    if str(ds.get("SOPClassUID") or "") != uids.SegmentationStorage:
        raise InvalidValueError(
            f"not a Segmentation (SOP Class UID {ds.get('SOPClassUID')}): give a SEG instance"
        )
    segments = [Segment.from_item(item) for item in ds.get("SegmentSequence") or ()]
    kind = str(ds.get("SegmentationType") or "BINARY")
    per = ds.get("PerFrameFunctionalGroupsSequence")
    shared = _first(ds, "SharedFunctionalGroupsSequence")
    n = int(ds.get("NumberOfFrames") or 1)
    frames = [_frame_info(ds, i, per, shared) for i in range(n)]
    pixels = decode(ds).array
    if pixels.ndim == 2:
        pixels = pixels[np.newaxis]
    return SegmentationData(
        dataset=ds,
        segments=segments,
        segmentation_type=kind,
        fractional_type=ds.get("SegmentationFractionalType") or None,
        max_fractional_value=int(ds.get("MaximumFractionalValue") or 1),
        frames=frames,
        pixels=pixels,
    )
