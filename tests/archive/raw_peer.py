"""A deliberately minimal DICOM peer over a raw socket, built byte by byte from PS3.8 / PS3.7.

It sends what a conforming toolkit refuses to (UIDs over 64 characters, non-ASCII bytes in AE
titles or UIDs, half-sent PDUs) so that tests can check, from outside, what the node does with
them. Nothing here comes from dicomkit.
"""

from __future__ import annotations

import socket
import struct

APP_CONTEXT = b"1.2.840.10008.3.1.1.1"
EXPLICIT_LE = b"1.2.840.10008.1.2.1"
IMPLICIT_LE = b"1.2.840.10008.1.2"
VERIFICATION = b"1.2.840.10008.1.1"
SC_IMAGE = b"1.2.840.10008.5.1.4.1.1.7"


def _even(value: bytes, pad: bytes = b"\0") -> bytes:
    return value + pad if len(value) % 2 else value


def _item(kind: int, body: bytes) -> bytes:
    return struct.pack(">BBH", kind, 0, len(body)) + body


def associate_rq(
    called: bytes = b"DICOMKIT",
    calling: bytes = b"RAWSCU",
    abstract: bytes = VERIFICATION,
    syntaxes: tuple[bytes, ...] = (EXPLICIT_LE, IMPLICIT_LE),
) -> bytes:
    """An A-ASSOCIATE-RQ PDU (PS3.8 9.3.2) with one presentation context (id 1)."""
    pc = bytes([1, 0, 0, 0]) + _item(0x30, abstract) + b"".join(_item(0x40, t) for t in syntaxes)
    user = _item(0x50, _item(0x51, struct.pack(">I", 16384)))
    body = (
        struct.pack(">HH", 1, 0)
        + called.ljust(16, b" ")[:16]
        + calling.ljust(16, b" ")[:16]
        + bytes(32)
        + _item(0x10, APP_CONTEXT)
        + _item(0x20, pc)
        + user
    )
    return struct.pack(">BBI", 0x01, 0, len(body)) + body


def _implicit(group: int, elem: int, value: bytes) -> bytes:
    return struct.pack("<HHI", group, elem, len(value)) + value


def command(fields: list[tuple[int, bytes]]) -> bytes:
    """A command set (implicit VR LE, group 0000) with its group length."""
    body = b"".join(_implicit(0, e, v) for e, v in fields)
    return _implicit(0, 0, struct.pack("<I", len(body))) + body


def store_rq(sop_class: bytes, sop_uid: bytes, message_id: int = 1) -> bytes:
    """A C-STORE-RQ command set (PS3.7 9.3.1.1)."""
    return command(
        [
            (0x0002, _even(sop_class)),
            (0x0100, struct.pack("<H", 0x0001)),
            (0x0110, struct.pack("<H", message_id)),
            (0x0700, struct.pack("<H", 0)),
            (0x0800, struct.pack("<H", 0x0000)),
            (0x1000, _even(sop_uid)),
        ]
    )


def echo_rq(message_id: int = 1) -> bytes:
    return command(
        [
            (0x0002, _even(VERIFICATION)),
            (0x0100, struct.pack("<H", 0x0030)),
            (0x0110, struct.pack("<H", message_id)),
            (0x0800, struct.pack("<H", 0x0101)),
        ]
    )


def _explicit(group: int, elem: int, vr: bytes, value: bytes, pad: bytes = b" ") -> bytes:
    value = _even(value, pad)
    return struct.pack("<HH", group, elem) + vr + struct.pack("<H", len(value)) + value


def small_dataset(
    sop_class: bytes, sop_uid: bytes, study: bytes = b"1.2.3.4", series: bytes = b"1.2.3.4.5"
) -> bytes:
    """A minimal Secondary Capture-ish data set, explicit VR little endian."""
    return b"".join(
        [
            _explicit(0x0008, 0x0016, b"UI", sop_class, b"\0"),
            _explicit(0x0008, 0x0018, b"UI", sop_uid, b"\0"),
            _explicit(0x0010, 0x0010, b"PN", b"RAW^PEER"),
            _explicit(0x0010, 0x0020, b"LO", b"RAW1"),
            _explicit(0x0020, 0x000D, b"UI", study, b"\0"),
            _explicit(0x0020, 0x000E, b"UI", series, b"\0"),
        ]
    )


def p_data(pc_id: int, payload: bytes, *, is_command: bool, last: bool = True) -> bytes:
    """One P-DATA-TF PDU carrying one PDV (PS3.8 9.3.5, E.2)."""
    header = (1 if is_command else 0) | (2 if last else 0)
    pdv = struct.pack(">IBB", len(payload) + 2, pc_id, header) + payload
    return struct.pack(">BBI", 0x04, 0, len(pdv)) + pdv


def read_pdu(sock: socket.socket) -> tuple[int, bytes]:
    """(PDU type, body); (0, b"") when the peer closed the connection."""
    head = _read_exact(sock, 6)
    if len(head) < 6:
        return 0, b""
    kind, _, length = struct.unpack(">BBI", head)
    return kind, _read_exact(sock, length)


def _read_exact(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def command_fields(pdu_body: bytes) -> dict[int, bytes]:
    """The command elements of the PDVs in a P-DATA-TF body (one-PDU commands only)."""
    out: dict[int, bytes] = {}
    data = b""
    pos = 0
    while pos < len(pdu_body):
        (length,) = struct.unpack(">I", pdu_body[pos : pos + 4])
        header = pdu_body[pos + 5]
        if header & 1:
            data += pdu_body[pos + 6 : pos + 4 + length]
        pos += 4 + length
    pos = 0
    while pos + 8 <= len(data):
        _g, e, n = struct.unpack("<HHI", data[pos : pos + 8])
        out[e] = data[pos + 8 : pos + 8 + n]
        pos += 8 + n
    return out


def status_of(fields: dict[int, bytes]) -> int:
    return int(struct.unpack("<H", fields[0x0900])[0])


def connect(port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def associate(port: int, **kw: bytes) -> tuple[socket.socket, int]:
    """Connect and send an A-ASSOCIATE-RQ: the socket and the answer's PDU type."""
    sock = connect(port)
    sock.sendall(associate_rq(**kw))  # type: ignore[arg-type]
    kind, _ = read_pdu(sock)
    return sock, kind
