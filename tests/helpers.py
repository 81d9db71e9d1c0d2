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
