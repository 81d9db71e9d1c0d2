"""The archive's files get the mode the umask gives (not mkstemp's 0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from archive_helpers import synthetic, to_dataset, write_temp

from dicomkit.archive import Archive


def test_archived_files_follow_the_umask(tmp_path: Path) -> None:
    rows = synthetic(2)
    old = os.umask(0o027)
    try:
        with Archive(tmp_path / "a") as arch:
            first = arch.ingest(write_temp(arch, rows[0]))
            second = arch.store_dataset(to_dataset(rows[1]))
    finally:
        os.umask(old)
    for result in (first, second):
        assert stat.S_IMODE(Path(result.path).stat().st_mode) == 0o640, result.path
