"""Variable items and sub-items of the A-ASSOCIATE PDUs (PS3.8 9.3.2-9.3.3, PS3.7 Annex D).

Every item is a frozen, slotted dataclass with ``encode() -> bytes`` and a ``decode`` class
method reading the item's *value* (the bytes after its 4-byte header). The item header is
``type (1), reserved (1), length (2, big endian)`` (PS3.8 9.3.2). Decoding checks every length
against its container and raises :class:`PDUDecodeError` (a ``RemoteProtocolError``) naming the
item and the absolute byte offset.

UIDs are encoded as ASCII without padding; a trailing NUL or space sent by a peer is stripped on
decode (PS3.8 9.3.2.1 / Annex F).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, ClassVar, TypeAlias

from dicomkit.dictionary import uids
from dicomkit.net.proto._codec import (
    _U32,
    ABORT_INVALID_PARAMETER,
    ABORT_NOT_SPECIFIED,
    ABORT_UNEXPECTED_PARAMETER,
    ABORT_UNEXPECTED_PDU,
    ABORT_UNRECOGNIZED_PARAMETER,
    ABORT_UNRECOGNIZED_PDU,
    PDUDecodeError,
    _header,
    _lv,
    _read_lv,
    _uid,
    iter_items,
)

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # cheaper to import (see _dataclass)
    from dicomkit._dataclass import dataclass

__all__ = [
    "ABORT_INVALID_PARAMETER",
    "ABORT_NOT_SPECIFIED",
    "ABORT_UNEXPECTED_PARAMETER",
    "ABORT_UNEXPECTED_PDU",
    "ABORT_UNRECOGNIZED_PARAMETER",
    "ABORT_UNRECOGNIZED_PDU",
    "AbstractSyntaxItem",
    "ApplicationContextItem",
    "AsyncOperationsWindowItem",
    "ImplementationClassUIDItem",
    "ImplementationVersionNameItem",
    "MaximumLengthItem",
    "PDUDecodeError",
    "PresentationContextACItem",
    "PresentationContextRQItem",
    "RoleSelectionItem",
    "SOPClassCommonExtendedNegotiationItem",
    "SOPClassExtendedNegotiationItem",
    "TransferSyntaxItem",
    "UnknownItem",
    "UserIdentityACItem",
    "UserIdentityRQItem",
    "UserInformationItem",
    "UserSubItem",
    "decode_user_sub_items",
]

# -- simple UID items ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApplicationContextItem:
    """Application Context Item, type 10H (PS3.8 9.3.2.1)."""

    ITEM_TYPE: ClassVar[int] = 0x10
    name: str = uids.DICOMApplicationContext

    def encode(self) -> bytes:
        return _header(0x10, self.name.encode("ascii"))

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> ApplicationContextItem:
        return cls(_uid(value, "Application Context Item", base))


@dataclass(frozen=True, slots=True)
class AbstractSyntaxItem:
    """Abstract Syntax Sub-Item, type 30H (PS3.8 9.3.2.2.1)."""

    ITEM_TYPE: ClassVar[int] = 0x30
    uid: str

    def encode(self) -> bytes:
        return _header(0x30, self.uid.encode("ascii"))

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> AbstractSyntaxItem:
        return cls(_uid(value, "Abstract Syntax Sub-Item", base))


@dataclass(frozen=True, slots=True)
class TransferSyntaxItem:
    """Transfer Syntax Sub-Item, type 40H (PS3.8 9.3.2.2.2)."""

    ITEM_TYPE: ClassVar[int] = 0x40
    uid: str

    def encode(self) -> bytes:
        return _header(0x40, self.uid.encode("ascii"))

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> TransferSyntaxItem:
        return cls(_uid(value, "Transfer Syntax Sub-Item", base))


# -- presentation contexts -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PresentationContextRQItem:
    """Presentation Context Item (RQ), type 20H (PS3.8 9.3.2.2).

    One abstract syntax and one or more transfer syntaxes; ``context_id`` is odd, 1..255.
    """

    ITEM_TYPE: ClassVar[int] = 0x20
    context_id: int
    abstract_syntax: str
    transfer_syntaxes: tuple[str, ...]

    def encode(self) -> bytes:
        parts = [
            bytes((self.context_id, 0, 0, 0)),
            AbstractSyntaxItem(self.abstract_syntax).encode(),
        ]
        parts += [TransferSyntaxItem(ts).encode() for ts in self.transfer_syntaxes]
        return _header(0x20, b"".join(parts))

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> PresentationContextRQItem:
        where = "Presentation Context Item (RQ)"
        if len(value) < 4:
            raise PDUDecodeError("item shorter than 4 bytes", where=where, offset=base)
        context_id = value[0]
        abstract: str | None = None
        transfer: list[str] = []
        for item_type, _r, start, end in iter_items(value[4:], where, base + 4):
            sub = value[4 + start : 4 + end]
            if item_type == 0x30:
                if abstract is not None:
                    raise PDUDecodeError(
                        "more than one Abstract Syntax Sub-Item",
                        where=where,
                        offset=base + start,
                        abort_reason=ABORT_UNEXPECTED_PARAMETER,
                    )
                abstract = _uid(sub, "Abstract Syntax Sub-Item", base + 4 + start)
            elif item_type == 0x40:
                transfer.append(_uid(sub, "Transfer Syntax Sub-Item", base + 4 + start))
            else:
                raise PDUDecodeError(
                    f"unexpected sub-item type 0x{item_type:02X}",
                    where=where,
                    offset=base + start,
                    abort_reason=ABORT_UNRECOGNIZED_PARAMETER,
                )
        if abstract is None:
            raise PDUDecodeError("no Abstract Syntax Sub-Item", where=where, offset=base)
        if not transfer:
            raise PDUDecodeError("no Transfer Syntax Sub-Item", where=where, offset=base)
        return cls(context_id, abstract, tuple(transfer))


@dataclass(frozen=True, slots=True)
class PresentationContextACItem:
    """Presentation Context Item (AC), type 21H (PS3.8 9.3.3.2).

    ``result``: 0 acceptance, 1 user-rejection, 2 no-reason (provider rejection),
    3 abstract-syntax-not-supported, 4 transfer-syntaxes-not-supported. When rejected the
    transfer syntax is not significant (it may be empty).
    """

    ITEM_TYPE: ClassVar[int] = 0x21
    context_id: int
    result: int
    transfer_syntax: str = ""

    def encode(self) -> bytes:
        value = (
            bytes((self.context_id, 0, self.result, 0))
            + TransferSyntaxItem(self.transfer_syntax).encode()
        )
        return _header(0x21, value)

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> PresentationContextACItem:
        where = "Presentation Context Item (AC)"
        if len(value) < 4:
            raise PDUDecodeError("item shorter than 4 bytes", where=where, offset=base)
        context_id, result = value[0], value[2]
        if result > 4:
            raise PDUDecodeError(f"invalid result/reason {result}", where=where, offset=base + 2)
        ts: str | None = None
        for item_type, _r, start, end in iter_items(value[4:], where, base + 4):
            if item_type != 0x40 or ts is not None:
                raise PDUDecodeError(
                    f"unexpected sub-item type 0x{item_type:02X}",
                    where=where,
                    offset=base + 4 + start - 4,
                    abort_reason=ABORT_UNEXPECTED_PARAMETER,
                )
            ts = _uid(value[4 + start : 4 + end], "Transfer Syntax Sub-Item", base + 4 + start)
        if ts is None and result == 0:
            raise PDUDecodeError(
                "accepted context has no Transfer Syntax", where=where, offset=base
            )
        return cls(context_id, result, ts or "")


# -- user information sub-items (PS3.8 Annex D, PS3.7 Annex D) ------------------------------


@dataclass(frozen=True, slots=True)
class MaximumLengthItem:
    """Maximum Length Sub-Item, type 51H (PS3.8 D.1): 0 means no limit."""

    ITEM_TYPE: ClassVar[int] = 0x51
    max_length: int

    def encode(self) -> bytes:
        return _header(0x51, _U32.pack(self.max_length))

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> MaximumLengthItem:
        if len(value) != 4:
            raise PDUDecodeError(
                f"length {len(value)}, expected 4", where="Maximum Length Sub-Item", offset=base
            )
        return cls(_U32.unpack_from(value)[0])


@dataclass(frozen=True, slots=True)
class ImplementationClassUIDItem:
    """Implementation Class UID Sub-Item, type 52H (PS3.7 D.3.3.2)."""

    ITEM_TYPE: ClassVar[int] = 0x52
    uid: str

    def encode(self) -> bytes:
        return _header(0x52, self.uid.encode("ascii"))

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> ImplementationClassUIDItem:
        return cls(_uid(value, "Implementation Class UID Sub-Item", base))


@dataclass(frozen=True, slots=True)
class ImplementationVersionNameItem:
    """Implementation Version Name Sub-Item, type 55H (PS3.7 D.3.3.2): 1-16 characters."""

    ITEM_TYPE: ClassVar[int] = 0x55
    name: str

    def encode(self) -> bytes:
        return _header(0x55, self.name.encode("ascii"))

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> ImplementationVersionNameItem:
        return cls(bytes(value).decode("ascii", "replace").rstrip("\x00 "))


@dataclass(frozen=True, slots=True)
class AsyncOperationsWindowItem:
    """Asynchronous Operations Window Sub-Item, type 53H (PS3.7 D.3.3.3); 0 = unlimited."""

    ITEM_TYPE: ClassVar[int] = 0x53
    max_invoked: int = 1
    max_performed: int = 1

    def encode(self) -> bytes:
        return _header(0x53, struct.pack(">HH", self.max_invoked, self.max_performed))

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> AsyncOperationsWindowItem:
        if len(value) != 4:
            raise PDUDecodeError(
                f"length {len(value)}, expected 4",
                where="Asynchronous Operations Window Sub-Item",
                offset=base,
            )
        invoked, performed = struct.unpack_from(">HH", value)
        return cls(invoked, performed)


@dataclass(frozen=True, slots=True)
class RoleSelectionItem:
    """SCP/SCU Role Selection Sub-Item, type 54H (PS3.7 D.3.3.4)."""

    ITEM_TYPE: ClassVar[int] = 0x54
    sop_class_uid: str
    scu_role: bool
    scp_role: bool

    def encode(self) -> bytes:
        value = _lv(self.sop_class_uid.encode("ascii")) + bytes(
            (int(self.scu_role), int(self.scp_role))
        )
        return _header(0x54, value)

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> RoleSelectionItem:
        where = "SCP/SCU Role Selection Sub-Item"
        raw, pos = _read_lv(value, 0, len(value), where, base)
        if pos + 2 != len(value):
            raise PDUDecodeError(
                f"length {len(value)} does not match its fields", where=where, offset=base
            )
        scu, scp = value[pos], value[pos + 1]
        if scu > 1 or scp > 1:
            raise PDUDecodeError("role values must be 0 or 1", where=where, offset=base + pos)
        return cls(_uid(raw, where, base + 2), bool(scu), bool(scp))


@dataclass(frozen=True, slots=True)
class SOPClassExtendedNegotiationItem:
    """SOP Class Extended Negotiation Sub-Item, type 56H (PS3.7 D.3.3.5)."""

    ITEM_TYPE: ClassVar[int] = 0x56
    sop_class_uid: str
    application_info: bytes = b""

    def encode(self) -> bytes:
        return _header(0x56, _lv(self.sop_class_uid.encode("ascii")) + self.application_info)

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> SOPClassExtendedNegotiationItem:
        where = "SOP Class Extended Negotiation Sub-Item"
        raw, pos = _read_lv(value, 0, len(value), where, base)
        return cls(_uid(raw, where, base + 2), bytes(value[pos:]))


@dataclass(frozen=True, slots=True)
class SOPClassCommonExtendedNegotiationItem:
    """SOP Class Common Extended Negotiation Sub-Item, type 57H (PS3.7 D.3.3.6).

    The reserved header byte is the sub-item version (0).
    """

    ITEM_TYPE: ClassVar[int] = 0x57
    sop_class_uid: str
    service_class_uid: str
    related_general_sop_classes: tuple[str, ...] = ()

    def encode(self) -> bytes:
        related = b"".join(_lv(u.encode("ascii")) for u in self.related_general_sop_classes)
        value = (
            _lv(self.sop_class_uid.encode("ascii"))
            + _lv(self.service_class_uid.encode("ascii"))
            + _lv(related)
        )
        return _header(0x57, value)

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> SOPClassCommonExtendedNegotiationItem:
        where = "SOP Class Common Extended Negotiation Sub-Item"
        end = len(value)
        sop, pos = _read_lv(value, 0, end, where, base)
        service, pos = _read_lv(value, pos, end, where, base)
        related_start = pos + 2
        related_raw, pos = _read_lv(value, pos, end, where, base)
        if pos != end:
            raise PDUDecodeError(
                f"{end - pos} bytes after the related general SOP classes",
                where=where,
                offset=base + pos,
            )
        related: list[str] = []
        rv = memoryview(related_raw)
        rpos = 0
        while rpos < len(rv):
            uid, rpos = _read_lv(rv, rpos, len(rv), where, base + related_start)
            related.append(_uid(uid, where, base + related_start + rpos))
        return cls(_uid(sop, where, base + 2), _uid(service, where, base), tuple(related))


@dataclass(frozen=True, slots=True)
class UserIdentityRQItem:
    """User Identity Sub-Item (RQ), type 58H (PS3.7 D.3.3.7.1).

    ``identity_type``: 1 username, 2 username and passcode, 3 Kerberos service ticket,
    4 SAML assertion, 5 JSON Web Token. ``secondary`` is the passcode (type 2 only).
    """

    ITEM_TYPE: ClassVar[int] = 0x58
    identity_type: int
    primary: bytes
    secondary: bytes = b""
    positive_response_requested: bool = False

    def encode(self) -> bytes:
        value = (
            bytes((self.identity_type, int(self.positive_response_requested)))
            + _lv(self.primary)
            + _lv(self.secondary)
        )
        return _header(0x58, value)

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> UserIdentityRQItem:
        where = "User Identity Sub-Item (RQ)"
        end = len(value)
        if end < 2:
            raise PDUDecodeError("truncated", where=where, offset=base)
        identity_type, positive = value[0], value[1]
        primary, pos = _read_lv(value, 2, end, where, base)
        secondary, pos = _read_lv(value, pos, end, where, base)
        if pos != end:
            raise PDUDecodeError(f"{end - pos} trailing bytes", where=where, offset=base + pos)
        return cls(identity_type, primary, secondary, bool(positive))


@dataclass(frozen=True, slots=True)
class UserIdentityACItem:
    """User Identity Sub-Item (AC), type 59H (PS3.7 D.3.3.7.2): the server response."""

    ITEM_TYPE: ClassVar[int] = 0x59
    server_response: bytes = b""

    def encode(self) -> bytes:
        return _header(0x59, _lv(self.server_response))

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> UserIdentityACItem:
        where = "User Identity Sub-Item (AC)"
        raw, pos = _read_lv(value, 0, len(value), where, base)
        if pos != len(value):
            raise PDUDecodeError(f"{len(value) - pos} trailing bytes", where=where, offset=base)
        return cls(raw)


@dataclass(frozen=True, slots=True)
class UnknownItem:
    """An item or sub-item of a type this implementation does not know, kept verbatim.

    Unrecognised user information sub-items are ignored by the protocol (PS3.7 D.3.3) but
    preserved here so that a decode/encode round trip is byte-exact.
    """

    item_type: int
    data: bytes
    reserved: int = 0

    def encode(self) -> bytes:
        return _header(self.item_type, self.data, self.reserved)


UserSubItem: TypeAlias = (
    MaximumLengthItem
    | ImplementationClassUIDItem
    | ImplementationVersionNameItem
    | AsyncOperationsWindowItem
    | RoleSelectionItem
    | SOPClassExtendedNegotiationItem
    | SOPClassCommonExtendedNegotiationItem
    | UserIdentityRQItem
    | UserIdentityACItem
    | UnknownItem
)

_USER_SUB_ITEMS: dict[int, type[UserSubItem]] = {
    c.ITEM_TYPE: c
    for c in (
        MaximumLengthItem,
        ImplementationClassUIDItem,
        ImplementationVersionNameItem,
        AsyncOperationsWindowItem,
        RoleSelectionItem,
        SOPClassExtendedNegotiationItem,
        SOPClassCommonExtendedNegotiationItem,
        UserIdentityRQItem,
        UserIdentityACItem,
    )
}


def decode_user_sub_items(value: memoryview, base: int = 0) -> tuple[UserSubItem, ...]:
    """Decode the sub-items of a User Information Item; unknown types become UnknownItem."""
    out: list[UserSubItem] = []
    for item_type, reserved, start, end in iter_items(value, "User Information Item", base):
        cls = _USER_SUB_ITEMS.get(item_type)
        if cls is None or cls is UnknownItem:
            out.append(UnknownItem(item_type, bytes(value[start:end]), reserved))
        else:
            out.append(cls.decode(value[start:end], base + start))  # type: ignore[union-attr]
    return tuple(out)


@dataclass(frozen=True, slots=True)
class UserInformationItem:
    """User Information Item, type 50H (PS3.8 9.3.2.3, 9.3.3.3): an ordered list of sub-items.

    The accessors return the first sub-item of each kind (or a default); lists of role
    selection and extended negotiation sub-items are returned in order.
    """

    ITEM_TYPE: ClassVar[int] = 0x50
    sub_items: tuple[UserSubItem, ...] = ()

    def encode(self) -> bytes:
        return _header(0x50, b"".join(s.encode() for s in self.sub_items))

    @classmethod
    def decode(cls, value: memoryview, base: int = 0) -> UserInformationItem:
        return cls(decode_user_sub_items(value, base))

    def _first(self, kind: type) -> object | None:
        for s in self.sub_items:
            if isinstance(s, kind):
                return s
        return None

    @property
    def max_length(self) -> int | None:
        """Maximum length received (PS3.8 D.1); ``None`` when absent, 0 = no limit."""
        s = self._first(MaximumLengthItem)
        return s.max_length if isinstance(s, MaximumLengthItem) else None

    @property
    def implementation_class_uid(self) -> str | None:
        s = self._first(ImplementationClassUIDItem)
        return s.uid if isinstance(s, ImplementationClassUIDItem) else None

    @property
    def implementation_version_name(self) -> str | None:
        s = self._first(ImplementationVersionNameItem)
        return s.name if isinstance(s, ImplementationVersionNameItem) else None

    @property
    def async_window(self) -> AsyncOperationsWindowItem | None:
        s = self._first(AsyncOperationsWindowItem)
        return s if isinstance(s, AsyncOperationsWindowItem) else None

    @property
    def role_selections(self) -> tuple[RoleSelectionItem, ...]:
        return tuple(s for s in self.sub_items if isinstance(s, RoleSelectionItem))

    @property
    def extended_negotiations(self) -> tuple[SOPClassExtendedNegotiationItem, ...]:
        return tuple(s for s in self.sub_items if isinstance(s, SOPClassExtendedNegotiationItem))

    @property
    def common_extended_negotiations(self) -> tuple[SOPClassCommonExtendedNegotiationItem, ...]:
        return tuple(
            s for s in self.sub_items if isinstance(s, SOPClassCommonExtendedNegotiationItem)
        )

    @property
    def user_identity(self) -> UserIdentityRQItem | None:
        s = self._first(UserIdentityRQItem)
        return s if isinstance(s, UserIdentityRQItem) else None

    @property
    def user_identity_response(self) -> UserIdentityACItem | None:
        s = self._first(UserIdentityACItem)
        return s if isinstance(s, UserIdentityACItem) else None
