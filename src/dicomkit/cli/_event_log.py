"""``dicomkit event-log``: Procedural Event Logging (PS3.4 P) client, and the kept log.

- ``dicomkit event-log send HOST PORT --study UID [--patient-id ID] [--patient-name NAME]
  [--event VALUE^SCHEME^MEANING ...] [--note TEXT ...] [--at DATETIME]``: record one event
  (N-ACTION Record Procedural Event); events and notes are observed now unless ``--at``.
- ``dicomkit event-log list FOLDER [--study UID] [--patient-id ID] [--since DT] [--until DT]``:
  the records a node keeps (``dicomkit serve`` keeps them in ``ARCHIVE/event-log``).

Exit status 0 on success (a warning status is printed); 1 when the SCP refused.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from typing import Any

from dicomkit.cli._commit import intermixed
from dicomkit.cli._echo import add_network_options, config_from_args
from dicomkit.cli._find import UsageError, run_async
from dicomkit.cli._peer_words import code, host_port


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "event-log",
        help="send procedural events to a log keeper, or list the events a node keeps",
        description="dicomkit event-log send HOST PORT --study UID [--event ...] [--note ...] "
        "| list FOLDER [--study UID]",
    )
    p.add_argument("action", choices=["send", "list"])
    p.add_argument("words", nargs="+", metavar="HOST PORT | FOLDER")
    p.add_argument("--study", metavar="UID", help="the Study Instance UID of the procedure")
    p.add_argument("--patient-id", default="", metavar="ID")
    p.add_argument("--patient-name", default="", metavar="NAME")
    p.add_argument(
        "--event",
        action="append",
        default=[],
        metavar="VALUE^SCHEME^MEANING",
        help="send: a Patient Status or Event code (repeatable)",
    )
    p.add_argument("--note", action="append", default=[], help="send: a comment (repeatable)")
    p.add_argument("--at", metavar="DATETIME", help="send: when it happened (default now)")
    p.add_argument("--since", metavar="DT", help="list: observed at or after (YYYYMMDD...)")
    p.add_argument("--until", metavar="DT", help="list: observed at or before")
    add_network_options(p)
    p.set_defaults(func=run)
    intermixed(p)


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "list":
            return _list(args)
        args.host, args.port, rest = host_port(args.words, "HOST PORT")
        if rest:
            raise UsageError("event-log send takes HOST PORT only")
        if not args.study:
            raise UsageError("event-log send needs --study (the Study Instance UID)")
        if not args.event and not args.note:
            raise UsageError("event-log send needs at least one --event or --note")
        args.codes = [code(e) for e in args.event]
    except UsageError as exc:
        print(f"dicomkit event-log: {exc}", file=sys.stderr)
        return 2
    return run_async("event-log", _send, args)


async def _send(args: argparse.Namespace) -> int:
    from dicomkit.errors import DimseError
    from dicomkit.net import AE
    from dicomkit.services import PROCEDURAL_EVENT_LOGGING, event_record, log_event

    at = args.at or datetime.datetime.now().strftime("%Y%m%d%H%M%S")
    record = event_record(
        study_instance_uid=args.study,
        patient_id=args.patient_id,
        patient_name=args.patient_name,
        events=[(c, at) for c in args.codes],
        notes=[(n, at) for n in args.note],
    )
    ae = AE(args.aet, config=config_from_args(args))
    async with ae.associate(
        args.host, args.port, contexts=[PROCEDURAL_EVENT_LOGGING], ae_title=args.aec
    ) as assoc:
        try:
            status = await log_event(assoc, record)
        except DimseError as exc:
            print(f"dicomkit event-log send: {exc}", file=sys.stderr)
            return 1
    if status:
        from dicomkit.dictionary.statuses import describe

        print(f"logged, with a warning: {describe(status, 'event-log')}")
    else:
        print("logged")
    return 0


def _list(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dicomkit.services import EventLogFolder

    if len(args.words) != 1:
        raise UsageError("event-log list takes FOLDER (the event log folder)")
    folder = Path(args.words[0])
    if not (folder / "events.sqlite").is_file():
        raise UsageError(f"{folder} holds no event log (events.sqlite)")
    log = EventLogFolder(folder)
    try:
        found = log.records(
            study_instance_uid=args.study,
            patient_id=args.patient_id or None,
            since=args.since,
            until=args.until,
        )
    finally:
        log.close()
    for rec in found:
        print(
            f"{rec.observed or '-':<14}  {rec.study_instance_uid}  {rec.patient_id or '-'}  "
            f"{rec.source_ae or '-'}  {', '.join(rec.entries)}"
        )
    print(f"{len(found)} record(s)")
    return 0
