"""Shared encoding helpers of the upper-layer codec (PS3.8 9.3.1): item headers, length-value
fields, UIDs, and :class:`PDUDecodeError`. Re-exported by :mod:`dicomkit.net.proto._items`.
"""

from __future__ import annotations

import struct

from dicomkit.errors import RemoteProtocolError

# A-ABORT reason/diag values for a service-provider abort (PS3.8 Table 9-26).
ABORT_NOT_SPECIFIED = 0
ABORT_UNRECOGNIZED_PDU = 1
ABORT_UNEXPECTED_PDU = 2
ABORT_UNRECOGNIZED_PARAMETER = 4
ABORT_UNEXPECTED_PARAMETER = 5
ABORT_INVALID_PARAMETER = 6

_HDR = struct.Struct(">BBH")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class PDUDecodeError(RemoteProtocolError):
    """A malformed PDU or item from the peer.

    ``where`` names the PDU / item, ``offset`` is the byte offset from the start of the PDU,
    ``abort_reason`` the A-ABORT reason/diag to send (PS3.8 Table 9-26).
    """

    def __init__(
        self,
        message: str,
        *,
        where: str = "",
        offset: int | None = None,
        abort_reason: int = ABORT_INVALID_PARAMETER,
    ) -> None:
        self.where = where
        self.offset = offset
        self.abort_reason = abort_reason
        text = f"{where}: {message}" if where else message
        if offset is not None:
            text = f"{text} (at offset {offset})"
        super().__init__(text)


def _uid(raw: bytes | memoryview, where: str, offset: int) -> str:
    try:
        text = bytes(raw).decode("ascii")
    except UnicodeDecodeError:
        raise PDUDecodeError("UID is not ASCII", where=where, offset=offset) from None
    return text.rstrip("\x00 ")


def _header(item_type: int, value: bytes, reserved: int = 0) -> bytes:
    if len(value) > 0xFFFF:
        raise ValueError(f"item 0x{item_type:02X} value too long: {len(value)} bytes")
    return _HDR.pack(item_type, reserved, len(value)) + value


def _lv(data: bytes) -> bytes:
    """A 2-byte length followed by the bytes (fields inside PS3.7 Annex D sub-items)."""
    return _U16.pack(len(data)) + data


def _read_lv(buf: memoryview, pos: int, end: int, where: str, base: int) -> tuple[bytes, int]:
    if pos + 2 > end:
        raise PDUDecodeError("truncated length field", where=where, offset=base + pos)
    (n,) = _U16.unpack_from(buf, pos)
    pos += 2
    if pos + n > end:
        raise PDUDecodeError(
            f"field length {n} runs past the item", where=where, offset=base + pos - 2
        )
    return bytes(buf[pos : pos + n]), pos + n


def iter_items(buf: memoryview, where: str, base: int) -> list[tuple[int, int, int, int]]:
    """Split ``buf`` into items: ``(type, reserved, value_start, value_end)`` (PS3.8 9.3.2).

    ``base`` is the offset of ``buf`` in the PDU, for error messages.
    """
    out: list[tuple[int, int, int, int]] = []
    pos, end = 0, len(buf)
    while pos < end:
        if pos + 4 > end:
            raise PDUDecodeError("truncated item header", where=where, offset=base + pos)
        item_type, reserved, length = _HDR.unpack_from(buf, pos)
        if pos + 4 + length > end:
            raise PDUDecodeError(
                f"item 0x{item_type:02X} length {length} runs past its container "
                f"({end - pos - 4} bytes left)",
                where=where,
                offset=base + pos,
            )
        out.append((item_type, reserved, pos + 4, pos + 4 + length))
        pos += 4 + length
    return out
