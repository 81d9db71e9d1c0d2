"""Every corpus file with pixel data decodes like pydicom does (the test oracle).

Where pydicom cannot decode a file, another reference is used: the same image in a lossless
syntax (NEMA WG-04 lossy sets, pydicom-data's liver_* variants), within a tolerance for lossy
syntaxes.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from corpus import CORPUS, manifest
from peers import require_module

import dicomkit
from dicomkit.pixels import pixel_array

PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
LOSSY = {
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.93",
    "1.2.840.10008.1.2.4.203",
    "1.2.840.10008.1.2.4.112",
}
ROWS = [r for r in manifest() if not r.broken and r.path.name not in ("DICOMDIR",)]

# Lossless references for files pydicom cannot decode.
SIBLINGS = {
    "pydicom-data/liver_rle.dcm": "pydicom-data/liver.dcm",
    "pydicom-data/liver_deflate.dcm": "pydicom-data/liver.dcm",
    "pydicom-data/liver_nonbyte_aligned_rle.dcm": "pydicom-data/liver_nonbyte_aligned.dcm",
    "pydicom-data/liver_nonbyte_aligned_deflate.dcm": "pydicom-data/liver_nonbyte_aligned.dcm",
}


def _lossless_sibling(rel: str) -> Path | None:
    if rel in SIBLINGS:
        return CORPUS / SIBLINGS[rel]
    if rel.startswith("nema-wg04/"):
        name = Path(rel).name.rsplit("_", 1)[0]
        for folder, suffix in (
            ("JPLL", "JPLL"),
            ("JLSL", "JLSL"),
            ("J2KR", "J2KR"),
            ("RLE", "RLE"),
        ):
            cand = CORPUS / "nema-wg04" / folder / f"{name}_{suffix}"
            if cand.exists():
                return cand
    return None


def _pydicom_array(path: Path) -> np.ndarray | None:
    pydicom = require_module("pydicom")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, force=True)
            if not any(t in ds for t in PIXEL_TAGS):
                return None
            return np.asarray(ds.pixel_array)
        except Exception:  # noqa: BLE001 - any pydicom failure means "no oracle"
            return None


def _compare(ours: np.ndarray, ref: np.ndarray, lossy: bool, what: str) -> None:
    assert ours.shape == ref.shape, what
    if not lossy:
        assert ours.dtype.kind == ref.dtype.kind and ours.itemsize == ref.itemsize, what
        np.testing.assert_array_equal(ours, ref, err_msg=what)
        return
    a, b = ours.astype(np.float64), ref.astype(np.float64)
    span = max(float(b.max() - b.min()), 1.0)
    mean_err = float(np.abs(a - b).mean())
    assert mean_err <= 0.02 * span, f"{what}: mean error {mean_err} over range {span}"


@pytest.mark.parametrize("row", ROWS, ids=[r.rel for r in ROWS])
def test_corpus_file_decodes_like_the_oracle(row) -> None:  # type: ignore[no-untyped-def]
    ds = dicomkit.read(row.path, force=True)
    if not any(t in ds for t in PIXEL_TAGS):
        pytest.skip("no pixel data")
    ours = pixel_array(ds, as_rgb=True)
    ref = _pydicom_array(row.path)
    lossy = row.ts in LOSSY
    if ref is not None:
        _compare(ours, ref, lossy, f"{row.rel} vs pydicom")
        return
    sibling = _lossless_sibling(row.rel)
    if sibling is not None:
        ref = pixel_array(dicomkit.read(sibling, force=True), as_rgb=True)
        if ref.shape == ours.shape:
            _compare(ours, ref, lossy, f"{row.rel} vs {sibling.name}")
            return
    # No oracle at all (e.g. JPEG XL recompression): decoding gives the declared shape.
    info = dicomkit.pixels.pixel_info(ds)
    assert ours.shape == info.shape


def test_single_frames_match_all_frames() -> None:
    multi = [r for r in ROWS if r.frames.isdigit() and int(r.frames) > 1]
    assert multi
    checked = 0
    for row in multi[:12]:
        ds = dicomkit.read(row.path, force=True)
        try:
            full = pixel_array(ds)
        except dicomkit.errors.PixelDataError:
            continue
        for i in (0, full.shape[0] - 1):
            np.testing.assert_array_equal(dicomkit.pixels.frame(ds, i), full[i], err_msg=row.rel)
        checked += 1
    assert checked
