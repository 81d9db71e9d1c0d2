"""Temporary files to write and rename into place, created with the user's umask.

``tempfile.mkstemp`` always creates mode 0600: a file renamed from it into place stays 0600
whatever the umask, unlike one written with ``open(path, "wb")``. :func:`create_temp` gives the
same unique, ``O_EXCL`` guarded name but lets the umask decide (``mode`` 0o666 by default, as
``open`` does), so every file dicomkit writes -- ``write``, ``receive``, ``get``, ``serve``,
``anonymize`` -- gets the permissions the user's other tools give.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

__all__ = ["DEFAULT_FILE_MODE", "create_temp"]

#: the mode new files are created with, before the umask (what ``open(path, "w")`` uses)
DEFAULT_FILE_MODE = 0o666

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_SERIAL = itertools.count()
_TOKEN = os.urandom(6).hex()


def create_temp(
    directory: str | os.PathLike[str],
    *,
    prefix: str = ".dicomkit-",
    suffix: str = ".tmp",
    mode: int = DEFAULT_FILE_MODE,
) -> tuple[int, str]:
    """A new empty file in ``directory``: ``(fd open for writing, path)``. Created with
    ``mode`` less the process umask; the name is unique to this process and call (no random
    draw per call; ``O_EXCL`` guards against anything else)."""
    pid = os.getpid()
    while True:
        path = os.path.join(directory, f"{prefix}{pid}-{_TOKEN}-{next(_SERIAL)}{suffix}")
        try:
            return os.open(path, _FLAGS, mode), path
        except FileExistsError:  # pragma: no cover - a stale file from a reused pid
            continue


def create_temp_path(
    directory: str | os.PathLike[str], *, prefix: str = ".dicomkit-", suffix: str = ".tmp"
) -> Path:
    """:func:`create_temp`, closed: the path of a new empty file."""
    fd, path = create_temp(directory, prefix=prefix, suffix=suffix)
    os.close(fd)
    return Path(path)
