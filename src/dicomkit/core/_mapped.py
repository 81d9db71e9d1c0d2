"""Files mapped into memory for lazy reading, and copying a large value out of one.

The reader memory-maps large files (:mod:`dicomkit.io._part10`); their values are
``memoryview`` slices of the map, so reading a header touches only the header's pages. When a
large value is finally asked for as ``bytes`` (``ds.PixelData``), copying it out of the map
would fault every page of it into this process on top of the copy: twice the value's size in
resident memory. :func:`copy_out` reads the same bytes with ``pread`` instead (the file opened
again by path, and checked to be the mapped one), so only the copy is resident.
"""

from __future__ import annotations

import mmap
import os
import weakref
from typing import Any

__all__ = ["copy_out", "is_mapped", "register"]

#: id(map) -> (weak reference to the map, the file's path, st_dev and st_ino), while the map
#: lives (no descriptor is held: a large value opens the file again, and checks it is the one)
_FILES: dict[int, tuple[weakref.ref[mmap.mmap], str, int, int]] = {}
#: values smaller than this are copied from the map (a pread costs more than the faults)
PREAD_MIN = 1 << 20
#: the most one pread returns on Linux
_PREAD_MAX = 0x7FFFF000


def register(mapped: mmap.mmap, path: str, st: os.stat_result) -> None:
    """Remember ``mapped``, a map of the file at ``path`` (``st``: its status when mapped),
    for as long as it lives."""
    key = id(mapped)

    def forget(_ref: object, key: int = key) -> None:
        _FILES.pop(key, None)

    _FILES[key] = (weakref.ref(mapped, forget), path, st.st_dev, st.st_ino)


def is_mapped(st: os.stat_result) -> bool:
    """Whether a live map of this process reads the file ``st`` describes."""
    return any(
        dev == st.st_dev and ino == st.st_ino for _ref, _path, dev, ino in list(_FILES.values())
    )


def copy_out(view: memoryview) -> bytes | None:
    """The bytes of ``view`` read from its mapped file, or ``None`` when ``view`` is not a
    large slice of a registered map, or the file at its path is another one now (renamed
    over): the caller copies from the map then."""
    if len(view) < PREAD_MIN or len(view) > _PREAD_MAX:
        return None
    base = view.obj
    if type(base) is not mmap.mmap:
        return None
    entry = _FILES.get(id(base))
    if entry is None or entry[0]() is not base or not view.c_contiguous:
        return None
    offset = _address(view) - _address(memoryview(base))
    if not 0 <= offset <= len(base) - len(view):
        return None
    try:
        fd = os.open(entry[1], os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != entry[2:]:
            return None
        data = os.pread(fd, len(view), offset)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) == len(view) else None


def _address(view: memoryview) -> int:
    import numpy as np

    arr: Any = np.frombuffer(view, dtype=np.uint8)
    return int(arr.__array_interface__["data"][0])
