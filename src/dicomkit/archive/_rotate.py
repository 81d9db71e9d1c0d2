"""Rotating files for the node's log and its audit trail: by size, by time, or both.

:func:`rotating_handler` gives a :class:`logging.Handler` that rolls ``FILE`` over past
``max_bytes`` (``FILE.1`` is the newest old file) or at a time boundary (``rotate``:
``midnight``, ``hourly``, ``daily``; UTC; ``FILE.<period>``), keeping ``backups`` old files.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

#: ``rotate`` values: "" never by time, else the period
ROTATIONS = ("", "midnight", "hourly", "daily")


class SizedTimedRotatingFileHandler(logging.handlers.TimedRotatingFileHandler):
    """A timed rotating file handler that also rolls over past ``max_bytes``; several files of
    one period are ``FILE.<period>``, ``FILE.<period>.1`` ... (the standard handler would
    overwrite the first), all counted in ``backupCount``."""

    max_bytes = 0

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        """Time to roll over, or the record would take the file past ``max_bytes``."""
        if super().shouldRollover(record):
            return True
        if not self.max_bytes or self.stream is None:
            return False
        size = self.stream.tell() + len(self.format(record).encode("utf-8")) + 1
        return size > self.max_bytes

    def rotation_filename(self, default_name: str) -> str:
        """The period's name, numbered when it is taken."""
        name = super().rotation_filename(default_name)
        candidate, n = name, 0
        while os.path.exists(candidate):
            n += 1
            candidate = f"{name}.{n}"
        return candidate


def rotating_handler(
    path: str | Path, *, max_bytes: int = 0, backups: int = 7, rotate: str = ""
) -> logging.handlers.BaseRotatingHandler:
    """A handler appending to ``path``, rotated by size and / or time (see the module
    docstring); raises ``OSError`` when the file cannot be opened."""
    if rotate:
        timed = SizedTimedRotatingFileHandler(
            path,
            when={"hourly": "H", "daily": "D"}.get(rotate, rotate),
            backupCount=backups,
            encoding="utf-8",
            utc=True,
        )
        timed.max_bytes = max_bytes  # both: the size limit is checked too
        return timed
    return logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )


__all__ = ["ROTATIONS", "SizedTimedRotatingFileHandler", "rotating_handler"]
