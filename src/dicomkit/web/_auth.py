"""Who may do what on DICOMweb, and from which web origins: an ASGI middleware in front of
the application (:func:`~dicomkit.web._app.create_app` adds it from the ``[web]`` settings).

- **Authentication** (RFC 7617 Basic, RFC 6750 Bearer) against the users of the config
  file; a wrong password or unknown token is 401, whatever the anonymous permissions are.
- **Permissions**: ``GET``/``HEAD``/``OPTIONS`` need ``read``; ``POST``/``PUT`` need
  ``store``; ``DELETE`` needs ``delete``. A request without credentials gets the
  ``anonymous`` permissions; one it lacks is 401 with a ``WWW-Authenticate`` challenge
  (a browser then asks for a password), and a signed-in user lacking it gets 403 -- both
  say, in words, what was needed.
- **The web page**: ``GET /`` and ``/static/...`` (the page's own files, no patient data)
  need no permission, so that a browser can load the page and let the user sign in. The
  page's requests carry ``X-Requested-With: XMLHttpRequest``: their 401 challenges Bearer
  only (a Basic challenge would make the browser open its own password dialog over the
  page's sign-in form) and an ``X-Auth-Schemes`` header names the schemes the users of the
  config can sign in with (``Basic`` for users with a password, ``Bearer`` with a token).
- **CORS** (Fetch standard): for an allowed ``Origin``, answers carry
  ``Access-Control-Allow-Origin`` (and expose ``Warning``/``Content-Location``); preflight
  ``OPTIONS`` requests are answered here, before authentication (browsers send them without
  credentials).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from dicomkit.archive._web_settings import WebSettings, WebUser

__all__ = ["AccessMiddleware", "needed_permission"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_REALM = 'realm="dicomkit DICOMweb"'
_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS"


def needed_permission(method: str, path: str = "") -> str:
    """The permission a request needs: ``read``, ``store`` or ``delete`` (UPS-RS
    subscriptions need ``read``: they only ask to be told)."""
    if "/subscribers/" in path:
        return "read"
    if method in ("POST", "PUT", "PATCH"):
        return "store"
    if method == "DELETE":
        return "delete"
    return "read"


class AccessMiddleware:
    """Authentication, permissions and CORS for an ASGI app, from :class:`WebSettings`."""

    def __init__(self, app: ASGIApp, settings: WebSettings) -> None:
        self.app = app
        self.settings = settings
        self.origins = frozenset(settings.cors_origins)
        schemes = []
        if any(u.password_sha256 for u in settings.users.values()):
            schemes.append("Basic")
        if any(u.token for u in settings.users.values()):
            schemes.append("Bearer")
        #: what the web page may offer in its sign-in form
        self.schemes = ", ".join(schemes).encode()

    def _allowed_origin(self, origin: str) -> str | None:
        if not origin or not self.origins:
            return None
        if "*" in self.origins:
            return "*" if not self.settings.auth_required else origin
        return origin if origin.rstrip("/") in self.origins else None

    def _user(self, authorization: str) -> tuple[WebUser | None, str]:
        """The user the Authorization header names (None, reason when it names nobody)."""
        scheme, _, credentials = authorization.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "basic":
            try:
                text = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None, "the Basic credentials are not base64 of user:password"
            name, sep, password = text.partition(":")
            user = self.settings.users.get(name)
            if not sep or user is None or not user.password_matches(password):
                return None, "wrong user name or password"
            return user, ""
        if scheme.lower() == "bearer":
            found = None
            for user in self.settings.users.values():
                if user.token and hmac.compare_digest(user.token.encode(), credentials.encode()):
                    found = user
            return (found, "") if found else (None, "the bearer token is not known here")
        return None, f"unknown authorization scheme {scheme!r}: use Basic or Bearer"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method = str(scope["method"])
        origin = self._allowed_origin(headers.get("origin", ""))
        cors: list[tuple[bytes, bytes]] = []
        if origin is not None:
            cors = [
                (b"access-control-allow-origin", origin.encode()),
                (b"access-control-expose-headers", b"Warning, Content-Location, Location"),
            ]
            if origin != "*":
                cors += [(b"vary", b"Origin"), (b"access-control-allow-credentials", b"true")]
            if method == "OPTIONS" and "access-control-request-method" in headers:
                asked = headers.get("access-control-request-headers", "")
                await _answer(
                    send,
                    204,
                    "",
                    [
                        *cors,
                        (b"access-control-allow-methods", _METHODS.encode()),
                        (b"access-control-allow-headers", asked.encode() or b"*"),
                        (b"access-control-max-age", b"600"),
                    ],
                )
                return
        path = str(scope.get("path", ""))
        if method in ("GET", "HEAD") and (path == "/" or path.startswith("/static/")):
            await self.app(scope, receive, send)  # the page itself: no patient data
            return
        need = needed_permission(method, path)
        user: WebUser | None = None
        authorization = headers.get("authorization", "")
        page = headers.get("x-requested-with", "").lower() == "xmlhttprequest"
        if authorization and self.settings.users:
            user, why = self._user(authorization)
            if user is None:
                await _answer(send, 401, f"{why}\n", cors + self._challenge(page))
                return
        allowed = user.permissions if user is not None else self.settings.anonymous
        if need == "delete" and not self.settings.allow_delete:
            allowed = allowed | {"delete"}  # the application answers 405: DELETE is off
        if need not in allowed:
            if user is None and not self.settings.users:
                await _answer(
                    send,
                    403,
                    f"{method} needs the {need!r} permission, which requests without "
                    "credentials do not have here; the operator can allow it ([web] "
                    "anonymous) or add users ([web.users.NAME])\n",
                    cors,
                )
            elif user is None:
                await _answer(
                    send,
                    401,
                    f"{method} needs the {need!r} permission: sign in (HTTP Basic with a user "
                    "of the [web.users] config, or Authorization: Bearer TOKEN)\n",
                    cors + self._challenge(page),
                )
            else:
                await _answer(
                    send,
                    403,
                    f"user {user.name!r} may not {need} (permissions: "
                    f"{', '.join(sorted(user.permissions)) or 'none'}); ask the node's "
                    f"operator to add {need!r} to [web.users.{user.name}] permissions\n",
                    cors,
                )
            return
        if user is not None:
            scope.setdefault("state", {})["user"] = user.name
        if not cors:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *cors]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _challenge(self, page: bool) -> list[tuple[bytes, bytes]]:
        """The WWW-Authenticate headers of a 401 (for the web page: no Basic challenge, and
        the schemes the page's form may offer)."""
        bearer = (b"www-authenticate", f"Bearer {_REALM}".encode())
        if page:
            return [bearer, (b"x-auth-schemes", self.schemes)]
        return [(b"www-authenticate", f'Basic {_REALM}, charset="UTF-8"'.encode()), bearer]

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket (the UPS-RS event channel) needs ``read``, like a GET: refused before
        the handshake completes, with the HTTP status and the reason in words where the
        server offers the ASGI denial response, else a close (HTTP 403)."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        authorization = headers.get("authorization", "")
        user: WebUser | None = None
        status, why = 0, ""
        if authorization and self.settings.users:
            user, why = self._user(authorization)
            status = 401 if user is None else 0
        if not status:
            allowed = user.permissions if user is not None else self.settings.anonymous
            if "read" not in allowed:
                status = 401 if user is None else 403
                who = "requests without credentials" if user is None else f"user {user.name!r}"
                why = (
                    f"the event channel needs the 'read' permission, which {who} "
                    "lack here (sign in with Authorization: Basic or Bearer)"
                )
        if not status:
            if user is not None:
                scope.setdefault("state", {})["user"] = user.name
            await self.app(scope, receive, send)
            return
        await receive()  # websocket.connect
        if "websocket.http.response" in scope.get("extensions", {}):
            body = f"{why}\n".encode()
            await send(
                {
                    "type": "websocket.http.response.start",
                    "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")]
                    + (self._challenge(False) if status == 401 else []),
                }
            )
            await send({"type": "websocket.http.response.body", "body": body})
        else:
            await send({"type": "websocket.close", "code": 1008, "reason": why[:120]})


async def _answer(send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = text.encode()
    start_headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": body})
