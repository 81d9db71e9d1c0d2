"""Bytes <-> data sets (PS3.5) and Part 10 files (PS3.10); JSON (PS3.18 F) and XML (PS3.19 A)
live in ``dicomkit.io.json`` / ``dicomkit.io.xml``."""

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
