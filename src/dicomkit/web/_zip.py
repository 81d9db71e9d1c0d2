"""WADO-RS answers as ``application/zip`` (PS3.18 8.7.3.3.? "Accept: application/zip"):
the stored Part 10 files of a study, series or instance in one ZIP archive, streamed.

Entries are ``STUDY/SERIES/SOP.dcm``, stored (no compression: pixel data is either already
compressed or compresses poorly for its cost) and written with data descriptors, so the
archive is produced while it is sent -- memory stays at one read chunk.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from typing import Any

from dicomkit.archive._index import StoredInstance
from dicomkit.archive._node import Archive

__all__ = ["wants_zip", "zip_chunks"]

ZIP = "application/zip"
_CHUNK = 1 << 20


def wants_zip(accept: str) -> bool:
    """True when the Accept header's preferred acceptable type is ``application/zip``."""
    from dicomkit.web._wado import parse_accept

    for m in parse_accept(accept or ""):
        if m.q > 0:
            return m.type == ZIP
    return False


class _Pipe:
    """A write-only, non-seekable file: what is written is collected for the generator."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        out = b"".join(self.chunks)
        self.chunks.clear()
        return out


def zip_chunks(archive: Archive, found: list[StoredInstance]) -> Iterator[bytes]:
    """The ZIP archive of the stored files of ``found``, a chunk at a time."""
    pipe = _Pipe()
    sink: Any = pipe  # a writable, tellable stream: zipfile writes data descriptors
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as zf:
        for inst in found:
            name = (
                f"{inst.study_instance_uid}/{inst.series_instance_uid}/{inst.sop_instance_uid}.dcm"
            )
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_STORED
            with (
                open(archive.path_of(inst), "rb") as src,
                zf.open(info, "w", force_zip64=True) as dst,
            ):
                while chunk := src.read(_CHUNK):
                    dst.write(chunk)
                    yield pipe.take()
            yield pipe.take()
    yield pipe.take()
