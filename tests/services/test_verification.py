"""Verification service (PS3.4 A)."""

from __future__ import annotations

import asyncio

from dicomkit.net import AE
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse
from dicomkit.services._verification import EchoResult, echo, handle_echo


def test_echo_repeat_over_memory() -> None:
    async def main() -> EchoResult:
        client, server = memory_pair()
        await AE("SCP", handlers={dimse.CEchoRequest: handle_echo}).serve_transport(server)
        async with AE("SCU").associate("", 0, transport=client) as assoc:
            return await echo(assoc, 25)

    result = asyncio.run(main())
    assert result.ok and len(result.statuses) == 25 and all(s >= 0 for s in result.seconds)


def test_echo_result_not_ok() -> None:
    assert not EchoResult((0, 0x0110), (0.1, 0.1)).ok
    assert not EchoResult((), ()).ok
