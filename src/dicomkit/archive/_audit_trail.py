"""Where audit messages go: a file (one XML message per line) and a syslog collector.

:class:`AuditTrail` takes :class:`~dicomkit.archive._audit.AuditMessage` values from any
thread (:meth:`AuditTrail.emit` never blocks: a bounded queue, the oldest kept) and writes
them from one background thread:

- to a file, appended, one message per line (UTF-8, no XML declaration): ``grep`` and
  ``tail -f`` work, and each line parses on its own; rotated like the node's log (by size
  ``max_bytes`` and / or time ``rotate``, keeping ``backups`` old files; each defaults to the
  node's ``log_max_bytes`` / ``log_rotate`` / ``log_backups``);
- to a syslog collector as RFC 5424 messages (PRI ``<85>``, facility 10 security/authorization,
  severity 5 notice; 4 warning for failures; MSGID ``DICOM+RFC3881``; the XML after a UTF-8
  BOM as MSG; PS3.15 A.6 / A.7): over UDP one datagram each (RFC 5426), over TCP or TLS with
  octet-counting framing (RFC 6587 3.4.1, the framing RFC 5425 gives TLS). A collector that
  goes away is reconnected at the next message; a message that cannot be sent is counted in
  :attr:`AuditTrail.dropped` and logged (rate-limited), and the node goes on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import queue
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dicomkit.archive._audit import AuditMessage, AuditSource
from dicomkit.archive._rotate import ROTATIONS, rotating_handler
from dicomkit.errors import ArchiveError
from dicomkit.net._loglimit import bad_input

log = logging.getLogger("dicomkit.archive.audit")

#: syslog facility 10 (security/authorization messages), PS3.15 A.6
FACILITY = 10
#: the MSGID PS3.15 A.6 / A.7 suggest for messages in the DICOM audit format
MSGID = "DICOM+RFC3881"
#: largest datagram we send over UDP (RFC 5426 3.2: a collector may truncate beyond its MTU)
_UDP_MAX = 65_000


class AuditConfigError(ArchiveError):
    """An ``[audit]`` setting that cannot be used (says which and how to fix it)."""


@dataclass(frozen=True, slots=True)
class SyslogTarget:
    """A syslog collector: ``transport`` udp, tcp or tls, host and port; for TLS, the CA that
    signed the collector's certificate (``ca``; default: the system's) and our own
    certificate and key when the collector asks for one."""

    transport: str
    host: str
    port: int
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    #: APP-NAME of the RFC 5424 header
    app_name: str = "dicomkit"

    @classmethod
    def parse(cls, url: str, **tls: str | None) -> SyslogTarget:
        """``udp://HOST:PORT``, ``tcp://HOST:PORT`` or ``tls://HOST:PORT`` (port default 514,
        6514 for TLS)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("udp", "tcp", "tls") or not parts.hostname:
            raise AuditConfigError(
                f"audit syslog {url!r}: expected udp://HOST:PORT, tcp://HOST:PORT or "
                "tls://HOST:PORT, e.g. tls://audit.example.org:6514"
            )
        try:
            port = parts.port or (6514 if scheme == "tls" else 514)
        except ValueError:
            raise AuditConfigError(f"audit syslog {url!r}: the port is not a number") from None
        return cls(scheme, parts.hostname, port, tls.get("ca"), tls.get("cert"), tls.get("key"))


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """The ``[audit]`` section: where messages go and what is audited."""

    file: Path | None = None
    syslog: SyslogTarget | None = None
    #: AuditSourceID (default: the node's AE title) and AuditEnterpriseSiteID
    source_id: str | None = None
    site_id: str | None = None
    #: audit every C-FIND (Query, 110112); each carries its identifier
    queries: bool = True
    #: rotation of ``file``: past this many bytes (0: never by size), at ``rotate``
    #: ("midnight", "hourly", "daily"; "": never by time), keeping ``backups`` old files;
    #: None: as the node's log (``log_max_bytes``, ``log_rotate``, ``log_backups``)
    max_bytes: int | None = None
    rotate: str | None = None
    backups: int | None = None

    @property
    def enabled(self) -> bool:
        """Whether messages go anywhere."""
        return self.file is not None or self.syslog is not None

    def rotated_like(self, max_bytes: int, rotate: str, backups: int) -> AuditSettings:
        """These settings with the rotation left unset taken from the node's log's."""
        from dataclasses import replace

        return replace(
            self,
            max_bytes=max_bytes if self.max_bytes is None else self.max_bytes,
            rotate=rotate if self.rotate is None else self.rotate,
            backups=backups if self.backups is None else self.backups,
        )


def parse_settings(section: Any, base: Path) -> AuditSettings:
    """``[audit]`` as read from TOML; relative paths are relative to ``base``."""
    if not isinstance(section, dict):
        raise AuditConfigError("[audit] must be a table of settings")
    known = {"file", "syslog", "syslog_ca", "syslog_cert", "syslog_key", "source_id", "site_id"}
    known |= {"queries", "app_name", "max_bytes", "rotate", "backups"}
    bad = set(section) - known
    if bad:
        raise AuditConfigError(
            f"[audit]: unknown key(s) {', '.join(sorted(bad))}; known: {', '.join(sorted(known))}"
        )

    def path(key: str) -> str | None:
        value = section.get(key)
        if value is None:
            return None
        p = Path(str(value))
        return str(p if p.is_absolute() else base / p)

    target = None
    if section.get("syslog"):
        target = SyslogTarget.parse(
            str(section["syslog"]),
            ca=path("syslog_ca"),
            cert=path("syslog_cert"),
            key=path("syslog_key"),
        )
        if section.get("app_name"):
            from dataclasses import replace

            target = replace(target, app_name=str(section["app_name"]))
    queries = section.get("queries", True)
    if not isinstance(queries, bool):
        raise AuditConfigError(f"[audit] queries = {queries!r}: use true or false")
    file = path("file")
    sizes: dict[str, int | None] = {}
    for key in ("max_bytes", "backups"):
        value = section.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise AuditConfigError(f"[audit] {key} = {value!r}: a whole number >= 0")
        sizes[key] = value
    rotate = section.get("rotate")
    if rotate is not None and rotate not in ROTATIONS:
        raise AuditConfigError(
            f'[audit] rotate = {rotate!r}: use one of midnight, hourly, daily (or "": never)'
        )
    return AuditSettings(
        Path(file) if file else None,
        target,
        str(section["source_id"]) if section.get("source_id") else None,
        str(section["site_id"]) if section.get("site_id") else None,
        queries,
        max_bytes=sizes["max_bytes"],
        rotate=rotate,
        backups=sizes["backups"],
    )


def _printusascii(text: str, limit: int) -> str:
    """An RFC 5424 header field: printable US-ASCII without spaces, at most ``limit``."""
    out = "".join(c for c in text if 33 <= ord(c) <= 126)[:limit]
    return out or "-"


def syslog_frame(
    xml: str,
    *,
    severity: int = 5,
    app_name: str = "dicomkit",
    hostname: str | None = None,
    procid: int | None = None,
    when: dt.datetime | None = None,
) -> bytes:
    """One RFC 5424 SYSLOG-MSG carrying ``xml`` (no transport framing)."""
    stamp = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    header = (
        f"<{FACILITY * 8 + severity}>1 "
        f"{stamp.strftime('%Y-%m-%dT%H:%M:%S.')}{stamp.microsecond // 1000:03d}Z "
        f"{_printusascii(hostname or socket.gethostname(), 255)} "
        f"{_printusascii(app_name, 48)} {procid if procid is not None else os.getpid()} "
        f"{MSGID} - "
    )
    return header.encode("ascii") + b"\xef\xbb\xbf" + xml.encode("utf-8")


class _SyslogSender:
    """One collector; the connection (TCP, TLS) is made on first use and again after a
    failure."""

    def __init__(self, target: SyslogTarget) -> None:
        self.target = target
        self.sock: socket.socket | None = None
        self.context: ssl.SSLContext | None = None
        if target.transport == "tls":
            try:
                ctx = ssl.create_default_context(cafile=target.ca)
                if target.cert:
                    ctx.load_cert_chain(target.cert, target.key)
            except (OSError, ssl.SSLError) as exc:
                raise AuditConfigError(
                    f"[audit] syslog TLS: cannot use CA {target.ca or '(system)'} / certificate "
                    f"{target.cert or '(none)'}: {exc}"
                ) from exc
            self.context = ctx

    def _connect(self) -> socket.socket:
        t = self.target
        if t.transport == "udp":
            info = socket.getaddrinfo(t.host, t.port, type=socket.SOCK_DGRAM)[0]
            sock = socket.socket(info[0], socket.SOCK_DGRAM)
            sock.connect(info[4])
            return sock
        sock = socket.create_connection((t.host, t.port), timeout=10)
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_hostname=t.host)
        return sock

    def send(self, message: bytes) -> None:
        """Send one SYSLOG-MSG (framed for TCP / TLS); raises ``OSError`` when it cannot."""
        if self.sock is None:
            self.sock = self._connect()
        try:
            if self.target.transport == "udp":
                self.sock.send(message[:_UDP_MAX])
            else:
                self.sock.sendall(str(len(message)).encode("ascii") + b" " + message)
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None


_STOP = object()


class AuditTrail:
    """Audit messages to a file and/or a syslog collector, written by a background thread.

    ``emit(message)`` from any thread; :meth:`close` writes what is queued and stops. With
    neither a file nor a collector it does nothing (``enabled`` is False)."""

    def __init__(self, settings: AuditSettings, source: AuditSource, *, capacity: int = 10_000):
        self.settings = settings
        self.source = source
        #: messages that could not be written or sent (queue full, collector unreachable)
        self.dropped = 0
        #: messages written to the file / sent to the collector
        self.written = 0
        self.enabled = settings.enabled
        self._queue: queue.Queue[Any] = queue.Queue(capacity)
        self._sender = _SyslogSender(settings.syslog) if settings.syslog else None
        self._file: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        if settings.file is not None:
            try:
                settings.file.parent.mkdir(parents=True, exist_ok=True)
                self._file = rotating_handler(
                    settings.file,
                    max_bytes=settings.max_bytes or 0,
                    backups=7 if settings.backups is None else settings.backups,
                    rotate=settings.rotate or "",
                )
                self._file.setFormatter(logging.Formatter("%(message)s"))
            except OSError as exc:
                raise AuditConfigError(
                    f"[audit] file {settings.file}: cannot open it for appending: "
                    f"{exc.strerror or exc}; fix the path or its folder's permissions"
                ) from exc

    @property
    def depth(self) -> int:
        """Messages waiting to be written or sent."""
        return self._queue.qsize()

    def emit(self, message: AuditMessage) -> None:
        """Queue ``message`` (never blocks; thread-safe)."""
        if not self.enabled:
            return
        self._start()
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            self.dropped += 1
            bad_input(log, "audit queue full: a message was dropped (%d so far)", self.dropped)

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="dicomkit-audit", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            if isinstance(item, _Marker):
                self._flush()
                item.done.set()
                continue
            self._write(item)
            if self._queue.empty():
                self._flush()

    def _write(self, message: AuditMessage) -> None:
        try:
            xml = message.to_xml(self.source)
        except Exception as exc:  # noqa: BLE001 -- a bug must not stop the trail
            self.dropped += 1
            log.error("audit message could not be written: %s", exc)
            return
        ok = True
        if self._file is not None:
            try:
                self._append(xml)
            except OSError as exc:
                ok = False
                bad_input(log, "audit file %s: %s", self.settings.file, exc.strerror or exc)
        if self._sender is not None:
            frame = syslog_frame(
                xml,
                severity=5 if message.outcome == 0 else 4,
                app_name=self._sender.target.app_name,
                when=message.time,
            )
            for attempt in (1, 2):  # a collector that restarted: reconnect once
                try:
                    self._sender.send(frame)
                    break
                except OSError as exc:
                    if attempt == 2:
                        ok = False
                        t = self._sender.target
                        bad_input(
                            log,
                            "audit message not sent to %s://%s:%d: %s",
                            t.transport,
                            t.host,
                            t.port,
                            exc,
                        )
        if ok:
            self.written += 1
        else:
            self.dropped += 1

    def _append(self, xml: str) -> None:
        """(writer thread) One line to the file, rolled over first when it is due."""
        handler = self._file
        record = logging.makeLogRecord({"msg": xml})
        if handler.shouldRollover(record):
            handler.doRollover()
        if handler.stream is None:  # a rollover that could not reopen: try again now
            handler.stream = open(handler.baseFilename, "a", encoding="utf-8")  # noqa: SIM115
        handler.stream.write(xml + "\n")

    def _flush(self) -> None:
        if self._file is not None and self._file.stream is not None:
            with contextlib.suppress(OSError):
                self._file.stream.flush()

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until what was emitted so far is written (tests, shutdown)."""
        if self._thread is None:
            return
        done = threading.Event()
        marker = _Marker(done)
        with contextlib.suppress(queue.Full):
            self._queue.put(marker, timeout=timeout)
        done.wait(timeout)

    def close(self) -> None:
        """Write what is queued, then stop the thread and close the file and connection."""
        if self._thread is not None:
            with contextlib.suppress(queue.Full):
                self._queue.put(_STOP, timeout=10)
            self._thread.join(10)
            self._thread = None
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        if self._sender is not None:
            self._sender.close()
        self.enabled = False


class _Marker:
    """(internal) flush marker: its event is set when the writer reaches it."""

    def __init__(self, done: threading.Event) -> None:
        self.done = done


__all__ = ["AuditConfigError", "AuditSettings", "AuditTrail", "SyslogTarget", "syslog_frame"]
