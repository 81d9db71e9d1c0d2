"""Bytes <-> data sets (PS3.5) and Part 10 files (PS3.10); JSON (PS3.18 F) and XML (PS3.19 A)
live in ``dicomkit.io.json`` / ``dicomkit.io.xml``."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dicomkit.io.decoder import decode_dataset
    from dicomkit.io.encoder import encode_dataset, write_dataset
    from dicomkit.io.part10 import build_file_meta, read, read_file_meta, write

__all__ = [
    "build_file_meta",
    "decode_dataset",
    "encode_dataset",
    "read",
    "read_file_meta",
    "write",
    "write_dataset",
]

#: imported on first use: ``dicomkit.io.decoder`` alone does not load Part 10 file I/O
_LAZY = {
    "decode_dataset": "dicomkit.io.decoder",
    "encode_dataset": "dicomkit.io.encoder",
    "write_dataset": "dicomkit.io.encoder",
    "build_file_meta": "dicomkit.io.part10",
    "read": "dicomkit.io.part10",
    "read_file_meta": "dicomkit.io.part10",
    "write": "dicomkit.io.part10",
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'dicomkit.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
