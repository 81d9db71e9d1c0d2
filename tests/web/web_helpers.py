"""Serving an archive over DICOMweb from a test: its own thread, event loop and Uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from dicomkit.archive._node import Archive
from dicomkit.web._app import HttpServer, create_app


@contextlib.contextmanager
def serve_archive(archive: Archive, **app_kwargs: Any) -> Iterator[int]:
    """Serve ``archive`` over DICOMweb on a free loopback port (yields the port);
    ``app_kwargs`` go to :func:`~dicomkit.web._app.create_app` (``settings=`` also to the
    server, for TLS)."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        async def main() -> None:
            server = HttpServer(
                create_app(archive, **app_kwargs),
                "127.0.0.1",
                0,
                settings=app_kwargs.get("settings"),
            )
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
