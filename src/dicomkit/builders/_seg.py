"""Segmentation instances from numpy masks (PS3.3 A.51, C.8.20).

Masks are per segment ``(frames, rows, columns)``, one frame per frame of the source images
(a list of single-frame slices or the frames of one multi-frame image, in the order given).
Binary masks are stored 1 bit per pixel (PS3.5 8.1.1, frames packed back to back);
fractional ones as 8-bit values scaled to Maximum Fractional Value. Each stored frame carries
its Segment Identification, Derivation Image (the source frame), Plane Position and Frame
Content (Dimension Index: segment number, then position) functional groups; the shared ones
are Plane Orientation and Pixel Measures. Frames where a segment is empty are left out.

>>> import numpy as np
>>> from dicomkit.builders import Segment, CODES, segmentation
>>> mask = np.zeros((1, 4, 4), bool); mask[0, 1:3, 1:3] = True
>>> from dicomkit.builders import secondary_capture
>>> src = secondary_capture(np.zeros((4, 4), np.uint8))
>>> seg = segmentation([src], [mask], [Segment("box", CODES.Tissue, CODES.Organ)])
>>> seg.Modality, int(seg.NumberOfFrames), seg.SegmentationType
('SEG', 1, 'BINARY')
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence as Seq
from typing import Any

import numpy as np

from dicomkit.builders._frames import SourceFrame, source_frames
from dicomkit.builders._header import new_instance, referenced_series, sop_ref
from dicomkit.builders._segment import CODES, Segment
from dicomkit.core._dataset import Dataset
from dicomkit.core._sequence import Sequence
from dicomkit.core._uid import generate_uid
from dicomkit.dictionary import tags, uids
from dicomkit.errors import InvalidValueError

__all__ = ["segmentation"]

FRACTIONAL_TYPES = ("PROBABILITY", "OCCUPANCY")


def _as_masks(masks: Any, n_segments: int) -> list[np.ndarray]:
    label_map = isinstance(masks, np.ndarray) and masks.ndim == 3 and masks.dtype.kind in "iu"
    if label_map and (n_segments > 1 or int(masks.max(initial=0)) > 1):
        # a label map: value k marks segment k
        return [masks == k for k in range(1, n_segments + 1)]
    arrays = [
        np.asarray(m)
        for m in (masks if not isinstance(masks, np.ndarray) or masks.ndim == 4 else [masks])
    ]
    if len(arrays) != n_segments:
        raise InvalidValueError(
            f"{len(arrays)} mask(s) for {n_segments} segment(s): give one (frames, rows, "
            "columns) mask per segment, or a 4-D array (segments, frames, rows, columns)"
        )
    return arrays


def _item(**values: tuple[Any, str]) -> Dataset:
    ds = Dataset()
    for keyword, (value, vr) in values.items():
        ds.set(keyword, value, vr)
    return ds


def _derivation(src: SourceFrame) -> Sequence:
    ref = sop_ref(src.dataset)
    if src.frame:
        ref.set("ReferencedFrameNumber", src.frame, "IS")
    # the masks have the source's pixel grid: a pixel of one is the same place in the other
    ref.set("SpatialLocationsPreserved", "YES", "CS")
    ref.set("PurposeOfReferenceCodeSequence", Sequence([CODES.SourceImageForProcessing.to_item()]))
    deriv = Dataset()
    deriv.set("DerivationCodeSequence", Sequence([CODES.Segmentation.to_item()]), "SQ")
    deriv.set("SourceImageSequence", Sequence([ref]), "SQ")
    return Sequence([deriv])


def _position_order(frames: list[SourceFrame]) -> list[int]:
    """1-based position index of each source frame: along the slice normal when the frames
    have geometry, else in the order given."""
    if all(f.position and f.orientation for f in frames):
        o = np.array(frames[0].orientation, dtype=float)
        normal = np.cross(o[:3], o[3:])
        dist = [float(np.dot(normal, f.position)) for f in frames]  # type: ignore[arg-type]
        distinct = sorted({round(d, 4) for d in dist})
        return [distinct.index(round(d, 4)) + 1 for d in dist]
    return list(range(1, len(frames) + 1))


def segmentation(
    sources: list[Dataset],
    masks: np.ndarray | Seq[np.ndarray] | Mapping[int, np.ndarray],
    segments: Seq[Segment],
    *,
    fractional: str | None = None,
    max_fractional_value: int = 255,
    content_label: str = "SEGMENTATION",
    content_description: str | None = None,
    content_creator: str = "",
    series_number: int = 300,
    instance_number: int = 1,
    series_description: str | None = None,
    omit_empty_frames: bool = True,
    manufacturer: str = "dicomkit",
    model: str = "dicomkit",
    software_version: str | None = None,
    device_serial_number: str = "0",
    patient: Mapping[str, Any] | None = None,
) -> Dataset:
    """A Segmentation of ``sources`` with one mask per segment.

    ``masks``: a list (or 4-D array) of ``(frames, rows, columns)`` masks, segment by segment,
    or one integer label map ``(frames, rows, columns)`` whose value k marks segment k.
    ``fractional`` (``"PROBABILITY"`` or ``"OCCUPANCY"``) makes a fractional segmentation:
    masks are floats in 0..1 (or integers in 0..``max_fractional_value``).
    """
    from dicomkit import __version__
    from dicomkit.pixels._encode import set_pixels

    if not segments:
        raise InvalidValueError("a Segmentation needs at least one Segment description")
    if fractional is not None and fractional.upper() not in FRACTIONAL_TYPES:
        raise InvalidValueError(
            f"fractional={fractional!r}: use PROBABILITY or OCCUPANCY (PS3.3 C.8.20.2), or "
            "None for a binary segmentation"
        )
    frames = source_frames(list(sources))
    if isinstance(masks, Mapping):
        masks = [masks[k] for k in sorted(masks)]
    arrays = _as_masks(masks, len(segments))
    rows, cols = int(sources[0].get("Rows") or 0), int(sources[0].get("Columns") or 0)
    for i, m in enumerate(arrays):
        if m.ndim == 2:
            arrays[i] = m = m[np.newaxis]
        if m.shape != (len(frames), rows, cols):
            raise InvalidValueError(
                f"mask of segment {i + 1} has shape {m.shape}; the sources have "
                f"{len(frames)} frame(s) of {rows}x{cols}: give (frames, rows, columns)"
            )
    if fractional is None:
        stored = [m.astype(bool) if m.dtype.kind != "b" else m for m in arrays]
        for i, m in enumerate(arrays):
            if m.dtype.kind == "f" and not np.isin(m, (0.0, 1.0)).all():
                raise InvalidValueError(
                    f"mask of segment {i + 1} has values other than 0 and 1: pass "
                    "fractional='PROBABILITY' (or 'OCCUPANCY') for a fractional segmentation"
                )
    else:
        if not 1 <= max_fractional_value <= 255:
            raise InvalidValueError("max_fractional_value is 1..255 (8-bit storage)")
        stored = []
        for i, m in enumerate(arrays):
            if m.dtype.kind == "f":
                if m.size and (m.min() < 0 or m.max() > 1):
                    raise InvalidValueError(
                        f"fractional mask of segment {i + 1} has values outside 0..1"
                    )
                stored.append(np.rint(m * max_fractional_value).astype(np.uint8))
            else:
                stored.append(np.clip(m, 0, max_fractional_value).astype(np.uint8))
    like = sources[0]
    ds = new_instance(
        uids.SegmentationStorage,
        "SEG",
        like=like,
        patient=patient,
        series_number=series_number,
        instance_number=instance_number,
        series_description=series_description,
        manufacturer=manufacturer,
        laterality=False,
    )
    # Enhanced General Equipment (C.7.5.2)
    ds.set("ManufacturerModelName", model, "LO")
    ds.set("DeviceSerialNumber", device_serial_number, "LO")
    ds.set("SoftwareVersions", software_version or __version__, "LO")
    for_uid = like.get("FrameOfReferenceUID")
    if for_uid:  # Frame of Reference (C.7.4.1)
        ds.set("FrameOfReferenceUID", str(for_uid), "UI")
        ds.set("PositionReferenceIndicator", like.get("PositionReferenceIndicator") or "", "LO")
    # Segmentation Image (C.8.20.2)
    ds.set("ImageType", ["DERIVED", "PRIMARY"], "CS")
    ds.set("ContentLabel", content_label, "CS")
    ds.set("ContentDescription", content_description or "", "LO")
    ds.set("ContentCreatorName", content_creator, "PN")
    ds.set("LossyImageCompression", "00", "CS")
    ds.set("SegmentationType", "FRACTIONAL" if fractional else "BINARY", "CS")
    if fractional:
        ds.set("SegmentationFractionalType", fractional.upper(), "CS")
        ds.set("MaximumFractionalValue", max_fractional_value, "US")
    ds.set("SegmentSequence", Sequence([s.to_item(i + 1) for i, s in enumerate(segments)]))
    overlap = np.zeros(stored[0].shape, np.uint16)
    for m in stored:
        overlap += m.astype(bool)
    ds.set("SegmentsOverlap", "YES" if (overlap > 1).any() else "NO", "CS")
    # Common Instance Reference (C.12.2)
    ds.set("ReferencedSeriesSequence", referenced_series(list(sources)), "SQ")
    # Which frames to store: (segment number, source frame index)
    chosen: list[tuple[int, int]] = []
    for s, m in enumerate(stored):
        any_frame: np.ndarray = np.asarray(m.reshape(m.shape[0], -1).any(axis=1))
        picks = [f for f in range(len(frames)) if any_frame[f] or not omit_empty_frames]
        chosen += [(s + 1, f) for f in (picks or [0])]
    positions = _position_order(frames)
    geometry = all(f.position and f.orientation for f in frames)
    # Multi-frame Dimension (C.7.6.17)
    dim_uid = str(generate_uid())
    ds.set(
        "DimensionOrganizationSequence", Sequence([_item(DimensionOrganizationUID=(dim_uid, "UI"))])
    )
    ds.set("DimensionOrganizationType", "3D" if geometry else "2D", "CS")
    if not geometry:  # General Image, Type 2C without Plane Orientation (PS3.3 C.7.6.1)
        ds.set("PatientOrientation", "", "CS")
    dims = [
        (tags.ReferencedSegmentNumber, tags.SegmentIdentificationSequence, "Segment Number"),
    ]
    if geometry:
        dims.append(
            (tags.ImagePositionPatient, tags.PlanePositionSequence, "Image Position Patient")
        )
    ds.set(
        "DimensionIndexSequence",
        Sequence(
            [
                _item(
                    DimensionOrganizationUID=(dim_uid, "UI"),
                    DimensionIndexPointer=(ptr, "AT"),
                    FunctionalGroupPointer=(group, "AT"),
                    DimensionDescriptionLabel=(label, "LO"),
                )
                for ptr, group, label in dims
            ]
        ),
    )
    # Functional groups (C.7.6.16): shared geometry, per-frame identity and source
    shared = Dataset()
    f0 = frames[0]
    if f0.orientation:
        shared.set(
            "PlaneOrientationSequence",
            Sequence([_item(ImageOrientationPatient=(list(f0.orientation), "DS"))]),
        )
    if f0.spacing:
        pm = _item(PixelSpacing=(list(f0.spacing), "DS"))
        if f0.thickness is not None:
            pm.set("SliceThickness", f0.thickness, "DS")
        shared.set("PixelMeasuresSequence", Sequence([pm]))
    ds.set("SharedFunctionalGroupsSequence", Sequence([shared]))
    per_frame = Sequence()
    for seg_no, f in chosen:
        src = frames[f]
        item = Dataset()
        item.set("DerivationImageSequence", _derivation(src), "SQ")
        index = [seg_no, positions[f]] if geometry else [seg_no]
        item.set("FrameContentSequence", Sequence([_item(DimensionIndexValues=(index, "UL"))]))
        if src.position:
            item.set(
                "PlanePositionSequence",
                Sequence([_item(ImagePositionPatient=(list(src.position), "DS"))]),
            )
        item.set(
            "SegmentIdentificationSequence",
            Sequence([_item(ReferencedSegmentNumber=(seg_no, "US"))]),
        )
        per_frame.append(item)
    ds.set("PerFrameFunctionalGroupsSequence", per_frame)
    pixels = np.stack([stored[s - 1][f] for s, f in chosen])
    set_pixels(ds, pixels, multi_frame=True)
    return ds
