"""Segmentation builder and reader: masks -> SEG -> masks, the functional groups and
dimension index we write, bit packing, fractional scaling, and the errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from buildkit import ct_slices, dciodvfy_errors, dcmdump_problems

import dicomkit
from dicomkit.builders import CODES, Segment, read_segmentation, segmentation
from dicomkit.dictionary import tags
from dicomkit.errors import InvalidValueError

LIVER = Segment("liver", CODES.AnatomicalStructure, CODES.Liver)
TUMOUR = Segment(
    "tumour",
    CODES.MorphologicallyAbnormalStructure,
    CODES.Neoplasm,
    algorithm_type="AUTOMATIC",
    algorithm_name="segnet",
    tracking_id="lesion 1",
    tracking_uid="2.25.1234",
)


def _masks(n: int = 3, rows: int = 16, cols: int = 12, seed: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.random((n, rows, cols)) > 0.6
    a[1] = False  # an empty source frame: no SEG frame for it
    b = np.zeros((n, rows, cols), bool)
    b[n - 1, 2:6, 3:9] = True
    return [a, b]


def test_binary_round_trip(tmp_path: Path) -> None:
    src = ct_slices()
    masks = _masks()
    seg = segmentation(src, masks, [LIVER, TUMOUR])
    path = tmp_path / "seg.dcm"
    dicomkit.write(seg, path)
    back = read_segmentation(path)
    assert [s.label for s in back.segments] == ["liver", "tumour"]
    assert back.segments[1].algorithm_name == "segnet"
    assert back.segments[1].type == CODES.Neoplasm
    assert back.segments[1].tracking_uid == "2.25.1234"
    for number, want in ((1, masks[0]), (2, masks[1])):
        got = back.mask(number, sources=src)
        assert got.dtype == bool
        assert np.array_equal(got, want)
    # without the sources: the referenced frames, ordered along the slice normal
    got = back.mask(2)
    assert got.shape == (2, 16, 12)  # slices 1 and 3 are referenced; slice 2 is empty for both
    assert np.array_equal(got[1], masks[1][2])


def test_frames_and_functional_groups() -> None:
    src = ct_slices()
    seg = segmentation(src, _masks(), [LIVER, TUMOUR])
    # liver: slices 1 and 3 (2 is empty), tumour: slice 3 only
    assert int(seg.NumberOfFrames) == 3
    assert seg.BitsAllocated == 1 and seg.SegmentationType == "BINARY"
    assert len(seg[tags.PixelData].value) == -(-3 * 16 * 12 // 8)  # frames packed back to back
    per = seg.PerFrameFunctionalGroupsSequence
    got = [
        (
            f.SegmentIdentificationSequence[0].ReferencedSegmentNumber,
            f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID,
            list(f.FrameContentSequence[0].DimensionIndexValues),
            [float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient],
        )
        for f in per
    ]
    uids = [s.SOPInstanceUID for s in src]
    assert got == [
        (1, uids[0], [1, 1], [-10.0, -20.0, 0.0]),
        (1, uids[2], [1, 3], [-10.0, -20.0, 5.0]),
        (2, uids[2], [2, 3], [-10.0, -20.0, 5.0]),
    ]
    shared = seg.SharedFunctionalGroupsSequence[0]
    assert [float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing] == [0.5, 0.5]
    assert len(shared.PlaneOrientationSequence[0].ImageOrientationPatient) == 6
    pointers = [d.DimensionIndexPointer for d in seg.DimensionIndexSequence]
    assert pointers == [tags.ReferencedSegmentNumber, tags.ImagePositionPatient]
    refs = seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence
    assert [r.ReferencedSOPInstanceUID for r in refs] == uids
    assert seg.StudyInstanceUID == src[0].StudyInstanceUID
    assert seg.FrameOfReferenceUID == src[0].FrameOfReferenceUID
    assert seg.SegmentsOverlap == "YES"


def test_keep_empty_frames_and_label_map() -> None:
    src = ct_slices()
    labels = np.zeros((3, 16, 12), np.uint8)
    labels[0, :4] = 1
    labels[2, 8:] = 2
    seg = segmentation(src, labels, [LIVER, TUMOUR], omit_empty_frames=False)
    assert int(seg.NumberOfFrames) == 6
    back = read_segmentation(seg)
    assert np.array_equal(back.mask(1, sources=src), labels == 1)
    assert np.array_equal(back.mask(2, sources=src), labels == 2)
    assert seg.SegmentsOverlap == "NO"


@pytest.mark.parametrize("kind", ["PROBABILITY", "OCCUPANCY"])
def test_fractional_round_trip(kind: str) -> None:
    src = ct_slices()
    prob = np.random.default_rng(5).random((3, 16, 12)).astype(np.float32)
    seg = segmentation(src, [prob], [LIVER], fractional=kind, max_fractional_value=200)
    assert seg.BitsAllocated == 8 and seg.SegmentationFractionalType == kind
    back = read_segmentation(seg)
    got = back.mask(1, sources=src)
    assert got.dtype == np.float32
    assert np.abs(got - prob).max() <= 0.5 / 200 + 1e-6


def test_multiframe_source_frames() -> None:
    """A multi-frame enhanced source: frames referenced by Referenced Frame Number, geometry
    from its functional groups."""
    from dicomkit.core._dataset import Dataset
    from dicomkit.core._sequence import Sequence

    base = ct_slices(1)[0]
    src = Dataset()
    for el in base.elements():
        src.add(el.copy())
    for kw in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
        del src[kw]
    from dicomkit.pixels._encode import set_pixels

    set_pixels(src, np.zeros((4, 16, 12), np.uint16), multi_frame=True)
    per = Sequence()
    for i in range(4):
        item = Dataset()
        pp = Dataset()
        pp.set("ImagePositionPatient", [0.0, 0.0, float(10 - 2 * i)], "DS")
        item.set("PlanePositionSequence", Sequence([pp]), "SQ")
        per.append(item)
    src.set("PerFrameFunctionalGroupsSequence", per, "SQ")
    shared = Dataset()
    po = Dataset()
    po.set("ImageOrientationPatient", [1, 0, 0, 0, 1, 0], "DS")
    shared.set("PlaneOrientationSequence", Sequence([po]), "SQ")
    src.set("SharedFunctionalGroupsSequence", Sequence([shared]), "SQ")
    mask = np.zeros((4, 16, 12), bool)
    mask[0, 0, 0] = mask[3, 5, 5] = True
    seg = segmentation([src], [mask], [LIVER])
    frames = [
        f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedFrameNumber
        for f in seg.PerFrameFunctionalGroupsSequence
    ]
    assert [int(f) for f in frames] == [1, 4]
    # positions descend with the frame number: frame 4 is position index 1
    index = [
        list(f.FrameContentSequence[0].DimensionIndexValues)
        for f in seg.PerFrameFunctionalGroupsSequence
    ]
    assert index == [[1, 4], [1, 1]]
    assert np.array_equal(read_segmentation(seg).mask(1, sources=[src]), mask)


@pytest.mark.interop
@pytest.mark.parametrize("fractional", [None, "PROBABILITY"])
def test_seg_valid_for_dciodvfy_and_dcmdump(fractional: str | None, tmp_path: Path) -> None:
    src = ct_slices()
    masks = _masks() if fractional is None else [m.astype(np.float32) * 0.5 for m in _masks()]
    seg = segmentation(src, masks, [LIVER, TUMOUR], fractional=fractional)
    path = tmp_path / "seg.dcm"
    dicomkit.write(seg, path)
    assert dciodvfy_errors(path) == []
    assert dcmdump_problems(path) == []


def test_errors() -> None:
    src = ct_slices()
    m = _masks()
    with pytest.raises(InvalidValueError, match="mask\\(s\\) for 2 segment"):
        segmentation(src, m[:1], [LIVER, TUMOUR])
    with pytest.raises(InvalidValueError, match="shape"):
        segmentation(src, [m[0][:2]], [LIVER])
    with pytest.raises(InvalidValueError, match="algorithm_name"):
        segmentation(
            src, [m[0]], [Segment("x", CODES.Tissue, CODES.Organ, algorithm_type="AUTOMATIC")]
        )
    with pytest.raises(InvalidValueError, match="fractional"):
        segmentation(src, [m[0].astype(np.float32) * 0.3], [LIVER])
    with pytest.raises(InvalidValueError, match="PROBABILITY or OCCUPANCY"):
        segmentation(src, [m[0]], [LIVER], fractional="MAYBE")
    with pytest.raises(InvalidValueError, match="no segment 9"):
        read_segmentation(segmentation(src, [m[0]], [LIVER])).mask(9)
    with pytest.raises(InvalidValueError, match="not a Segmentation"):
        read_segmentation(src[0])


@pytest.mark.interop
def test_seg_of_images_without_geometry(tmp_path: Path) -> None:
    """Sources without a patient coordinate system (a multi-frame SC): no Plane Position or
    Frame of Reference, a 2D dimension organization; still valid and read back."""
    from dicomkit.builders import secondary_capture

    src = secondary_capture(np.zeros((3, 8, 8), np.uint8))
    mask = np.zeros((3, 8, 8), bool)
    mask[0, 1:3, 1:3] = mask[2, 4:, 4:] = True
    seg = segmentation([src], [mask], [LIVER])
    assert seg.DimensionOrganizationType == "2D" and "FrameOfReferenceUID" not in seg
    refs = [
        int(f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedFrameNumber)
        for f in seg.PerFrameFunctionalGroupsSequence
    ]
    assert refs == [1, 3]
    assert np.array_equal(read_segmentation(seg).mask(1, sources=[src]), mask)
    path = tmp_path / "seg.dcm"
    dicomkit.write(seg, path)
    assert dciodvfy_errors(path) == []
