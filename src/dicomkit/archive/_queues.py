"""Queue helpers shared by the archive's worker threads."""

from __future__ import annotations

import queue
from typing import Any


def take_waiting(q: queue.SimpleQueue[Any]) -> tuple[list[Any], bool]:
    """Everything already in ``q``, without waiting, and whether a ``None`` (stop) came; what
    follows a ``None`` stays queued."""
    got: list[Any] = []
    while True:
        try:
            item = q.get_nowait()
        except queue.Empty:
            return got, False
        if item is None:
            return got, True
        got.append(item)
