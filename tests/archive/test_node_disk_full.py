"""A full disk, from outside (pynetdicom against `dicomkit serve` on a small tmpfs).

A store that fails for lack of space leaves no partial file behind (a re-send succeeds once
space is freed), and below the ``min_free_bytes`` high-water mark new stores are refused with
A700 before the disk fills, and the log says so.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from archive_helpers import CT, serving, synthetic, to_dataset
from peers import free_port, require_module, stop

import dicomkit

pytestmark = pytest.mark.interop


@contextlib.contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        # (test_disk_guard_* below check the same rules with a patched disk_usage)
        pytest.skip(f"cannot mount a tmpfs (needs root): {proc.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _big_file(tmp: Path, mib: int) -> Path:
    row = synthetic(1)[0]
    ds = to_dataset({**row, "SOPClassUID": CT}, pixels=True)
    side = 1024
    ds.Rows = side
    ds.Columns = (mib << 20) // (2 * side)
    ds.PixelData = bytes(2 * side * ds.Columns)
    path = tmp / "big.dcm"
    dicomkit.write(ds, path)
    return path


def _store(port: int, path: Path) -> int:
    pynetdicom = require_module("pynetdicom")
    pydicom = require_module("pydicom")
    ae = pynetdicom.AE(ae_title="PYSCU")
    ae.add_requested_context(CT)
    assoc = ae.associate("127.0.0.1", port, ae_title="DICOMKIT")
    assert assoc.is_established
    try:
        status = assoc.send_c_store(pydicom.dcmread(path))
        assert assoc.is_established  # answered, not aborted
        return int(status.Status)
    finally:
        assoc.release()


def test_failed_store_leaves_no_partial_file_and_resend_succeeds(tmp_path: Path) -> None:
    big = _big_file(tmp_path, 3)
    with small_disk(tmp_path / "disk", "6m") as disk:
        port = free_port()
        arch = disk / "arch"
        with serving(arch, port, "--min-free-bytes", "0"):
            filler = disk / "filler"
            filler.write_bytes(bytes(3 << 20))  # leaves less room than the instance needs
            status = _store(port, big)
            assert status >= 0xA000, f"{status:04X}"
            assert [p.name for p in (arch / ".incoming").iterdir()] == []
            assert not list(arch.rglob("*.dcm"))
            filler.unlink()  # space freed: the same instance now goes in
            assert _store(port, big) == 0
        assert len(list(arch.rglob("*.dcm"))) == 1


def test_below_high_water_mark_stores_are_refused_and_logged(tmp_path: Path) -> None:
    big = _big_file(tmp_path, 1)
    with small_disk(tmp_path / "disk", "8m") as disk:
        port = free_port()
        arch = disk / "arch"
        # 8 MiB disk, 4 MiB must stay free: the first store fits, the filler crosses the mark
        with serving(arch, port, "--min-free-bytes", str(4 << 20)) as proc:
            assert _store(port, big) == 0
            (disk / "filler").write_bytes(bytes(3 << 20))
            time.sleep(1.1)  # the free-space reading is refreshed once a second
            other = _big_file(tmp_path, 1)
            ds = dicomkit.read(other)
            ds.SOPInstanceUID = ds.SOPInstanceUID + ".2"
            dicomkit.write(ds, other)
            assert _store(port, other) == 0xA700
            _out, err = stop(proc, signal.SIGINT, timeout=15)
        assert "disk nearly full" in err and "min_free_bytes" in err
        assert len(list(arch.rglob("*.dcm"))) == 1
        assert [p.name for p in (arch / ".incoming").iterdir()] == []


def test_full_disk_at_start_up_is_one_line(tmp_path: Path) -> None:
    from archive_helpers import cli_subprocess

    with small_disk(tmp_path / "disk", "1m") as disk:
        with contextlib.suppress(OSError), open(disk / "filler", "wb") as fp:
            fp.write(bytes(2 << 20))  # fills it (the write stops at the limit)
        code, _out, err = cli_subprocess("serve", str(disk / "arch"), "--port", str(free_port()))
    assert code == 2
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "free disk space" in lines[0], err


def test_disk_guard_refuses_below_the_mark_and_logs_each_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The high-water rule without a small disk: ``shutil.disk_usage`` patched."""
    import shutil as shutil_mod
    from collections import namedtuple

    from dicomkit.archive import _app as app

    usage = namedtuple("usage", "total used free")
    free = [10 << 20]
    monkeypatch.setattr(shutil_mod, "disk_usage", lambda _p: usage(100 << 20, 0, free[0]))
    guard = app.DiskGuard(tmp_path, 5 << 20)
    assert guard.low() is None
    free[0] = 1 << 20
    guard._checked = -10.0  # (read again now, not in a second)
    with caplog.at_level("WARNING", logger="dicomkit.archive"):
        why = guard.low()
        assert why is not None and "nearly full" in why
        assert guard.low() is not None
    assert sum("disk nearly full" in r.getMessage() for r in caplog.records) == 1
    free[0] = 50 << 20
    guard._checked = -10.0
    assert guard.low() is None
