"""Bytes <-> data sets (PS3.5) and Part 10 files (PS3.10); JSON (PS3.18 F) and XML (PS3.19 A)
are :func:`to_json` / :func:`from_json` and :func:`to_xml` / :func:`from_xml`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dicomkit._lazy import lazy_exports

if TYPE_CHECKING:
    from dicomkit.io._decoder import decode_dataset, extension_active
    from dicomkit.io._encoder import encode_dataset, write_dataset
    from dicomkit.io._json import from_json, to_json
    from dicomkit.io._part10 import build_file_meta, read, read_file_meta, write
    from dicomkit.io._xml import from_xml, to_xml, to_xml_element

__all__ = [
    "build_file_meta",
    "decode_dataset",
    "encode_dataset",
    "extension_active",
    "from_json",
    "from_xml",
    "read",
    "read_file_meta",
    "to_json",
    "to_xml",
    "to_xml_element",
    "write",
    "write_dataset",
]

#: imported on first use: ``dicomkit.io._decoder`` alone does not load Part 10 file I/O
_LAZY = {
    "from_json": "dicomkit.io._json",
    "to_json": "dicomkit.io._json",
    "from_xml": "dicomkit.io._xml",
    "to_xml": "dicomkit.io._xml",
    "to_xml_element": "dicomkit.io._xml",
    "decode_dataset": "dicomkit.io._decoder",
    "extension_active": "dicomkit.io._decoder",
    "encode_dataset": "dicomkit.io._encoder",
    "write_dataset": "dicomkit.io._encoder",
    "build_file_meta": "dicomkit.io._part10",
    "read": "dicomkit.io._part10",
    "read_file_meta": "dicomkit.io._part10",
    "write": "dicomkit.io._part10",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
