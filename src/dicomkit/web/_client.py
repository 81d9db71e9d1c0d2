"""A DICOMweb client (PS3.18) on the standard library: search (QIDO-RS), retrieve (WADO-RS),
store (STOW-RS, Part 10 or DICOM JSON + bulk data) and UPS-RS workitems (create, search,
claim, complete, cancel, subscribe, and the WebSocket event channel, with the `websockets`
package) against any DICOMweb server, ``dicomkit web ...`` underneath.

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
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from dicomkit.core._dataset import Dataset
from dicomkit.dictionary import uids
from dicomkit.errors import DicomError
from dicomkit.io._json import from_json

__all__ = ["WebClient", "WebClientError"]

DICOM_JSON = "application/dicom+json"
LEVELS = ("studies", "series", "instances")
#: the well-known UPS instance of global subscriptions (PS3.4 CC.3.1.4)
_UPS_GLOBAL = uids.UPSGlobalSubscriptionInstance
_JSON_HEADERS = {"Content-Type": DICOM_JSON, "Accept": DICOM_JSON}


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
        headers, body = self._exchange(request)
        return str(headers.get("Content-Type", "")), body

    def _exchange(self, request: urllib.request.Request) -> tuple[Any, bytes]:
        """The answer's headers and body; raises :class:`WebClientError` in words."""
        if self.authorization and not request.has_header("Authorization"):
            request.add_header("Authorization", self.authorization)
        try:
            with urllib.request.urlopen(
                request, timeout=self.timeout, context=self.context
            ) as response:
                return response.headers, response.read()
        except urllib.error.HTTPError as exc:
            with contextlib.closing(exc):
                detail = exc.read().decode("utf-8", "replace").strip()[:500]
            if exc.code == 401 and not self.authorization:
                detail += " (this server wants credentials: --user NAME[:PASSWORD] or --token)"
            ctype = request.get_header("Content-type") or ""
            if exc.code == 415 and DICOM_JSON in ctype and request.get_method() == "POST":
                detail = (
                    "the server does not accept STOW-RS with DICOM JSON metadata and bulk "
                    "data (Unsupported Media Type); send the instances as Part 10 files "
                    "instead (dicomkit web store without --json)"
                    + (f" [server: {detail}]" if detail else "")
                )
            elif exc.code in (404, 405) and "/workitems" in request.full_url:
                detail = (detail + " " if detail else "") + (
                    "(no such workitem, or the server offers no UPS-RS: check the URL and "
                    "the workitem UID)"
                )
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
        query = _search_query(filters, includefield, limit, offset, fuzzy=fuzzy)
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

    def store_files_as_json(self, files: Iterable[bytes], *, study: str | None = None) -> Dataset:
        """STOW-RS of Part 10 files sent as DICOM JSON metadata with their binary values
        over 1 KiB (Pixel Data ...) as bulk data parts (PS3.18 10.5.1.2.2); the server's
        answer as :meth:`store`. Compressed (encapsulated) Pixel Data is refused here: send
        such files with :meth:`store`."""
        import dicomkit
        from dicomkit.io._json import to_json

        objects: list[dict[str, Any]] = []
        bulk: dict[str, tuple[str, bytes]] = {}
        for data in files:
            ds = dicomkit.read(data)
            if 0x7FE00010 in ds and ds[0x7FE00010].is_undefined_length:
                raise WebClientError(
                    f"{ds.get('SOPInstanceUID', '?')}: its Pixel Data is compressed "
                    f"({ds.transfer_syntax}); STOW-RS with JSON sends uncompressed values: "
                    "send it as a Part 10 file (without --json), or decompress it first "
                    "(dicomkit transcode)"
                )

            def handler(element: Any) -> str:
                uri = f"{self.url}/bulk/{uuid.uuid4().hex}"
                value = element.value
                raw = bytes(value) if isinstance(value, (bytes, bytearray, memoryview)) else b""
                bulk[uri] = ("application/octet-stream", raw)
                return uri

            objects.append(to_json(ds, bulk_data_uri_handler=handler))
        return self.store_json(objects, bulk, study=study)

    # -- UPS-RS (PS3.18 11) ------------------------------------------------------------------

    def _json_call(
        self, method: str, path: str, body: Any = None, *, query: str = ""
    ) -> tuple[str, bytes]:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        request = urllib.request.Request(
            self.url + path + query, data=data, method=method, headers=_JSON_HEADERS
        )
        return self._open(request)

    def create_workitem(self, workitem: Dataset, *, uid: str | None = None) -> str:
        """UPS-RS Create (POST /workitems): a SCHEDULED workitem; returns its UID (from
        the Location the server answers)."""
        from dicomkit.io._json import to_json

        query = f"?workitem={urllib.parse.quote(uid)}" if uid else ""
        request = urllib.request.Request(
            self.url + "/workitems" + query,
            data=json.dumps([to_json(workitem)], ensure_ascii=False).encode(),
            method="POST",
            headers=_JSON_HEADERS,
        )
        headers, _body = self._exchange(request)
        location = str(headers.get("Location", ""))
        made = location.rstrip("/").rsplit("/", 1)[-1] if location else ""
        return made or str(uid or workitem.get("SOPInstanceUID", "") or "")

    def search_workitems(
        self,
        filters: Mapping[str, str] | None = None,
        *,
        includefield: Iterable[str] = (),
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[Dataset]:
        """UPS-RS Search (GET /workitems): the matching workitems."""
        query = _search_query(filters, includefield, limit, offset)
        _ctype, body = self._json_call("GET", "/workitems", query=query)
        if not body.strip():
            return []
        return [from_json(obj) for obj in json.loads(body)]

    def get_workitem(self, uid: str) -> Dataset:
        """UPS-RS Retrieve (GET /workitems/{uid})."""
        _ctype, body = self._json_call("GET", f"/workitems/{uid}")
        return from_json(body)

    def update_workitem(
        self, uid: str, changes: Dataset, *, transaction: str | None = None
    ) -> None:
        """UPS-RS Update (POST /workitems/{uid}); ``transaction``: the Transaction UID of an
        IN PROGRESS workitem."""
        from dicomkit.io._json import to_json

        query = f"?transaction={urllib.parse.quote(transaction)}" if transaction else ""
        self._json_call("POST", f"/workitems/{uid}", [to_json(changes)], query=query)

    def change_workitem_state(self, uid: str, state: str, transaction: str) -> None:
        """UPS-RS Change State (PUT /workitems/{uid}/state): ``IN PROGRESS`` (claim, with a
        new Transaction UID), ``COMPLETED`` or ``CANCELED`` (with the claim's)."""
        body = [
            {
                "00741000": {"vr": "CS", "Value": [state]},
                "00081195": {"vr": "UI", "Value": [transaction]},
            }
        ]
        self._json_call("PUT", f"/workitems/{uid}/state", body)

    def request_cancel(self, uid: str, reason: str = "") -> None:
        """UPS-RS Request Cancellation (POST /workitems/{uid}/cancelrequest)."""
        body = [{"00741238": {"vr": "LT", "Value": [reason]}}] if reason else None
        self._json_call("POST", f"/workitems/{uid}/cancelrequest", body)

    def subscribe(
        self, ae_title: str, uid: str | None = None, *, deletion_lock: bool = False
    ) -> None:
        """UPS-RS Subscribe (POST /workitems/{uid}/subscribers/{aet}): to one workitem, or
        to every workitem (global subscription) when ``uid`` is None."""
        query = "?deletionlock=true" if deletion_lock else ""
        path = f"/workitems/{uid or _UPS_GLOBAL}/subscribers/{urllib.parse.quote(ae_title)}"
        self._json_call("POST", path, query=query)

    def unsubscribe(self, ae_title: str, uid: str | None = None) -> None:
        """UPS-RS Unsubscribe (DELETE /workitems/{uid}/subscribers/{aet})."""
        path = f"/workitems/{uid or _UPS_GLOBAL}/subscribers/{urllib.parse.quote(ae_title)}"
        self._json_call("DELETE", path)

    def events(self, ae_title: str, *, timeout: float | None = None) -> Iterator[Dataset]:
        """The UPS-RS event channel (PS3.18 8.10.4, ``ws[s]://.../subscribers/{aet}``): each
        event report as a data set (EventTypeID, AffectedSOPInstanceUID and the event
        information, e.g. ProcedureStepState), as it arrives. ``timeout``: seconds to wait
        for the next event (None: forever); the iteration ends when the server closes the
        channel. Needs the ``websockets`` package (the ``web`` extra)."""
        try:
            from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
            from websockets.sync.client import connect
        except ImportError:
            raise WebClientError(
                "the UPS-RS event channel needs the websockets package: pip install 'dicomkit[web]'"
            ) from None
        scheme, rest = self.url.split("://", 1)
        url = ("wss" if scheme == "https" else "ws") + "://" + rest
        url += f"/subscribers/{urllib.parse.quote(ae_title)}"
        headers = {"Authorization": self.authorization} if self.authorization else None
        try:
            ws = connect(
                url,
                additional_headers=headers,
                ssl=self.context if scheme == "https" else None,
                open_timeout=self.timeout,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            body = bytes(exc.response.body or b"").decode("utf-8", "replace").strip()
            hint = {
                404: "the server offers no UPS-RS event channel here (check the URL)",
                401: "the channel wants credentials: --user NAME[:PASSWORD] or --token",
                403: "refused: the server offers no UPS-RS event channel here, or not to "
                "this user (check the URL and the credentials)",
            }.get(status, "")
            hint = f"{body} ({hint})" if body and hint else body or hint
            raise WebClientError(f"cannot open {url}: HTTP {status}: {hint}", status) from None
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            raise WebClientError(
                f"cannot open the event channel {url}: {exc}; is the server running and the "
                "URL right (http://HOST:PORT/dicom-web)?"
            ) from None
        with ws:
            while True:
                try:
                    message = ws.recv(timeout=timeout)
                except TimeoutError:
                    return
                except ConnectionClosed:
                    return
                yield from_json(json.loads(message))


def _search_query(
    filters: Mapping[str, str] | None,
    includefield: Iterable[str],
    limit: int | None,
    offset: int | None,
    *,
    fuzzy: bool = False,
) -> str:
    """The query string of a QIDO-RS or UPS-RS search (``""`` when there is nothing to ask)."""
    params: list[tuple[str, str]] = list((filters or {}).items())
    params += [("includefield", name) for name in includefield]
    if limit is not None:
        params.append(("limit", str(limit)))
    if offset is not None:
        params.append(("offset", str(offset)))
    if fuzzy:
        params.append(("fuzzymatching", "true"))
    return f"?{urllib.parse.urlencode(params)}" if params else ""
