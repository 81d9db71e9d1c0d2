"""``dicomkit ups``: Unified Procedure Step (PS3.4 CC) SCU.

- ``dicomkit ups create HOST PORT --label TEXT [-k KEY=VALUE ...] [--uid UID]``: push a
  SCHEDULED workitem (N-CREATE); prints its UID.
- ``dicomkit ups find HOST PORT [-k KEY=VALUE ...]``: the workitems that match (C-FIND, Pull
  SOP class), one line each: UID, state, label.
- ``dicomkit ups claim HOST PORT UID [--txn UID]``: take a workitem IN PROGRESS; prints the
  Transaction UID that later changes need.
- ``dicomkit ups complete|cancel HOST PORT UID --txn UID``: finish it (COMPLETED / CANCELED).
- ``dicomkit ups subscribe HOST PORT [UID] --receiver AET [--lock]``: event reports for one
  workitem, or all (global subscription) without UID; ``unsubscribe`` the same.

Exit status 0 on success; 1 when the SCP refused (its status and reason are printed).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dicomkit.cli._commit import intermixed
from dicomkit.cli._echo import add_network_options, config_from_args, port_number
from dicomkit.cli._find import UsageError, run_async

ACTIONS = ("create", "find", "claim", "complete", "cancel", "subscribe", "unsubscribe")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "ups",
        help="push, find, claim, complete and watch unified procedure steps (UPS workitems)",
        description="dicomkit ups create|find HOST PORT ... | claim|complete|cancel HOST PORT "
        "UID ... | subscribe|unsubscribe HOST PORT [UID] --receiver AET",
    )
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("words", nargs="+", metavar="HOST PORT [UID]")
    p.add_argument(
        "-k",
        "--key",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="create: an attribute; find: a matching or return key",
    )
    p.add_argument("--label", help="create: the Procedure Step Label")
    p.add_argument("--uid", help="create: the workitem's SOP Instance UID (default: a new one)")
    p.add_argument("--txn", metavar="UID", help="the Transaction UID (claim: default a new one)")
    p.add_argument("--receiver", metavar="AET", help="subscribe: the AE title to send events to")
    p.add_argument("--lock", action="store_true", help="subscribe: with a deletion lock")
    add_network_options(p)
    p.set_defaults(func=run)
    intermixed(p)


def run(args: argparse.Namespace) -> int:
    from dicomkit.cli._mpps import attributes

    try:
        words = args.words
        needs_uid = args.action in ("claim", "complete", "cancel")
        takes_uid = needs_uid or args.action in ("subscribe", "unsubscribe")
        if len(words) not in ((3,) if needs_uid else (2, 3) if takes_uid else (2,)):
            raise UsageError(
                f"ups {args.action} takes HOST PORT"
                + (" UID" if needs_uid else "")
                + (" [UID]" if takes_uid and not needs_uid else "")
            )
        try:
            args.host, args.port = words[0], port_number(words[1])
        except argparse.ArgumentTypeError as exc:
            raise UsageError(str(exc)) from None
        args.target = words[2] if len(words) == 3 else None
        if args.action == "create" and not args.label:
            raise UsageError("ups create needs --label (the Procedure Step Label)")
        if args.action in ("complete", "cancel") and not args.txn:
            raise UsageError(f"ups {args.action} needs --txn (the Transaction UID claim printed)")
        if args.action in ("subscribe", "unsubscribe") and not args.receiver:
            raise UsageError(f"ups {args.action} needs --receiver AET")
        args.attributes = attributes(args.key) if args.action == "create" else None
    except UsageError as exc:
        print(f"dicomkit ups: {exc}", file=sys.stderr)
        return 2
    return run_async("ups", _send, args)


def _query(pairs: list[str]) -> Any:
    from dicomkit.cli._find import parse_keys
    from dicomkit.core._dataset import Dataset

    ds = Dataset()
    ds.validation = "off"  # wildcards and empty return keys
    for kw in ("SOPInstanceUID", "ProcedureStepState", "ProcedureStepLabel"):
        ds.set(kw, "")
    for kw, value in parse_keys(pairs).items():
        ds.set(kw, value)
    return ds


def print_workitems(found: list[Any]) -> None:
    """One line per workitem (UID, state, label), then the count (``ups find`` over DIMSE
    and ``web ups find`` over UPS-RS alike)."""
    from dicomkit.services._n_common import text

    for ds in found:
        print(
            f"{text(ds.get('SOPInstanceUID'))}  "
            f"{text(ds.get('ProcedureStepState')):<12}  "
            f"{text(ds.get('ProcedureStepLabel'))}"
        )
    print(f"{len(found)} workitem(s)")


async def _send(args: argparse.Namespace) -> int:
    from dicomkit.core._uid import generate_uid
    from dicomkit.errors import DimseError
    from dicomkit.net import AE
    from dicomkit.services import _ups as ups
    from dicomkit.services._n_common import apply_modifications

    ae = AE(args.aet, config=config_from_args(args))
    contexts = [ups.UPS_PUSH, ups.UPS_PULL, ups.UPS_WATCH]
    async with ae.associate(args.host, args.port, contexts=contexts, ae_title=args.aec) as assoc:
        try:
            if args.action == "create":
                ds = ups.scheduled(label=args.label)
                apply_modifications(ds, args.attributes)
                print(await ups.create(assoc, ds, sop_instance_uid=args.uid))
            elif args.action == "find":
                print_workitems(await ups.find(assoc, _query(args.key)))
            elif args.action == "claim":
                txn = args.txn or str(generate_uid())
                await ups.change_state(assoc, args.target, ups.IN_PROGRESS, txn)
                print(txn)
            elif args.action in ("complete", "cancel"):
                state = ups.COMPLETED if args.action == "complete" else ups.CANCELED
                status = (await ups.change_state(assoc, args.target, state, args.txn)).status
                print(f"{args.target}: {state}" + (f" (status {status:04X})" if status else ""))
            elif args.action == "subscribe":
                await ups.subscribe(
                    assoc, args.receiver, args.target or ups.UPS_GLOBAL, deletion_lock=args.lock
                )
                print(f"{args.receiver} subscribed to {args.target or 'every workitem'}")
            else:
                await ups.unsubscribe(assoc, args.receiver, args.target or ups.UPS_GLOBAL)
                print(f"{args.receiver} unsubscribed")
        except DimseError as exc:
            print(f"dicomkit ups {args.action}: {exc}", file=sys.stderr)
            return 1
    return 0
