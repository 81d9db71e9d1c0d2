"""Loggers that import ``logging`` on their first record, not at import.

``logging`` costs a short command several milliseconds to import (it loads ``traceback``,
``tokenize``, ``textwrap`` and ``string``, which compile regular expressions), and ``dicomkit
echo`` / ``store`` log nothing unless something goes wrong or ``-v`` is given. The modules on
their path (the blocking requestor and the log helpers it shares with the asyncio driver) hold
a :class:`LazyLogger` instead of a ``logging.Logger``: while ``logging`` is not loaded nobody
can have configured it, so ``isEnabledFor`` answers as the root logger's default (WARNING)
does; a record at that level, or any call once ``logging`` is loaded, goes to the real logger.

The command line's default configuration (one stderr handler, WARNING) can be handed to
:func:`defer_configuration`: it runs when a lazy logger first loads ``logging``, so a warning
looks the same as when it was configured up front.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

__all__ = ["DEBUG", "INFO", "WARNING", "LazyLogger", "defer_configuration", "loaded"]

#: ``logging``'s level numbers, without importing it
DEBUG, INFO, WARNING = 10, 20, 30

_pending: Callable[[], None] | None = None


def defer_configuration(configure: Callable[[], None] | None) -> None:
    """Run ``configure`` when a :class:`LazyLogger` first loads ``logging`` (None: forget it)."""
    global _pending
    _pending = configure


def loaded() -> Any:
    """The ``logging`` module, with the deferred configuration applied first."""
    global _pending
    import logging

    if _pending is not None:
        configure, _pending = _pending, None
        configure()
    return logging


class LazyLogger:
    """``logging.getLogger(name)`` once a record needs it (the methods modules here use)."""

    __slots__ = ("_real", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._real: logging.Logger | None = None

    @property
    def logger(self) -> logging.Logger:
        """The real logger (``logging`` imported, and configured, on the first look-up)."""
        real = self._real
        if real is None:
            real = self._real = loaded().getLogger(self.name)
        return real

    def isEnabledFor(self, level: int) -> bool:
        """As ``Logger.isEnabledFor``; without ``logging`` loaded: the default, WARNING."""
        if self._real is None and "logging" not in sys.modules:
            return level >= WARNING
        return self.logger.isEnabledFor(level)

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """As ``Logger.log``."""
        if self.isEnabledFor(level):
            self.logger.log(level, msg, *args, **_caller(kwargs))

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        """As ``Logger.debug``."""
        if self.isEnabledFor(DEBUG):
            self.logger.debug(msg, *args, **_caller(kwargs))

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        """As ``Logger.info``."""
        if self.isEnabledFor(INFO):
            self.logger.info(msg, *args, **_caller(kwargs))

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        """As ``Logger.warning``."""
        self.logger.warning(msg, *args, **_caller(kwargs))

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        """As ``Logger.exception`` (an ERROR record with the exception being handled)."""
        self.logger.exception(msg, *args, **_caller(kwargs))


def _caller(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with the record's source one frame further up: the caller of the method
    here, as if it had called the real logger."""
    kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
    return kwargs
