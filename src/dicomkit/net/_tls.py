"""TLS contexts for DICOM (PS3.15 B.1, the Basic TLS Secure Transport Connection profile).

Thin helpers over :mod:`ssl`: a client context that verifies the server against a CA (and
may present a certificate for mutual authentication) and a server context that presents its
certificate and, when given a CA, can require client certificates.
"""

from __future__ import annotations

import ssl
from os import PathLike

StrPath = str | PathLike[str]


def client_context(
    *,
    ca: StrPath | None = None,
    cert: StrPath | None = None,
    key: StrPath | None = None,
    verify: bool = True,
    check_hostname: bool = False,
) -> ssl.SSLContext:
    """A client context. ``ca``: trusted CA file (system defaults when None); ``cert``/``key``:
    our certificate for mutual authentication; ``verify=False`` accepts any server (tests).
    DICOM peers are usually addressed by IP, so host names are not checked by default."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca) if ca else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = check_hostname and verify
    if not verify:
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(str(cert), str(key) if key else None)
    return ctx


def server_context(
    *,
    cert: StrPath,
    key: StrPath | None = None,
    ca: StrPath | None = None,
    require_client_cert: bool = False,
) -> ssl.SSLContext:
    """A server context presenting ``cert``; with ``ca``, client certificates are verified
    (and required when ``require_client_cert``)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key) if key else None)
    if ca:
        ctx.load_verify_locations(str(ca))
        ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    elif require_client_cert:
        raise ValueError("require_client_cert needs a CA to verify client certificates with")
    return ctx


__all__ = ["client_context", "server_context"]
