"""The one progress display of the commands that work through many files (``store``,
``transcode``, ``anonymize``): a bar redrawn in place on stderr, and only when stderr is a
terminal -- redirected to a file or a pipe, it writes nothing (the summary line still comes).
"""

from __future__ import annotations

import sys
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """``[#########.....................]  30/100 (2 failed)  name``; ``enabled=False``
    (``-q``) or a stream that is not a TTY draws nothing."""

    WIDTH = 30

    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total = total
        self.done = 0
        self.failed = 0
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = enabled and total > 0 and bool(isatty and isatty())

    def step(self, label: str = "", *, ok: bool = True) -> None:
        """One item done (``ok=False``: failed)."""
        self.done += 1
        self.failed += not ok
        if not self.enabled:
            return
        filled = self.WIDTH * min(self.done, self.total) // self.total
        bar = "#" * filled + "." * (self.WIDTH - filled)
        failed = f" ({self.failed} failed)" if self.failed else ""
        self.stream.write(f"\r[{bar}] {self.done}/{self.total}{failed} {label[-40:]:<40}")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line (nothing when no bar was drawn)."""
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()
            self.enabled = False
