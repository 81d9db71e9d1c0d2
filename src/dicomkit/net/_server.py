"""Application entities: associate as SCU, serve as SCP (asyncio; one task per association).

::

    ae = AE("MYSCU")
    async with ae.associate("127.0.0.1", 11112, contexts=[uids.CTImageStorage]) as assoc:
        await assoc.echo()
        await assoc.store("ct.dcm")

    server = await AE("MYSCP").serve(11112, {CStoreRequest: StorageSCP("out/")})
    async with server:
        await server.serve_forever()

Handlers map a request class (``CEchoRequest``, ``CStoreRequest``, ``NActionRequest`` ...), or
a ``(request class, SOP class UID)`` pair, to a function, plain or async, that receives an
:class:`~dicomkit.net._messages.Incoming` and returns a status (``int``), a response message,
``(status, dataset)``, ``(status, dataset, after)``, ``None`` (success), or an iterator /
async iterator of those for multi-response services (C-FIND, C-GET, C-MOVE). ``after`` (or
:meth:`Incoming.after_response`) runs once the final response has been written. A request is
routed by its Affected / Requested SOP Class UID (else its context's abstract syntax): the
``(class, SOP class)`` key first, then the plain class; a request class that has only keyed
handlers, none for this SOP class, is answered 0122H (SOP class not supported).
Plain functions run in a worker thread so that they may block; async ones run on the loop.
A handler with an ``open_stream(incoming) -> DataSink | None`` method receives C-STORE data
sets streamed into that sink as they arrive (see :class:`dicomkit.services._storage.StorageSCP`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import ssl
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeAlias

from dicomkit import dictionary  # its tables load only when an SCP lists every class
from dicomkit.core._uid import resolve_uid
from dicomkit.dictionary import status_codes, uids
from dicomkit.errors import NetworkError, NetworkTimeout, TransportError
from dicomkit.net import _log as netlog
from dicomkit.net._association import Association
from dicomkit.net._clock import REAL_TIME, Clock
from dicomkit.net._config import AEConfig, UserIdentity
from dicomkit.net._loglimit import bad_input
from dicomkit.net._messages import DataSink, Incoming, _NullSink, response_for
from dicomkit.net._transport import SocketTransport, Transport, open_socket
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto._commands import fit_comment
from dicomkit.net.proto._negotiation import AcceptorConfig, build_request
from dicomkit.net.proto._upper_layer import Role

if TYPE_CHECKING:
    from dataclasses import dataclass
else:  # cheaper to import (see _dataclass)
    from dicomkit._dataclass import dataclass

log = logging.getLogger("dicomkit.net")

Handler: TypeAlias = Callable[[Incoming], Any]
#: ``CStoreRequest`` or ``(NCreateRequest, "1.2.840.10008.3.1.2.3.3")``.
HandlerKey: TypeAlias = "type[dimse.DimseRequest] | tuple[type[dimse.DimseRequest], str]"
Handlers: TypeAlias = Mapping[Any, Handler]
#: SOP class -> (requestor may be SCU, requestor may be SCP), granted by our acceptor.
Roles: TypeAlias = Mapping[str, tuple[bool, bool]]
#: A context to propose: an abstract syntax (default transfer syntaxes), or one with its
#: transfer syntaxes in order of preference.
ContextSpec: TypeAlias = "str | tuple[str, Sequence[str]]"

VERIFICATION = uids.Verification
DEFAULT_TRANSFER_SYNTAXES = (uids.ExplicitVRLittleEndian, uids.ImplicitVRLittleEndian)


@functools.cache
def all_transfer_syntaxes() -> tuple[str, ...]:
    """Every transfer syntax of the dictionary, ours (the defaults) first: made once, shared
    by every association's acceptor configuration (read only)."""
    ours = DEFAULT_TRANSFER_SYNTAXES
    return ours + tuple(ts for ts in dictionary.transfer_syntaxes() if ts not in ours)


def normalize_contexts(contexts: Sequence[ContextSpec] | None) -> list[tuple[str, list[str]]]:
    """``[(abstract syntax, [transfer syntaxes])]`` from the short forms ``associate`` takes."""
    if not contexts:
        return [(VERIFICATION, list(DEFAULT_TRANSFER_SYNTAXES))]
    out = []
    for spec in contexts:  # UIDs or their keywords ("CTImageStorage", "JPEGLSLossless")
        if isinstance(spec, str):
            out.append((resolve_uid(spec, "SOP class"), list(DEFAULT_TRANSFER_SYNTAXES)))
        else:
            syntaxes = [resolve_uid(str(ts), "transfer syntax") for ts in spec[1]]
            out.append((resolve_uid(str(spec[0]), "SOP class"), syntaxes))
    return out


class AE:
    """A DICOM application entity: an AE title, options, and the services it offers.

    ``handlers``: request class (or ``(request class, SOP class)``) -> handler, for the SCP
    side (and for requests an SCU receives, e.g. C-STORE sub-operations of C-GET).
    ``supported``: abstract syntax -> transfer syntaxes the SCP accepts. When not given it is
    derived: Verification (explicit/implicit LE); with a plain C-STORE handler every storage
    SOP class in any transfer syntax (the requestor's preference wins, so files keep their
    encoding); the SOP class of each ``(request class, SOP class)`` key, of each handler's
    ``sop_classes`` attribute (an iterable, or a method returning one) and of ``roles``, in
    explicit/implicit LE (any syntax for keyed C-STORE handlers).
    ``roles``: SOP class -> (requestor may be SCU, requestor may be SCP): the SCP/SCU role
    selection our acceptor grants (PS3.7 D.3.3.4), e.g. ``{CT: (False, True)}`` for the
    C-STORE sub-operations of C-GET, or the SCP role of a Storage Commitment report.
    ``clock``: what the association timers read (default real time; tests pass
    ``Clock(scale=0.001)`` so that timeouts of seconds pass in milliseconds).

    ``concurrent_stores`` (class attribute, default False): as acceptor, C-STORE requests
    pipelined within the granted asynchronous operations window run their handlers at once
    (see :class:`~dicomkit.net._association.Association`); set it only when the C-STORE
    handler may run several times at once on one association.
    """

    concurrent_stores = False

    def __init__(
        self,
        ae_title: str = "DICOMKIT",
        *,
        config: AEConfig | None = None,
        handlers: Handlers | None = None,
        supported: Mapping[str, Sequence[str]] | None = None,
        roles: Roles | None = None,
        clock: Clock = REAL_TIME,
    ) -> None:
        base = config or AEConfig()
        if ae_title != base.ae_title:
            base = replace(base, ae_title=ae_title)
        self.config = base
        self.handlers: dict[Any, Handler] = dict(handlers or {})
        self.supported = (
            {
                resolve_uid(str(k), "SOP class"): [
                    resolve_uid(str(t), "transfer syntax") for t in v
                ]
                for k, v in supported.items()
            }
            if supported is not None
            else None
        )
        self.roles: dict[str, tuple[bool, bool]] = dict(roles or {})
        #: SOP classes :meth:`add_handler` offers besides the derived ones
        self.offered: dict[str, list[str]] = {}
        self.clock = clock

    @property
    def ae_title(self) -> str:
        """Our AE title (from the configuration)."""
        return self.config.ae_title

    def add_handler(
        self,
        kind: type[dimse.DimseRequest],
        handler: Handler,
        *,
        sop_classes: Iterable[str] = (),
        transfer_syntaxes: Sequence[str] | None = None,
        roles: Roles | None = None,
    ) -> None:
        """Serve ``kind`` requests (``NActionRequest`` ...) of ``sop_classes`` with ``handler``
        and offer those SOP classes (in ``transfer_syntaxes``, default explicit/implicit LE) --
        also when ``supported`` was given explicitly. Each SOP class gets a
        ``(kind, SOP class)`` key, so services sharing a request type (MPPS and UPS both take
        N-CREATE) do not displace each other; without ``sop_classes`` the handler takes every
        ``kind`` request nobody else claims. ``roles`` adds role selection answers
        (e.g. ``{uid: (True, True)}``). Servers started afterwards use it."""
        uids_ = [resolve_uid(str(u), "SOP class") for u in sop_classes]
        syntaxes = [
            resolve_uid(str(t), "transfer syntax")
            for t in (transfer_syntaxes or DEFAULT_TRANSFER_SYNTAXES)
        ]
        if not uids_:
            self.handlers[kind] = handler
        for uid in uids_:
            self.handlers[(kind, uid)] = handler
            if self.supported is not None:
                self.supported.setdefault(uid, list(syntaxes))
            else:
                self.offered[uid] = list(syntaxes)
        self.roles.update(roles or {})

    # -- SCU -----------------------------------------------------------------------------

    def associate(
        self,
        host: str,
        port: int,
        *,
        contexts: Sequence[ContextSpec] | None = None,
        ae_title: str = "ANY-SCP",
        handlers: Handlers | None = None,
        roles: Mapping[str, tuple[bool, bool]] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        transport: Transport | None = None,
        user_identity: UserIdentity | None = None,
        extended: Mapping[str, bytes] | None = None,
        async_ops: tuple[int, int] | None = None,
    ) -> _Associating:
        """Request an association with ``ae_title`` at host:port (or over ``transport``).

        Await it for an :class:`Association`, or use ``async with``: released on exit (aborted
        when the block raises a network error). ``ssl_context`` defaults to the client context
        of ``config.tls``. Negotiation (PS3.7 D.3.3): ``user_identity`` (default
        ``config.user_identity``), ``extended`` SOP class -> service-class application
        information, ``async_ops`` the (invoked, performed) window proposed; the acceptor's
        answers are on the association (``user_identity_response``, ``extended``,
        ``async_ops``).
        """
        options = _Proposal(roles, user_identity or self.config.user_identity, extended, async_ops)
        return _Associating(
            self._associate(
                host, port, contexts, ae_title, handlers, options, ssl_context, transport
            )
        )

    async def _associate(
        self,
        host: str,
        port: int,
        contexts: Sequence[ContextSpec] | None,
        called: str,
        handlers: Handlers | None,
        options: _Proposal,
        ssl_context: ssl.SSLContext | None,
        transport: Transport | None,
    ) -> Association:
        cfg = self.config
        if transport is None:
            tls = ssl_context or (cfg.tls.client if cfg.tls else None)
            hostname = (cfg.tls.server_hostname if cfg.tls else None) or host
            handshake = self.clock.real(cfg.timeouts.connect) if tls else None
            try:
                async with self.clock.timeout(cfg.timeouts.connect):
                    transport = await open_socket(
                        host,
                        port,
                        write_buffer=cfg.write_buffer,
                        ssl=tls,
                        server_hostname=hostname if tls else None,
                        ssl_handshake_timeout=handshake,
                    )
            except TimeoutError:
                raise NetworkTimeout(
                    f"connecting to {host}:{port} timed out after {cfg.timeouts.connect}s"
                ) from None
            except (OSError, ssl.SSLError) as exc:
                raise TransportError(f"cannot connect to {host}:{port}: {exc}") from exc
        merged = {**self.handlers, **(handlers or {})}
        assoc = Association(
            transport,
            Role.REQUESTOR,
            cfg,
            dispatcher=_dispatcher(merged),
            sink_factory=_sink_factory(merged),
            clock=self.clock,
        )
        identity = options.user_identity
        rq = build_request(
            called,
            cfg.ae_title,
            normalize_contexts(contexts),
            max_pdu_length=cfg.max_pdu,
            roles=options.roles,
            async_window=options.async_ops,
            extended={k: bytes(v) for k, v in (options.extended or {}).items()},
            user_identity=identity.to_item() if identity is not None else None,
        )
        if netlog.pdu_log.isEnabledFor(logging.INFO):
            netlog.log_lines(
                netlog.pdu_log, logging.INFO, assoc.peer, "sending " + netlog.describe_rq(rq)
            )
        assoc.start()
        try:
            await assoc.request_association(rq)
        except BaseException:
            await assoc.abort()
            raise
        return assoc

    # -- SCP -----------------------------------------------------------------------------

    def acceptor_config(self, handlers: Handlers) -> AcceptorConfig:
        """What our acceptor accepts: ``supported`` (given or derived), roles, limits, AE
        titles, extended negotiation (a mapping ``config.extended``; a callable one is applied
        per request by the association) and the asynchronous operations window."""
        supported: Mapping[str, Sequence[str]]
        if self.supported is not None:
            supported = {k: tuple(v) for k, v in self.supported.items()}
        else:
            supported = self.derived_supported(handlers)
        cfg = self.config
        calling = cfg.accepted_calling_aets
        return AcceptorConfig(
            supported=supported,
            prefer_requestor_order=True,
            max_pdu_length=cfg.max_pdu,
            roles=dict(self.roles),
            called_ae_titles=frozenset({self.ae_title}) if cfg.require_called_aet else None,
            calling_ae_titles=frozenset(calling) if calling is not None else None,
            extended=dict(cfg.extended) if isinstance(cfg.extended, Mapping) else {},
            async_window=cfg.async_ops,
        )

    def derived_supported(self, handlers: Handlers) -> dict[str, Sequence[str]]:
        """``supported`` from the handlers and roles (see the class docstring). Made for
        every association: the transfer syntax lists are shared, not copied (read only)."""
        plain: Sequence[str] = DEFAULT_TRANSFER_SYNTAXES
        supported = {VERIFICATION: plain}
        if dimse.CStoreRequest in handlers:
            supported.update(
                dict.fromkeys(dictionary.storage_sop_classes(), all_transfer_syntaxes())
            )
        for key, handler in handlers.items():
            if isinstance(key, tuple):
                syntaxes = all_transfer_syntaxes() if key[0] is dimse.CStoreRequest else plain
                supported.setdefault(str(key[1]), syntaxes)
            classes = getattr(handler, "sop_classes", None)
            if callable(classes):
                classes = classes()
            for uid in classes or ():
                supported.setdefault(str(uid), plain)
        for uid in self.roles:
            supported.setdefault(uid, plain)
        for uid, syntaxes in self.offered.items():
            supported.setdefault(uid, syntaxes)
        return supported

    async def serve(
        self,
        port: int = 0,
        handlers: Handlers | None = None,
        *,
        host: str = "127.0.0.1",
        ssl_context: ssl.SSLContext | None = None,
    ) -> Server:
        """Listen on host:port (0: any free port, see ``server.port``) and serve associations
        until closed. ``ssl_context`` defaults to the server context of ``config.tls``."""
        server = Server(self, {**self.handlers, **(handlers or {})})
        tls = ssl_context or (self.config.tls.server if self.config.tls else None)
        # a peer that never completes the TLS handshake is dropped within the ACSE timeout
        # (asyncio's own default is 60 s, which no option of ours would control)
        handshake = self.clock.real(self.config.timeouts.acse) if tls is not None else None
        await server.listen(host, port, tls, handshake)
        log.info(
            "%s listening on %s:%d%s", self.ae_title, host, server.port, " (TLS)" if tls else ""
        )
        return server

    async def serve_transport(
        self, transport: Transport, handlers: Handlers | None = None
    ) -> Association:
        """Serve one association over an already-open transport (e.g. :mod:`.memory`)."""
        merged = {**self.handlers, **(handlers or {})}
        assoc = _acceptor(self, transport, merged, None)
        assoc.start()
        return assoc


def _handshake_words(exc: BaseException) -> str:
    """Why a TLS handshake failed, in words."""
    if isinstance(exc, TimeoutError):
        return "the handshake did not complete in time (not TLS, or too slow)"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or exc.strerror or str(exc)
        return f"the handshake failed ({reason}: not TLS, or a certificate we do not trust)"
    return f"the connection ended during the handshake ({getattr(exc, 'strerror', None) or exc})"


def _acceptor(
    ae: AE, transport: Transport, handlers: Handlers, admit: Callable[[Any], bool] | None
) -> Association:
    return Association(
        transport,
        Role.ACCEPTOR,
        ae.config,
        dispatcher=_dispatcher(handlers),
        sink_factory=_sink_factory(handlers),
        acceptor=ae.acceptor_config(handlers),
        admit=admit,
        clock=ae.clock,
        concurrent_stores=ae.concurrent_stores,
    )


@dataclass(frozen=True, slots=True)
class _Proposal:
    """What a requestor proposes besides its presentation contexts."""

    roles: Mapping[str, tuple[bool, bool]] | None = None
    user_identity: UserIdentity | None = None
    extended: Mapping[str, bytes] | None = None
    async_ops: tuple[int, int] | None = None


class _Associating:
    """``await ae.associate(...)`` or ``async with ae.associate(...) as assoc``."""

    def __init__(self, coro: Awaitable[Association]) -> None:
        self._coro = coro
        self._assoc: Association | None = None

    def __await__(self) -> Generator[Any, None, Association]:
        return self._coro.__await__()

    async def __aenter__(self) -> Association:
        self._assoc = await self._coro
        return self._assoc

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._assoc is not None
        await self._assoc.__aexit__(exc_type, exc, tb)


class Server:
    """A listening SCP. ``port`` is the bound port; ``associations`` the live ones."""

    def __init__(self, ae: AE, handlers: Handlers) -> None:
        self.ae = ae
        self.handlers = handlers
        self.port = 0
        self.associations: set[Association] = set()
        #: live connections' peer addresses, oldest connection first
        self._hosts: dict[Association, str] = {}
        self._handshake: float | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: ``hook(association)`` for every connection that ended (accepted, rejected or
        #: dropped; ``association.negotiated`` / ``.engine.associate_rj`` tell which), e.g.
        #: the archive's audit trail and metrics
        self.closed_hooks: list[Callable[[Association], None]] = []
        #: ``hook(association)`` once a connection's association is accepted (e.g. the
        #: archive's User Authentication Login)
        self.established_hooks: list[Callable[[Association], None]] = []
        #: ``hook(peer, why)`` for every connection whose TLS handshake failed (``peer``:
        #: ``HOST:PORT``), e.g. the archive's Security Alert
        self.tls_refused_hooks: list[Callable[[str, str], None]] = []
        self._tls: ssl.SSLContext | None = None

    @property
    def listening(self) -> bool:
        """Whether the server accepts connections."""
        return self._server is not None and self._server.is_serving()

    def _admit(self, rq: Any, host: str) -> bool:
        """Room for one more association: globally, from ``host``, and for its calling AE."""
        cfg = self.ae.config
        # connections that have not associated (yet) hold no slot: count accepted ones only
        live = [a for a in self.associations if a.negotiated is not None and not a.is_closed]
        calling = str(getattr(rq, "calling_ae", "")).strip()
        per_host, per_aet = cfg.max_associations_per_host, cfg.max_associations_per_aet
        if len(live) >= cfg.max_associations:
            over = (f"{len(live)} associations served already", "max_associations")
        elif per_host and sum(1 for a in live if self._hosts.get(a) == host) >= per_host:
            over = (f"{per_host} associations from {host} already", "max_associations_per_host")
        elif per_aet and sum(1 for a in live if a.calling_ae.strip() == calling) >= per_aet:
            over = (f"{per_aet} associations with {calling!r} already", "max_associations_per_aet")
        else:
            return True
        bad_input(
            log,
            "association from %s (%r) rejected, local limit exceeded: %s (%s; raise it if "
            "that many at once are expected, 0 lifts a per-host / per-AE limit)",
            host,
            calling,
            *over,
        )
        return False

    async def _shed_pending(self) -> None:
        """Drop the oldest connections still waiting for their association while more than
        ``max_pending`` wait or their partial requests hold more than ``max_pending_bytes``
        (stalled peers cannot hoard connections or memory; a new caller gets in)."""
        cfg = self.ae.config
        pending = [a for a in self._hosts if a.negotiated is None and not a.is_closed]
        held = sum(a.engine.buffered for a in pending)
        while pending and (len(pending) > cfg.max_pending or held > cfg.max_pending_bytes):
            oldest = pending.pop(0)
            held -= oldest.engine.buffered
            bad_input(
                log,
                "%s: dropped while waiting for its A-ASSOCIATE-RQ (%d connections waiting, "
                "max_pending %d; %d bytes held, max_pending_bytes %d)",
                oldest.peer,
                len(pending) + 1,
                cfg.max_pending,
                held,
                cfg.max_pending_bytes,
            )
            with contextlib.suppress(Exception):
                await oldest.abort()

    async def listen(
        self, host: str, port: int, tls: ssl.SSLContext | None, handshake: float | None
    ) -> None:
        """Accept connections on host:port (0: any free port; ``self.port`` tells)."""
        loop = asyncio.get_running_loop()
        # TLS is started on each accepted connection (start_tls), not by the listening
        # socket: the peer's address is known before the handshake, so a refused one can be
        # logged and reported (tls_refused_hooks) with it
        self._tls = tls
        self._handshake = (handshake or 60.0) if tls is not None else None
        self._server = await loop.create_server(self._protocol, host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def _protocol(self) -> SocketTransport:
        """A new connection: its transport now, its association once it is connected."""
        transport = SocketTransport(self.ae.config.write_buffer, tls_pending=self._tls is not None)
        task = asyncio.get_running_loop().create_task(self._on_connection(transport))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return transport

    async def _on_connection(self, transport: SocketTransport) -> None:
        try:
            await transport.connected
            if self._tls is not None:
                await transport.start_tls(self._tls, self._handshake)
        except TransportError:
            return
        except asyncio.CancelledError:  # the server closed before the peer finished connecting
            transport.close()
            raise
        except ConnectionError as exc:  # closed before the handshake ended (a port probe)
            log.debug("%s: closed during the TLS handshake: %r", transport.peer, exc)
            return
        except (OSError, TimeoutError) as exc:  # asyncio reports a failed handshake to nobody
            why = _handshake_words(exc)
            bad_input(log, "%s: TLS connection refused: %s", transport.peer, why)
            for refused in self.tls_refused_hooks:
                try:
                    refused(transport.peer, why)
                except Exception:
                    log.exception("%s: a TLS-refused hook failed", transport.peer)
            return
        host = transport.peer.rsplit(":", 1)[0]
        assoc = _acceptor(self.ae, transport, self.handlers, lambda rq: self._admit(rq, host))
        self.associations.add(assoc)
        self._hosts[assoc] = host  # (insertion order: oldest connection first)
        watcher = None
        try:
            assoc.start()
            if self.established_hooks:
                watcher = asyncio.get_running_loop().create_task(self._established(assoc))
            await self._shed_pending()
            await assoc.wait_closed()
            if assoc.error is not None:
                log.info("%s: association ended: %s", transport.peer, assoc.error)
        except asyncio.CancelledError:  # the server is closing: the socket goes with it
            transport.close()
            raise
        finally:
            if watcher is not None and not watcher.done():
                watcher.cancel()
            self.associations.discard(assoc)
            self._hosts.pop(assoc, None)
            for hook in self.closed_hooks:
                try:
                    hook(assoc)
                except Exception:
                    log.exception("%s: a closed-association hook failed", transport.peer)
            await transport.wait_closed()

    async def _established(self, assoc: Association) -> None:
        """Run the established hooks once ``assoc`` is accepted (not when it never is)."""
        try:
            await assoc.wait_established()
        except Exception:  # noqa: BLE001 -- rejected, aborted, dropped: nothing to report
            return
        for hook in self.established_hooks:
            try:
                hook(assoc)
            except Exception:
                log.exception("%s: an association-established hook failed", assoc.peer)

    async def serve_forever(self) -> None:
        """Serve until the server is closed (or the task is cancelled)."""
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self, *, abort: bool = True, grace: float = 0.0) -> None:
        """Stop listening; abort live associations (or wait for them when ``abort`` is False).

        ``grace``: seconds to let live associations end by themselves (a peer releasing after
        its last message) before they are aborted."""
        if self._server is not None:
            self._server.close()
        if grace > 0 and self.associations:
            waits = [asyncio.ensure_future(a.wait_closed()) for a in self.associations]
            _, late = await asyncio.wait(waits, timeout=grace)
            for fut in late:
                fut.cancel()
        for assoc in list(self.associations):
            if abort:
                await assoc.abort()
            else:
                await assoc.wait_closed()
        # connection tasks still running (a peer mid-connect or mid-release): give them a
        # moment to end, then cancel them, so that every accepted socket is closed here and
        # none is left to the garbage collector (ResourceWarning) when the loop ends
        pending = [task for task in self._tasks if not task.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=5)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# -- handler dispatch ---------------------------------------------------------------------


class _Routes:
    """Handlers by request class, and by (request class, SOP class)."""

    def __init__(self, handlers: Handlers) -> None:
        self.plain: dict[type, Handler] = {}
        self.keyed: dict[type, dict[str, Handler]] = {}
        for key, handler in handlers.items():
            if isinstance(key, tuple):
                self.keyed.setdefault(key[0], {})[str(key[1])] = handler
            else:
                self.plain[key] = handler

    def find(self, incoming: Incoming) -> tuple[Handler | None, bool]:
        """(handler, known): ``known`` False when only other SOP classes have handlers."""
        kind = type(incoming.message)
        table = self.keyed.get(kind)
        if table:
            handler = table.get(_sop_class(incoming))
            if handler is not None:
                return handler, True
            handler = self.plain.get(kind)
            return handler, handler is not None
        return self.plain.get(kind), True

    def handlers_of(self, kind: type) -> list[Handler]:
        found = list(self.keyed.get(kind, {}).values())
        return found + ([self.plain[kind]] if kind in self.plain else [])


def _sop_class(incoming: Incoming) -> str:
    msg = incoming.message
    return str(
        getattr(msg, "affected_sop_class_uid", None)
        or getattr(msg, "requested_sop_class_uid", None)
        or incoming.context.abstract_syntax
    )


def _sink_factory(handlers: Handlers) -> Callable[[Incoming], DataSink | None] | None:
    routes = _Routes(handlers)
    if not any(
        callable(getattr(h, "open_stream", None)) for h in routes.handlers_of(dimse.CStoreRequest)
    ):
        return None

    def open_sink(incoming: Incoming) -> DataSink | None:
        if _bad_store(incoming) is not None:
            return _NullSink()  # refused before the handler: swallow the data set
        handler, _ = routes.find(incoming)
        opener = getattr(handler, "open_stream", None)
        return opener(incoming) if callable(opener) else None

    return open_sink


def _bad_store(incoming: Incoming) -> tuple[int, str] | None:
    """A C-STORE-RQ the driver refuses itself: no data set (PS3.7 9.3.1.1), or a SOP class
    other than its presentation context's (PS3.7 9.1.1.1)."""
    msg = incoming.message
    if not isinstance(msg, dimse.CStoreRequest):
        return None
    if msg.affected_sop_class_uid != incoming.context.abstract_syntax:
        return status_codes.SOPClassNotSupported, "SOP class is not the presentation context's"
    if not msg.has_dataset:
        return status_codes.CannotUnderstand, "C-STORE-RQ without a data set"
    return None


def _dispatcher(handlers: Handlers) -> Callable[[Incoming], Awaitable[None]]:
    routes = _Routes(handlers)

    async def dispatch(incoming: Incoming) -> None:
        sent = False
        try:
            sent = await _dispatch(routes, incoming)
        except Exception as exc:
            if not isinstance(exc, NetworkError):  # no response could be written: never leave
                log.warning(  # the requestor waiting on an open association
                    "%s: no response to message %d (%s); aborting the association",
                    incoming.association.peer,
                    incoming.message.message_id,
                    fit_comment(str(exc)),
                )
                with contextlib.suppress(Exception):
                    await incoming.association.abort()
                return
            raise
        finally:
            incoming.finish(sent)

    return dispatch


def _encodable(rsp: dimse.DimseResponse) -> dimse.DimseResponse:
    """The response without the Affected SOP Class / Instance UIDs echoed from the request
    when they cannot be encoded (over 64 characters, non-ASCII): both are optional in a
    response (PS3.7 9.1, "U(=)"), and a response that cannot be sent is worse than one
    without them."""
    bad = {
        name: None
        for name in ("affected_sop_class_uid", "affected_sop_instance_uid")
        if isinstance(v := getattr(rsp, name, None), str) and (len(v) > 64 or not v.isascii())
    }
    return rsp.replace(**bad) if bad else rsp


async def _dispatch(routes: _Routes, incoming: Incoming) -> bool:
    """Answer one request; True when its final response was written."""
    msg, assoc = incoming.message, incoming.association
    handler, known = routes.find(incoming)
    refusal = _bad_store(incoming)
    if refusal is None and handler is None:
        status = (
            status_codes.Success
            if isinstance(msg, dimse.CEchoRequest)
            else (
                status_codes.UnrecognizedOperation if known else status_codes.SOPClassNotSupported
            )
        )
        refusal = status, ""
    if refusal is not None:
        if incoming.sink is not None:
            with contextlib.suppress(Exception):
                incoming.sink.discard()
        await assoc.send_message(
            incoming.context,
            _encodable(response_for(msg, refusal[0], error_comment=refusal[1] or None)),
        )
        return True
    assert handler is not None
    try:
        if _is_async(handler):
            result = handler(incoming)
            if inspect.isawaitable(result):
                result = await result
        else:
            result = await asyncio.to_thread(handler, incoming)
    except Exception as exc:
        log.exception("%s: handler for %s failed", assoc.peer, type(msg).__name__)
        await assoc.send_message(
            incoming.context,
            _encodable(
                response_for(
                    msg,
                    0xC000 if not isinstance(msg, dimse.CStoreRequest) else 0xA700,
                    error_comment=_comment(exc),
                )
            ),
        )
        return True
    return await _send_results(incoming, result)


def _is_async(handler: Handler) -> bool:
    """Coroutine functions, async generator functions, and objects with an async __call__."""
    call = type(handler).__call__ if not inspect.isfunction(handler) else None
    return (
        inspect.iscoroutinefunction(handler)
        or inspect.isasyncgenfunction(handler)
        or inspect.iscoroutinefunction(call)
        or inspect.isasyncgenfunction(call)
    )


def _comment(exc: BaseException) -> str:
    return fit_comment(f"{type(exc).__name__}: {exc}")


async def _send_results(incoming: Incoming, result: Any) -> bool:
    assoc, msg = incoming.association, incoming.message
    if inspect.isasyncgen(result) or hasattr(result, "__anext__"):
        items: AsyncIterator[Any] = result
    elif inspect.isgenerator(result) or (hasattr(result, "__next__")):
        items = _aiter_sync(result)
    else:
        rsp, data = _response(incoming, result)
        await assoc.send_message(incoming.context, rsp, data)
        return True
    final_sent = False
    async for item in items:
        if incoming.cancelled and not final_sent:
            await assoc.send_message(incoming.context, response_for(msg, status_codes.Cancel))
            final_sent = True
            break
        rsp, data = _response(incoming, item)
        await assoc.send_message(incoming.context, rsp, data)
        if not rsp.is_pending:
            final_sent = True
            break
    if not final_sent:
        await assoc.send_message(incoming.context, response_for(msg, status_codes.Success))
    return True


async def _aiter_sync(it: Any) -> AsyncIterator[Any]:
    sentinel = object()
    while True:
        item = await asyncio.to_thread(next, it, sentinel)
        if item is sentinel:
            return
        yield item


def _response(incoming: Incoming, result: Any) -> tuple[dimse.DimseResponse, Any]:
    msg = incoming.message
    data: Any = None
    if isinstance(result, tuple):
        if len(result) == 3:
            result, data, after = result
            if after is not None:
                incoming.after_response(after)
        else:
            result, data = result
    if result is None:
        rsp = response_for(msg, status_codes.Success)
    elif isinstance(result, dimse.DimseResponse):
        rsp = result
        if rsp.message_id_being_responded_to != msg.message_id:
            rsp = rsp.replace(message_id_being_responded_to=msg.message_id)
    else:
        rsp = response_for(msg, int(result))
    return _encodable(rsp), data


__all__ = [
    "AE",
    "ContextSpec",
    "Handler",
    "HandlerKey",
    "Handlers",
    "Roles",
    "Server",
    "normalize_contexts",
]
