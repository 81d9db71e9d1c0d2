"""DICOM networking: the asyncio driver over the sans-IO engine in :mod:`dicomkit.net.proto`.

``AE`` associates (SCU) and serves (SCP); ``Association`` sends and receives typed DIMSE
messages; ``SyncAE`` runs the same code from plain synchronous scripts; ``memory_pair`` is an
in-memory connection (an SCU and an SCP in one process, no ports).

This module's ``__all__`` is the contract (a test pins it); the modules under it are the
implementation. Handlers receive an :class:`Incoming` and answer with a status, a response
message (:func:`response_for`) or ``(status, dataset)``. Client calls return the typed
response on success or warning and raise :class:`~dicomkit.errors.DimseError` (with
``status``) on failure (:meth:`Response.raise_for_status`).
"""

from dicomkit.net._association import Association
from dicomkit.net._clock import Clock
from dicomkit.net._config import AEConfig, Timeouts, TLSConfig, UserIdentity
from dicomkit.net._memory import memory_pair
from dicomkit.net._messages import (
    DataSink,
    Incoming,
    Response,
    check_response,
    decode_data,
    encode_data,
    response_for,
)
from dicomkit.net._server import AE, ContextSpec, Handler, Handlers, Server
from dicomkit.net._sync import SyncAE, SyncAssociation, SyncServer
from dicomkit.net._tls import client_context, server_context
from dicomkit.net.proto._dimse import (
    CCancelRequest,
    CEchoRequest,
    CEchoResponse,
    CFindRequest,
    CFindResponse,
    CGetRequest,
    CGetResponse,
    CMoveRequest,
    CMoveResponse,
    CStoreRequest,
    CStoreResponse,
    DimseMessage,
    DimseRequest,
    DimseResponse,
    NActionRequest,
    NActionResponse,
    NCreateRequest,
    NCreateResponse,
    NDeleteRequest,
    NDeleteResponse,
    NEventReportRequest,
    NEventReportResponse,
    NGetRequest,
    NGetResponse,
    NSetRequest,
    NSetResponse,
    Priority,
)

__all__ = [
    "AE",
    "AEConfig",
    "Association",
    "CCancelRequest",
    "CEchoRequest",
    "CEchoResponse",
    "CFindRequest",
    "CFindResponse",
    "CGetRequest",
    "CGetResponse",
    "CMoveRequest",
    "CMoveResponse",
    "CStoreRequest",
    "CStoreResponse",
    "Clock",
    "ContextSpec",
    "DataSink",
    "DimseMessage",
    "DimseRequest",
    "DimseResponse",
    "Handler",
    "Handlers",
    "Incoming",
    "NActionRequest",
    "NActionResponse",
    "NCreateRequest",
    "NCreateResponse",
    "NDeleteRequest",
    "NDeleteResponse",
    "NEventReportRequest",
    "NEventReportResponse",
    "NGetRequest",
    "NGetResponse",
    "NSetRequest",
    "NSetResponse",
    "Priority",
    "Response",
    "Server",
    "SyncAE",
    "SyncAssociation",
    "SyncServer",
    "TLSConfig",
    "Timeouts",
    "UserIdentity",
    "check_response",
    "client_context",
    "decode_data",
    "encode_data",
    "memory_pair",
    "response_for",
    "server_context",
]
