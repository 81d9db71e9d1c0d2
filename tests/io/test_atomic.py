"""Files dicomkit writes get the mode the umask gives (not mkstemp's 0600)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import dicomkit
from dicomkit.io._atomic import create_temp, create_temp_path


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path: Path | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_create_temp_respects_umask(tmp_path: Path, umask: int) -> None:
    fd, path = create_temp(tmp_path, suffix=".x")
    os.close(fd)
    assert _mode(path) == 0o666 & ~umask
    other = create_temp_path(tmp_path)
    assert other != Path(path) and _mode(other) == 0o666 & ~umask


def test_atomic_write_of_a_new_file_respects_umask(tmp_path: Path, umask: int) -> None:
    ds = dicomkit.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3.4"
    ds.PatientName = "MODE^TEST"
    for atomic in (True, False):
        out = tmp_path / f"new-{atomic}.dcm"
        dicomkit.write(ds, out, atomic=atomic)
        assert _mode(out) == 0o666 & ~umask, atomic


def test_atomic_rewrite_keeps_the_existing_mode(tmp_path: Path) -> None:
    ds = dicomkit.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3.4"
    out = tmp_path / "old.dcm"
    dicomkit.write(ds, out)
    os.chmod(out, 0o640)
    dicomkit.write(ds, out, atomic=True)
    assert _mode(out) == 0o640
