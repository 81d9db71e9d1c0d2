"""``AE.concurrent_stores``: as acceptor, C-STOREs pipelined within the granted asynchronous
operations window (PS3.7 D.3.3.3) run their handlers at once, each answered with its own
Message ID; any other request waits until they are done; without the flag (or without a
window) one at a time, as before."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from helpers import run

from dicomkit.net import AE, AEConfig, Incoming
from dicomkit.net._memory import memory_pair
from dicomkit.net.proto import _dimse as dimse

VERIFICATION = "1.2.840.10008.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"
LE = ["1.2.840.10008.1.2.1"]


class _ConcurrentAE(AE):
    concurrent_stores = True


class _Probe:
    """A C-STORE handler that counts how many of it run at once; each one waits until
    ``wanted`` have started (the test's gate), then answers."""

    def __init__(self, wanted: int) -> None:
        self.wanted = wanted
        self.running = self.peak = 0
        self.gate = asyncio.Event()
        self.running_at_echo: list[int] = []

    async def store(self, incoming: Incoming) -> int:
        self.running += 1
        self.peak = max(self.peak, self.running)
        if self.running >= self.wanted:
            self.gate.set()
        try:
            await self.gate.wait()
            await asyncio.sleep(0)  # let the others see the same gate
        finally:
            self.running -= 1
        return 0

    async def echo(self, incoming: Incoming) -> int:
        self.running_at_echo.append(self.running)
        return 0


async def _pair(cls: type[AE], window: int, probe: _Probe, proposed: tuple[int, int]) -> Any:
    client, server = memory_pair()
    handlers = {dimse.CStoreRequest: probe.store, dimse.CEchoRequest: probe.echo}
    cfg = AEConfig(ae_title="SCP", async_ops=(window, window))
    srv = cls("SCP", config=cfg, handlers=handlers, supported={VERIFICATION: LE, CT: LE})
    await srv.serve_transport(server)
    return await AE("SCU").associate(
        "", 0, transport=client, ae_title="SCP", contexts=[VERIFICATION, CT], async_ops=proposed
    )


def _store(i: int) -> dimse.CStoreRequest:
    return dimse.CStoreRequest(
        affected_sop_class_uid=CT, affected_sop_instance_uid=f"1.2.3.{i + 1}"
    )


def test_pipelined_stores_within_the_window_run_at_once() -> None:
    async def main() -> None:
        probe = _Probe(wanted=3)
        assoc = await _pair(_ConcurrentAE, 3, probe, (8, 8))
        assert assoc.async_ops == (3, 3)
        data = b"\x08\x00\x16\x00\x00\x00\x00\x00"  # any bytes: the handler does not parse
        calls = [assoc.request(_store(i), data) for i in range(7)]
        rsps = await asyncio.wait_for(asyncio.gather(*calls), 10)
        assert [r.message.status for r in rsps] == [0] * 7
        assert [r.message.affected_sop_instance_uid for r in rsps] == [
            f"1.2.3.{i + 1}" for i in range(7)
        ]
        assert probe.peak == 3  # never more than the window
        # a request other than C-STORE waits until the stores before it are done
        more = [assoc.request(_store(i), data) for i in range(7, 10)]
        echo = assoc.echo()
        done = await asyncio.wait_for(asyncio.gather(*more, echo), 10)
        assert [r.message.status for r in done[:3]] == [0, 0, 0]
        assert probe.running_at_echo == [0]
        await assoc.release()

    run(main())


@pytest.mark.parametrize(
    ("cls", "proposed"),
    [(AE, (8, 8)), (_ConcurrentAE, None)],
    ids=["not-concurrent-ae", "no-window-proposed"],
)
def test_otherwise_one_store_at_a_time(cls: type[AE], proposed: tuple[int, int] | None) -> None:
    async def main() -> None:
        probe = _Probe(wanted=1)
        assoc = await _pair(cls, 3, probe, proposed)
        data = b"\x08\x00\x16\x00\x00\x00\x00\x00"
        rsps = await asyncio.wait_for(
            asyncio.gather(*(assoc.request(_store(i), data) for i in range(5))), 10
        )
        assert [r.message.status for r in rsps] == [0] * 5
        assert probe.peak == 1
        await assoc.release()

    run(main())


def test_an_abort_stops_the_stores_running() -> None:
    async def main() -> None:
        probe = _Probe(wanted=99)  # never opens: every store hangs until the abort
        assoc = await _pair(_ConcurrentAE, 4, probe, (4, 4))
        data = b"\x08\x00\x16\x00\x00\x00\x00\x00"
        calls = [asyncio.ensure_future(assoc.request(_store(i), data)) for i in range(4)]
        for _ in range(200):
            if probe.running == 4:
                break
            await asyncio.sleep(0.01)
        assert probe.running == 4
        await assoc.abort()
        await asyncio.gather(*calls, return_exceptions=True)
        for _ in range(200):  # the server side notices and cancels its handlers
            if probe.running == 0:
                break
            await asyncio.sleep(0.01)
        assert probe.running == 0

    run(main())
