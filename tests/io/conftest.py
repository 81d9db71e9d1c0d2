"""Fixtures of the io tests: the decoder's two element loops (the C scan and pure Python)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from dicomkit.io import _decoder

#: What to do when the C scan is missing: a build step to run, and why CI cannot skip it.
BUILD_HINT = (
    "the C element scan dicomkit.io._cscan is not in use (not built, built from another "
    "version of _cscan.c, or DICOMKIT_PURE_PYTHON set): run `pip install -e .` (or `python "
    "setup.py build_ext --inplace`) with a C compiler and the Python headers (Debian: gcc, "
    "python3-dev)"
)


def _require_extension() -> None:
    """Use the C scan; skip the test without it (fail under CI, where it must be built)."""
    if _decoder.use_extension(True):
        return
    if os.environ.get("CI"):
        pytest.fail(BUILD_HINT)
    pytest.skip(BUILD_HINT)


@pytest.fixture
def c_scan() -> Iterator[None]:
    """The C element scan in use for this test (skipped without it; a failure under CI);
    the decoder's choice is restored afterwards."""
    saved = _decoder._EXT
    try:
        _require_extension()
        yield
    finally:
        _decoder._EXT = saved


@pytest.fixture(params=["c", "python"])
def decoder_path(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test once with the C element scan and once with the pure-Python loops (both
    must give the same data sets and errors). Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("decoder_path")``."""
    saved = _decoder._EXT
    try:
        if request.param == "c":
            _require_extension()
        else:
            _decoder.use_extension(False)
        yield request.param
    finally:
        _decoder._EXT = saved


@pytest.fixture
def chunk_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ``head`` argument of every file load of ``read()`` (0: the whole file), in order."""
    from dicomkit.io import _part10 as part10

    asked: list[int] = []
    load = part10._load

    def recording(source: Any, head: int) -> Any:
        asked.append(head)
        return load(source, head)

    monkeypatch.setattr(part10, "_load", recording)
    return asked
