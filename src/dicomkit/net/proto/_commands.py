"""The DIMSE command set codec: group 0000 in implicit VR little endian (PS3.7 6.3, E.1).

A command set is always implicit VR little endian, its elements ordered by tag, with
CommandGroupLength (0000,0000) first giving the byte length of everything after it. Only a
handful of VRs occur (UL, US, UI, AE, AT, LO, SH), so a small dedicated codec is both simpler
and several times faster than the general data set codec; it never depends on it.

Values are plain Python: ``int`` for UL/US, ``str`` for UI/AE/LO/SH (padding stripped), a
``tuple[int, ...]`` of tags for AT. A tag missing from :data:`COMMAND_VRS` decodes to ``bytes``
and encodes from ``bytes`` as is.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from typing import Any, Final

from dicomkit.errors import InvalidDicomError, InvalidValueError

# Command element tags (PS3.7 Table E.1-1).
COMMAND_GROUP_LENGTH: Final = 0x00000000
AFFECTED_SOP_CLASS_UID: Final = 0x00000002
REQUESTED_SOP_CLASS_UID: Final = 0x00000003
COMMAND_FIELD: Final = 0x00000100
MESSAGE_ID: Final = 0x00000110
MESSAGE_ID_BEING_RESPONDED_TO: Final = 0x00000120
MOVE_DESTINATION: Final = 0x00000600
PRIORITY: Final = 0x00000700
COMMAND_DATA_SET_TYPE: Final = 0x00000800
STATUS: Final = 0x00000900
OFFENDING_ELEMENT: Final = 0x00000901
ERROR_COMMENT: Final = 0x00000902
ERROR_ID: Final = 0x00000903
AFFECTED_SOP_INSTANCE_UID: Final = 0x00001000
REQUESTED_SOP_INSTANCE_UID: Final = 0x00001001
EVENT_TYPE_ID: Final = 0x00001002
ATTRIBUTE_IDENTIFIER_LIST: Final = 0x00001005
ACTION_TYPE_ID: Final = 0x00001008
NUMBER_OF_REMAINING_SUBOPERATIONS: Final = 0x00001020
NUMBER_OF_COMPLETED_SUBOPERATIONS: Final = 0x00001021
NUMBER_OF_FAILED_SUBOPERATIONS: Final = 0x00001022
NUMBER_OF_WARNING_SUBOPERATIONS: Final = 0x00001023
MOVE_ORIGINATOR_AE_TITLE: Final = 0x00001030
MOVE_ORIGINATOR_MESSAGE_ID: Final = 0x00001031

#: CommandDataSetType value meaning "no data set follows" (PS3.7 E.1); any other value means
#: one does.
NO_DATA_SET: Final = 0x0101
#: The value we send when a data set follows (any value but 0x0101 is allowed).
DATA_SET_PRESENT: Final = 0x0000

#: VR of every command element in use (retired ones are decoded as bytes).
COMMAND_VRS: Final[dict[int, str]] = {
    COMMAND_GROUP_LENGTH: "UL",
    AFFECTED_SOP_CLASS_UID: "UI",
    REQUESTED_SOP_CLASS_UID: "UI",
    COMMAND_FIELD: "US",
    MESSAGE_ID: "US",
    MESSAGE_ID_BEING_RESPONDED_TO: "US",
    MOVE_DESTINATION: "AE",
    PRIORITY: "US",
    COMMAND_DATA_SET_TYPE: "US",
    STATUS: "US",
    OFFENDING_ELEMENT: "AT",
    ERROR_COMMENT: "LO",
    ERROR_ID: "US",
    AFFECTED_SOP_INSTANCE_UID: "UI",
    REQUESTED_SOP_INSTANCE_UID: "UI",
    EVENT_TYPE_ID: "US",
    ATTRIBUTE_IDENTIFIER_LIST: "AT",
    ACTION_TYPE_ID: "US",
    NUMBER_OF_REMAINING_SUBOPERATIONS: "US",
    NUMBER_OF_COMPLETED_SUBOPERATIONS: "US",
    NUMBER_OF_FAILED_SUBOPERATIONS: "US",
    NUMBER_OF_WARNING_SUBOPERATIONS: "US",
    MOVE_ORIGINATOR_AE_TITLE: "AE",
    MOVE_ORIGINATOR_MESSAGE_ID: "US",
}

_HEADER = struct.Struct("<HHI")
_US = struct.Struct("<H")
_UL = struct.Struct("<I")
_AT_HALF = struct.Struct("<HH")
_MAX_TEXT = {"AE": 16, "SH": 16, "LO": 64, "UI": 64}


def fit_comment(text: str, limit: int = 64) -> str:
    """``text`` as an Error Comment (0000,0902) can carry it: LO, at most 64 characters of
    ASCII (PS3.7 C.4, PS3.5 6.2). Control characters become spaces, runs of spaces one; a
    longer text is cut at a word boundary and ends with "..." -- never mid-word."""
    text = " ".join(text.encode("ascii", "replace").decode().replace("\\", "/").split())
    if len(text) <= limit:
        return text
    room = limit - 3
    cut = text.rfind(" ", 0, room + 1)
    head = text[:cut] if cut > room // 2 else text[:room]
    return head.rstrip(" ,;:.-") + "..."


def _encode_value(tag: int, vr: str, value: Any) -> bytes:
    if tag == ERROR_COMMENT and isinstance(value, str):
        value = fit_comment(value)  # every sender's comment fits, cut between words
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
    elif vr == "US":
        if isinstance(value, (list, tuple)):
            raw = b"".join(_US.pack(int(v)) for v in value)
        else:
            raw = _US.pack(int(value))
    elif vr == "UL":
        raw = _UL.pack(int(value))
    elif vr == "AT":
        tags = (value,) if isinstance(value, int) else tuple(value)
        raw = b"".join(_AT_HALF.pack(t >> 16, t & 0xFFFF) for t in tags)
    else:
        text = str(value)
        if len(text) > _MAX_TEXT.get(vr, 64):
            raise InvalidValueError(
                f"command element ({tag >> 16:04X},{tag & 0xFFFF:04X}) {vr} value too long: "
                f"{text!r}"
            )
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError:
            raise InvalidValueError(f"non-ASCII text in a command element: {text!r}") from None
        if len(raw) & 1:
            raw += b"\x00" if vr == "UI" else b" "
    if len(raw) & 1:
        raise InvalidValueError(f"odd length value for ({tag >> 16:04X},{tag & 0xFFFF:04X})")
    return raw


def encode_command(elements: Mapping[int, Any]) -> bytes:
    """Encode a command set: tags in order, (0000,0000) computed and written first.

    ``None`` values are skipped. Tags outside group 0000 are refused.
    """
    return encode_sorted([(tag, elements[tag]) for tag in sorted(elements)])


# Hot path (one C-ECHO or C-STORE response per message): a US element holding a plain int is
# packed header and value in one call, a short ASCII UI is padded inline; everything else goes
# through _encode_value (which also raises the errors).
_US_ELEMENT = struct.Struct("<HHIH")


def encode_sorted(items: Iterable[tuple[int, Any]]) -> bytes:
    """Encode ``(tag, value)`` pairs already in tag order (the caller's promise:
    :func:`encode_command` sorts). ``None`` values and (0000,0000) are skipped; the group
    length is computed and written first. Tags outside group 0000 are refused."""
    parts: list[bytes] = []
    append = parts.append
    vrs = COMMAND_VRS
    pack_us, pack_header = _US_ELEMENT.pack, _HEADER.pack
    for tag, value in items:
        if value is None or tag == COMMAND_GROUP_LENGTH:
            continue
        if tag >> 16:
            raise InvalidValueError(f"tag {tag:#010x} is not a command element (group 0000)")
        vr = vrs.get(tag, "UN")
        if vr == "US" and type(value) is int:
            append(pack_us(0, tag, 2, value))
            continue
        if vr == "UI" and type(value) is str and len(value) <= 64 and value.isascii():
            raw = value.encode()
            if len(raw) & 1:
                raw += b"\x00"
        else:
            raw = _encode_value(tag, vr, value)
        append(pack_header(0, tag, len(raw)))
        append(raw)
    body = b"".join(parts)
    return _GROUP_LENGTH_HEADER + _UL.pack(len(body)) + body


_GROUP_LENGTH_HEADER: Final = _HEADER.pack(0, 0, 4)


def _decode_value(vr: str, raw: bytes) -> Any:
    if vr == "US":
        if len(raw) == 2:
            return _US.unpack(raw)[0]
        if len(raw) % 2:
            raise ValueError("odd US length")
        return tuple(v for (v,) in _US.iter_unpack(raw))
    if vr == "UL":
        if len(raw) != 4:
            raise ValueError("UL length is not 4")
        return _UL.unpack(raw)[0]
    if vr == "AT":
        if len(raw) % 4:
            raise ValueError("AT length is not a multiple of 4")
        return tuple((g << 16) | e for g, e in _AT_HALF.iter_unpack(raw))
    if vr in ("UI",):
        return raw.rstrip(b"\x00 ").decode("ascii", "replace")
    if vr in ("AE", "LO", "SH"):
        return raw.decode("ascii", "replace").strip(" \x00")
    return raw


def decode_command(data: bytes | bytearray | memoryview) -> dict[int, Any]:
    """Decode a command set into ``{tag: value}``.

    CommandGroupLength is checked when present; a missing one is tolerated (some old peers).
    Raises :class:`InvalidDicomError` on truncated or malformed bytes.
    """
    buf = data if type(data) is bytes else bytes(data)
    n = len(buf)
    pos = 0
    out: dict[int, Any] = {}
    unpack_header = _HEADER.unpack_from
    unpack_us = _US.unpack_from
    vrs = COMMAND_VRS
    while pos < n:
        if pos + 8 > n:
            raise InvalidDicomError("truncated command element header", offset=pos)
        group, elem, length = unpack_header(buf, pos)
        pos += 8
        if group != 0:
            raise InvalidDicomError(
                "element outside group 0000 in a command set",
                offset=pos - 8,
                tag=(group << 16) | elem,
            )
        if length == 0xFFFFFFFF or pos + length > n:
            raise InvalidDicomError(
                "command element length runs past the end", offset=pos - 8, tag=elem
            )
        vr = vrs.get(elem, "UN")
        if length == 2 and vr == "US":  # the common case, no slice
            out[elem] = unpack_us(buf, pos)[0]
            pos += 2
            continue
        raw = buf[pos : pos + length]
        pos += length
        try:
            out[elem] = _decode_value(vr, raw)
        except ValueError as exc:
            raise InvalidDicomError(
                f"bad {vr} value in a command set: {exc}", offset=pos - length, tag=elem
            ) from None
    glen = out.get(COMMAND_GROUP_LENGTH)
    if isinstance(glen, int):
        after = n - 12
        if glen != after:
            raise InvalidDicomError(
                f"CommandGroupLength says {glen} bytes but {after} follow", tag=0
            )
    return out


__all__ = [
    "COMMAND_VRS",
    "DATA_SET_PRESENT",
    "NO_DATA_SET",
    "decode_command",
    "encode_command",
    "encode_sorted",
    "fit_comment",
]
