"""Round trips of the corpus files that tests/io/test_corpus.py cannot convert between
syntaxes: compressed pixel data is decompressed, written as Explicit VR Little Endian, read
back (by us and by DCMTK) and must give the same pixels and the same other elements; files read
with errors are written repaired and read back without any."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest
from corpus import CorpusFile, manifest
from peers import run_dcmtk

import dicomkit
from dicomkit.dictionary import syntaxes, uids
from dicomkit.pixels import decompress, default_registry, pixel_array

JPEG_XL = {uids.JPEGXLLossless, uids.JPEGXLJPEGRecompression, uids.JPEGXL}
PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
ROWS = [r for r in manifest() if not r.broken and r.encapsulated]
#: Image Pixel attributes a decompression may rewrite (YBR_FULL_422 -> YBR_FULL ...).
CHANGED_BY_DECOMPRESSION = {0x00280004, 0x00280006, 0x00280102, 0x00282110}


def _read(path: Path) -> dicomkit.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dicomkit.read(path)


def test_every_encapsulated_corpus_file_is_covered() -> None:
    assert len(ROWS) > 90  # the rows test_corpus.py skips for conversion


# JPEG XL decoding takes seconds per file: its one corpus file runs outside the fast loop
# here (tests/pixels/test_corpus.py still decodes it there).
@pytest.mark.parametrize(
    "row",
    [pytest.param(r, marks=pytest.mark.slow) if r.ts in JPEG_XL else r for r in ROWS],
    ids=[r.rel for r in ROWS],
)
def test_decompress_write_read_back(row: CorpusFile, tmp_path: Path) -> None:
    ds = _read(row.path)
    ts = str(ds.transfer_syntax)
    if not default_registry().can_decode(ts):
        pytest.skip(f"no decoder installed for {ts}")
    if not any(t in ds for t in PIXEL_TAGS) or syntaxes.get(ts).pixels != "encapsulated":
        pytest.skip("no encapsulated pixel data")
    before = pixel_array(ds)
    others = {t: ds[t] for t in ds.tags() if t >> 16 not in (0x0002, 0x7FE0)}
    decompress(ds)
    out = tmp_path / "native.dcm"
    dicomkit.write(ds, out, transfer_syntax=uids.ExplicitVRLittleEndian)
    back = _read(out)
    assert not back.read_errors
    assert str(back.transfer_syntax) == uids.ExplicitVRLittleEndian
    np.testing.assert_array_equal(pixel_array(back), before)
    assert {t for t in back.tags() if t >> 16 not in (0x0002, 0x7FE0)} == set(others)
    for tag, el in others.items():
        if tag in CHANGED_BY_DECOMPRESSION or el.vr in ("SQ", "UN"):
            continue
        assert back[tag].value == el.value, f"{back[tag].tag} changed"
    proc = run_dcmtk("dcmdump", "-q", str(out), check=False)
    assert proc.returncode == 0 and "E:" not in proc.stdout + proc.stderr


def test_files_read_with_errors_are_written_repaired() -> None:
    """The files whose byte-identical write-back test_corpus.py skips (read errors)."""
    damaged = []
    for row in manifest():
        if row.broken:
            continue
        ds = _read(row.path)
        if not ds.read_errors or ds.file_meta is None:
            continue
        damaged.append(row.rel)
        out = io.BytesIO()
        dicomkit.write(ds, out)
        back = _read(io.BytesIO(out.getvalue()))
        assert not back.read_errors, row.rel
        assert set(back.tags()) == set(ds.tags()), row.rel
        if any(t in ds for t in PIXEL_TAGS):
            np.testing.assert_array_equal(pixel_array(back), pixel_array(ds))
    assert damaged  # the corpus has such files (pydicom-data's ..._too_short.dcm)
