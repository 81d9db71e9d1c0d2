"""The node's web page at ``/``: a study list with search, a study page with series
thumbnails and a series viewer (scroll, window/level, zoom/pan), all in the plain
HTML/CSS/JS files of ``dicomkit/web/static`` (no build step, nothing from a CDN). The
page talks only to the node's own DICOMweb API under ``prefix``.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["STATIC", "viewer_routes"]

#: the folder of the page's files (package data)
STATIC = Path(__file__).parent / "static"


def viewer_routes(prefix: str) -> list[BaseRoute]:
    """``/`` (the page, told where the DICOMweb API is) and ``/static/...`` (its files)."""
    page = (STATIC / "index.html").read_text(encoding="utf-8").replace("{{DICOMWEB}}", prefix)

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    return [
        Route("/", index, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
