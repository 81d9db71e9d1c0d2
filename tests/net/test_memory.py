"""The in-memory transport pair: ordering, partial reads, EOF and back-pressure."""

from __future__ import annotations

import asyncio

import pytest

from dicomkit.errors import TransportError
from dicomkit.net._memory import memory_pair


def test_bytes_flow_both_ways_in_order() -> None:
    async def main() -> None:
        a, b = memory_pair()
        a.write(b"hello ")
        a.write(b"world")
        assert await b.read(3) == b"hel"
        assert await b.read(100) == b"lo "
        assert await b.read(100) == b"world"
        b.write(b"back")
        assert await a.read(10) == b"back"
        a.close()
        assert await b.read(10) == b""
        with pytest.raises(TransportError):
            await b.drain()

    asyncio.run(main())


def test_backpressure_blocks_drain_until_read() -> None:
    async def main() -> None:
        a, b = memory_pair(limit=10)
        a.write(b"x" * 20)
        drain = asyncio.ensure_future(a.drain())
        await asyncio.sleep(0)
        assert not drain.done()
        assert await b.read(15) == b"x" * 15
        await asyncio.wait_for(drain, 1)

    asyncio.run(main())


def test_write_after_close_fails() -> None:
    async def main() -> None:
        a, _ = memory_pair()
        a.close()
        with pytest.raises(TransportError):
            a.write(b"x")

    asyncio.run(main())
