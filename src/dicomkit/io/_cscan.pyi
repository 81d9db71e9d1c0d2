"""Element-boundary scan of little endian data sets in C (src/dicomkit/io/_cscan.c).

Optional: built by setup.py when a compiler is there; :mod:`dicomkit.io._decoder` falls back
to its pure-Python loops without it (or with DICOMKIT_PURE_PYTHON=1).
"""

from collections.abc import Callable, Container, Mapping
from typing import Any

#: the calling convention (dicomkit.io._decoder.CSCAN_API must match)
API: int

def init(vr_of: dict[bytes, str], long_vrs: Container[bytes], /) -> None:
    """The VR table (2-byte VR -> str) and the VRs with a 4-byte length."""

def explicit_le(
    buf: Any,
    pos: int,
    end: int,
    d: dict[int, Any],
    stop: int,
    specific: Container[int] | None,
    large: int,
    on_sq: Callable[[int, int, int], Any] | None,
    /,
) -> int:
    """Store the ordinary elements from ``pos`` in ``d`` (a defined-length sequence as
    ``on_sq(tag, start, end)`` returns it); the offset of the first one left to the Python
    loop (or where the walk ended)."""

def implicit_le(
    buf: Any,
    pos: int,
    end: int,
    d: dict[int, Any],
    stop: int,
    specific: Container[int] | None,
    large: int,
    known: Mapping[int, str],
    /,
) -> int:
    """As :func:`explicit_le`, the VRs from ``known`` (tag -> VR)."""
