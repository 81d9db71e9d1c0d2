"""Segmentation interop with highdicom (test-only peer): highdicom reads the segmentations we
build to the same masks, we read highdicom's to the same masks, and both read the real SEG
files of the corpus (dcmqi) to the same masks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from buildkit import ct_slices
from corpus import CORPUS
from peers import missing, require_module

import dicomkit
from dicomkit.builders import CODES, Segment, read_segmentation, segmentation

pytestmark = pytest.mark.interop

SEGMENTS = [
    Segment("liver", CODES.AnatomicalStructure, CODES.Liver),
    Segment(
        "tumour",
        CODES.MorphologicallyAbnormalStructure,
        CODES.Neoplasm,
        algorithm_type="AUTOMATIC",
        algorithm_name="segnet",
    ),
]


def _written(tmp_path: Path, n: int = 4) -> tuple[list[Any], list[Path]]:
    src = ct_slices(n, 20, 14, seed=11)
    paths = []
    for i, ds in enumerate(src):
        p = tmp_path / f"ct{i}.dcm"
        dicomkit.write(ds, p)
        paths.append(p)
    return src, paths


def _masks(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(2)
    a = rng.random((n, 20, 14)) > 0.5
    b = np.zeros_like(a)
    b[1:3, 4:10, 2:7] = True
    return [a, b]


def test_highdicom_reads_our_binary_seg(tmp_path: Path) -> None:
    hd = require_module("highdicom")
    src, _ = _written(tmp_path)
    masks = _masks(len(src))
    path = tmp_path / "seg.dcm"
    dicomkit.write(segmentation(src, masks, SEGMENTS), path)
    theirs = hd.seg.segread(path)
    uids = [s.SOPInstanceUID for s in src]
    got = theirs.get_pixels_by_source_instance(uids, segment_numbers=[1, 2])
    assert got.shape == (len(src), 20, 14, 2)
    assert np.array_equal(got[..., 0].astype(bool), masks[0])
    assert np.array_equal(got[..., 1].astype(bool), masks[1])
    desc = theirs.get_segment_description(2)
    assert desc.segment_label == "tumour"
    assert desc.segmented_property_type.value == CODES.Neoplasm.value


def test_highdicom_reads_our_fractional_seg(tmp_path: Path) -> None:
    hd = require_module("highdicom")
    src, _ = _written(tmp_path)
    prob = np.random.default_rng(9).random((len(src), 20, 14)).astype(np.float32)
    path = tmp_path / "seg.dcm"
    dicomkit.write(segmentation(src, [prob], SEGMENTS[:1], fractional="PROBABILITY"), path)
    theirs = hd.seg.segread(path)
    got = theirs.get_pixels_by_source_instance(
        [s.SOPInstanceUID for s in src], segment_numbers=[1], rescale_fractional=True
    )
    assert np.abs(got[..., 0] - prob).max() <= 0.5 / 255 + 1e-6


@pytest.mark.parametrize("fractional", [False, True])
def test_we_read_highdicom_seg(fractional: bool, tmp_path: Path) -> None:
    hd = require_module("highdicom")
    import pydicom
    from pydicom.sr.codedict import codes

    src, paths = _written(tmp_path)
    theirs_src = [pydicom.dcmread(p) for p in paths]
    masks = _masks(len(src))
    if fractional:
        pixel_array = np.stack(masks, axis=-1).astype(np.float32) * 0.75
        seg_type = hd.seg.SegmentationTypeValues.FRACTIONAL
    else:
        pixel_array = np.stack(masks, axis=-1).astype(np.uint8)
        seg_type = hd.seg.SegmentationTypeValues.BINARY
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=i + 1,
            segment_label=label,
            segmented_property_category=codes.SCT.Tissue,
            segmented_property_type=codes.SCT.Liver,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for i, label in enumerate(["a", "b"])
    ]
    seg = hd.seg.Segmentation(
        source_images=theirs_src,
        pixel_array=pixel_array,
        segmentation_type=seg_type,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=5,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="peer",
        manufacturer_model_name="highdicom",
        software_versions="0",
        device_serial_number="1",
    )
    path = tmp_path / "theirs.dcm"
    seg.save_as(path)
    ours = read_segmentation(path)
    assert [s.label for s in ours.segments] == ["a", "b"]
    assert ours.segments[0].type == CODES.Liver
    for number, want in ((1, masks[0]), (2, masks[1])):
        got = ours.mask(number, sources=src)
        if fractional:
            assert np.abs(got - want * 0.75).max() <= 0.5 / 255 + 1e-6
        else:
            assert np.array_equal(got, want)


def _corpus_segs() -> list[Path]:
    root = CORPUS / "dcmqi"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".dcm", ".seg"))


def test_corpus_segs_read_as_highdicom_reads_them() -> None:
    hd = require_module("highdicom")
    seen = 0
    for path in _corpus_segs():
        ds = dicomkit.read(path)
        if ds.get("Modality") != "SEG":
            continue
        seen += 1
        ours = read_segmentation(ds)
        theirs = hd.seg.segread(path)
        keys = ours.referenced_sources
        assert all(frame == 0 for _, frame in keys), path  # dcmqi's refer to single-frame CTs
        uids = [uid for uid, _ in keys]
        numbers = [s.number for s in ours.segments]
        assert sorted(numbers) == sorted(theirs.segment_numbers)
        got = theirs.get_pixels_by_source_instance(
            uids, segment_numbers=numbers, ignore_spatial_locations=True
        )
        for k, number in enumerate(numbers):
            mine = ours.mask(number)
            assert mine.any(), (path, number)
            assert np.array_equal(mine, got[..., k].astype(bool)), (path, number)
    if not seen:
        missing(f"SEG files of the shared corpus under {CORPUS / 'dcmqi'}")
