"""WADO-RS instances sent as stored: a multipart/related body (RFC 2387, PS3.18 8.6.1.2)
written from the files in large blocks, with its Content-Length.

When no instance needs transcoding, the body is known before the first byte is sent: the
part headers, each stored file, the delimiters. So the answer carries a Content-Length (no
chunked framing around every write), and it is sent in blocks of up to :data:`BLOCK` bytes,
each block read into one fresh buffer by a worker thread (``readinto``, no copies between
the page cache and the socket write) while the event loop writes the previous one. One
block is one thread hop and one write, where a part-by-part stream took four hops and four
writes per instance. Memory stays at two blocks per response.

A file that changes size between the ``stat`` and the read cannot be sent in a body whose
length was promised: the connection is closed mid-body (the client sees a short read),
as any server does when a file it streams goes away.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dicomkit.archive._index import StoredInstance
from dicomkit.archive._node import Archive

__all__ = ["BLOCK", "FileParts", "blocks", "file_parts", "read_block"]

#: bytes per write (and per thread hop) while sending stored files
BLOCK = 4 << 20


@dataclass(frozen=True, slots=True)
class _Range:
    """``length`` bytes of ``path`` from ``offset``."""

    path: Path
    offset: int
    length: int


_Piece = bytes | _Range


def file_parts(
    archive: Archive, found: Iterable[StoredInstance], boundary: str
) -> tuple[list[_Piece], int]:
    """The pieces of the multipart/related body of ``found`` sent as stored (each part
    ``application/dicom; transfer-syntax=<stored>``) and its length in bytes. Raises
    ``OSError`` for a file that cannot be found."""
    pieces: list[_Piece] = []
    for inst in found:
        path = archive.path_of(inst)
        size = os.stat(path).st_size
        pieces.append(
            f"--{boundary}\r\nContent-Type: application/dicom; "
            f"transfer-syntax={inst.transfer_syntax}\r\n\r\n".encode()
        )
        pieces.append(_Range(path, 0, size))
        pieces.append(b"\r\n")
    pieces.append(f"--{boundary}--\r\n".encode())
    return pieces, sum(p.length if isinstance(p, _Range) else len(p) for p in pieces)


def blocks(pieces: Sequence[_Piece], block: int = BLOCK) -> list[list[_Piece]]:
    """The pieces grouped into blocks of at most ``block`` bytes (a file longer than the
    room left is split across blocks; a header is never split)."""
    out: list[list[_Piece]] = [[]]
    room = block
    for p in pieces:
        if isinstance(p, bytes):
            if len(p) > room and out[-1]:
                out.append([])
                room = block
            out[-1].append(p)
            room -= len(p)
            continue
        offset, left = p.offset, p.length
        while left:
            if room <= 0:
                out.append([])
                room = block
            take = min(left, room)
            out[-1].append(_Range(p.path, offset, take))
            offset += take
            left -= take
            room -= take
    return [b for b in out if b]


def read_block(pieces: Sequence[_Piece]) -> bytearray:
    """One block's bytes, read into one buffer. Raises ``OSError`` when a file is shorter
    than it was (changed or removed since its size was taken)."""
    size = sum(p.length if isinstance(p, _Range) else len(p) for p in pieces)
    buf = bytearray(size)
    view = memoryview(buf)
    pos = 0
    for p in pieces:
        if isinstance(p, bytes):
            view[pos : pos + len(p)] = p
            pos += len(p)
            continue
        with open(p.path, "rb", buffering=0) as fp:
            if p.offset:
                fp.seek(p.offset)
            end = pos + p.length
            while pos < end:
                n = fp.readinto(view[pos:end])
                if not n:
                    raise OSError(f"{p.path} changed while it was being sent")
                pos += n
    return buf


class FileParts:
    """An ASGI response: a body of literal pieces and file ranges, sent in blocks.
    ``first``: the first block, already read (see :meth:`of`)."""

    def __init__(
        self,
        pieces: list[_Piece],
        length: int,
        media_type: str,
        first: bytearray | None = None,
    ) -> None:
        self.blocks = blocks(pieces)
        self.first = first
        self.headers = [
            (b"content-type", media_type.encode("latin-1")),
            (b"content-length", str(length).encode()),
        ]

    @classmethod
    def of(cls, archive: Archive, found: Iterable[StoredInstance], media_type: str) -> FileParts:
        """The response sending ``found`` as stored, its first block read already (call it
        in a worker thread: a single instance is then sent with no further thread hop).
        ``media_type`` ends with ``boundary=...``. Raises
        :class:`~dicomkit.web._wado.WadoError` (500) for a file that cannot be read."""
        from dicomkit.web._wado import WadoError

        boundary = media_type.rpartition("boundary=")[2]
        try:
            pieces, length = file_parts(archive, found, boundary)
            response = cls(pieces, length, media_type)
            if response.blocks:
                response.first = read_block(response.blocks[0])
        except OSError as exc:
            raise WadoError(f"a stored file cannot be read: {exc}", 500) from exc
        return response

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        if scope.get("method") == "HEAD" or not self.blocks:
            self.first = None
            await send({"type": "http.response.body", "body": b""})
            return
        if len(self.blocks) == 1 and self.first is not None:  # read already: one write
            data, self.first = self.first, None
            await send({"type": "http.response.body", "body": data})
            return
        loop = asyncio.get_running_loop()
        gone = asyncio.Event()

        async def watch() -> None:  # a client that hangs up stops the reading
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        nxt: asyncio.Future[bytearray]
        if self.first is not None:
            nxt = loop.create_future()
            nxt.set_result(self.first)
            self.first = None
        else:
            nxt = loop.run_in_executor(None, read_block, self.blocks[0])
        try:
            for i in range(len(self.blocks)):
                data = await nxt
                last = i + 1 == len(self.blocks)
                if not last:  # read the next block while this one is written
                    nxt = loop.run_in_executor(None, read_block, self.blocks[i + 1])
                if gone.is_set():
                    return
                await send({"type": "http.response.body", "body": data, "more_body": not last})
        finally:
            watcher.cancel()
            if not nxt.done():
                nxt.cancel()
