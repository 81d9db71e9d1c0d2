"""Capabilities (PS3.18 8.9, 10.8): ``OPTIONS`` on the service root or any resource answers
with the ``Allow`` header and a description of what the server offers -- WADL
(``application/vnd.sun.wadl+xml``, the default the standard names) or, asked for with
``Accept: application/json``, the same as a JSON document.

The description is made from the application's own routes, so it cannot claim a resource
the server does not serve (nor forget one it does).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import quoteattr

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

__all__ = ["WADL", "capabilities_response", "describe_routes"]

WADL = "application/vnd.sun.wadl+xml"
_WADL_NS = "http://wadl.dev.java.net/2009/02"

#: what each kind of resource answers with (request bodies for POST / PUT)
_MEDIA: list[tuple[str, str, tuple[str, ...]]] = [
    (r"/metadata$", "GET", ("application/dicom+json", "application/dicom+xml")),
    (r"/rendered$", "GET", ("image/jpeg", "image/png")),
    (r"/thumbnail$", "GET", ("image/jpeg", "image/png")),
    (r"/bulkdata/", "GET", ("multipart/related; type=application/octet-stream",)),
    (
        r"/frames/\{frames\}$",
        "GET",
        (
            "multipart/related; type=application/octet-stream",
            "multipart/related; type=image/jls",
            "multipart/related; type=image/jp2",
            "multipart/related; type=image/jpeg",
        ),
    ),
    (r"^/(studies|series|instances)$|/(series|instances)$", "GET", ("application/dicom+json",)),
    (r"/workitems", "GET", ("application/dicom+json",)),
    (r"^/studies(/\{study\})?$", "POST", ("multipart/related; type=application/dicom",)),
    (r"/workitems", "POST", ("application/dicom+json",)),
    (r"/workitems", "PUT", ("application/dicom+json",)),
    (r"", "GET", ("multipart/related; type=application/dicom", "application/zip")),
]

_QIDO_PARAMS = ("includefield", "fuzzymatching", "limit", "offset", "{attributeID}")


def describe_routes(routes: Iterable[BaseRoute]) -> list[dict[str, Any]]:
    """``[{"path", "methods": {METHOD: [media types]}}]`` of the application's routes
    (OPTIONS left out: every resource answers it); WebSocket channels are GET resources
    marked ``"websocket": True``."""
    merged: dict[str, dict[str, list[str]]] = {}
    channels: set[str] = set()
    for route in routes:
        if isinstance(route, WebSocketRoute):  # the UPS event channel (PS3.18 8.10.4)
            channels.add(route.path)
            merged.setdefault(route.path, {})["GET"] = []
            continue
        if not isinstance(route, Route):
            continue
        methods = sorted((route.methods or set()) - {"HEAD", "OPTIONS"})
        entry = merged.setdefault(route.path, {})
        for method in methods:
            if method == "DELETE":
                entry[method] = []
                continue
            for pattern, m, media in _MEDIA:
                if m == method and re.search(pattern, route.path):
                    entry[method] = list(media)
                    break
            else:
                entry[method] = []
    return [
        {"path": p, "methods": m, **({"websocket": True} if p in channels else {})}
        for p, m in sorted(merged.items())
    ]


def _wadl(base: str, resources: list[dict[str, Any]]) -> bytes:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<application xmlns="{_WADL_NS}">',
        f"<resources base={quoteattr(base + '/')}>",
    ]
    for res in resources:
        out.append(f"<resource path={quoteattr(res['path'].lstrip('/'))}>")
        for method, media in res["methods"].items():
            out.append(f"<method name={quoteattr(method)}>")
            if res.get("websocket"):  # opened with an Upgrade: websocket handshake
                out.append('<request><param name="Upgrade" style="header" fixed="websocket"/>')
                out.append("</request><response/></method>")
                continue
            if method == "GET" and re.search(r"(studies|series|instances|workitems)$", res["path"]):
                out.append("<request>")
                for name in _QIDO_PARAMS:
                    out.append(f'<param name={quoteattr(name)} style="query"/>')
                out.append("</request>")
            if method in ("POST", "PUT") and media:
                out.append("<request>")
                out += [f"<representation mediaType={quoteattr(t)}/>" for t in media]
                out.append("</request><response/>")
            else:
                out.append("<response>")
                out += [f"<representation mediaType={quoteattr(t)}/>" for t in media]
                out.append("</response>")
            out.append("</method>")
        out.append("</resource>")
    out.append("</resources></application>\n")
    return "".join(out).encode()


def capabilities_response(
    request: Request, base: str, routes: Iterable[BaseRoute], allow: str
) -> Response:
    """The answer to ``OPTIONS``: WADL by default, JSON when asked for."""
    from dicomkit.web._wado import parse_accept

    resources = describe_routes(routes)
    headers = {"Allow": allow}
    for m in parse_accept(request.headers.get("accept", "") or WADL):
        if m.q <= 0:
            continue
        if m.type in ("application/json", "application/dicom+json"):
            body = json.dumps({"base": base, "resources": resources}, indent=1).encode()
            return Response(body, media_type="application/json", headers=headers)
        if m.type in (WADL, "application/xml", "text/xml", "*/*", "application/*"):
            break
    return Response(_wadl(base, resources), media_type=WADL, headers=headers)
