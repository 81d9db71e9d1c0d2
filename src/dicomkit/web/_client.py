"""A DICOMweb client (PS3.18) on the standard library: search (QIDO-RS), retrieve (WADO-RS)
and store (STOW-RS) against any DICOMweb server, ``dicomkit web find|get|store`` underneath.

Multipart answers are read with the :mod:`email` package (RFC 2046 / 2387);
answers are held in memory (one response at a time).
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.errors import DicomError
from dicomkit.io._json import from_json

__all__ = ["WebClient", "WebClientError"]

DICOM_JSON = "application/dicom+json"
LEVELS = ("studies", "series", "instances")


class WebClientError(DicomError):
    """A DICOMweb request that failed: ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


def _authorization(user: str | None, password: str | None, token: str | None) -> str:
    if token:
        return f"Bearer {token}"
    if user:
        import base64

        pair = f"{user}:{password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")
    return ""


class WebClient:
    """Requests to the DICOMweb service at ``url`` (e.g. ``http://host:8042/dicom-web``)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 60.0,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        cafile: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        #: the Authorization header sent with every request (HTTP Basic or Bearer), if any
        self.authorization = _authorization(user, password, token)
        #: TLS: verify the server against ``cafile`` (default: the system's CAs)
        self.context: ssl.SSLContext | None = None
        if cafile is not None:
            self.context = ssl.create_default_context(cafile=cafile)

    def _open(self, request: urllib.request.Request) -> tuple[str, bytes]:
        if self.authorization and not request.has_header("Authorization"):
            request.add_header("Authorization", self.authorization)
        try:
            with urllib.request.urlopen(
                request, timeout=self.timeout, context=self.context
            ) as response:
                return str(response.headers.get("Content-Type", "")), response.read()
        except urllib.error.HTTPError as exc:
            with contextlib.closing(exc):
                detail = exc.read().decode("utf-8", "replace").strip()[:500]
            if exc.code == 401 and not self.authorization:
                detail += " (this server wants credentials: --user NAME[:PASSWORD] or --token)"
            raise WebClientError(
                f"{request.get_method()} {request.full_url}: HTTP {exc.code} {exc.reason}"
                + (f": {detail}" if detail else ""),
                exc.code,
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise WebClientError(
                f"cannot reach {request.full_url}: {reason}; is the server running and the "
                "URL right (http://HOST:PORT/dicom-web)?"
            ) from None

    def search(
        self,
        level: str = "studies",
        filters: Mapping[str, str] | None = None,
        *,
        study: str | None = None,
        series: str | None = None,
        includefield: Iterable[str] = (),
        limit: int | None = None,
        offset: int | None = None,
        fuzzy: bool = False,
    ) -> list[Dataset]:
        """QIDO-RS: the matches at ``level`` (``studies``, ``series`` or ``instances``),
        within ``study`` / ``series`` when given."""
        if level not in LEVELS:
            raise WebClientError(f"level {level!r}: use one of {', '.join(LEVELS)}")
        path = ""
        if study:
            path += f"/studies/{study}"
        if series:
            path += f"/series/{series}"
        path += f"/{level}"
        params: list[tuple[str, str]] = list((filters or {}).items())
        params += [("includefield", name) for name in includefield]
        if limit is not None:
            params.append(("limit", str(limit)))
        if offset is not None:
            params.append(("offset", str(offset)))
        if fuzzy:
            params.append(("fuzzymatching", "true"))
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        request = urllib.request.Request(self.url + path + query, headers={"Accept": DICOM_JSON})
        _ctype, body = self._open(request)
        if not body.strip():
            return []
        return [from_json(obj) for obj in json.loads(body)]

    def retrieve(
        self,
        study: str,
        series: str | None = None,
        sop: str | None = None,
        *,
        transfer_syntax: str = "*",
    ) -> list[bytes]:
        """WADO-RS: the Part 10 files of a study, series or instance (``transfer_syntax``:
        ``*`` as stored, or a UID)."""
        path = f"/studies/{study}"
        if series:
            path += f"/series/{series}"
        if sop:
            path += f"/instances/{sop}"
        accept = f'multipart/related; type="application/dicom"; transfer-syntax={transfer_syntax}'
        request = urllib.request.Request(self.url + path, headers={"Accept": accept})
        ctype, body = self._open(request)
        head = f"Content-Type: {ctype}\r\n\r\n".encode()
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        if not msg.is_multipart():
            raise WebClientError(f"{request.full_url}: answer is {ctype}, not multipart/related")
        return [bytes(part.get_payload(decode=True) or b"") for part in msg.iter_parts()]

    def store(self, files: Iterable[bytes], *, study: str | None = None) -> Dataset:
        """STOW-RS: send Part 10 files; the server's answer (ReferencedSOPSequence,
        FailedSOPSequence). A 409 (nothing stored) also returns the answer."""
        # the email package's generator rewrites line ends inside binary parts: the
        # multipart/related framing (RFC 2046) is written as the server writes its own
        from dicomkit.web._wado import multipart_parts

        boundary = uuid.uuid4().hex
        body = b"".join(
            multipart_parts((("application/dicom", iter((data,))) for data in files), boundary)
        )
        ctype = f'multipart/related; type="application/dicom"; boundary={boundary}'
        url = self.url + "/studies" + (f"/{study}" if study else "")
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": ctype, "Accept": DICOM_JSON},
        )
        try:
            _ctype, answer = self._open(request)
        except WebClientError as exc:
            if exc.status != 409:
                raise
            return Dataset()
        return from_json(answer) if answer.strip() else Dataset()

    def delete(self, study: str, series: str | None = None, sop: str | None = None) -> None:
        """DELETE a study, series or instance (a common extension; the server must allow
        it)."""
        path = f"/studies/{study}"
        if series:
            path += f"/series/{series}"
        if sop:
            path += f"/instances/{sop}"
        self._open(urllib.request.Request(self.url + path, method="DELETE"))

    def capabilities(self) -> dict[str, Any]:
        """The server's capabilities (``OPTIONS`` on the service root, PS3.18 8.9) as JSON:
        ``{"base": ..., "resources": [{"path", "methods": {METHOD: [media types]}}]}``."""
        request = urllib.request.Request(
            self.url + "/", method="OPTIONS", headers={"Accept": "application/json"}
        )
        ctype, body = self._open(request)
        if "json" not in ctype:
            raise WebClientError(f"{request.full_url}: capabilities came as {ctype}, not JSON")
        answer: dict[str, Any] = json.loads(body)
        return answer

    def metadata(
        self, study: str, series: str | None = None, sop: str | None = None
    ) -> list[dict[str, Any]]:
        """WADO-RS metadata (DICOM JSON objects, BulkDataURIs as the server wrote them)."""
        path = f"/studies/{study}"
        if series:
            path += f"/series/{series}"
        if sop:
            path += f"/instances/{sop}"
        request = urllib.request.Request(
            self.url + path + "/metadata", headers={"Accept": DICOM_JSON}
        )
        _ctype, body = self._open(request)
        objs: list[dict[str, Any]] = json.loads(body)
        return objs

    def store_json(
        self,
        objects: list[dict[str, Any]],
        bulk: Mapping[str, tuple[str, bytes]] | None = None,
        *,
        study: str | None = None,
    ) -> Dataset:
        """STOW-RS of DICOM JSON metadata (PS3.18 10.5.1.2.2): ``objects`` may hold
        ``BulkDataURI`` values that are keys of ``bulk``, whose values are ``(content type,
        bytes)`` -- e.g. ``("application/octet-stream", pixels)`` or ``("image/jls",
        frame)``. The server's answer as :meth:`store`."""
        from dicomkit.web._wado import multipart_parts

        boundary = uuid.uuid4().hex
        parts: list[tuple[str, Any]] = [
            (DICOM_JSON, iter((json.dumps(objects, ensure_ascii=False).encode(),)))
        ]
        for uri, (ctype, data) in (bulk or {}).items():
            parts.append((f"{ctype}\r\nContent-Location: {uri}", iter((data,))))
        body = b"".join(multipart_parts(iter(parts), boundary))
        ctype = f'multipart/related; type="{DICOM_JSON}"; boundary={boundary}'
        url = self.url + "/studies" + (f"/{study}" if study else "")
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": ctype, "Accept": DICOM_JSON}
        )
        try:
            _ctype, answer = self._open(request)
        except WebClientError as exc:
            if exc.status != 409:
                raise
            return Dataset()
        return from_json(answer) if answer.strip() else Dataset()
