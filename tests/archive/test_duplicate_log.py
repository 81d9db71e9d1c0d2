"""A duplicate dropped under the ``keep`` policy is logged (it would otherwise vanish)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from archive_helpers import synthetic, write_temp

from dicomkit.archive import Archive, DuplicatePolicy


def test_kept_duplicate_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    row = synthetic(1)[0]
    with Archive(tmp_path / "a", policy=DuplicatePolicy.KEEP) as arch:
        arch.ingest(write_temp(arch, row))
        with caplog.at_level(logging.INFO, logger="dicomkit.archive"):
            assert arch.ingest(write_temp(arch, row)).outcome == "kept"
    lines = [r.getMessage() for r in caplog.records if r.name == "dicomkit.archive"]
    assert any(row["SOPInstanceUID"] in m and "'keep'" in m for m in lines), lines
