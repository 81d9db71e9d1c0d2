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

from __future__ import annotations

from typing import TYPE_CHECKING

from dicomkit._lazy import lazy_exports

if TYPE_CHECKING:
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

#: name -> module that holds it, imported on first use: the sans-IO engine and the blocking
#: requestor (``dicomkit echo``) load without asyncio, the server or the TLS module
_LAZY = {
    "Association": "dicomkit.net._association",
    "Clock": "dicomkit.net._clock",
    "AEConfig": "dicomkit.net._config",
    "Timeouts": "dicomkit.net._config",
    "TLSConfig": "dicomkit.net._config",
    "UserIdentity": "dicomkit.net._config",
    "memory_pair": "dicomkit.net._memory",
    "DataSink": "dicomkit.net._messages",
    "Incoming": "dicomkit.net._messages",
    "Response": "dicomkit.net._messages",
    "check_response": "dicomkit.net._messages",
    "decode_data": "dicomkit.net._messages",
    "encode_data": "dicomkit.net._messages",
    "response_for": "dicomkit.net._messages",
    "AE": "dicomkit.net._server",
    "ContextSpec": "dicomkit.net._server",
    "Handler": "dicomkit.net._server",
    "Handlers": "dicomkit.net._server",
    "Server": "dicomkit.net._server",
    "SyncAE": "dicomkit.net._sync",
    "SyncAssociation": "dicomkit.net._sync",
    "SyncServer": "dicomkit.net._sync",
    "client_context": "dicomkit.net._tls",
    "server_context": "dicomkit.net._tls",
    "CCancelRequest": "dicomkit.net.proto._dimse",
    "CEchoRequest": "dicomkit.net.proto._dimse",
    "CEchoResponse": "dicomkit.net.proto._dimse",
    "CFindRequest": "dicomkit.net.proto._dimse",
    "CFindResponse": "dicomkit.net.proto._dimse",
    "CGetRequest": "dicomkit.net.proto._dimse",
    "CGetResponse": "dicomkit.net.proto._dimse",
    "CMoveRequest": "dicomkit.net.proto._dimse",
    "CMoveResponse": "dicomkit.net.proto._dimse",
    "CStoreRequest": "dicomkit.net.proto._dimse",
    "CStoreResponse": "dicomkit.net.proto._dimse",
    "DimseMessage": "dicomkit.net.proto._dimse",
    "DimseRequest": "dicomkit.net.proto._dimse",
    "DimseResponse": "dicomkit.net.proto._dimse",
    "NActionRequest": "dicomkit.net.proto._dimse",
    "NActionResponse": "dicomkit.net.proto._dimse",
    "NCreateRequest": "dicomkit.net.proto._dimse",
    "NCreateResponse": "dicomkit.net.proto._dimse",
    "NDeleteRequest": "dicomkit.net.proto._dimse",
    "NDeleteResponse": "dicomkit.net.proto._dimse",
    "NEventReportRequest": "dicomkit.net.proto._dimse",
    "NEventReportResponse": "dicomkit.net.proto._dimse",
    "NGetRequest": "dicomkit.net.proto._dimse",
    "NGetResponse": "dicomkit.net.proto._dimse",
    "NSetRequest": "dicomkit.net.proto._dimse",
    "NSetResponse": "dicomkit.net.proto._dimse",
    "Priority": "dicomkit.net.proto._dimse",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
