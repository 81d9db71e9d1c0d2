"""Frozen option values for the network driver: timeouts, limits, TLS, negotiation options
(one per AE / call).

Nothing here is module-level mutable state: build an :class:`AEConfig` (or use the defaults)
and pass it to :class:`~dicomkit.net.AE`; change one field with ``dataclasses.replace``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import TYPE_CHECKING, ClassVar, TypeAlias

from dicomkit.net.proto._items import UserIdentityRQItem

if TYPE_CHECKING:
    import ssl
    from dataclasses import dataclass, field
else:  # cheaper to import (see _dataclass)
    from dicomkit._dataclass import dataclass, field

#: Our default Maximum Length (PS3.8 D.1): the largest P-DATA-TF variable field we accept.
DEFAULT_MAX_PDU = 262_144


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds; ``None`` waits forever.

    ``connect``: TCP (and TLS) connection set-up. ``acse``: association request/accept and
    release exchanges (also the ARTIM timer of PS3.8 9.1.5 fed to the engine). ``dimse``: how
    long an SCU waits for a response, and an SCP for the rest of a message once it started.
    ``idle``: an association with no traffic for this long is released/aborted.
    """

    connect: float | None = 30.0
    acse: float | None = 30.0
    dimse: float | None = 60.0
    idle: float | None = 300.0


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """TLS for an AE: an ``ssl.SSLContext`` for each side (see :mod:`dicomkit.net._tls`).

    ``server_hostname`` is checked by the client when its context has ``check_hostname``.
    """

    client: ssl.SSLContext | None = None
    server: ssl.SSLContext | None = None
    server_hostname: str | None = None


@dataclass(frozen=True, slots=True)
class UserIdentity:
    """A user identity for A-ASSOCIATE-RQ (PS3.7 D.3.3.7.1); text is sent as UTF-8.

    ``type``: 1 username, 2 username and passcode, 3 Kerberos service ticket, 4 SAML
    assertion, 5 JSON Web Token. ``secondary`` is the passcode (type 2 only).
    ``positive_response_requested``: ask the acceptor for a server response (D.3.3.7.2).
    """

    USERNAME: ClassVar[int] = 1
    USERNAME_PASSCODE: ClassVar[int] = 2
    KERBEROS: ClassVar[int] = 3
    SAML: ClassVar[int] = 4
    JWT: ClassVar[int] = 5

    type: int
    primary: bytes | str
    secondary: bytes | str = b""
    positive_response_requested: bool = False

    def __post_init__(self) -> None:
        for name in ("primary", "secondary"):
            object.__setattr__(self, name, _as_bytes(getattr(self, name)))
        if not 1 <= self.type <= 255:
            raise ValueError(f"user identity type {self.type} is not 1..255")

    @property
    def username(self) -> str:
        """``primary`` as text (types 1 and 2)."""
        return _as_bytes(self.primary).decode("utf-8", "replace")

    @property
    def passcode(self) -> str:
        """``secondary`` as text (type 2)."""
        return _as_bytes(self.secondary).decode("utf-8", "replace")

    def to_item(self) -> UserIdentityRQItem:
        """The User Identity Negotiation sub-item of an A-ASSOCIATE-RQ (PS3.7 D.3.3.7.1)."""
        return UserIdentityRQItem(
            self.type,
            _as_bytes(self.primary),
            _as_bytes(self.secondary),
            self.positive_response_requested,
        )

    @classmethod
    def from_item(cls, item: UserIdentityRQItem) -> UserIdentity:
        """The identity a requestor sent, from its A-ASSOCIATE-RQ sub-item."""
        return cls(
            item.identity_type,
            bytes(item.primary),
            bytes(item.secondary),
            item.positive_response_requested,
        )

    def __repr__(self) -> str:  # never put a passcode or token in a log line
        return (
            f"UserIdentity(type={self.type}, primary=<{len(self.primary)} bytes>, "
            f"secondary=<{len(self.secondary)} bytes>, "
            f"positive_response_requested={self.positive_response_requested})"
        )


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


#: What an identity check returns: ``True`` (accept), ``bytes`` (accept; sent as the server
#: response when one was requested), anything else (``False``, ``None``) rejects.
IdentityResult: TypeAlias = "bool | bytes | None"
#: ``check(identity or None) -> IdentityResult`` (plain: run in a worker thread; or async).
IdentityCheck: TypeAlias = (
    "Callable[[UserIdentity | None], IdentityResult | Awaitable[IdentityResult]]"
)
#: SOP class -> supported flags (answer: byte-wise AND with the request), or
#: ``policy(sop_class, requested application info) -> answer bytes | None`` (None: no answer).
ExtendedPolicy: TypeAlias = "Mapping[str, bytes] | Callable[[str, bytes], bytes | None]"


@dataclass(frozen=True, slots=True)
class AEConfig:
    """Everything an application entity needs that is not a handler.

    ``max_pdu``: the Maximum Length we advertise (what we are willing to receive).
    ``max_associations``: simultaneous associations an SCP accepts (more are rejected,
    transient, "local limit exceeded"), ``max_associations_per_host`` of them from one peer
    address and ``max_associations_per_aet`` with one calling AE title (0: no such limit), so
    that no single caller locks the others out. Before an association is established:
    ``max_pending`` connections at most wait for their A-ASSOCIATE-RQ (the oldest is dropped
    for a new one), an A-ASSOCIATE-RQ may be ``max_request_bytes`` long, and all waiting
    connections together may hold ``max_pending_bytes`` of partial requests (the oldest go
    first). ``max_buffered``: bytes of a data set one association
    may hold in memory before it is streamed to disk or refused (streamed C-STORE data sets do
    not count). ``write_buffer``: bytes queued on a socket before the writer waits (back-
    pressure). ``require_called_aet``: reject associations whose called AE title is not ours.
    ``accepted_calling_aets``: calling AE titles we accept (``None``: any); others are
    rejected (1, 1, 3 calling AE title not recognized; a wrong called title with
    ``require_called_aet`` is (1, 1, 7), PS3.8 9.3.4).

    Negotiation as acceptor (PS3.7 D.3.3): ``identity_check(UserIdentity | None)`` decides on
    the requestor's user identity (``None`` when it sent none) once the titles and limits
    passed: ``True`` accepts, ``bytes`` accepts with that server response (sent only when a
    positive response was requested), anything else -- or an exception, or no answer within
    ``Timeouts.acse`` -- rejects with (1, 1, 1) (D.3.3.7 allows it). A plain function runs in
    a worker thread, a coroutine function on the loop. ``extended``: our answer to SOP class
    extended negotiation (D.3.3.5), see :data:`ExtendedPolicy`. ``async_ops``: the largest
    asynchronous operations window (invoked, performed) we grant, 0 = unlimited (D.3.3.3).
    As requestor: ``user_identity`` is sent by ``AE.associate`` unless it is given another.
    """

    ae_title: str = "DICOMKIT"
    max_pdu: int = DEFAULT_MAX_PDU
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_associations: int = 64
    max_associations_per_host: int = 48
    max_associations_per_aet: int = 32
    max_pending: int = 64
    max_request_bytes: int = 128 * 1024
    max_pending_bytes: int = 16 * 1024 * 1024
    max_buffered: int = 64 * 1024 * 1024
    write_buffer: int = 1024 * 1024
    require_called_aet: bool = False
    tls: TLSConfig | None = None
    accepted_calling_aets: Collection[str] | None = None
    identity_check: IdentityCheck | None = None
    extended: ExtendedPolicy | None = None
    async_ops: tuple[int, int] = (1, 1)
    user_identity: UserIdentity | None = None

    def __post_init__(self) -> None:
        if self.accepted_calling_aets is not None:
            titles = self.accepted_calling_aets
            if isinstance(titles, str):
                titles = (titles,)
            object.__setattr__(self, "accepted_calling_aets", frozenset(t.strip() for t in titles))


__all__ = [
    "DEFAULT_MAX_PDU",
    "AEConfig",
    "ExtendedPolicy",
    "IdentityCheck",
    "IdentityResult",
    "TLSConfig",
    "Timeouts",
    "UserIdentity",
]
