"""The Verification service class (PS3.4 Annex A): C-ECHO, both sides."""

from __future__ import annotations

import time
from dataclasses import dataclass

from dicomkit.dictionary import uids
from dicomkit.net import Association, Incoming
from dicomkit.net.proto import _dimse as dimse

VERIFICATION_SOP_CLASS = uids.Verification


@dataclass(frozen=True, slots=True)
class EchoResult:
    """``statuses`` of each C-ECHO and the seconds each round trip took."""

    statuses: tuple[int, ...]
    seconds: tuple[float, ...]

    @property
    def ok(self) -> bool:
        return bool(self.statuses) and all(s == 0 for s in self.statuses)


async def echo(assoc: Association, repeat: int = 1) -> EchoResult:
    """Send ``repeat`` C-ECHO requests one after another on one association; a failure
    status raises ``DimseError`` (the client contract of :mod:`dicomkit.net`)."""
    statuses, seconds = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        statuses.append((await assoc.echo()).status)
        seconds.append(time.perf_counter() - start)
    return EchoResult(tuple(statuses), tuple(seconds))


async def handle_echo(incoming: Incoming) -> int:
    """The C-ECHO SCP: always success (PS3.4 A.4). An AE answers C-ECHO even without it."""
    assert isinstance(incoming.message, dimse.CEchoRequest)
    return 0x0000


__all__ = ["VERIFICATION_SOP_CLASS", "EchoResult", "echo", "handle_echo"]
