"""``dicomkit move HOST PORT --dest AET -k KEY=VALUE ...``: C-MOVE, like movescu.

The SCP sends the matching instances to the AE titled ``--dest`` (which it must know). Keys are
given as for ``dicomkit find``; a retrieve identifier holds unique keys only, e.g.
``-k StudyInstanceUID=1.2.3``. Exit status 0 when every sub-operation succeeded, 1 otherwise.
"""

from __future__ import annotations

import argparse
from typing import Any

from dicomkit.cli._echo import add_network_options, config_from_args, port_number
from dicomkit.cli._find import UsageError, add_query_options, build_query, model_of, run_async


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "move",
        help="ask a Q/R SCP to send instances to an AE (C-MOVE)",
        description="C-MOVE the instances matching the keys to --dest.",
    )
    p.add_argument("host")
    p.add_argument("port", type=port_number)
    p.add_argument("--dest", required=True, metavar="AET", help="move destination AE title")
    add_query_options(p)
    add_network_options(p)
    p.set_defaults(func=run)


def report(verb: str, result: Any) -> int:
    from dicomkit.net.proto._status import describe

    line = (
        f"{verb}: {describe(result.status, 'get' if verb == 'C-GET' else 'move')}; "
        f"{result.completed} completed, "
        f"{result.failed} failed, {result.warning} warning"
    )
    print(line)
    if result.error_comment:
        print(f"  the SCP says: {result.error_comment}")
    for uid in result.failed_uids:
        print(f"  failed: {uid}")
    return 0 if result.status == 0 else 1


def run(args: argparse.Namespace) -> int:
    return run_async("move", _run, args)


async def _run(args: argparse.Namespace) -> int:
    from dicomkit.errors import DimseError
    from dicomkit.net import AE
    from dicomkit.services import _query_retrieve as qr

    if not args.key:
        raise UsageError("give the instances to move with -k, e.g. -k StudyInstanceUID=1.2.3")
    model = model_of(args, "C-MOVE")
    query, _keys = build_query(args, defaults=False)
    ae = AE(args.aet, config=config_from_args(args))
    async with ae.associate(
        args.host, args.port, ae_title=args.aec, contexts=[qr.MOVE[model]]
    ) as assoc:
        try:
            result = await qr.move(assoc, query, args.dest, model)
        except DimseError as exc:  # a failure status (the client contract): say it, exit 1
            print(f"C-MOVE to {args.dest}: {exc}")
            return 1
    return report(f"C-MOVE to {args.dest}", result)
