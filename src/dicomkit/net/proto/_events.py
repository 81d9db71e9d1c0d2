"""Events exchanged with the upper-layer engine (PS3.8 7: the A-ASSOCIATE, A-RELEASE, A-ABORT,
A-P-ABORT and P-DATA service primitives).

Requests and responses of the local user are *sent* (``UpperLayer.send(event)``):
:class:`AssociateRequest`, :class:`AssociateAccept`, :class:`AssociateReject`, :class:`PData`,
:class:`ReleaseRequest`, :class:`ReleaseResponse`, :class:`Abort`.

Indications and confirmations come out of ``UpperLayer.next_event()``:
:class:`AssociateRequested`, :class:`AssociateAccepted`, :class:`AssociateRejected`,
:class:`PDVReceived`, :class:`ReleaseRequested`, :class:`ReleaseConfirmed`, :class:`Aborted`,
and :class:`Closed` when the association is over and the transport should be (or is) closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from dicomkit.errors import RemoteProtocolError
from dicomkit.net.proto._pdu import PDV, AAssociateAC, AAssociateRJ, AAssociateRQ, Buffer

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # cheaper to import (see _dataclass)
    from dicomkit._dataclass import dataclass

__all__ = [
    "Abort",
    "Aborted",
    "AssociateAccept",
    "AssociateAccepted",
    "AssociateReject",
    "AssociateRejected",
    "AssociateRequest",
    "AssociateRequested",
    "Closed",
    "InputEvent",
    "OutputEvent",
    "PDVReceived",
    "PData",
    "ReleaseConfirmed",
    "ReleaseRequest",
    "ReleaseRequested",
    "ReleaseResponse",
]

# -- sent by the local user ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssociateRequest:
    """A-ASSOCIATE request (Evt1); requestor only."""

    pdu: AAssociateRQ


@dataclass(frozen=True, slots=True)
class AssociateAccept:
    """A-ASSOCIATE response, accept (Evt7); acceptor only."""

    pdu: AAssociateAC


@dataclass(frozen=True, slots=True)
class AssociateReject:
    """A-ASSOCIATE response, reject (Evt8); acceptor only."""

    pdu: AAssociateRJ


@dataclass(frozen=True, slots=True)
class PData:
    """P-DATA request (Evt9): one P-DATA-TF PDU carrying these PDVs."""

    pdvs: tuple[PDV, ...]


@dataclass(frozen=True, slots=True)
class ReleaseRequest:
    """A-RELEASE request (Evt11)."""


@dataclass(frozen=True, slots=True)
class ReleaseResponse:
    """A-RELEASE response (Evt14)."""


@dataclass(frozen=True, slots=True)
class Abort:
    """A-ABORT request (Evt15). ``source`` 0 = service-user (the normal case)."""

    source: int = 0
    reason: int = 0


InputEvent: TypeAlias = (
    AssociateRequest
    | AssociateAccept
    | AssociateReject
    | PData
    | ReleaseRequest
    | ReleaseResponse
    | Abort
)

# -- returned by next_event() ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssociateRequested:
    """A-ASSOCIATE indication: the peer's A-ASSOCIATE-RQ (acceptor)."""

    pdu: AAssociateRQ


@dataclass(frozen=True, slots=True)
class AssociateAccepted:
    """A-ASSOCIATE confirmation, accept: the peer's A-ASSOCIATE-AC (requestor)."""

    pdu: AAssociateAC


@dataclass(frozen=True, slots=True)
class AssociateRejected:
    """A-ASSOCIATE confirmation, reject: the peer's A-ASSOCIATE-RJ (requestor)."""

    pdu: AAssociateRJ


@dataclass(frozen=True, slots=True)
class PDVReceived:
    """P-DATA indication, one event per PDV (PS3.8 9.3.5.1, PS3.7 E.2).

    ``data`` is a view into the received bytes; copy it (``bytes(ev.data)``) or write it out
    before it is needed no longer -- the engine does not reuse buffers, so views stay valid.
    """

    context_id: int
    is_command: bool
    is_last: bool
    data: Buffer


@dataclass(frozen=True, slots=True)
class ReleaseRequested:
    """A-RELEASE indication. ``collision``: both sides asked at once (PS3.8 7.2.2, AR-8).

    On a collision the requestor answers at once with ``ReleaseResponse``; the acceptor must
    first wait for :class:`ReleaseConfirmed` and then send ``ReleaseResponse``.
    """

    collision: bool = False


@dataclass(frozen=True, slots=True)
class ReleaseConfirmed:
    """A-RELEASE confirmation: the peer's A-RELEASE-RP."""


@dataclass(frozen=True, slots=True)
class Aborted:
    """A-ABORT indication (``provider`` false: the peer's user aborted) or A-P-ABORT indication
    (``provider`` true: the peer's provider aborted, the transport closed unexpectedly, or we
    aborted because the peer broke the protocol -- then ``error`` says how).
    """

    source: int
    reason: int
    provider: bool
    error: RemoteProtocolError | None = None


@dataclass(frozen=True, slots=True)
class Closed:
    """The association is over (state Sta1): close the transport if still open."""


OutputEvent: TypeAlias = (
    AssociateRequested
    | AssociateAccepted
    | AssociateRejected
    | PDVReceived
    | ReleaseRequested
    | ReleaseConfirmed
    | Aborted
    | Closed
)
