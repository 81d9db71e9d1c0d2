"""``dicomkit display``: Display System Management (PS3.4 EE) client.

``dicomkit display HOST PORT [-k KEYWORD ...] [--full]`` reads the display system's
description with N-GET: manufacturer, model, serial number and one line per display subsystem
with its QA result sequences; ``-k`` asks for those attributes only, ``--full`` prints the
whole data set.

Exit status 0 on success (a 0x0107 warning names attributes the system does not describe);
1 when the SCP refused.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dicomkit.cli._echo import add_network_options, config_from_args
from dicomkit.cli._find import UsageError, run_async
from dicomkit.cli._peer_words import host_port


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "display",
        help="read a display system's description and QA results (N-GET)",
        description="dicomkit display HOST PORT [-k KEYWORD ...] [--full]",
    )
    p.add_argument("words", nargs="+", metavar="HOST PORT")
    p.add_argument(
        "-k", "--key", action="append", default=[], metavar="KEYWORD", help="an attribute to get"
    )
    p.add_argument("--full", action="store_true", help="print the whole data set")
    add_network_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dicomkit.dictionary import tags

    try:
        args.host, args.port, rest = host_port(args.words, "HOST PORT")
        if rest:
            raise UsageError("takes HOST PORT only")
        for kw in args.key:
            if not hasattr(tags, kw):
                raise UsageError(f"-k {kw}: not a DICOM keyword")
    except UsageError as exc:
        print(f"dicomkit display: {exc}", file=sys.stderr)
        return 2
    return run_async("display", _get, args)


async def _get(args: argparse.Namespace) -> int:
    from dicomkit.dictionary.statuses import describe
    from dicomkit.errors import DimseError
    from dicomkit.net import AE
    from dicomkit.services import DISPLAY_SYSTEM, get_display_system, subsystems
    from dicomkit.services._n_common import text

    ae = AE(args.aet, config=config_from_args(args))
    async with ae.associate(
        args.host, args.port, contexts=[DISPLAY_SYSTEM], ae_title=args.aec
    ) as assoc:
        try:
            status, ds = await get_display_system(assoc, args.key or None)
        except DimseError as exc:
            print(f"dicomkit display: {exc}", file=sys.stderr)
            return 1
    if status:
        print(f"warning: {describe(status)}", file=sys.stderr)
    if args.full or args.key:
        print(ds)
        return 0
    print(
        f"{text(ds.get('Manufacturer'))} {text(ds.get('ManufacturerModelName'))}  "
        f"serial {text(ds.get('DeviceSerialNumber')) or '-'}"
    )
    for sub in subsystems(ds):
        qa = ", ".join(f"{name} x{n}" for name, n in sub.qa_results) or "no QA results"
        print(f"  subsystem {sub.id or '?'} {sub.name or ''}: {qa}")
    return 0
