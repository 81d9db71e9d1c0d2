"""A DICOMweb server over a synthetic archive, in a thread of its own (event loop + Uvicorn)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "archive"))

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from archive_helpers import synthetic, to_dataset

from dicomkit.archive.node import Archive
from dicomkit.web.app import HttpServer, create_app


@dataclass
class Served:
    archive: Archive
    rows: list[dict[str, Any]]
    url: str  # http://127.0.0.1:PORT/dicom-web
    port: int


@contextlib.contextmanager
def serve_archive(archive: Archive) -> Iterator[int]:
    """Serve ``archive`` over DICOMweb on a free loopback port (yields the port)."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        async def main() -> None:
            server = HttpServer(create_app(archive), "127.0.0.1", 0)
            await server.start()
            box["server"], box["loop"] = server, asyncio.get_running_loop()
            box["stop"] = asyncio.Event()
            ready.set()
            await box["stop"].wait()
            await server.stop()

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(20), "the DICOMweb server did not start"
    try:
        yield box["server"].port
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(20)


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
