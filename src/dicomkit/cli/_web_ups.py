"""``dicomkit web ups ACTION URL ...``: UPS-RS workitems (PS3.18 11) with the habits of
``dicomkit ups`` (the DIMSE client).

- ``create URL --label TEXT [-k KEY=VALUE ...] [--uid UID]``: a SCHEDULED workitem; prints
  its UID.
- ``find URL [-k KEY=VALUE ...]``: the matching workitems, one line each: UID, state, label.
- ``get URL UID``: the workitem as DICOM JSON.
- ``claim URL UID [--txn UID]``: take it IN PROGRESS; prints the Transaction UID.
- ``complete URL UID --txn UID``; ``cancel URL UID --txn UID`` (the performer cancels), or
  ``cancel URL UID [--reason TEXT]`` without ``--txn`` (ask the performer to stop).
- ``subscribe|unsubscribe URL [UID] --receiver AET [--lock]``: event reports for one
  workitem, or every one (global subscription) without UID.
- ``watch URL [UID] --receiver AET [--count N] [--timeout S]``: subscribe, open the
  WebSocket event channel and print each event report as one DICOM JSON line (stderr: a
  line in words); ends after ``--count`` events, ``--timeout`` seconds without one, or
  Ctrl-C.

Exit status 0 on success; 1 when the server refused (its reason is printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_ups_parser"]

_EVENTS = {1: "state report", 2: "cancel requested", 3: "progress", 4: "SCP status change"}
_EVENTS[5] = "assigned"


def add_ups_parser(sub: Any) -> list[argparse.ArgumentParser]:
    """``web ups`` and its actions under the ``web`` subparsers; returns the action parsers
    (the caller adds the connection options)."""
    from dicomkit.cli._commit import intermixed

    p = sub.add_parser(
        "ups",
        help="UPS-RS workitems: create, find, get, claim, complete, cancel, subscribe, watch",
        description="Unified Procedure Step workitems over UPS-RS (PS3.18 11), as "
        "`dicomkit ups` does over DIMSE.",
    )
    actions = p.add_subparsers(dest="ups_action", metavar="ACTION", required=True)
    made: list[argparse.ArgumentParser] = []

    def action(name: str, help_text: str, uid: str = "") -> argparse.ArgumentParser:
        a: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
        a.add_argument("url", metavar="URL", help="service root, e.g. http://HOST:8042/dicom-web")
        if uid == "required":
            a.add_argument("uid", metavar="UID", help="the workitem's SOP Instance UID")
        elif uid == "optional":
            a.add_argument("uid", metavar="UID", nargs="?", help="one workitem (default: all)")
        a.set_defaults(func=run_ups, ups_action=name)
        intermixed(a)  # UID after the options too
        made.append(a)
        return a

    create = action("create", "push a SCHEDULED workitem; prints its UID")
    create.add_argument("--label", required=True, help="the Procedure Step Label")
    create.add_argument("--uid", help="the workitem's SOP Instance UID (default: a new one)")
    create.add_argument("-k", "--key", action="append", default=[], metavar="KEY=VALUE")
    find = action("find", "the matching workitems: UID, state, label")
    find.add_argument("-k", "--key", action="append", default=[], metavar="KEY=VALUE")
    find.add_argument("--limit", type=int)
    action("get", "a workitem as DICOM JSON", "required")
    claim = action("claim", "take a workitem IN PROGRESS; prints the Transaction UID", "required")
    claim.add_argument("--txn", metavar="UID", help="the Transaction UID (default: a new one)")
    complete = action("complete", "finish a claimed workitem (COMPLETED)", "required")
    complete.add_argument("--txn", metavar="UID", required=True, help="the claim's Transaction UID")
    cancel = action(
        "cancel", "cancel (with --txn: as its performer; else ask the performer)", "required"
    )
    cancel.add_argument("--txn", metavar="UID", help="the claim's Transaction UID")
    cancel.add_argument("--reason", default="", help="without --txn: why (Reason For Cancellation)")
    for name in ("subscribe", "unsubscribe"):
        s = action(
            name,
            f"{name} an AE title {'to' if name == 'subscribe' else 'from'} one workitem's events "
            "(all without UID)",
            "optional",
        )
        s.add_argument("--receiver", metavar="AET", required=True, help="the subscriber's AE title")
        if name == "subscribe":
            s.add_argument("--lock", action="store_true", help="with a deletion lock")
    watch = action("watch", "subscribe and print the event reports (WebSocket channel)", "optional")
    watch.add_argument("--receiver", metavar="AET", required=True, help="the subscriber's AE title")
    watch.add_argument("--count", type=int, metavar="N", help="stop after N events")
    watch.add_argument(
        "--wait", type=float, metavar="SECONDS", help="stop after SECONDS without an event"
    )
    watch.add_argument(
        "--no-subscribe", action="store_true", help="only open the channel (already subscribed)"
    )
    return made


def run_ups(args: argparse.Namespace) -> int:
    """Run one ``web ups`` action."""
    from dicomkit.cli._mpps import attributes
    from dicomkit.cli._web import _client
    from dicomkit.core._uid import generate_uid
    from dicomkit.io._json import to_json
    from dicomkit.services import scheduled
    from dicomkit.services._n_common import apply_modifications
    from dicomkit.web._client import WebClientError

    client = _client(args)
    act = args.ups_action
    try:
        if act == "create":
            ds = scheduled(label=args.label)
            apply_modifications(ds, attributes(args.key))
            print(client.create_workitem(ds, uid=args.uid))
        elif act == "find":
            from dicomkit.cli._find import parse_keys

            filters = {k: str(v) for k, v in parse_keys(args.key).items()}
            from dicomkit.cli._ups import print_workitems

            print_workitems(client.search_workitems(filters, limit=args.limit))
        elif act == "get":
            print(json.dumps(to_json(client.get_workitem(args.uid)), ensure_ascii=False))
        elif act == "claim":
            txn = args.txn or str(generate_uid())
            client.change_workitem_state(args.uid, "IN PROGRESS", txn)
            print(txn)
        elif act == "complete" or (act == "cancel" and args.txn):
            state = "COMPLETED" if act == "complete" else "CANCELED"
            client.change_workitem_state(args.uid, state, args.txn)
            print(f"{args.uid}: {state}")
        elif act == "cancel":
            client.request_cancel(args.uid, args.reason)
            print(f"{args.uid}: cancellation requested")
        elif act == "subscribe":
            client.subscribe(args.receiver, args.uid, deletion_lock=args.lock)
            print(f"{args.receiver} subscribed to {args.uid or 'every workitem'}")
        elif act == "unsubscribe":
            client.unsubscribe(args.receiver, args.uid)
            print(f"{args.receiver} unsubscribed")
        else:
            return _watch(client, args)
    except WebClientError as exc:
        print(f"dicomkit web ups {act}: {exc}", file=sys.stderr)
        return 1
    return 0


def _watch(client: Any, args: argparse.Namespace) -> int:
    from dicomkit.io._json import to_json
    from dicomkit.services._n_common import text

    if args.count is not None and args.count < 1:
        print("dicomkit web ups watch: --count must be 1 or more", file=sys.stderr)
        return 2
    if not args.no_subscribe:
        client.subscribe(args.receiver, args.uid)
    seen = 0
    for event in client.events(args.receiver, timeout=args.wait):
        kind = int(event.get("EventTypeID", 0) or 0)
        state = text(event.get("ProcedureStepState"))
        print(json.dumps(to_json(event), ensure_ascii=False), flush=True)
        print(
            f"{text(event.get('AffectedSOPInstanceUID'))}: {_EVENTS.get(kind, f'event {kind}')}"
            + (f" ({state})" if state else ""),
            file=sys.stderr,
        )
        seen += 1
        if args.count is not None and seen >= args.count:
            break
    print(f"{seen} event(s)", file=sys.stderr)
    return 0
