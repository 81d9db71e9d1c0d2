"""The seven upper-layer PDUs, their codec, and an incremental PDU reader (PS3.8 9.3).

Every PDU starts with ``type (1), reserved (1), length (4, big endian)``; ``length`` counts the
bytes after this 6-byte header. PDUs are frozen, slotted dataclasses with ``encode() -> bytes``;
:func:`decode_pdu` turns one complete PDU (a bytes-like object) into its dataclass.

P-DATA-TF is the hot path of C-STORE: :meth:`PDataTF.decode` returns PDVs whose ``data`` are
``memoryview`` slices of the received buffer (no copy) and :func:`pdata_pdus` builds P-DATA-TF
PDUs from a large payload copying each byte exactly once.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, TypeAlias

from dicomkit.dictionary import uids
from dicomkit.net.proto._codec import iter_items
from dicomkit.net.proto._items import (
    ABORT_INVALID_PARAMETER,
    ABORT_UNEXPECTED_PARAMETER,
    ABORT_UNRECOGNIZED_PARAMETER,
    ABORT_UNRECOGNIZED_PDU,
    ApplicationContextItem,
    PDUDecodeError,
    PresentationContextACItem,
    PresentationContextRQItem,
    UserInformationItem,
)

if TYPE_CHECKING:
    from dataclasses import dataclass, field
else:  # cheaper to import (see _dataclass)
    from dicomkit._dataclass import dataclass, field

__all__ = [
    "DEFAULT_MAX_ASSOCIATE_PDU_SIZE",
    "DEFAULT_MAX_PDU_SIZE",
    "PDU",
    "PDV",
    "AAbort",
    "AAssociateAC",
    "AAssociateRJ",
    "AAssociateRQ",
    "AReleaseRP",
    "AReleaseRQ",
    "PDUReader",
    "PDataTF",
    "decode_pdu",
    "pdata_pdus",
]

DEFAULT_MAX_PDU_SIZE = 64 * 1024 * 1024
"""Default cap on the variable field of any received PDU (bytes)."""
DEFAULT_MAX_ASSOCIATE_PDU_SIZE = 1024 * 1024
"""Default cap on A-ASSOCIATE-RQ / -AC PDUs (bytes)."""

_PDU_HDR = struct.Struct(">BBI")
_PDV_HDR = struct.Struct(">IBB")
_ASSOC_FIXED = struct.Struct(">HH16s16s32x")  # version, reserved, called, calling, reserved

Buffer: TypeAlias = bytes | bytearray | memoryview


def _ae(title: str) -> bytes:
    raw = title.encode("ascii")
    if len(raw) > 16:
        raise ValueError(f"AE title longer than 16 characters: {title!r}")
    return raw.ljust(16, b" ")


def _ae_decode(raw: bytes) -> str:
    return raw.decode("ascii", "replace").strip(" \x00")


def _pdu(pdu_type: int, body: bytes) -> bytes:
    return _PDU_HDR.pack(pdu_type, 0, len(body)) + body


# -- A-ASSOCIATE-RQ / -AC --------------------------------------------------------------------


def _decode_assoc_items(
    body: memoryview, name: str, pc_type: int
) -> tuple[ApplicationContextItem, list[memoryview], list[int], UserInformationItem]:
    """Split the variable items of an A-ASSOCIATE-RQ/AC (PS3.8 9.3.2 / 9.3.3)."""
    app: ApplicationContextItem | None = None
    pcs: list[memoryview] = []
    pc_offsets: list[int] = []
    user: UserInformationItem | None = None
    base = 6 + 68
    for item_type, _r, start, end in iter_items(body[68:], name, base):
        value = body[68 + start : 68 + end]
        if item_type == 0x10:
            if app is not None:
                raise PDUDecodeError(
                    "more than one Application Context Item",
                    where=name,
                    offset=base + start - 4,
                    abort_reason=ABORT_UNEXPECTED_PARAMETER,
                )
            app = ApplicationContextItem.decode(value, base + start)
        elif item_type == pc_type:
            pcs.append(value)
            pc_offsets.append(base + start)
        elif item_type == 0x50:
            if user is not None:
                raise PDUDecodeError(
                    "more than one User Information Item",
                    where=name,
                    offset=base + start - 4,
                    abort_reason=ABORT_UNEXPECTED_PARAMETER,
                )
            user = UserInformationItem.decode(value, base + start)
        else:
            raise PDUDecodeError(
                f"unrecognized item type 0x{item_type:02X}",
                where=name,
                offset=base + start - 4,
                abort_reason=ABORT_UNRECOGNIZED_PARAMETER,
            )
    if app is None:
        raise PDUDecodeError("no Application Context Item", where=name, offset=base)
    return app, pcs, pc_offsets, user if user is not None else UserInformationItem()


def _encode_associate(pdu_type: int, pdu: AAssociateRQ | AAssociateAC) -> bytes:
    """A-ASSOCIATE-RQ and -AC share one layout (PS3.8 9.3.2, 9.3.3): the fixed fields, then
    the application context, presentation context and user information items."""
    parts = [
        _ASSOC_FIXED.pack(pdu.protocol_version, 0, _ae(pdu.called_ae), _ae(pdu.calling_ae)),
        ApplicationContextItem(pdu.application_context).encode(),
    ]
    parts += [pc.encode() for pc in pdu.presentation_contexts]
    parts.append(pdu.user_information.encode())
    return _pdu(pdu_type, b"".join(parts))


@dataclass(frozen=True, slots=True)
class AAssociateRQ:
    """A-ASSOCIATE-RQ PDU, type 01H (PS3.8 9.3.2)."""

    PDU_TYPE: ClassVar[int] = 0x01
    called_ae: str
    calling_ae: str
    presentation_contexts: tuple[PresentationContextRQItem, ...]
    user_information: UserInformationItem = field(default_factory=UserInformationItem)
    application_context: str = uids.DICOMApplicationContext
    protocol_version: int = 1

    def encode(self) -> bytes:
        return _encode_associate(0x01, self)

    @classmethod
    def decode(cls, body: memoryview) -> AAssociateRQ:
        name = "A-ASSOCIATE-RQ"
        if len(body) < 68:
            raise PDUDecodeError(f"length {len(body)} < 68", where=name, offset=2)
        version, _r, called, calling = _ASSOC_FIXED.unpack_from(body)
        app, pcs, offs, user = _decode_assoc_items(body, name, 0x20)
        if not pcs:
            raise PDUDecodeError("no Presentation Context Item", where=name, offset=74)
        contexts = tuple(
            PresentationContextRQItem.decode(v, o) for v, o in zip(pcs, offs, strict=True)
        )
        return cls(_ae_decode(called), _ae_decode(calling), contexts, user, app.name, version)


@dataclass(frozen=True, slots=True)
class AAssociateAC:
    """A-ASSOCIATE-AC PDU, type 02H (PS3.8 9.3.3).

    The called/calling AE title fields are reserved: sent with the RQ's values, not tested.
    """

    PDU_TYPE: ClassVar[int] = 0x02
    called_ae: str
    calling_ae: str
    presentation_contexts: tuple[PresentationContextACItem, ...]
    user_information: UserInformationItem = field(default_factory=UserInformationItem)
    application_context: str = uids.DICOMApplicationContext
    protocol_version: int = 1

    def encode(self) -> bytes:
        return _encode_associate(0x02, self)

    @classmethod
    def decode(cls, body: memoryview) -> AAssociateAC:
        name = "A-ASSOCIATE-AC"
        if len(body) < 68:
            raise PDUDecodeError(f"length {len(body)} < 68", where=name, offset=2)
        version, _r, called, calling = _ASSOC_FIXED.unpack_from(body)
        app, pcs, offs, user = _decode_assoc_items(body, name, 0x21)
        contexts = tuple(
            PresentationContextACItem.decode(v, o) for v, o in zip(pcs, offs, strict=True)
        )
        return cls(_ae_decode(called), _ae_decode(calling), contexts, user, app.name, version)


# -- fixed-size PDUs -------------------------------------------------------------------------


def _fixed4(body: memoryview, name: str) -> tuple[int, int, int, int]:
    if len(body) != 4:
        raise PDUDecodeError(f"length {len(body)}, expected 4", where=name, offset=2)
    return body[0], body[1], body[2], body[3]


@dataclass(frozen=True, slots=True)
class AAssociateRJ:
    """A-ASSOCIATE-RJ PDU, type 03H (PS3.8 9.3.4).

    ``result``: 1 rejected-permanent, 2 rejected-transient. ``source``: 1 service-user,
    2 service-provider (ACSE), 3 service-provider (presentation). ``reason`` per Table 9-21:
    source 1: 1 no-reason-given, 2 application-context-name-not-supported,
    3 calling-AE-title-not-recognized, 7 called-AE-title-not-recognized; source 2:
    1 no-reason-given, 2 protocol-version-not-supported; source 3: 1 temporary-congestion,
    2 local-limit-exceeded.
    """

    PDU_TYPE: ClassVar[int] = 0x03
    result: int
    source: int
    reason: int

    def encode(self) -> bytes:
        return _pdu(0x03, bytes((0, self.result, self.source, self.reason)))

    @classmethod
    def decode(cls, body: memoryview) -> AAssociateRJ:
        _r, result, source, reason = _fixed4(body, "A-ASSOCIATE-RJ")
        if result not in (1, 2) or source not in (1, 2, 3):
            raise PDUDecodeError(
                f"invalid result {result} / source {source}", where="A-ASSOCIATE-RJ", offset=7
            )
        return cls(result, source, reason)


@dataclass(frozen=True, slots=True)
class AReleaseRQ:
    """A-RELEASE-RQ PDU, type 05H (PS3.8 9.3.6)."""

    PDU_TYPE: ClassVar[int] = 0x05

    def encode(self) -> bytes:
        return b"\x05\x00\x00\x00\x00\x04\x00\x00\x00\x00"

    @classmethod
    def decode(cls, body: memoryview) -> AReleaseRQ:
        _fixed4(body, "A-RELEASE-RQ")
        return cls()


@dataclass(frozen=True, slots=True)
class AReleaseRP:
    """A-RELEASE-RP PDU, type 06H (PS3.8 9.3.7)."""

    PDU_TYPE: ClassVar[int] = 0x06

    def encode(self) -> bytes:
        return b"\x06\x00\x00\x00\x00\x04\x00\x00\x00\x00"

    @classmethod
    def decode(cls, body: memoryview) -> AReleaseRP:
        _fixed4(body, "A-RELEASE-RP")
        return cls()


@dataclass(frozen=True, slots=True)
class AAbort:
    """A-ABORT PDU, type 07H (PS3.8 9.3.8).

    ``source``: 0 service-user, 2 service-provider. ``reason`` (provider only, Table 9-26):
    0 not specified, 1 unrecognized PDU, 2 unexpected PDU, 4 unrecognized PDU parameter,
    5 unexpected PDU parameter, 6 invalid PDU parameter value.
    """

    PDU_TYPE: ClassVar[int] = 0x07
    source: int = 0
    reason: int = 0

    def encode(self) -> bytes:
        return _pdu(0x07, bytes((0, 0, self.source, self.reason)))

    @classmethod
    def decode(cls, body: memoryview) -> AAbort:
        _r1, _r2, source, reason = _fixed4(body, "A-ABORT")
        if source not in (0, 1, 2):
            raise PDUDecodeError(f"invalid source {source}", where="A-ABORT", offset=8)
        return cls(source, reason)


# -- P-DATA-TF -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PDV:
    """A Presentation Data Value item (PS3.8 9.3.5.1, message control header E.2).

    ``data`` is a buffer, usually a ``memoryview`` into the received PDU: copy it with
    ``bytes(pdv.data)`` to keep it beyond the next call into the reader.
    """

    context_id: int
    is_command: bool
    is_last: bool
    data: Buffer

    @property
    def control_header(self) -> int:
        return (1 if self.is_command else 0) | (2 if self.is_last else 0)


@dataclass(frozen=True, slots=True)
class PDataTF:
    """P-DATA-TF PDU, type 04H (PS3.8 9.3.5): one or more PDVs."""

    PDU_TYPE: ClassVar[int] = 0x04
    pdvs: tuple[PDV, ...]

    def encode(self) -> bytes:
        parts: list[Buffer] = [b""]
        total = 0
        for p in self.pdvs:
            parts.append(_PDV_HDR.pack(len(p.data) + 2, p.context_id, p.control_header))
            parts.append(p.data)
            total += 6 + len(p.data)
        parts[0] = _PDU_HDR.pack(0x04, 0, total)
        return b"".join(parts)

    @classmethod
    def decode(cls, body: memoryview) -> PDataTF:
        pdvs: list[PDV] = []
        pos, end = 0, len(body)
        unpack = _PDV_HDR.unpack_from
        while pos < end:
            if pos + 6 > end:
                raise PDUDecodeError("truncated PDV header", where="P-DATA-TF", offset=6 + pos)
            length, ctx, mch = unpack(body, pos)
            if length < 2 or pos + 4 + length > end:
                raise PDUDecodeError(
                    f"PDV length {length} does not fit the PDU ({end - pos - 4} bytes left)",
                    where="P-DATA-TF",
                    offset=6 + pos,
                )
            if mch > 3:
                raise PDUDecodeError(
                    f"reserved bits set in message control header 0x{mch:02X}",
                    where="P-DATA-TF",
                    offset=6 + pos + 5,
                )
            pdvs.append(PDV(ctx, bool(mch & 1), bool(mch & 2), body[pos + 6 : pos + 4 + length]))
            pos += 4 + length
        if not pdvs:
            raise PDUDecodeError("no PDV", where="P-DATA-TF", offset=6)
        return cls(tuple(pdvs))


_PDATA_HEAD = struct.Struct(">BBIIBB")  # a P-DATA-TF with one PDV: both headers at once


def pdata_pdus(
    context_id: int,
    payload: Buffer,
    *,
    is_command: bool,
    last: bool = True,
    max_pdu_length: int = 0,
) -> list[bytes]:
    """Split ``payload`` into P-DATA-TF PDUs of one PDV each (PS3.8 9.3.5, PS3.7 E.2).

    The one fragmenter of the package: the engine's :meth:`UpperLayer.send_data` uses it for
    commands and data sets alike. ``max_pdu_length`` is the peer's Maximum Length (PS3.8
    D.1): the largest variable field of a P-DATA-TF it accepts (0 = no limit), so each PDV
    carries at most ``max - 6`` bytes. Each PDU is built with a single copy of its slice of
    the payload. The last-fragment bit is set on the final PDU only when ``last`` is true.
    An empty payload gives one PDU with an empty PDV.
    """
    if max_pdu_length and max_pdu_length < 7:
        raise ValueError(f"max PDU length {max_pdu_length} leaves no room for a PDV")
    base_mch = 1 if is_command else 0
    n = len(payload) if type(payload) is bytes else memoryview(payload).nbytes
    step = (max_pdu_length - 6) if max_pdu_length else 0xFFFFFFF0
    if n <= step and type(payload) is bytes:  # one PDU (every command, small data sets)
        mch = base_mch | (2 if last else 0)
        return [_PDATA_HEAD.pack(0x04, 0, n + 6, n + 2, context_id, mch) + payload]
    mv = memoryview(payload).cast("B")
    out: list[bytes] = []
    pos = 0
    while True:  # (pdata_vectors without the join: kept apart, this loop is the hotter one)
        chunk = mv[pos : pos + step]
        pos += len(chunk)
        final = pos >= n
        mch = base_mch | (2 if (final and last) else 0)
        size = len(chunk)
        out.append(
            b"".join((_PDATA_HEAD.pack(0x04, 0, size + 6, size + 2, context_id, mch), chunk))
        )
        if final:
            return out


def pdata_header(context_id: int, size: int, *, is_command: bool, last: bool) -> bytes:
    """The PDU and PDV headers (12 bytes) of a P-DATA-TF holding one PDV of ``size`` bytes."""
    mch = (1 if is_command else 0) | (2 if last else 0)
    return _PDATA_HEAD.pack(0x04, 0, size + 6, size + 2, context_id, mch)


def pdata_vectors(
    context_id: int,
    payload: Buffer,
    *,
    is_command: bool,
    last: bool = True,
    max_pdu_length: int = 0,
) -> list[Buffer]:
    """The P-DATA-TF PDUs of :func:`pdata_pdus` without copying the payload: for each PDU its
    12 header bytes (PDU and PDV headers), then a memoryview of its slice of ``payload``,
    ready for a gathering write (``socket.sendmsg``). The views share ``payload``'s memory:
    write them before changing it."""
    if max_pdu_length and max_pdu_length < 7:
        raise ValueError(f"max PDU length {max_pdu_length} leaves no room for a PDV")
    base_mch = 1 if is_command else 0
    mv = memoryview(payload).cast("B")
    n = len(mv)
    step = (max_pdu_length - 6) if max_pdu_length else 0xFFFFFFF0
    head = _PDATA_HEAD.pack
    out: list[Buffer] = []
    pos = 0
    while True:
        chunk = mv[pos : pos + step]
        size = len(chunk)
        pos += size
        final = pos >= n
        mch = base_mch | (2 if (final and last) else 0)
        out += (head(0x04, 0, size + 6, size + 2, context_id, mch), chunk)
        if final:
            return out


PDU: TypeAlias = (
    AAssociateRQ | AAssociateAC | AAssociateRJ | PDataTF | AReleaseRQ | AReleaseRP | AAbort
)

_DECODERS: dict[int, Callable[[memoryview], PDU]] = {
    0x01: AAssociateRQ.decode,
    0x02: AAssociateAC.decode,
    0x03: AAssociateRJ.decode,
    0x04: PDataTF.decode,
    0x05: AReleaseRQ.decode,
    0x06: AReleaseRP.decode,
    0x07: AAbort.decode,
}
_NAMES = {
    0x01: "A-ASSOCIATE-RQ",
    0x02: "A-ASSOCIATE-AC",
    0x03: "A-ASSOCIATE-RJ",
    0x04: "P-DATA-TF",
    0x05: "A-RELEASE-RQ",
    0x06: "A-RELEASE-RP",
    0x07: "A-ABORT",
}


def decode_pdu(data: Buffer) -> PDU:
    """Decode exactly one complete PDU; raise :class:`PDUDecodeError` when malformed."""
    mv = memoryview(data).cast("B")
    if len(mv) < 6:
        raise PDUDecodeError("truncated PDU header", where="PDU", offset=0)
    pdu_type, _r, length = _PDU_HDR.unpack_from(mv)
    decoder = _DECODERS.get(pdu_type)
    if decoder is None:
        raise PDUDecodeError(
            f"unrecognized PDU type 0x{pdu_type:02X}",
            where="PDU",
            offset=0,
            abort_reason=ABORT_UNRECOGNIZED_PDU,
        )
    if 6 + length != len(mv):
        raise PDUDecodeError(
            f"declared length {length} but {len(mv) - 6} bytes follow the header",
            where=_NAMES[pdu_type],
            offset=2,
        )
    return decoder(mv[6:])


class PDUReader:
    """Incremental PDU framing over a byte stream (PS3.8 9.3, 9.1.2).

    ``feed(data)`` appends received bytes; ``next_pdu()`` returns a decoded PDU or ``None``
    when more bytes are needed. The declared length is checked as soon as the 6-byte header is
    in: a PDU above ``max_pdu_size`` (or an A-ASSOCIATE-RQ/AC above ``max_associate_size``), or
    an unknown PDU type, raises at once without buffering the body.

    Bytes passed to ``feed`` are kept by reference (PDV data are views into them): pass
    ``bytes``, or a buffer you will not reuse. A ``bytearray`` is copied.
    """

    __slots__ = ("_chunks", "_need", "_size", "max_associate_size", "max_pdu_size")

    def __init__(
        self,
        max_pdu_size: int = DEFAULT_MAX_PDU_SIZE,
        max_associate_size: int = DEFAULT_MAX_ASSOCIATE_PDU_SIZE,
    ) -> None:
        self.max_pdu_size = max_pdu_size
        self.max_associate_size = max_associate_size
        self._chunks: list[bytes | memoryview] = []
        self._size = 0
        self._need = -1  # total bytes of the PDU being framed, -1 while the header is incomplete

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as PDUs."""
        return self._size

    def feed(self, data: Buffer) -> None:
        if not data:
            return
        if isinstance(data, bytearray):
            data = bytes(data)
        self._chunks.append(data)
        self._size += len(data)

    def _peek(self, n: int) -> bytes:
        out = b""
        for c in self._chunks:
            out += bytes(c[: n - len(out)])
            if len(out) >= n:
                break
        return out

    def _take(self, n: int) -> bytes | memoryview:
        """Remove and return the first ``n`` bytes: a view when they lie in one chunk."""
        first = self._chunks[0]
        if len(first) >= n:
            if len(first) == n:
                self._chunks.pop(0)
                out: bytes | memoryview = first
            else:
                mv = first if isinstance(first, memoryview) else memoryview(first)
                out = mv[:n]
                self._chunks[0] = mv[n:]
        else:
            parts: list[bytes | memoryview] = []
            left = n
            while left:
                c = self._chunks[0]
                if len(c) <= left:
                    parts.append(c)
                    self._chunks.pop(0)
                    left -= len(c)
                else:
                    mv = c if isinstance(c, memoryview) else memoryview(c)
                    parts.append(mv[:left])
                    self._chunks[0] = mv[left:]
                    left = 0
            out = b"".join(parts)
        self._size -= n
        return out

    def next_raw(self) -> bytes | memoryview | None:
        """The next whole PDU, header included, undecoded (a view when it lies in one
        received chunk); ``None`` when more bytes are needed. Raises like :meth:`next_pdu`
        for a bad header."""
        if self._need < 0:
            if self._size < 6:
                return None
            first = self._chunks[0]
            if len(first) >= 6:
                pdu_type, _r, length = _PDU_HDR.unpack_from(first)
            else:
                pdu_type, _r, length = _PDU_HDR.unpack(self._peek(6))
            if pdu_type == 0x04 and length <= self.max_pdu_size:
                pass  # P-DATA-TF within the limit: the hot path
            else:
                name = _NAMES.get(pdu_type)
                if name is None:
                    raise PDUDecodeError(
                        f"unrecognized PDU type 0x{pdu_type:02X}",
                        where="PDU",
                        offset=0,
                        abort_reason=ABORT_UNRECOGNIZED_PDU,
                    )
                limit = self.max_pdu_size
                if pdu_type in (0x01, 0x02):
                    limit = min(limit, self.max_associate_size)
                if length > limit:
                    raise PDUDecodeError(
                        f"declared length {length} exceeds the limit of {limit} bytes",
                        where=name,
                        offset=2,
                        abort_reason=ABORT_INVALID_PARAMETER,
                    )
            self._need = 6 + length
        if self._size < self._need:
            return None
        raw = self._take(self._need)
        self._need = -1
        return raw

    def next_pdu(self) -> PDU | None:
        raw = self.next_raw()
        return None if raw is None else decode_pdu(raw)
