"""Large values of memory-mapped files are read with pread when asked for as bytes."""

from __future__ import annotations

import gc
import mmap
import os
from pathlib import Path

import pytest

import dicomkit
from dicomkit import Dataset
from dicomkit.core import _mapped as mapped
from dicomkit.io import _part10 as part10


def _big_file(tmp_path: Path, size: int) -> tuple[Path, bytes]:
    pixels = os.urandom(size)
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1.99"
    ds.Rows, ds.Columns = 1, 1  # (not a real image: only the bytes matter here)
    ds.set("PixelData", pixels, vr="OB")
    path = tmp_path / "big.dcm"
    dicomkit.write(ds, path)
    return path, pixels


def test_pixel_data_of_a_mapped_file_is_read_not_copied_from_the_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, pixels = _big_file(tmp_path, part10.MMAP_MIN + (1 << 20))
    ds = dicomkit.read(path)
    raw = ds[0x7FE00010].raw
    assert isinstance(raw, memoryview) and type(raw.obj) is mmap.mmap  # lazy: a map slice
    reads: list[int] = []
    real = os.pread
    monkeypatch.setattr(mapped.os, "pread", lambda fd, n, off: reads.append(n) or real(fd, n, off))
    value = ds.PixelData
    assert type(value) is bytes and value == pixels
    assert reads == [len(pixels)]


def test_small_values_and_unmapped_views_are_left_to_the_caller(tmp_path: Path) -> None:
    assert mapped.copy_out(memoryview(b"x" * (mapped.PREAD_MIN + 2))) is None  # not a map
    path, pixels = _big_file(tmp_path, part10.MMAP_MIN + 64)
    ds = dicomkit.read(path)
    raw = ds[0x7FE00010].raw
    assert mapped.copy_out(raw[:100]) is None  # small: copied from the map
    assert mapped.copy_out(raw[10 : 10 + mapped.PREAD_MIN]) == pixels[10 : 10 + mapped.PREAD_MIN]


def test_the_map_is_forgotten_with_it(tmp_path: Path) -> None:
    path, _ = _big_file(tmp_path, part10.MMAP_MIN + 64)
    before = len(mapped._FILES)
    ds = dicomkit.read(path)
    assert len(mapped._FILES) == before + 1
    assert mapped.is_mapped(path.stat())
    del ds
    gc.collect()
    assert len(mapped._FILES) == before
    assert not mapped.is_mapped(path.stat())


def test_a_file_renamed_over_is_not_read_in_place_of_the_mapped_one(tmp_path: Path) -> None:
    path, pixels = _big_file(tmp_path, part10.MMAP_MIN + (1 << 20))
    ds = dicomkit.read(path)
    other = tmp_path / "other.dcm"
    other.write_bytes(b"\xff" * path.stat().st_size)
    os.replace(other, path)  # a different file under the same name
    raw = ds[0x7FE00010].raw
    assert mapped.copy_out(raw) is None  # not read from the new file ...
    assert ds.PixelData == pixels  # ... the value still comes from the map
