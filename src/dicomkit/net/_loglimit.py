"""One rate limit shared by every log line about bad input from the network.

A peer that sends garbage a thousand times a second must not write a thousand log lines a
second: :func:`bad_input` logs one concise line (never a traceback) while the shared budget
lasts -- a burst of :attr:`BadInputLimit.burst` lines, refilled at :attr:`BadInputLimit.rate`
lines per second -- and counts what it drops; the next line that gets through says how many
were suppressed. Every bad-input site (rejected associations, refused requests, unanswerable
requests) draws on the same budget, so no mix of attacks multiplies it.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from dicomkit._lazylog import WARNING, LazyLogger

if TYPE_CHECKING:
    import logging


class BadInputLimit:
    """A token bucket: ``burst`` lines at once, then ``rate`` lines per second."""

    def __init__(self, rate: float = 5.0, burst: int = 20) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._last = time.monotonic()
        self._suppressed = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        """The full budget again, nothing counted as suppressed."""
        with self._lock:
            self._tokens = float(self.burst)
            self._last = time.monotonic()
            self._suppressed = 0

    def take(self) -> int | None:
        """None when the line must be dropped, else how many were dropped before it."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1:
                self._suppressed += 1
                return None
            self._tokens -= 1
            dropped, self._suppressed = self._suppressed, 0
            return dropped


#: the process-wide budget (the archive node sets its rate from its configuration)
LIMIT = BadInputLimit()


def bad_input(logger: logging.Logger | LazyLogger, msg: str, *args: object) -> None:
    """Log one WARNING line about bad input from a peer, within the shared rate limit."""
    if not logger.isEnabledFor(WARNING):
        return
    dropped = LIMIT.take()
    if dropped is None:
        return
    if dropped:
        msg += " (%d similar lines suppressed)"
        args = (*args, dropped)
    logger.warning(msg, *args)


__all__ = ["LIMIT", "BadInputLimit", "bad_input"]
