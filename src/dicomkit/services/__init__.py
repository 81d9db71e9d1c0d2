"""DICOM service classes (PS3.4), SCU and SCP sides, built on :mod:`dicomkit.net`.

Each service module offers SCU functions taking an :class:`~dicomkit.net.Association` and SCP
handlers for :class:`~dicomkit.net.AE`::

    from dicomkit.services import CStoreRequest, StorageSCP, echo, find, store
    ae.serve(11112, {CStoreRequest: StorageSCP("incoming")})

The names below load their module on first use (PEP 562), so that a command that only
echoes never imports the storage or query/retrieve code. The DIMSE message types a handler
is keyed by (``CStoreRequest``, ``CFindRequest`` ...) are :mod:`dicomkit.net`'s, offered here
too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dicomkit.net.proto.dimse import (
        CEchoRequest as CEchoRequest,
    )
    from dicomkit.net.proto.dimse import (
        CFindRequest as CFindRequest,
    )
    from dicomkit.net.proto.dimse import (
        CGetRequest as CGetRequest,
    )
    from dicomkit.net.proto.dimse import (
        CMoveRequest as CMoveRequest,
    )
    from dicomkit.net.proto.dimse import (
        CStoreRequest as CStoreRequest,
    )
    from dicomkit.net.proto.dimse import (
        NActionRequest as NActionRequest,
    )
    from dicomkit.net.proto.dimse import (
        NCreateRequest as NCreateRequest,
    )
    from dicomkit.net.proto.dimse import (
        NEventReportRequest as NEventReportRequest,
    )
    from dicomkit.net.proto.dimse import (
        NSetRequest as NSetRequest,
    )
    from dicomkit.services.qr_scp import QueryRetrieveSCP as QueryRetrieveSCP
    from dicomkit.services.query_retrieve import Model as Model
    from dicomkit.services.query_retrieve import RetrieveResult as RetrieveResult
    from dicomkit.services.query_retrieve import find as find
    from dicomkit.services.query_retrieve import get as get
    from dicomkit.services.query_retrieve import identifier as identifier
    from dicomkit.services.query_retrieve import move as move
    from dicomkit.services.storage import StorageSCP as StorageSCP
    from dicomkit.services.storage import contexts_for as contexts_for
    from dicomkit.services.storage import read_instance as read_instance
    from dicomkit.services.storage import store as store
    from dicomkit.services.storage import store_files as store_files
    from dicomkit.services.verification import echo as echo
    from dicomkit.services.verification import handle_echo as handle_echo
    from dicomkit.services.worklist import WorklistSCP as WorklistSCP

#: public name -> the module that defines it
_WHERE = {
    **dict.fromkeys(
        (
            "CEchoRequest",
            "CFindRequest",
            "CGetRequest",
            "CMoveRequest",
            "CStoreRequest",
            "NActionRequest",
            "NCreateRequest",
            "NEventReportRequest",
            "NSetRequest",
        ),
        "dicomkit.net.proto.dimse",
    ),
    "QueryRetrieveSCP": "dicomkit.services.qr_scp",
    **dict.fromkeys(
        ("Model", "RetrieveResult", "find", "get", "identifier", "move"),
        "dicomkit.services.query_retrieve",
    ),
    **dict.fromkeys(
        ("StorageSCP", "contexts_for", "read_instance", "store", "store_files"),
        "dicomkit.services.storage",
    ),
    **dict.fromkeys(("echo", "handle_echo"), "dicomkit.services.verification"),
    "WorklistSCP": "dicomkit.services.worklist",
}

__all__ = [
    "CEchoRequest",
    "CFindRequest",
    "CGetRequest",
    "CMoveRequest",
    "CStoreRequest",
    "Model",
    "NActionRequest",
    "NCreateRequest",
    "NEventReportRequest",
    "NSetRequest",
    "QueryRetrieveSCP",
    "RetrieveResult",
    "StorageSCP",
    "WorklistSCP",
    "contexts_for",
    "echo",
    "find",
    "get",
    "handle_echo",
    "identifier",
    "move",
    "read_instance",
    "store",
    "store_files",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'dicomkit.services' has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
