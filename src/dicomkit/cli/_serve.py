"""``dicomkit serve [ARCHIVE_DIR]``: run the archive node (Storage, Q/R, Verification SCPs).

Runs with no configuration at all: ``./archive`` with a SQLite index inside it, port 11112,
AE title DICOMKIT, logs on stderr, Ctrl-C (or SIGTERM) stops it cleanly. ``--config FILE.toml``
sets peers and policies (see :mod:`dicomkit.archive._config`); options override the file.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from typing import Any

from dicomkit.cli._echo import listen_port


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the archive node: store, index, query and retrieve",
        description="Storage (every storage SOP class and transfer syntax), Query/Retrieve "
        "(FIND, MOVE, GET; Patient and Study Root) and Verification SCPs over an "
        "archive folder.",
    )
    p.add_argument(
        "archive",
        nargs="?",
        default=None,
        metavar="ARCHIVE_DIR",
        help="archive folder (default ./archive, or [server] archive in --config)",
    )
    p.add_argument("--port", type=listen_port, default=None, help="TCP port (default 11112)")
    p.add_argument("--host", default=None, help="address to listen on (default 0.0.0.0)")
    p.add_argument("--aet", default=None, help="our AE title (default DICOMKIT)")
    p.add_argument("--config", metavar="FILE.toml", help="TOML configuration file")
    p.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="AET=HOST:PORT",
        help="a C-MOVE destination (repeatable)",
    )
    p.add_argument(
        "--db",
        metavar="URL",
        help="index database: sqlite:///path or postgresql://... (default: SQLite in the archive)",
    )
    p.add_argument(
        "--duplicates",
        choices=["keep", "replace", "reject"],
        default=None,
        help="what to do with an already stored SOP instance (default keep)",
    )
    p.add_argument(
        "--accept",
        action="append",
        default=None,
        metavar="AET",
        help="accept only these calling AE titles (repeatable; default: anyone)",
    )
    p.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        default=None,
        help="skip the start-up check of index against files (to inspect a damaged archive; "
        "run 'dicomkit archive check' then)",
    )
    p.add_argument(
        "--require-called-aet",
        action="store_true",
        default=None,
        help="reject associations whose called AE title is not ours",
    )
    p.add_argument(
        "--lenient-uids",
        action="store_true",
        default=None,
        help="accept legacy UIDs with a leading-zero component (as dcmqrscp and Orthanc do)",
    )
    p.add_argument(
        "--min-free-bytes",
        type=int,
        metavar="N",
        help="refuse stores (A700) while less than N bytes are free (default 256 MiB)",
    )
    limits = p.add_argument_group(
        "limits (lock-out protection; also in --config [server])",
        "0 disables a per-host / per-AE limit or a timeout",
    )
    limits.add_argument("--max-associations", type=int, metavar="N", help="in all (default 64)")
    limits.add_argument(
        "--max-per-host",
        dest="max_associations_per_host",
        type=int,
        metavar="N",
        help="from one peer address (default 48)",
    )
    limits.add_argument(
        "--max-per-aet",
        dest="max_associations_per_aet",
        type=int,
        metavar="N",
        help="with one calling AE title (default 32)",
    )
    limits.add_argument(
        "--max-pending",
        type=int,
        metavar="N",
        help="connections waiting for their association request; the oldest is dropped "
        "(default 64)",
    )
    limits.add_argument(
        "--max-request-bytes",
        type=int,
        metavar="N",
        help="longest A-ASSOCIATE-RQ (default 131072)",
    )
    limits.add_argument(
        "--max-pending-bytes",
        type=int,
        metavar="N",
        help="partial association requests held in all (default 16 MiB)",
    )
    limits.add_argument(
        "--async-ops",
        type=int,
        metavar="N",
        help="asynchronous operations window granted: up to N operations outstanding on an "
        "association when the requestor proposes a window (PS3.7 D.3.3.3); 0 or 1, the "
        "default: none",
    )
    limits.add_argument(
        "--acse-timeout",
        type=float,
        metavar="S",
        help="seconds for the association request/release (ARTIM; default 30)",
    )
    limits.add_argument(
        "--dimse-timeout",
        type=float,
        metavar="S",
        help="seconds of silence inside a message, and for one PDU to arrive (default 60)",
    )
    limits.add_argument(
        "--idle-timeout",
        type=float,
        metavar="S",
        help="seconds an association with nothing to do stays open (default 120)",
    )
    tls = p.add_argument_group("TLS (PS3.15 B.1)")
    tls.add_argument("--tls-cert", metavar="PEM", help="our certificate (enables TLS on the port)")
    tls.add_argument("--tls-key", metavar="PEM", help="our private key")
    tls.add_argument(
        "--tls-ca",
        metavar="PEM",
        help="CA to verify callers with (callers must present a certificate)",
    )
    web = p.add_argument_group("DICOMweb (PS3.18; needs the web extra)")
    web.add_argument(
        "--http-port",
        type=int,
        default=None,
        metavar="PORT",
        help="QIDO-RS / WADO-RS / STOW-RS at http://HOST:PORT/dicom-web and the web page at "
        "http://HOST:PORT/ (default 8042; 0: off)",
    )
    web.add_argument(
        "--http-host", default=None, help="address DICOMweb listens on (default 127.0.0.1)"
    )
    ops = p.add_argument_group("operations (also in --config; see the archive operator's guide)")
    ops.add_argument(
        "--audit-file",
        metavar="PATH",
        help="append the audit trail there (PS3.15 A.5 XML, one message per line)",
    )
    ops.add_argument(
        "--audit-syslog",
        metavar="URL",
        help="send the audit trail to a syslog collector: udp://HOST:PORT (RFC 5426), "
        "tcp://HOST:PORT or tls://HOST:PORT (RFC 5425; CA etc. in [audit])",
    )
    ops.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve /health and Prometheus /metrics on this HTTP port (default 0: off; needs "
        "the metrics extra)",
    )
    ops.add_argument(
        "--metrics-host", default=None, help="address of the metrics port (default 127.0.0.1)"
    )
    ops.add_argument(
        "--log-max-bytes",
        type=int,
        default=None,
        metavar="N",
        help="rotate the --log-file when it reaches N bytes",
    )
    ops.add_argument(
        "--log-rotate",
        choices=["midnight", "hourly", "daily"],
        default=None,
        help="rotate the --log-file at these times",
    )
    ops.add_argument(
        "--log-backups",
        type=int,
        default=None,
        metavar="N",
        help="rotated log files kept (default 7)",
    )
    p.set_defaults(func=run)


_LIMITS = (
    "max_associations",
    "max_associations_per_host",
    "max_associations_per_aet",
    "max_pending",
    "max_request_bytes",
    "max_pending_bytes",
    "async_ops",
    "acse_timeout",
    "dimse_timeout",
    "idle_timeout",
)


def _check_port(host: str, port: int) -> None:
    """Bind (host, port) once and let go: a port in use or not ours to take fails here, before
    anything is created on disk (the server binds it again a moment later)."""
    import socket

    from dicomkit.errors import ArchiveError

    if not port:
        return
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, kind, proto, _name, address = infos[0]
        with socket.socket(family, kind, proto) as sock:
            if hasattr(socket, "SO_REUSEADDR"):  # as asyncio's server does: TIME_WAIT is fine
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as exc:
        raise ArchiveError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port "
            "(nothing was created)"
        ) from None


def _http_in_file(path: str | None) -> bool:
    """Whether the configuration file sets ``[server] http_port`` (then a busy port is an
    error, as with ``--http-port``)."""
    if not path:
        return False
    import tomllib

    try:
        with open(path, "rb") as fp:
            return "http_port" in tomllib.load(fp).get("server", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False  # the configuration loader has already said what is wrong


class _WebService:
    """DICOMweb (:mod:`dicomkit.web`) as one of the node's services, in its event loop. On
    the default port a failure to listen only turns DICOMweb off (with a warning); on a
    port asked for, it stops the node."""

    def __init__(self, node: Any, cfg: Any, explicit: bool) -> None:
        from dicomkit.archive._web_settings import web_settings
        from dicomkit.web._app import HttpServer, create_app

        settings = web_settings(cfg.services)
        app = create_app(
            node.archive,
            retrieve_aet=cfg.ae_title,
            disk_low=node.storage.disk.low,
            settings=settings,
            ups=node.hosted.ups,
            audit=node.audit,
            audit_queries=node.watch.audit_queries,
            on_stored=node.storage.observe_stored,
        )
        self.http = HttpServer(app, cfg.http_host, cfg.http_port, settings=settings)
        self.prefix = settings.prefix
        self.explicit = explicit
        self.url: str | None = None

    async def start(self) -> None:
        from dicomkit.errors import DicomError

        try:
            await self.http.start()
        except DicomError as exc:
            if self.explicit:
                raise OSError(str(exc)) from exc
            logging.getLogger("dicomkit.web").warning("DICOMweb is off: %s", exc)
            return
        self.url = f"{self.http.scheme}://{self.http.host}:{self.http.port}{self.prefix}"

    async def stop(self) -> None:
        await self.http.stop()


def _web_service(cfg: Any, explicit: bool) -> Any:
    """A factory of the node's DICOMweb service, or None when it is off (``http_port`` 0, or
    the web extra missing on the default port). Raises ``ArchiveError`` when DICOMweb was
    asked for and cannot run."""
    from dicomkit.errors import ArchiveError

    if not cfg.http_port:
        return None
    try:
        import dicomkit.web._app  # noqa: F401 -- Starlette, Uvicorn
    except ImportError as exc:
        if explicit:
            raise ArchiveError(
                f"DICOMweb needs the web extra ({exc.name} is missing): pip install "
                "'dicomkit[web]', or --http-port 0 to run without it"
            ) from None
        logging.getLogger("dicomkit.web").warning(
            "DICOMweb is off: %s is not installed (pip install 'dicomkit[web]')", exc.name
        )
        return None
    if explicit:
        try:
            _check_port(cfg.http_host, cfg.http_port)
        except ArchiveError:
            raise ArchiveError(
                f"cannot serve DICOMweb on {cfg.http_host}:{cfg.http_port}: the port is in use "
                "or not ours to take; choose another --http-port, or 0 to turn DICOMweb off "
                "(nothing was created)"
            ) from None
    return lambda node: _WebService(node, cfg, explicit)


def rotating_log(cfg: Any) -> None:
    """Log to ``cfg.log_file``, rotated by size (``log_max_bytes``) or time (``log_rotate``),
    keeping ``log_backups`` old files (``FILE.1`` ... by size, ``FILE.YYYY-MM-DD`` ... by
    time); replaces the handler ``--log-file`` installed. Raises ``ArchiveError`` when the
    file cannot be opened."""
    from dicomkit.archive._rotate import rotating_handler
    from dicomkit.cli._main import _HANDLER_NAME
    from dicomkit.errors import ArchiveError

    try:
        handler: logging.Handler = rotating_handler(
            cfg.log_file,
            max_bytes=cfg.log_max_bytes,
            backups=cfg.log_backups,
            rotate=cfg.log_rotate,
        )
    except OSError as exc:
        raise ArchiveError(
            f"log file {cfg.log_file}: {exc.strerror or exc}; fix the path or its permissions"
        ) from None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)


def run(args: argparse.Namespace) -> int:
    from dicomkit.archive import _config as cfgmod
    from dicomkit.archive._app import ArchiveNode, describe
    from dicomkit.archive._store import DuplicatePolicy
    from dicomkit.errors import ArchiveError

    try:
        peers = [cfgmod.parse_peer(p) for p in args.peer]
        cfg = cfgmod.load(
            args.config,
            archive=args.archive,
            port=args.port,
            host=args.host,
            ae_title=args.aet,
            db=args.db,
            duplicates=DuplicatePolicy(args.duplicates) if args.duplicates else None,
            accepted_calling_aets=frozenset(args.accept) if args.accept else None,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            tls_ca=args.tls_ca,
            extra_peers=peers,
            check=args.check,
            require_called_aet=args.require_called_aet,
            lenient_uids=args.lenient_uids,
            min_free_bytes=args.min_free_bytes,
            http_port=args.http_port,
            http_host=args.http_host,
            audit_file=args.audit_file,
            audit_syslog=args.audit_syslog,
            metrics_port=args.metrics_port,
            metrics_host=args.metrics_host,
            log_file=getattr(args, "verbose_after_log_file", None) or args.verbose_log_file,
            log_max_bytes=args.log_max_bytes,
            log_rotate=args.log_rotate,
            log_backups=args.log_backups,
            **{key: getattr(args, key) for key in _LIMITS},
        )
        if args.verbose == 0:  # a server says what it does: INFO for our loggers by default
            logging.getLogger("dicomkit").setLevel(logging.INFO)
            for chatty in ("dicomkit.net.pdu", "dicomkit.net.dimse"):  # the protocol view: -v
                logging.getLogger(chatty).setLevel(logging.WARNING)
        if cfg.log_file:
            rotating_log(cfg)
        _check_port(cfg.host, cfg.port)  # before the archive folder and index are created
        web = _web_service(cfg, args.http_port is not None or _http_in_file(args.config))
        node = ArchiveNode(cfg)
        _media_creation(node)
        if web is not None:
            node.services.append(web(node))
    except ArchiveError as exc:  # a bad option or file, an index that cannot be opened
        print(f"dicomkit serve: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk or a folder we may not write, at start-up
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"dicomkit serve: cannot start: {exc.strerror or exc}{where}; free disk space or "
            "fix the archive folder's permissions, then start again",
            file=sys.stderr,
        )
        return 2

    async def main() -> None:
        server = await node.start()
        print(
            f"dicomkit serve: {describe(cfg, server.port, node.archive)}",
            file=sys.stderr,
            flush=True,
        )
        for service in node.services:
            if getattr(service, "url", None):
                page = service.url.removesuffix("dicom-web")
                print(
                    f"dicomkit serve: DICOMweb at {service.url}, web page at {page}",
                    file=sys.stderr,
                    flush=True,
                )
        # what start-up made (modules, dictionary tables, the node) lives as long as the
        # process: kept out of the collector's full passes, which ingest garbage triggers
        gc.collect()
        gc.freeze()
        await node.run()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # a second Ctrl-C while shutting down
        return 130
    except OSError as exc:
        node.archive.close()
        print(
            f"dicomkit serve: cannot listen on {cfg.host}:{cfg.port}: {exc.strerror or exc}; "
            f"choose another --port",
            file=sys.stderr,
        )
        return 2
    print("dicomkit serve: stopped", file=sys.stderr)
    return 0


def _media_creation(node: Any) -> None:
    """Media Creation Management when ``[media_creation]`` is on: the archive hosts it, the
    media layer (above the archive) builds the File-sets and ISO images."""
    from dicomkit.archive._ps34_hosted import install_media_creation

    if node.config.services.get("media_creation", {}).get("enabled"):
        from dicomkit.media import build_media

        install_media_creation(node, build_media)
