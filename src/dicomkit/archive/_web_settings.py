"""The ``[web]`` section of the node's config file: how DICOMweb (:mod:`dicomkit.web`) is
served -- TLS, CORS, DELETE, and who may do what::

    [web]
    prefix = "/dicom-web"
    tls_cert = "web.pem"              # HTTPS (relative paths: relative to the file)
    tls_key = "web.key"
    tls_ca = "clients.pem"            # optional: clients must present a certificate it signed
    cors_origins = ["https://viewer.example.org"]   # or ["*"]; empty: no CORS headers
    trusted_proxies = ["127.0.0.1"]   # whose X-Forwarded-Host/-Proto/-Port/-Prefix count
    allow_delete = false              # DELETE of studies / series (off by default)
    anonymous = ["read"]              # what a request without credentials may do; default:
                                      # nothing once users exist, read and store without users

    [web.users.alice]                 # HTTP Basic: alice and her password
    password_sha256 = "5e88...42d8"   # hex SHA-256 of the password (or: password = "...")
    permissions = ["read", "store"]

    [web.users.pipeline]
    token = "a-long-random-string"    # Authorization: Bearer a-long-random-string
    permissions = ["read", "store", "delete"]

Permissions: ``read`` (QIDO-RS, WADO-RS, WADO-URI, UPS-RS search and retrieve), ``store``
(STOW-RS, UPS-RS create and update), ``delete`` (DELETE of studies and series; also needs
``allow_delete``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dicomkit.errors import ArchiveError

__all__ = ["PERMISSIONS", "WebSettings", "WebUser", "check_web", "web_settings"]

PERMISSIONS = ("read", "store", "delete")


@dataclass(frozen=True, slots=True)
class WebUser:
    """One DICOMweb user: a password (as its SHA-256) and/or a bearer token, and what the
    user may do."""

    name: str
    password_sha256: str = ""
    token: str = ""
    permissions: frozenset[str] = frozenset({"read"})

    def password_matches(self, password: str) -> bool:
        """Whether ``password`` is this user's (constant-time comparison)."""
        if not self.password_sha256:
            return False
        given = hashlib.sha256(password.encode()).hexdigest()
        return hmac.compare_digest(given, self.password_sha256)


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The checked ``[web]`` section (defaults when it is absent)."""

    prefix: str = "/dicom-web"
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None
    cors_origins: tuple[str, ...] = ()
    allow_delete: bool = False
    anonymous: frozenset[str] = frozenset({"read", "store"})
    users: Mapping[str, WebUser] = field(default_factory=dict)
    #: addresses whose X-Forwarded-Host/-Proto/-Port/-Prefix headers are believed
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")

    @property
    def auth_required(self) -> bool:
        """True once users are configured: requests then need credentials (except what
        ``anonymous`` allows)."""
        return bool(self.users)


_KEYS = (
    "prefix",
    "tls_cert",
    "tls_key",
    "tls_ca",
    "cors_origins",
    "allow_delete",
    "anonymous",
    "users",
    "trusted_proxies",
)


def _permissions(where: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _error(f"{where} = {value!r}: a list of {', '.join(PERMISSIONS)}")
    bad = [v for v in value if v not in PERMISSIONS]
    if bad:
        raise _error(f"{where}: unknown permission(s) {bad}; use {', '.join(PERMISSIONS)}")
    return frozenset(value)


def _error(message: str) -> ArchiveError:
    from dicomkit.archive._config import ConfigError

    return ConfigError(message)


def check_web(value: Any, base: Path = Path(".")) -> WebSettings:
    """The :class:`WebSettings` of a parsed ``[web]`` table; raises
    :class:`~dicomkit.archive._config.ConfigError` naming the key and what it takes."""
    if not isinstance(value, Mapping):
        raise _error("[web] must be a table of settings")
    bad = set(value) - set(_KEYS)
    if bad:
        raise _error(f"[web]: unknown key(s) {', '.join(sorted(bad))}; known: {', '.join(_KEYS)}")
    kw: dict[str, Any] = {}
    for key in ("tls_cert", "tls_key", "tls_ca"):
        if key in value:
            p = Path(str(value[key]))
            kw[key] = str(p if p.is_absolute() else base / p)
    if "tls_key" in kw and "tls_cert" not in kw:
        raise _error("[web] tls_key without tls_cert: HTTPS needs both (PEM files)")
    if "tls_cert" in kw and "tls_key" not in kw:
        raise _error("[web] tls_cert without tls_key: HTTPS needs both (PEM files)")
    if "prefix" in value:
        prefix = str(value["prefix"])
        if prefix and not prefix.startswith("/"):
            raise _error(f"[web] prefix = {prefix!r}: a path starting with /, e.g. /dicom-web")
        kw["prefix"] = prefix.rstrip("/")
    if "cors_origins" in value:
        origins = value["cors_origins"]
        if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
            raise _error(f"[web] cors_origins = {origins!r}: a list of origins, or ['*']")
        kw["cors_origins"] = tuple(o.rstrip("/") for o in origins)
    if "trusted_proxies" in value:
        proxies = value["trusted_proxies"]
        if not isinstance(proxies, list) or not all(isinstance(o, str) for o in proxies):
            raise _error(f"[web] trusted_proxies = {proxies!r}: a list of IP addresses")
        kw["trusted_proxies"] = tuple(proxies)
    if "allow_delete" in value:
        if not isinstance(value["allow_delete"], bool):
            raise _error(f"[web] allow_delete = {value['allow_delete']!r}: use true or false")
        kw["allow_delete"] = value["allow_delete"]
    if "anonymous" in value:
        kw["anonymous"] = _permissions("[web] anonymous", value["anonymous"])
    elif value.get("users"):
        kw["anonymous"] = frozenset()
    users: dict[str, WebUser] = {}
    tokens: set[str] = set()
    for name, entry in dict(value.get("users", {})).items():
        where = f"[web.users.{name}]"
        if not isinstance(entry, Mapping):
            raise _error(f"{where} must be a table (password_sha256, token, permissions)")
        extra = set(entry) - {"password", "password_sha256", "token", "permissions"}
        if extra:
            raise _error(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
        digest = str(entry.get("password_sha256", "")).lower()
        if "password" in entry:
            digest = hashlib.sha256(str(entry["password"]).encode()).hexdigest()
        if digest and (len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest)):
            raise _error(f"{where} password_sha256: 64 hex digits (sha256sum of the password)")
        token = str(entry.get("token", ""))
        if not digest and not token:
            raise _error(f"{where}: give a password (password_sha256) or a token, or both")
        if token and len(token) < 16:
            raise _error(f"{where} token: at least 16 characters (use a long random string)")
        if token in tokens:
            raise _error(f"{where} token: another user has the same token")
        if token:
            tokens.add(token)
        perms = _permissions(f"{where} permissions", entry.get("permissions", ["read"]))
        users[str(name)] = WebUser(str(name), digest, token, perms)
    kw["users"] = users
    return WebSettings(**kw)


def web_settings(services: Mapping[str, Mapping[str, Any]]) -> WebSettings:
    """The :class:`WebSettings` of a node config's ``services`` (defaults when the file has
    no ``[web]`` section)."""
    entry = services.get("web")
    if not entry:
        return WebSettings()
    return check_web(entry["settings"], Path(str(entry.get("base", "."))))
