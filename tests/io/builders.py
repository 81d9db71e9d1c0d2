"""Hand-built DICOM bytes for decoder / encoder tests (PS3.5 7.1)."""

from __future__ import annotations

import struct

from dicomkit.core._vr import LONG_LENGTH_VRS

UNDEF = 0xFFFFFFFF


def exp(tag: int, vr: str, value: bytes, little: bool = True, length: int | None = None) -> bytes:
    """An explicit VR element."""
    e = "<" if little else ">"
    n = len(value) if length is None else length
    if vr in LONG_LENGTH_VRS:
        head = struct.pack(e + "HH2sHL", tag >> 16, tag & 0xFFFF, vr.encode(), 0, n)
    else:
        head = struct.pack(e + "HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), n)
    return head + value


def imp(tag: int, value: bytes, little: bool = True, length: int | None = None) -> bytes:
    """An implicit VR element."""
    e = "<" if little else ">"
    n = len(value) if length is None else length
    return struct.pack(e + "HHL", tag >> 16, tag & 0xFFFF, n) + value


def item(body: bytes, undefined: bool = False, little: bool = True) -> bytes:
    e = "<" if little else ">"
    if undefined:
        return (
            struct.pack(e + "HHL", 0xFFFE, 0xE000, UNDEF)
            + body
            + struct.pack(e + "HHL", 0xFFFE, 0xE00D, 0)
        )
    return struct.pack(e + "HHL", 0xFFFE, 0xE000, len(body)) + body


def seq_delim(little: bool = True) -> bytes:
    return struct.pack(("<" if little else ">") + "HHL", 0xFFFE, 0xE0DD, 0)


def sq(
    tag: int,
    items: list[bytes],
    undefined: bool = False,
    implicit: bool = False,
    little: bool = True,
    vr: str = "SQ",
) -> bytes:
    body = b"".join(items)
    if undefined:
        body += seq_delim(little)
    length = UNDEF if undefined else None
    if implicit:
        return imp(tag, body, little, length)
    return exp(tag, vr, body, little, length)
