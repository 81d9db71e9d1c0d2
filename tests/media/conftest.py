"""Fixtures for the media tests: pydicom's DICOMDIR samples and folders of corpus files."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from corpus import CORPUS

#: The DICOMDIR in the shared corpus (dcm4che; its referenced files are not included).
DCM4CHE_DICOMDIR = CORPUS / "dcm4che" / "DICOMDIR"


def pydicom_dirs() -> Path | None:
    """pydicom's own DICOMDIR test File-sets (shipped in the pydicom wheel)."""
    try:
        import pydicom
    except ImportError:
        return None
    path = Path(pydicom.__file__).parent / "data" / "test_files" / "dicomdirtests"
    return path if (path / "DICOMDIR").exists() else None


@pytest.fixture
def dicomdirtests() -> Path:
    path = pydicom_dirs()
    if path is None:
        pytest.skip("pydicom's dicomdirtests are not installed")
    return path


def corpus_rows(limit: int = 40, max_size: int = 1_500_000) -> list[str]:
    """Relative paths of clean Part 10 corpus files (a mix of sets, syntaxes and classes)."""
    manifest = CORPUS / "MANIFEST.csv"
    if not manifest.exists():
        return []
    rows = []
    with open(manifest, newline="") as fp:
        for row in csv.DictReader(fp):
            if row["error"] or row["preamble"] != "True" or "DICOMDIR" in row["path"]:
                continue
            if int(row["size"]) > max_size:
                continue
            rows.append(row["path"])
    # every third file, so each set contributes
    picked = rows[::3][:limit]
    return picked


@pytest.fixture
def corpus_folder(tmp_path: Path) -> Path:
    """A folder of corpus files under their own (non-conformant) names."""
    rows = corpus_rows()
    if not rows:
        pytest.skip("shared corpus not present")
    src = tmp_path / "in"
    for rel in rows:
        dest = src / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / rel, dest)
    return src
