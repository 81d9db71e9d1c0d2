"""SocketTransport: pull (read) and push (set_receiver) delivery, write-buffer level, drain,
reading back-pressure, TCP_NODELAY. Real sockets on 127.0.0.1; bounded polling, no sleeps."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from helpers import run

from dicomkit.errors import TransportError
from dicomkit.net._transport import SocketTransport, open_socket


async def pair(
    write_buffer: int = 1 << 20,
) -> tuple[SocketTransport, SocketTransport, asyncio.Server]:
    accepted: asyncio.Queue[SocketTransport] = asyncio.Queue()

    def factory() -> SocketTransport:
        t = SocketTransport(write_buffer)
        accepted.put_nowait(t)
        return t

    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = await open_socket("127.0.0.1", port, write_buffer=write_buffer)
    far = await accepted.get()
    await far.connected
    return client, far, server


async def until(pred: Any, what: str) -> None:
    for _ in range(10_000):
        if pred():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"timed out waiting for {what}")


def test_read_then_push_delivery_in_order() -> None:
    async def main() -> None:
        client, far, server = await pair()
        client.write(b"one")
        assert await far.read(10) == b"one"
        client.write(b"two")
        await until(lambda: far._chunks, "bytes buffered")
        got: list[bytes] = []
        far.set_receiver(got.append)  # what was buffered comes first
        client.writelines([b"three", b"four"])
        await until(lambda: b"".join(got) == b"twothreefour", "pushed bytes")
        client.close()
        await until(lambda: got[-1:] == [b""], "end of stream")
        await far.wait_closed()
        server.close()

    run(main())


def test_read_returns_at_most_n_and_eof_is_empty() -> None:
    async def main() -> None:
        client, far, server = await pair()
        client.write(b"abcdef")
        await until(lambda: far._chunks, "bytes")
        assert await far.read(4) == b"abcd"
        assert await far.read(4) == b"ef"
        client.close()
        assert await far.read(4) == b""
        server.close()

    run(main())


def test_nodelay_peer_name_and_extra_info() -> None:
    async def main() -> None:
        client, far, server = await pair()
        for t in (client, far):
            sock = t.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            assert t.peer.startswith("127.0.0.1:")
        client.close()
        far.close()
        server.close()

    run(main())


def test_drain_waits_only_above_the_high_water_mark() -> None:
    async def main() -> None:
        client, far, server = await pair(write_buffer=64 * 1024)
        far.pause_reading()  # the peer stops reading: our buffer fills up
        await client.drain()  # nothing queued: returns at once
        chunk = b"x" * (1 << 20)
        for _ in range(64):
            if client.write_blocked:
                break
            client.write(chunk)
            await asyncio.sleep(0)
        assert client.write_blocked
        drained = asyncio.ensure_future(client.drain())
        await asyncio.sleep(0)
        assert not drained.done()
        got = bytearray()
        far.set_receiver(got.extend)
        far.resume_reading()
        await drained
        assert not client.write_blocked
        client.close()
        far.close()
        server.close()

    run(main())


def test_write_after_close_raises_transport_error() -> None:
    async def main() -> None:
        client, far, server = await pair()
        client.close()
        with pytest.raises(TransportError):
            client.write(b"late")
        with pytest.raises(TransportError):
            client.writelines([b"late"])
        far.close()
        server.close()

    run(main())


def test_reset_reaches_the_lost_callback() -> None:
    async def main() -> None:
        client, far, server = await pair()
        lost: list[BaseException] = []
        got: list[bytes] = []
        far.set_receiver(got.append, lost.append)
        sock = client.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        client._transport.abort()  # type: ignore[union-attr]  # RST, not FIN
        await until(lambda: lost or got, "the connection loss")
        assert lost or got == [b""]  # a reset, or an orderly end if the stack says so
        server.close()

    run(main())


def test_connection_refused() -> None:
    async def main() -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        with pytest.raises(OSError):
            await open_socket("127.0.0.1", port)

    run(main())
