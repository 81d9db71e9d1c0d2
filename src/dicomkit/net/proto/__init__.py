"""Sans-IO DICOM networking: PDUs, the upper-layer state machine, negotiation (PS3.8, PS3.7).

Nothing here touches a socket, a thread or a clock; a test checks that no module in this
package imports ``socket``, ``asyncio``, ``threading``, ``selectors`` or ``time``.

The upper layer is :class:`UpperLayer` (one engine per association, h11 style) with the event
types of :mod:`dicomkit.net.proto._events`, the PDU codec of :mod:`~dicomkit.net.proto._pdu` and
:mod:`~dicomkit.net.proto._items`, the PS3.8 Table 9-10 state machine in
:mod:`~dicomkit.net.proto._fsm` and negotiation in :mod:`~dicomkit.net.proto._negotiation`.
See docs/dev/contracts.md, section "net/proto (upper layer)".
"""

from dicomkit.net.proto._events import (
    Abort,
    Aborted,
    AssociateAccept,
    AssociateAccepted,
    AssociateReject,
    AssociateRejected,
    AssociateRequest,
    AssociateRequested,
    Closed,
    PData,
    PDVReceived,
    ReleaseConfirmed,
    ReleaseRequest,
    ReleaseRequested,
    ReleaseResponse,
)
from dicomkit.net.proto._negotiation import (
    AcceptorConfig,
    Negotiated,
    NegotiatedContext,
    accept,
    build_request,
    negotiate,
)
from dicomkit.net.proto._pdu import (
    PDV,
    AAbort,
    AAssociateAC,
    AAssociateRJ,
    AAssociateRQ,
    AReleaseRP,
    AReleaseRQ,
    PDataTF,
    PDUReader,
    decode_pdu,
    pdata_pdus,
)
from dicomkit.net.proto._upper_layer import Role, UpperLayer

__all__ = [
    "PDV",
    "AAbort",
    "AAssociateAC",
    "AAssociateRJ",
    "AAssociateRQ",
    "AReleaseRP",
    "AReleaseRQ",
    "Abort",
    "Aborted",
    "AcceptorConfig",
    "AssociateAccept",
    "AssociateAccepted",
    "AssociateReject",
    "AssociateRejected",
    "AssociateRequest",
    "AssociateRequested",
    "Closed",
    "Negotiated",
    "NegotiatedContext",
    "PDUReader",
    "PDVReceived",
    "PData",
    "PDataTF",
    "ReleaseConfirmed",
    "ReleaseRequest",
    "ReleaseRequested",
    "ReleaseResponse",
    "Role",
    "UpperLayer",
    "accept",
    "build_request",
    "decode_pdu",
    "negotiate",
    "pdata_pdus",
]
