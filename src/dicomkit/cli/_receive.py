"""``dicomkit receive --port P --out DIR``: a storage SCP writing Part 10 files, like storescp."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any

from dicomkit.cli._echo import add_network_options, config_from_args, listen_port


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "receive",
        help="run a storage SCP (C-STORE) writing files to a folder",
        description="Accept C-ECHO and C-STORE for every storage SOP class; each instance is "
        "written to OUT/<SOP Instance UID>.dcm as it arrives (atomically).",
    )
    p.add_argument(
        "--port", type=listen_port, required=True, help="TCP port to listen on (0: any free)"
    )
    p.add_argument("--host", default="0.0.0.0", help="address to bind (default %(default)s)")
    p.add_argument("--out", required=True, metavar="DIR", help="destination folder")
    limits = p.add_argument_group("limits (0 disables a per-host / per-AE limit)")
    limits.add_argument(
        "--max-associations",
        type=int,
        default=64,
        metavar="N",
        help="associations served at once, in all (default %(default)s)",
    )
    limits.add_argument(
        "--max-per-host",
        dest="max_associations_per_host",
        type=int,
        default=48,
        metavar="N",
        help="from one peer address (default %(default)s): raise it when more senders on one "
        "machine store at once",
    )
    limits.add_argument(
        "--max-per-aet",
        dest="max_associations_per_aet",
        type=int,
        default=32,
        metavar="N",
        help="with one calling AE title (default %(default)s)",
    )
    p.add_argument(
        "--no-fsync",
        action="store_true",
        help="do not fsync each file before answering (faster, less durable)",
    )
    add_network_options(p, server=True)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    from dataclasses import replace
    from pathlib import Path

    from dicomkit.net import AE
    from dicomkit.net.proto._dimse import CStoreRequest
    from dicomkit.services._storage import StorageSCP

    out = Path(args.out)
    config = replace(
        config_from_args(args, server=True),
        max_associations=args.max_associations,
        max_associations_per_host=args.max_associations_per_host,
        max_associations_per_aet=args.max_associations_per_aet,
    )
    ae = AE(args.aet, config=config)
    count = [0]

    def stored(path: Path, incoming: Any) -> None:
        count[0] += 1

    handler = StorageSCP(out, fsync=not args.no_fsync, on_stored=stored)
    try:
        server = await ae.serve(args.port, {CStoreRequest: handler}, host=args.host)
    except OSError as exc:  # nothing was created: the folder comes once the port is ours
        print(
            f"dicomkit receive: cannot listen on {args.host}:{args.port}: "
            f"{exc.strerror or exc}; choose another --port",
            file=sys.stderr,
        )
        return 2
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        await server.close()
        print(f"dicomkit receive: cannot create {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(
        f"listening on {args.host}:{server.port} as {args.aet}, writing to {out}",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    print(f"received {count[0]} files", file=sys.stderr)
    return 0
