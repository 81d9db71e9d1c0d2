"""The driver's clock: every timer of an association (ARTIM, the idle and DIMSE watchdog, the
wait for a response, association set-up and release) reads time through one :class:`Clock`.

The default runs on the event loop's clock in real seconds. Tests pass
``Clock(scale=0.001)``: each protocol second then lasts a millisecond, so an ARTIM timeout of
30 s expires in 30 ms and the code under test is the code that runs in production (the same
event loop, the same timers, no patched sleeps).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # cheaper to import (see _dataclass)
    from dicomkit._dataclass import dataclass

__all__ = ["Clock"]


@dataclass(frozen=True, slots=True)
class Clock:
    """The running event loop's clock; ``scale`` real seconds per protocol second."""

    scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ValueError(f"Clock scale must be positive, not {self.scale!r}")

    def time(self) -> float:
        """Now, in protocol seconds (monotonic)."""
        return asyncio.get_running_loop().time() / self.scale

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: Any
    ) -> asyncio.TimerHandle:
        """Call ``callback(*args)`` on the loop after ``delay`` protocol seconds."""
        return asyncio.get_running_loop().call_later(delay * self.scale, callback, *args)

    def timeout(self, delay: float | None) -> asyncio.Timeout:
        """``async with clock.timeout(s)``: ``TimeoutError`` after ``s`` protocol seconds
        (``None``: never)."""
        return asyncio.timeout(None if delay is None else delay * self.scale)

    def real(self, delay: float | None) -> float | None:
        """``delay`` protocol seconds in real seconds (for asyncio's own timeouts, e.g. the
        TLS handshake)."""
        return None if delay is None else delay * self.scale


#: Real time: what every AE uses unless given another clock.
REAL_TIME = Clock()
