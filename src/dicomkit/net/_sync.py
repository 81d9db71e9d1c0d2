"""The synchronous front: the same asyncio driver, run on a background event-loop thread.

Nothing here re-implements the protocol: every method hands the coroutine of the async API
to a private event loop running in one daemon thread and waits for its result. ::

    from dicomkit.net import SyncAE
    from dicomkit import services   # a layer above net: your code imports both

    with SyncAE("MYSCU") as ae, ae.associate("127.0.0.1", 11112) as assoc:
        assoc.echo()
        assoc.call(services.store, "ct.dcm")   # any service's async SCU function

    with SyncAE("MYSCP") as ae, ae.serve(11112, {CStoreRequest: StorageSCP("out")}) as server:
        server.serve_forever()     # or do other work; handlers run on the loop / worker threads
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
    Mapping,
    Sequence,
)
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

from dicomkit.net._association import Association
from dicomkit.net._config import AEConfig
from dicomkit.net._messages import Response
from dicomkit.net._server import AE, ContextSpec, Handlers, Roles, Server
from dicomkit.net.proto import _dimse as dimse
from dicomkit.net.proto._negotiation import NegotiatedContext

T = TypeVar("T")
P = ParamSpec("P")


class _LoopThread:
    """One event loop in one daemon thread; ``run(coro)`` blocks for the result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="dicomkit-loop", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError(
                "a sync dicomkit call from inside its own event loop thread "
                "would deadlock: use the async API in handlers"
            )
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)


class SyncAE:
    """An :class:`~dicomkit.net.AE` for synchronous code (same arguments), or ``ae=`` an
    existing AE (any subclass) to drive from synchronous code."""

    def __init__(
        self,
        ae_title: str = "DICOMKIT",
        *,
        config: AEConfig | None = None,
        handlers: Handlers | None = None,
        supported: Mapping[str, Sequence[str]] | None = None,
        roles: Roles | None = None,
        ae: AE | None = None,
    ) -> None:
        if ae is not None:
            if config is not None or handlers or supported is not None or roles:
                raise TypeError("SyncAE(ae=...) takes its options from the AE given")
            self.ae = ae
        else:
            self.ae = AE(
                ae_title, config=config, handlers=handlers, supported=supported, roles=roles
            )
        self._runner: _LoopThread | None = None
        self._lock = threading.Lock()

    @property
    def runner(self) -> _LoopThread:
        """The background event-loop thread (started on first use)."""
        with self._lock:
            if self._runner is None:
                self._runner = _LoopThread()
            return self._runner

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on this AE's event loop and return its result (blocking), e.g. a
        service's ``await scp.join()`` or anything of the async API. ``timeout`` in seconds
        (``TimeoutError`` past it; the coroutine keeps running). Calling this from inside
        the loop thread (a handler) raises ``RuntimeError``: use ``await`` there."""
        return self.runner.run(coro, timeout)

    def associate(
        self,
        host: str,
        port: int,
        *,
        contexts: Sequence[ContextSpec] | None = None,
        ae_title: str = "ANY-SCP",
        **kw: Any,
    ) -> SyncAssociation:
        """Associate (blocking); use the result as a context manager to release on exit."""
        runner = self.runner

        async def go() -> Association:
            return await self.ae.associate(host, port, contexts=contexts, ae_title=ae_title, **kw)

        return SyncAssociation(runner.run(go()), runner)

    def serve(self, port: int = 0, handlers: Handlers | None = None, **kw: Any) -> SyncServer:
        """Start listening (returns at once; the server runs on the background loop)."""
        runner = self.runner
        return SyncServer(runner.run(self.ae.serve(port, handlers, **kw)), runner)

    def close(self) -> None:
        """Stop the background loop (live associations should be released first)."""
        if self._runner is not None:
            self._runner.stop()
            self._runner = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SyncAssociation:
    """Blocking wrappers over :class:`~dicomkit.net.Association`'s coroutines."""

    def __init__(self, assoc: Association, runner: _LoopThread) -> None:
        self.association = assoc
        self._run = runner.run

    @property
    def accepted_contexts(self) -> list[NegotiatedContext]:
        """The presentation contexts the acceptor accepted."""
        return self.association.accepted_contexts

    @property
    def is_established(self) -> bool:
        """True while the association is up (accepted, not yet released or aborted)."""
        return self.association.is_established

    def echo(self, *, timeout: float | None = -1.0) -> dimse.CEchoResponse:
        """C-ECHO: the response on success; a failure status raises ``DimseError``."""
        return self._run(self.association.echo(timeout=timeout))

    def call(
        self,
        fn: Callable[Concatenate[Association, P], Awaitable[T]],
        *args: P.args,
        **kw: P.kwargs,
    ) -> T:
        """Run a service's async SCU function on this association and return its result, e.g.
        ``assoc.call(storage.store, "ct.dcm")`` -- one implementation for both fronts."""

        async def go() -> T:
            return await fn(self.association, *args, **kw)

        return self._run(go())

    def iterate(
        self,
        fn: Callable[Concatenate[Association, P], AsyncIterator[T]],
        *args: P.args,
        **kw: P.kwargs,
    ) -> Iterator[T]:
        """Run a service's async-generator SCU function and yield what it yields, e.g. the
        matches of a C-FIND (pynetdicom's ``send_c_find``)::

            for match in assoc.iterate(query_retrieve.find, query):
                print(match.PatientName)

        (``assoc.call(query_retrieve.move, query, "DEST")`` and ``assoc.call(
        query_retrieve.get, query)`` are C-MOVE and C-GET.) Leaving the loop early closes the
        generator on the association's loop (a C-FIND sends its C-CANCEL there)."""
        agen = fn(self.association, *args, **kw)

        async def step() -> T:
            return await agen.__anext__()

        try:
            while True:
                try:
                    yield self._run(step())
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None:
                self._run(aclose())

    def request(self, message: dimse.DimseRequest, data: Any = None, **kw: Any) -> Response:
        """Send a DIMSE request (with its data set, if any) and return the final response
        (blocking); see :meth:`Association.request`."""
        return self._run(self.association.request(message, data, **kw))

    def request_iter(
        self, message: dimse.DimseRequest, data: Any = None, **kw: Any
    ) -> Iterator[Response]:
        """Send a DIMSE request and yield every response as it arrives, pending ones included
        (blocking iterator); see :meth:`Association.request_iter`."""
        agen = self.association.request_iter(message, data, **kw)

        async def step() -> Response:
            return await agen.__anext__()

        try:
            while True:
                try:
                    yield self._run(step())
                except StopAsyncIteration:
                    return
        finally:
            self._run(agen.aclose())

    def send_message(
        self, context: NegotiatedContext | int, message: dimse.DimseMessage, data: Any = None
    ) -> None:
        """Send one DIMSE message on a presentation context without waiting for an answer (e.g. a
        C-CANCEL)."""
        self._run(self.association.send_message(context, message, data))

    def release(self) -> None:
        """Release the association (A-RELEASE) and wait until it is closed."""
        self._run(self.association.release())

    def abort(self) -> None:
        """Abort the association (A-ABORT) at once."""
        self._run(self.association.abort())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._run(self.association.__aexit__(exc_type, exc, tb))


class SyncServer:
    """A listening SCP driven from synchronous code."""

    def __init__(self, server: Server, runner: _LoopThread) -> None:
        self.server = server
        self._run = runner.run

    @property
    def port(self) -> int:
        """The TCP port the server listens on (useful after ``serve(0)``)."""
        return self.server.port

    def serve_forever(self) -> None:
        """Block until the server is closed (from another thread, or Ctrl-C)."""
        self._run(self.server.serve_forever())

    def close(self, *, abort: bool = True) -> None:
        """Stop listening and end the live associations (aborted unless ``abort=False``, which waits
        for them)."""
        self._run(self.server.close(abort=abort))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["SyncAE", "SyncAssociation", "SyncServer"]
