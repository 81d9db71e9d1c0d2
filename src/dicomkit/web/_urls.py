"""The base URL of answers (RetrieveURL, BulkDataURI, Content-Location), as the client
reached the server.

From the request's ``Host`` header with its port (a server on port 8042 is not reachable
at ``http://host/``), and, when the request comes from a trusted reverse proxy (``[web]
trusted_proxies``, loopback by default), from ``X-Forwarded-Host``, ``X-Forwarded-Proto``,
``X-Forwarded-Port`` and ``X-Forwarded-Prefix`` -- the address the client used, not the
one the proxy used. Forwarded headers from anyone else are ignored (a client could
otherwise point other users' URLs anywhere).
"""

from __future__ import annotations

from starlette.requests import Request

__all__ = ["base_url"]

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _first(value: str) -> str:
    return value.split(",")[0].strip()


def base_url(request: Request, prefix: str) -> str:
    """``scheme://host[:port][forwarded prefix]prefix`` for links in an answer."""
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    scheme = request.url.scheme
    trusted = getattr(request.app.state, "trusted_proxies", ("127.0.0.1", "::1"))
    client = request.client.host if request.client else ""
    if client in trusted or "*" in trusted:
        h = request.headers
        if h.get("x-forwarded-proto"):
            scheme = _first(h["x-forwarded-proto"]).lower()
        if h.get("x-forwarded-host"):
            host = _first(h["x-forwarded-host"])
        port = _first(h.get("x-forwarded-port", ""))
        has_port = ":" in host.rpartition("]")[2]
        if port and not has_port and port != _DEFAULT_PORTS.get(scheme):
            host = f"{host}:{port}"
        forwarded_prefix = _first(h.get("x-forwarded-prefix", "")).rstrip("/")
        if forwarded_prefix.startswith("/"):
            prefix = forwarded_prefix + prefix
    return f"{scheme}://{host}{prefix}"
