"""``dicomkit serve [ARCHIVE_DIR]``: run the archive node (Storage, Q/R, Verification SCPs).

Runs with no configuration at all: ``./archive`` with a SQLite index inside it, port 11112,
AE title DICOMKIT, logs on stderr, Ctrl-C (or SIGTERM) stops it cleanly. ``--config FILE.toml``
sets peers and policies (see :mod:`dicomkit.archive.config`); options override the file.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from dicomkit.cli.echo import listen_port


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
    tls = p.add_argument_group("TLS (PS3.15 B.1)")
    tls.add_argument("--tls-cert", metavar="PEM", help="our certificate (enables TLS on the port)")
    tls.add_argument("--tls-key", metavar="PEM", help="our private key")
    tls.add_argument(
        "--tls-ca",
        metavar="PEM",
        help="CA to verify callers with (callers must present a certificate)",
    )
    p.set_defaults(func=run)


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


def run(args: argparse.Namespace) -> int:
    from dicomkit.archive import config as cfgmod
    from dicomkit.archive.app import ArchiveNode, describe
    from dicomkit.archive.store import DuplicatePolicy
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
        )
        if args.verbose == 0:  # a server says what it does: INFO for our loggers by default
            logging.getLogger("dicomkit").setLevel(logging.INFO)
            for chatty in ("dicomkit.net.pdu", "dicomkit.net.dimse"):  # the protocol view: -v
                logging.getLogger(chatty).setLevel(logging.WARNING)
        _check_port(cfg.host, cfg.port)  # before the archive folder and index are created
        node = ArchiveNode(cfg)
    except ArchiveError as exc:  # a bad option or file, an index that cannot be opened
        print(f"dicomkit serve: {exc}", file=sys.stderr)
        return 2

    async def main() -> None:
        server = await node.start()
        print(
            f"dicomkit serve: {describe(cfg, server.port, node.archive)}",
            file=sys.stderr,
            flush=True,
        )
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
