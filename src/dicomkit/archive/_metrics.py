"""Health check and Prometheus metrics of the archive node, on their own HTTP port.

``[server] metrics_port`` (``serve --metrics-port``; 0, the default, is off) serves, on
``metrics_host`` (default 127.0.0.1):

- ``GET /metrics``: the Prometheus text exposition format, from the ``prometheus_client``
  library (the ``metrics`` extra): instances stored, store failures by status, a store
  latency histogram, associations open / waiting / accepted / rejected, C-FIND / C-MOVE /
  C-GET requests by outcome, queue depths (ingests in flight, audit messages waiting), free
  disk space and the audit trail's dropped messages;
- ``GET /health``: ``200`` with a JSON body ``{"status": "ok", ...}`` while the DICOM port
  listens, the index answers a cheap query within :data:`INDEX_TIMEOUT` seconds and the disk
  has more than the high-water mark free; else ``503`` with ``"down"`` (port, index) or
  ``"degraded"`` (stores refused for lack of disk space) and a ``reason`` in words. The
  document also reports ``disk_free_bytes`` and ``disk_min_free_bytes``.

A port of its own rather than a path on DICOMweb's: it runs without the web extra and when
DICOMweb is off, it can listen on a management network that DICOMweb's clients never see,
and a scraper needs no DICOMweb credentials. The HTTP side is deliberately tiny (GET of two
paths, one request per connection) and runs on the node's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from dicomkit.errors import ArchiveError

log = logging.getLogger("dicomkit.archive.metrics")

#: store latency buckets, seconds (a small instance is acknowledged in milliseconds; a large
#: one over a slow disk in seconds)
STORE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _client() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise ArchiveError(
            "metrics need the prometheus_client library: pip install 'dicomkit[metrics]', or "
            "metrics_port = 0 to run without them"
        ) from None
    return prometheus_client


class NodeMetrics:
    """The node's counters and histograms in a registry of their own (no global state), plus
    gauges read when scraped from ``probe()`` (a mapping name -> value)."""

    def __init__(self, probe: Callable[[], dict[str, float]]) -> None:
        pc = _client()
        from prometheus_client.core import GaugeMetricFamily

        self.registry = pc.CollectorRegistry()
        reg = self.registry
        self.stored = pc.Counter(
            "dicomkit_instances_stored",
            "Instances received by C-STORE and kept (outcome: stored, replaced, kept)",
            ["outcome"],
            registry=reg,
        )
        self.store_failures = pc.Counter(
            "dicomkit_store_failures",
            "C-STORE requests answered with a failure status",
            ["status"],
            registry=reg,
        )
        self.store_seconds = pc.Histogram(
            "dicomkit_store_seconds",
            "Time from the last fragment of a data set to its durable acknowledgement",
            buckets=STORE_BUCKETS,
            registry=reg,
        )
        self.associations = pc.Counter(
            "dicomkit_associations",
            "Associations requested, by result (accepted, rejected)",
            ["result"],
            registry=reg,
        )
        self.requests = pc.Counter(
            "dicomkit_qr_requests",
            "C-FIND / C-MOVE / C-GET requests by operation and outcome (success, failure, refused)",
            ["operation", "outcome"],
            registry=reg,
        )
        self.refused = pc.Counter(
            "dicomkit_access_refused",
            "Operations refused by the [access] rules, by operation",
            ["operation"],
            registry=reg,
        )
        self.probe = probe

        class _Gauges:
            def describe(self) -> list[Any]:  # the names, without probing the node
                return [GaugeMetricFamily(name, doc) for name, doc in _DOCS.items()]

            def collect(self) -> Iterator[Any]:
                for name, value in probe().items():
                    yield GaugeMetricFamily(name, _DOCS.get(name, name), value=float(value))

        reg.register(_Gauges())

    def exposition(self) -> tuple[bytes, str]:
        """The metrics text and its content type."""
        pc = _client()
        return pc.generate_latest(self.registry), pc.CONTENT_TYPE_LATEST


_DOCS = {
    "dicomkit_associations_open": "Associations established and not yet ended",
    "dicomkit_connections_waiting": "Connections waiting for (or sending) their A-ASSOCIATE-RQ",
    "dicomkit_ingest_in_flight": "Received instances being written and indexed",
    "dicomkit_audit_queue_depth": "Audit messages waiting to be written or sent",
    "dicomkit_audit_dropped": "Audit messages that could not be written or sent",
    "dicomkit_disk_free_bytes": "Free bytes on the archive's file system",
    "dicomkit_disk_min_free_bytes": "Stores are refused (A700) below this many free bytes",
}


def disk_free(path: Any) -> float:
    """Free bytes on the file system of ``path`` (0 when it cannot be read)."""
    try:
        return float(shutil.disk_usage(path).free)
    except OSError:
        return 0.0


#: seconds the health check waits for the index's answer
INDEX_TIMEOUT = 5.0


class IndexProbe:
    """The health check's index query: ``ping`` in a worker thread, waited for at most
    ``timeout`` seconds. One at a time: while a query that timed out is still stuck (a
    locked or hung index), later checks answer at once instead of piling up threads."""

    def __init__(self, ping: Callable[[], None], timeout: float = INDEX_TIMEOUT) -> None:
        self.ping = ping
        self.timeout = timeout
        self._running: asyncio.Future[None] | None = None

    async def problem(self) -> str | None:
        """None when the index answered, else what is wrong, in words."""
        if self._running is not None and not self._running.done():
            return (
                "the index has not answered the previous health query yet (locked or hung); "
                "check the database and its disk"
            )
        running = self._running = asyncio.ensure_future(asyncio.to_thread(self.ping))
        try:
            await asyncio.wait_for(asyncio.shield(running), self.timeout)
        except TimeoutError:
            return (
                f"the index did not answer a query within {self.timeout:g} s (locked or hung); "
                "check the database and its disk"
            )
        except Exception as exc:  # noqa: BLE001 -- any driver error means 'not answering'
            return (
                f"the index does not answer: {exc}; run 'dicomkit archive check' or "
                "'dicomkit archive rebuild' on the archive folder"
            )
        return None


class HealthServer:
    """``/health`` and ``/metrics`` over HTTP/1.1 on the node's loop (one request per
    connection; anything else is 404 / 405)."""

    def __init__(
        self,
        metrics: NodeMetrics,
        health: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
        host: str,
        port: int,
    ) -> None:
        self.metrics = metrics
        self.health = health
        self.host = host
        self.port = port
        self.started = time.monotonic()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen (raises ``ArchiveError`` naming the port when it cannot)."""
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as exc:
            raise ArchiveError(
                f"cannot serve metrics on {self.host}:{self.port}: {exc.strerror or exc}; "
                "choose another --metrics-port, or 0 to turn metrics off"
            ) from None
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("health and metrics at http://%s:%d/metrics", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                head = await reader.readuntil(b"\r\n\r\n")
            parts = head.split(b"\r\n", 1)[0].split()
            method = parts[0] if parts else b""
            path = parts[1].split(b"?", 1)[0] if len(parts) > 1 else b""
            if method not in (b"GET", b"HEAD"):
                status, ctype, body = 405, "text/plain", b"only GET\n"
            elif path == b"/metrics":
                body, ctype = self.metrics.exposition()
                status = 200
            elif path in (b"/health", b"/healthz"):
                status, doc = await self.health()
                ctype, body = "application/json", json.dumps(doc).encode() + b"\n"
            else:
                status, ctype, body = 404, "text/plain", b"try /health or /metrics\n"
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(
                status, "Service Unavailable"
            )
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1")
                + (body if method == b"GET" else b"")
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


__all__ = ["INDEX_TIMEOUT", "HealthServer", "IndexProbe", "NodeMetrics", "disk_free"]
