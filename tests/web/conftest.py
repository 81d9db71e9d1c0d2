"""A DICOMweb server over a synthetic archive, in a thread of its own (event loop + Uvicorn)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))
sys.path.insert(0, str(Path(__file__).parent))

from archive_helpers import synthetic, to_dataset
from web_helpers import serve_archive

from dicomkit.archive._node import Archive
from dicomkit.services import UPSSCP


@dataclass
class Served:
    archive: Archive
    rows: list[dict[str, Any]]
    url: str  # http://127.0.0.1:PORT/dicom-web
    port: int


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    rows = synthetic(6)
    archive = Archive(tmp_path_factory.mktemp("web-archive"))
    for row in rows:
        ds = to_dataset(row, pixels=True)
        archive.store_dataset(ds)
    with serve_archive(archive) as port:
        yield Served(archive, rows, f"http://127.0.0.1:{port}/dicom-web", port)
    archive.close()


@pytest.fixture
def ups_url(tmp_path: Path) -> Iterator[tuple[str, UPSSCP]]:
    """A DICOMweb server with UPS-RS over a fresh UPS SCP: (service root URL, the SCP)."""
    archive = Archive(tmp_path / "a")
    scp = UPSSCP()
    with serve_archive(archive, ups=scp) as port:
        yield f"http://127.0.0.1:{port}/dicom-web", scp
    archive.close()
