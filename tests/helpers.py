"""Helpers shared by the tests (``from helpers import run``: tests/conftest.py puts tests/ on
``sys.path``). Peer processes (DCMTK, pynetdicom) have their own module, ``peers``; the shared
corpus of real files is ``corpus``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from hypothesis import settings

T = TypeVar("T")

#: How long a test may wait for something before it counts as hung. A guard against hangs,
#: never a timing assertion: on a loaded machine things take longer, and that is fine.
HANG_GUARD = 60.0


def run(coro: Awaitable[T], timeout: float = HANG_GUARD) -> T:
    """Run a coroutine to completion on a fresh event loop; fail instead of hanging."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def poll(predicate: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    """Yield to the event loop until ``predicate()`` holds (bounded; no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def examples(n: int) -> int:
    """``max_examples`` for a property test that wants ``n`` under the ``ci`` hypothesis profile,
    scaled with the profile loaded (tests/conftest.py: a fifth under ``dev``), at least 10."""
    profile = settings.default
    base = 100 if profile is None else int(profile.max_examples)
    return max(10, n * base // 100)


def pydicom_charset_files() -> list[Path]:
    """pydicom's test files in every character set (``chr*.dcm``); empty without pydicom."""
    try:
        import pydicom
    except ImportError:
        return []
    return sorted((Path(pydicom.__file__).parent / "data" / "charset_files").glob("chr*.dcm"))


def plain_part10_files(n: int, transfer_syntax: str = "1.2.840.10008.1.2.1") -> list[Path]:
    """``n`` corpus files of one transfer syntax whose File Meta Information has the usual
    layout (the store SCU reads their identity without the Part 10 reader); skips the test
    when the corpus has fewer."""
    import pytest
    from corpus import manifest

    from dicomkit.services._store_scu import _scan_meta

    rows = [
        r.path
        for r in manifest()
        if not r.broken and r.preamble and r.ts == transfer_syntax and "Directory" not in r.sop
    ]
    rows = [p for p in rows if _scan_meta(p.read_bytes()[:65536]) is not None][:n]
    if len(rows) < n:
        pytest.skip("corpus not available")
    return rows


def data_set_bytes(path: Path) -> bytes:
    """A Part 10 file's bytes after its File Meta Information."""
    from dicomkit.io._part10 import read_file_meta

    data = path.read_bytes()
    _, offset = read_file_meta(data)
    return data[offset:]
