"""How ``dicomkit.write`` treats its destination: new files, overwriting in place, atomic
replacement, files memory-mapped by a data set read from them, and non-regular files."""

from __future__ import annotations

import gc
import os
import stat
from pathlib import Path

import pytest

import dicomkit
from dicomkit import Dataset
from dicomkit.core import _mapped as mapped_mod
from dicomkit.errors import InvalidValueError
from dicomkit.io import _part10 as part10

CT = "1.2.840.10008.5.1.4.1.1.2"


def _ds(name: str = "DOE^JANE", pixels: bytes = b"\x01\x00\x02\x00") -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1.7"
    ds.PatientName = name
    ds.set("PixelData", pixels, vr="OW")
    return ds


def test_new_file_is_created(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    dicomkit.write(_ds(), path)
    assert dicomkit.read(path).PatientName == "DOE^JANE"


def test_existing_file_is_overwritten_in_place_and_truncated(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    dicomkit.write(_ds(pixels=b"\x00" * 4096), path)
    ino, size = path.stat().st_ino, path.stat().st_size
    dicomkit.write(_ds("SMITH^JOHN"), path)
    assert path.stat().st_ino == ino  # the same file, its pages reused
    assert path.stat().st_size < size  # the longer old content is cut off
    back = dicomkit.read(path)
    assert back.PatientName == "SMITH^JOHN" and back.PixelData == b"\x01\x00\x02\x00"
    assert path.read_bytes() == _bytes(_ds("SMITH^JOHN"))


def _bytes(ds: Dataset) -> bytes:
    import io

    buf = io.BytesIO()
    dicomkit.write(ds, buf)
    return buf.getvalue()


def test_atomic_replaces_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    dicomkit.write(_ds(), path)
    os.chmod(path, 0o640)
    ino = path.stat().st_ino
    dicomkit.write(_ds("SMITH^JOHN"), path, atomic=True)
    assert path.stat().st_ino != ino  # a new file renamed over the old one
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert dicomkit.read(path).PatientName == "SMITH^JOHN"
    assert [p.name for p in tmp_path.iterdir()] == ["a.dcm"]  # no temporary file left


def test_a_value_that_cannot_be_encoded_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "a.dcm"
    dicomkit.write(_ds(), path)
    before = path.read_bytes()
    bad = _ds()
    bad.set("Rows", "not a number", vr="US", validation="off")
    with pytest.raises(InvalidValueError):
        dicomkit.write(bad, path)
    assert path.read_bytes() == before
    new = tmp_path / "new.dcm"
    with pytest.raises(InvalidValueError):
        dicomkit.write(bad, new)
    assert not new.exists()


def test_a_file_mapped_by_a_data_set_is_replaced_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "big.dcm"
    pixels = bytes(range(256)) * ((part10.MMAP_MIN + 4096) // 256)
    dicomkit.write(_ds(pixels=pixels), path)
    ds = dicomkit.read(path)
    assert mapped_mod.is_mapped(path.stat())
    ino = path.stat().st_ino
    # write something else over the file the data set still reads lazily from
    dicomkit.write(_ds("SMITH^JOHN", pixels=b"\xff" * len(pixels)), path)
    assert path.stat().st_ino != ino
    assert ds.PixelData == pixels and ds.PatientName == "DOE^JANE"  # its own bytes, intact
    assert dicomkit.read(path).PatientName == "SMITH^JOHN"
    # once nothing uses the mapping, the file is overwritten in place again
    del ds
    gc.collect()
    ino = path.stat().st_ino
    assert not mapped_mod.is_mapped(path.stat())
    dicomkit.write(_ds("THIRD^ONE"), path)
    assert path.stat().st_ino == ino
    assert dicomkit.read(path).PatientName == "THIRD^ONE"


def test_a_mapped_file_written_over_itself_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "big.dcm"
    pixels = os.urandom(part10.MMAP_MIN + 10)
    pixels += b"\0" * (len(pixels) % 2)
    dicomkit.write(_ds(pixels=pixels), path)
    data = path.read_bytes()
    ds = dicomkit.read(path)
    dicomkit.write(ds, path)
    assert path.read_bytes() == data


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_a_device_is_written_to_not_replaced() -> None:
    dicomkit.write(_ds(), "/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
