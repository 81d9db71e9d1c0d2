"""DICOMweb (PS3.18) for the archive node: QIDO-RS, WADO-RS and STOW-RS over the archive's
index and store (:mod:`dicomkit.web._app`), served by Uvicorn in the node's event loop.

Needs the ``web`` extra: ``pip install dicomkit[web]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dicomkit._lazy import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
