"""The public surface is the ``__all__`` of the package roots (h11 / httpx style): pinned here,
so that a name is added or removed on purpose, and every listed name exists."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "dicomkit"

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
        "client_context",
        "decode_data",
        "encode_data",
        "memory_pair",
        "response_for",
        "server_context",
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


PACKAGES = sorted(
    ".".join(p.relative_to(SRC.parent).parts[:-1])
    for p in SRC.rglob("__init__.py")
    if "__pycache__" not in p.parts
)


def test_implementation_modules_are_private() -> None:
    """h11 style: a package's ``__init__`` is its contract, the modules under it are private
    (``_name.py``). ``dicomkit.dictionary`` keeps its generated constant namespaces (``uids``,
    ``tags``, ``status_codes``) and lookups public; top-level ``errors`` is public."""
    public = [
        str(p.relative_to(SRC.parent))
        for p in SRC.rglob("*.py")
        if p.parent != SRC
        and p.parent.name != "dictionary"
        and not p.name.startswith("_")
        and "__pycache__" not in p.parts
    ]
    assert public == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_exports_what_it_lists(package: str) -> None:
    mod = importlib.import_module(package)
    listed = getattr(mod, "__all__", [])
    assert [name for name in listed if getattr(mod, name, None) is None] == []
    assert len(listed) == len(set(listed)), "a name is listed twice"


def test_net_exports_are_the_implementation_objects() -> None:
    """The root re-exports, it does not wrap: the classes handlers see are the same ones."""
    from dicomkit import net
    from dicomkit.net._messages import Incoming
    from dicomkit.net.proto._dimse import CStoreRequest

    assert net.Incoming is Incoming and net.CStoreRequest is CStoreRequest
