"""HttpServer: the listening socket, and a port that cannot be had."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from dicomkit.archive._node import Archive
from dicomkit.errors import DicomError
from dicomkit.web._app import HttpServer, create_app


def test_nodelay_and_stop(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a")

    async def main() -> None:
        server = HttpServer(create_app(archive), "127.0.0.1", 0)
        await server.start()
        try:
            # answers go out as two writes (headers, body): Nagle would hold the second
            assert server.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            assert server.port > 0
            _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.close()
        finally:
            await server.stop()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", server.port)

    asyncio.run(main())
    archive.close()


def test_busy_port_is_a_dicom_error_naming_the_option(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        async def main() -> None:
            with pytest.raises(DicomError, match="--http-port"):
                await HttpServer(create_app(archive), "127.0.0.1", port).start()

        asyncio.run(main())
    archive.close()
