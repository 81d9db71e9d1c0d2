"""The DICOMweb ASGI application (Starlette) over an :class:`~dicomkit.archive._node.Archive`.

Resources (PS3.18 10), under ``prefix`` (default ``/dicom-web``):

- QIDO-RS: ``GET /studies``, ``/series``, ``/instances``, ``/studies/{study}/series``,
  ``/studies/{study}/instances``, ``/studies/{study}/series/{series}/instances``;
- WADO-RS: ``GET /studies/{study}[/series/{series}[/instances/{sop}]]`` (instances),
  the same with ``/metadata``, ``.../instances/{sop}/frames/{list}`` and
  ``.../instances/{sop}/bulkdata/{tag}``, and ``.../instances/{sop}[/frames/{n}]/rendered``
  (image/jpeg or image/png through the pixel display pipeline; ``window``, ``quality``);
- STOW-RS: ``POST /studies`` and ``POST /studies/{study}``.

URLs in responses (RetrieveURL, BulkDataURI) are built from the request's Host header,
port included. :func:`serve_http` runs the application with Uvicorn as a task of the
running event loop (the archive node's own).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from dicomkit.archive import _audit as au
from dicomkit.archive._node import Archive
from dicomkit.archive._schema import Level
from dicomkit.archive._web_settings import WebSettings
from dicomkit.errors import DicomError
from dicomkit.io._json import to_json
from dicomkit.web import _qido as qido
from dicomkit.web import _stow as stow
from dicomkit.web import _stow_json, _thumbnail, _viewer, _wado_uri, _xml
from dicomkit.web import _wado as wado
from dicomkit.web._audit import WebAudit
from dicomkit.web._auth import AccessMiddleware
from dicomkit.web._capabilities import capabilities_response
from dicomkit.web._delete import delete_instances
from dicomkit.web._file_parts import FileParts
from dicomkit.web._metadata_cache import MetadataCache
from dicomkit.web._transfer import (
    FramePlan,
    choose_frame_media,
    choose_instance_syntax,
    frames_in,
)
from dicomkit.web._ups_events import EventChannels
from dicomkit.web._ups_rs import ups_routes
from dicomkit.web._urls import base_url
from dicomkit.web._zip import wants_zip, zip_chunks

log = logging.getLogger("dicomkit.web")

__all__ = ["DICOM_JSON", "HttpServer", "create_app"]

DICOM_JSON = "application/dicom+json"


def _base(request: Request, prefix: str) -> str:
    """``scheme://host[:port]/prefix`` from the Host header the client sent (and the
    X-Forwarded-* headers of a trusted proxy: :func:`dicomkit.web._urls.base_url`)."""
    return base_url(request, prefix)


def _error(exc: DicomError) -> Response:
    status = int(getattr(exc, "status", 400))
    return Response(str(exc) + "\n", status_code=status, media_type="text/plain")


_JSON_TYPES = frozenset({DICOM_JSON, "application/json", "application/*", "*/*"})


def _check_json_accepted(accept: str) -> None:
    """Raise :class:`~dicomkit.web._qido.QidoError` (406) when the Accept header allows
    neither a JSON nor an XML answer."""
    if not accept:
        return
    ranges = wado.parse_accept(accept)
    if not any(m.type in _JSON_TYPES and m.q > 0 for m in ranges):
        raise qido.QidoError(
            f"search answers are {DICOM_JSON} or multipart/related; "
            f'type="{_xml.DICOM_XML}", not {accept}',
            406,
        )


def create_app(
    archive: Archive,
    *,
    prefix: str | None = None,
    retrieve_aet: str = "",
    disk_low: Callable[[], str | None] | None = None,
    settings: WebSettings | None = None,
    ups: Any = None,
    audit: Any = None,
    audit_queries: bool = True,
    on_stored: Callable[[Any], None] | None = None,
) -> Any:
    """The DICOMweb application over ``archive``. ``disk_low``: returns why stores are
    refused (the node's disk guard), or None. ``settings``: the ``[web]`` section
    (authentication, CORS, DELETE; :mod:`dicomkit.archive._web_settings`); ``prefix``
    overrides its prefix. ``ups``: the node's UPS SCP, served as UPS-RS
    (:mod:`dicomkit.web._ups_rs`). ``audit``: the node's audit trail
    (:class:`~dicomkit.archive.AuditTrail`): searches, retrieves, stores and deletes are
    audited with the web user (:mod:`dicomkit.web._audit`); ``audit_queries=False``
    (``[audit] queries = false``) leaves searches out.
    ``on_stored``: told of each instance STOW-RS stored, in its worker thread before the
    answer (the node's routing and IAN)."""
    settings = settings or WebSettings()
    prefix = (settings.prefix if prefix is None else prefix).rstrip("/")
    cache = MetadataCache(archive)
    trail = WebAudit(audit, retrieve_aet, queries=audit_queries, archive=archive)

    def levels(level: Level) -> Callable[[Request], Any]:
        async def search(request: Request) -> Response:
            p = request.path_params
            try:
                xml = _xml.wants_xml(request.headers.get("accept", ""))
                if not xml:
                    _check_json_accepted(request.headers.get("accept", ""))
                s = qido.parse_search(
                    level,
                    request.query_params.multi_items(),
                    study=p.get("study"),
                    series=p.get("series"),
                )
                run = qido.run_search if xml else qido.search_json
                answer: Any = await run_in_threadpool(
                    run,
                    archive,
                    s,
                    base_url=_base(request, prefix),
                    retrieve_aet=retrieve_aet,
                )
            except DicomError as exc:
                trail.query(request, outcome=au.MINOR_FAILURE, why=str(exc))
                return _error(exc)
            trail.query(request)
            headers: dict[str, str] = {}
            if answer[-1]:
                headers["Warning"] = (
                    '299 dicomkit: "There are additional results that can be requested"'
                )
            if xml:
                return _xml.multipart_response(answer[0], headers)
            return Response(answer[0], media_type=DICOM_JSON, headers=headers or None)

        return search

    async def retrieve(request: Request) -> Response | FileParts:
        p = request.path_params
        accept = request.headers.get("accept", "")
        boundary = uuid.uuid4().hex
        media = f'multipart/related; type="application/dicom"; boundary={boundary}'

        def prepare() -> tuple[list[Any], str, FileParts | None]:  # one thread hop
            found = wado.find_instances(archive, p["study"], p.get("series"), p.get("sop"))
            if wants_zip(accept):
                return found, "zip", None
            ts = choose_instance_syntax(accept, found)
            if all(ts in ("*", i.transfer_syntax) for i in found):  # the files as they are
                return found, ts, FileParts.of(archive, found, media)
            return found, ts, None

        try:
            found, ts, as_stored = await run_in_threadpool(prepare)
        except DicomError as exc:
            return _error(exc)
        trail.retrieved(request, found)
        if ts == "zip":
            return StreamingResponse(zip_chunks(archive, found), media_type="application/zip")
        if as_stored is not None:
            return as_stored
        body = wado.multipart_parts(wado.dicom_parts(archive, found, ts), boundary)
        return StreamingResponse(body, media_type=media)

    async def metadata(request: Request) -> Response:
        p = request.path_params
        base = _base(request, prefix)
        try:
            xml = _xml.wants_xml(request.headers.get("accept", ""))
            body = await run_in_threadpool(
                cache.assemble, p["study"], base, p.get("series"), p.get("sop")
            )
            if body is None:
                what = p.get("sop") or p.get("series") or p["study"]
                raise wado.WadoError(f"no instance is stored under {what}", 404)
        except DicomError as exc:
            return _error(exc)
        trail.transferred(
            request, "WADO-RS metadata", study=p["study"], series=p.get("series"), sop=p.get("sop")
        )
        if xml:
            return _xml.multipart_response(json.loads(body))
        return Response(body, media_type=DICOM_JSON)

    def _octets(parts: list[bytes], plan: FramePlan | None = None) -> Response:
        boundary = uuid.uuid4().hex
        media = plan.media if plan else "application/octet-stream"
        ctype = plan.content_type if plan else media
        chunks: Iterator[tuple[str, Iterator[bytes]]] = ((ctype, iter((b,))) for b in parts)
        body = b"".join(wado.multipart_parts(chunks, boundary))
        return Response(body, media_type=f'multipart/related; type="{media}"; boundary={boundary}')

    async def frames(request: Request) -> Response:
        p = request.path_params
        accept = request.headers.get("accept", "")

        def read() -> tuple[Any, list[bytes], FramePlan]:  # one thread hop
            numbers = wado.parse_frame_list(p["frames"])
            (inst,) = wado.find_instances(archive, p["study"], p["series"], p["sop"])
            plan = choose_frame_media(accept, inst.transfer_syntax)
            return inst, frames_in(archive, inst, numbers, plan), plan

        try:
            inst, data, plan = await run_in_threadpool(read)
        except DicomError as exc:
            return _error(exc)
        trail.transferred(request, "WADO-RS frames", (inst,))
        return _octets(data, plan)

    async def bulkdata(request: Request) -> Response:
        p = request.path_params
        try:
            wado.pick_transfer_syntax(request.headers.get("accept", ""), "application/octet-stream")
            tag = int(p["tag"], 16)
            (inst,) = await run_in_threadpool(
                wado.find_instances, archive, p["study"], p["series"], p["sop"]
            )
            data = await run_in_threadpool(wado.bulkdata_of, archive, inst, tag)
        except ValueError:
            return Response("the tag must be eight hex digits\n", 400, media_type="text/plain")
        except DicomError as exc:
            return _error(exc)
        trail.transferred(request, "WADO-RS bulkdata", (inst,))
        return _octets([data])

    async def rendered(request: Request) -> Response:
        p = request.path_params
        q = request.query_params
        try:
            media = wado.rendered_type(request.headers.get("accept", ""))
            window = wado.parse_window(q.get("window"))
            try:
                quality = int(q.get("quality", "90"))
            except ValueError:
                raise wado.WadoError(f"quality={q.get('quality')!r}: a number 1..100") from None
            number = wado.parse_frame_list(p.get("frames", "1"))[0]
            vp = q.get("viewport")
            viewport = _thumbnail.parse_viewport(vp) if vp else None
            (inst,) = await run_in_threadpool(
                wado.find_instances, archive, p["study"], p["series"], p["sop"]
            )
            data = await run_in_threadpool(
                wado.rendered_of, archive, inst, number, media, window, quality, viewport
            )
        except DicomError as exc:
            return _error(exc)
        trail.transferred(request, "WADO-RS rendered", (inst,))
        return Response(data, media_type=media)

    async def store(request: Request) -> Response:
        study = request.path_params.get("study")
        try:
            boundary = stow.boundary_of(request.headers.get("content-type", ""))
            parts = await stow.receive_parts(archive, request.stream(), boundary)
        except DicomError as exc:
            return _error(exc)
        not_made: list[stow.StowOutcome] = []
        if any(_stow_json.is_metadata(p) for p in parts):
            parts, not_made = await run_in_threadpool(_stow_json.make_instances, archive, parts)
        outcomes = not_made + await stow.store_parts(
            archive, parts, study, disk_low() if disk_low else None, on_stored
        )
        trail.stored(
            request, [(o.study_instance_uid, o.sop_class_uid) for o in outcomes if not o.reason]
        )
        for o in outcomes:
            if o.reason:
                log.warning(
                    "STOW-RS of %s refused (%04X): %s", o.sop_instance_uid, o.reason, o.comment
                )
        status, ds = stow.response(outcomes, _base(request, prefix), study)
        headers = _stow_json.warnings(outcomes)
        if _xml.wants_xml(request.headers.get("accept", "")):
            return Response(
                _xml.native_model(to_json(ds)),
                status_code=status,
                media_type=_xml.DICOM_XML,
                headers=headers,
            )
        return Response(
            json.dumps(to_json(ds), ensure_ascii=False).encode(),
            status_code=status,
            media_type=DICOM_JSON,
            headers=headers,
        )

    st, se, sop = "/studies/{study}", "/series/{series}", "/instances/{sop}"
    routes = [
        Route("/studies", levels(Level.STUDY), methods=["GET"]),
        Route("/studies", store, methods=["POST"]),
        Route("/series", levels(Level.SERIES), methods=["GET"]),
        Route("/instances", levels(Level.IMAGE), methods=["GET"]),
        Route(st + "/series", levels(Level.SERIES), methods=["GET"]),
        Route(st + "/instances", levels(Level.IMAGE), methods=["GET"]),
        Route(st + se + "/instances", levels(Level.IMAGE), methods=["GET"]),
        Route(st, retrieve, methods=["GET"]),
        Route(st, store, methods=["POST"]),
        Route(st + se, retrieve, methods=["GET"]),
        Route(st + se + sop, retrieve, methods=["GET"]),
        Route(st + "/metadata", metadata, methods=["GET"]),
        Route(st + se + "/metadata", metadata, methods=["GET"]),
        Route(st + se + sop + "/metadata", metadata, methods=["GET"]),
        Route(st + se + sop + "/frames/{frames}", frames, methods=["GET"]),
        Route(st + se + sop + "/bulkdata/{tag}", bulkdata, methods=["GET"]),
        Route(st + se + sop + "/rendered", rendered, methods=["GET"]),
        Route(st + se + sop + "/frames/{frames}/rendered", rendered, methods=["GET"]),
    ]
    sockets: list[Any] = []
    if ups is not None:
        channels = EventChannels()
        routes += ups_routes(ups, lambda request: _base(request, prefix), channels)
        sockets.append(channels.route())
    thumb = _thumbnail.handler(archive, trail)
    for path in (st, st + se, st + se + sop, st + se + sop + "/frames/{frames}"):
        routes.append(Route(path + "/thumbnail", thumb, methods=["GET"]))
    routes += _extra_routes(archive, settings, prefix, routes, trail, sockets)
    from starlette.routing import BaseRoute, Mount

    # the web page and WADO-URI sit beside the DICOMweb prefix, behind the same access rules
    pages: list[BaseRoute] = [Route("/wado", _wado_uri.handler(archive, trail), methods=["GET"])]
    pages += _viewer.viewer_routes(prefix)
    served: list[BaseRoute] = [*routes, *sockets]
    app = Starlette(routes=[Mount(prefix, routes=served), *pages] if prefix else served + pages)
    app.state.metadata_cache = cache
    app.state.web_audit = trail
    app.state.trusted_proxies = settings.trusted_proxies
    return AccessMiddleware(app, settings)


def _extra_routes(
    archive: Archive,
    settings: WebSettings,
    prefix: str,
    routes: list[Route],
    trail: WebAudit,
    sockets: list[Any],
) -> list[Route]:
    """OPTIONS (capabilities) on every resource (the WebSocket event channel included, as a
    GET with an Upgrade), and DELETE when the settings allow it."""
    from starlette.routing import compile_path

    extra: list[Route] = []
    if settings.allow_delete:

        async def delete(request: Request) -> Response:
            p = request.path_params
            try:
                found = []
                if trail.enabled:  # what goes, for the audit message
                    found = await run_in_threadpool(
                        wado.find_instances, archive, p["study"], p.get("series"), p.get("sop")
                    )
                await run_in_threadpool(
                    delete_instances, archive, p["study"], p.get("series"), p.get("sop")
                )
            except DicomError as exc:
                return _error(exc)
            trail.deleted(request, found)
            return Response(status_code=204)

        for path in ("/studies/{study}", "/studies/{study}/series/{series}"):
            extra.append(Route(path, delete, methods=["DELETE"]))
            extra.append(Route(path + "/instances/{sop}", delete, methods=["DELETE"]))
    else:

        async def no_delete(request: Request) -> Response:
            return Response(
                "DELETE is off on this server: the operator turns it on with [web] "
                "allow_delete = true (and gives users the 'delete' permission)\n",
                405,
                headers={"Allow": "GET, HEAD, POST, OPTIONS"},
                media_type="text/plain",
            )

    # what OPTIONS describes (a refused DELETE is not offered)
    everything: list[Any] = [*routes, *extra, *sockets]
    if not settings.allow_delete:
        extra.append(Route("/studies/{rest:path}", no_delete, methods=["DELETE"]))

    async def options(request: Request) -> Response:
        path = "/" + request.path_params.get("path", "").strip("/")
        methods = {"OPTIONS"}
        for route in everything:
            regex, _fmt, _conv = compile_path(route.path)
            offered = getattr(route, "methods", None) or {"GET"}  # a WebSocket: GET + Upgrade
            if route.path == path or regex.match(path):
                methods |= set(offered)
        if path != "/" and methods == {"OPTIONS"}:
            return Response(f"no resource at {path}\n", 404, media_type="text/plain")
        return capabilities_response(
            request, _base(request, prefix), everything, ", ".join(sorted(methods))
        )

    extra.append(Route("/", options, methods=["OPTIONS"]))
    extra.append(Route("/{path:path}", options, methods=["OPTIONS"]))
    return extra


class HttpServer:
    """Uvicorn serving an ASGI app as a task of the running event loop (the archive node's
    loop: DIMSE and DICOMweb share it). Signals stay with the node."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 8042,
        *,
        settings: WebSettings | None = None,
    ) -> None:
        import ssl

        import uvicorn

        class _Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:  # the node handles SIGINT / SIGTERM
                yield

        tls: dict[str, Any] = {}
        if settings is not None and settings.tls_cert:
            tls = {"ssl_certfile": settings.tls_cert, "ssl_keyfile": settings.tls_key}
            if settings.tls_ca:
                tls |= {"ssl_ca_certs": settings.tls_ca, "ssl_cert_reqs": ssl.CERT_REQUIRED}
        #: "https" with the [web] TLS settings, else "http"
        self.scheme = "https" if tls else "http"
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=5,  # keep-alive clients do not hold the node's exit
            proxy_headers=False,  # X-Forwarded-*: dicomkit.web._urls, from trusted proxies
            **tls,
        )
        self.server = _Server(config)
        self.host = host
        self.task: asyncio.Task[None] | None = None
        self.sock: Any = None

    @property
    def port(self) -> int:
        """The port listened on (the one chosen by the system when 0 was asked for)."""
        if self.sock is not None:
            return int(self.sock.getsockname()[1])
        return int(self.server.config.port)

    async def start(self) -> None:
        """Start listening; raises :class:`~dicomkit.errors.DicomError` when it cannot."""
        import socket

        try:
            sock = socket.create_server((self.host, self.server.config.port), reuse_port=False)
        except OSError as exc:
            raise DicomError(
                f"cannot serve DICOMweb on {self.host}:{self.server.config.port}: {exc} "
                "(choose another --http-port, or 0 to turn DICOMweb off)"
            ) from exc
        # answers are written as headers, then body: without TCP_NODELAY the second write
        # waits for the client's delayed ACK (~40 ms per keep-alive request); accepted
        # sockets inherit the option on Linux
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.task = asyncio.create_task(self.server.serve(sockets=[sock]), name="dicomweb")
        while not self.server.started:
            if self.task.done():
                why = self.task.exception() if not self.task.cancelled() else None
                raise DicomError(
                    f"cannot serve DICOMweb on {self.host}:{self.server.config.port}: "
                    f"{why or 'the HTTP server stopped'} (choose another --http-port, or 0 "
                    "to turn DICOMweb off)"
                )
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop accepting, finish the requests in progress, and return."""
        if self.task is None:
            return
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, SystemExit):
            await self.task
        self.task = None
        inner = getattr(self.server.config.app, "app", None)  # under the access middleware
        web_audit = getattr(getattr(inner, "state", None), "web_audit", None)
        if web_audit is not None:  # deferred audit messages reach the trail before it closes
            await asyncio.to_thread(web_audit.close)
