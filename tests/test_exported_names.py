"""The public surface is the ``__all__`` of the package roots (h11 / httpx style): pinned here,
so that a name is added or removed on purpose, and every listed name exists."""

from __future__ import annotations

import importlib

import pytest

EXPORTED = {
    "dicomkit": {
        "UID",
        "VR",
        "DataElement",
        "Dataset",
        "Sequence",
        "Tag",
        "__version__",
        "errors",
        "read",
        "write",
    },
    "dicomkit.net": {
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
        "decode_data",
        "encode_data",
        "memory_pair",
        "response_for",
    },
}


@pytest.mark.parametrize("module", sorted(EXPORTED))
def test_all_is_pinned(module: str) -> None:
    mod = importlib.import_module(module)
    assert set(mod.__all__) == EXPORTED[module]
    assert len(mod.__all__) == len(set(mod.__all__)), "a name is listed twice"


@pytest.mark.parametrize("module", sorted(EXPORTED))
def test_every_exported_name_exists(module: str) -> None:
    mod = importlib.import_module(module)
    missing = [name for name in mod.__all__ if getattr(mod, name, None) is None]
    assert missing == []


def test_net_exports_are_the_implementation_objects() -> None:
    """The root re-exports, it does not wrap: the classes handlers see are the same ones."""
    from dicomkit import net
    from dicomkit.net.messages import Incoming
    from dicomkit.net.proto.dimse import CStoreRequest

    assert net.Incoming is Incoming and net.CStoreRequest is CStoreRequest
