"""Archive.ingest_record: rows staged while another thread makes the file durable (issue #5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from archive_helpers import synthetic, to_dataset

import dicomkit
from dicomkit.archive import Archive
from dicomkit.archive._index import record_from_dataset


def _temp(archive: Archive, row: dict) -> Path:
    tmp = archive.incoming_path()
    dicomkit.write(to_dataset(row), tmp)
    return tmp


def test_rename_waits_for_durable(tmp_path: Path) -> None:
    row = synthetic(1)[0]
    with Archive(tmp_path / "a") as arch:
        tmp = _temp(arch, row)
        rec = record_from_dataset(dicomkit.read(tmp, stop_before_pixels=True))
        seen: list[bool] = []

        def durable() -> Path:
            seen.append(tmp.exists())  # not renamed before the contents are durable
            return tmp

        res = arch.ingest_record(rec, tmp.stat().st_size, durable)
        assert seen == [True]
        assert res.outcome == "stored" and res.path.exists() and not tmp.exists()
        assert arch.index.count() == 1
        # the same instance again (keep policy): the temporary file is removed, no new row
        tmp2 = _temp(arch, row)
        assert arch.ingest_record(rec, tmp2.stat().st_size, lambda: tmp2).outcome == "kept"
        assert not tmp2.exists() and arch.index.count() == 1
        assert arch.check(repair=False).clean


def test_failed_sync_leaves_no_row(tmp_path: Path) -> None:
    row = synthetic(1)[0]
    with Archive(tmp_path / "a") as arch:
        tmp = _temp(arch, row)
        rec = record_from_dataset(dicomkit.read(tmp, stop_before_pixels=True))

        def durable() -> Path:
            raise OSError("no space left")

        with pytest.raises(OSError, match="no space"):
            arch.ingest_record(rec, tmp.stat().st_size, durable)
        assert arch.index.count() == 0
        assert not list(arch.root.glob("*/*/*.dcm"))
        assert arch.check(repair=False).clean
