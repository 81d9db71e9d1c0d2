"""DICOMweb (PS3.18) for the archive node: QIDO-RS, WADO-RS and STOW-RS over the archive's
index and store (:mod:`dicomkit.web._app`), served by Uvicorn in the node's event loop.

Needs the ``web`` extra: ``pip install dicomkit[web]``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dicomkit.web._app import HttpServer, create_app
    from dicomkit.web._client import WebClient, WebClientError

__all__ = ["HttpServer", "WebClient", "WebClientError", "create_app"]

#: imported on first use: the server side needs the ``web`` extra (Starlette, Uvicorn)
_LAZY = {
    "HttpServer": "dicomkit.web._app",
    "create_app": "dicomkit.web._app",
    "WebClient": "dicomkit.web._client",
    "WebClientError": "dicomkit.web._client",
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'dicomkit.web' has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
