"""``dicomkit mpps``: Modality Performed Procedure Step (PS3.4 F) SCU, and the archive's list.

- ``dicomkit mpps create HOST PORT [-k KEY=VALUE ...] [--uid UID]``: N-CREATE a step
  IN PROGRESS (patient, study and station keys from ``-k``, e.g. ``-k PatientID=P1
  -k ScheduledStepAttributesSequence.StudyInstanceUID=1.2.3 -k Modality=CT``); prints its UID.
- ``dicomkit mpps set HOST PORT UID -k KEY=VALUE ...``: N-SET attributes of a step in progress.
- ``dicomkit mpps complete|discontinue HOST PORT UID [-k ...]``: the final N-SET.
- ``dicomkit mpps list ARCHIVE [--study UID]``: the steps ``dicomkit serve`` keeps.

Exit status 0 on success; 1 when the SCP refused (its status and reason are printed).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import Any

from dicomkit.cli._commit import intermixed
from dicomkit.cli._echo import add_network_options, config_from_args, port_number
from dicomkit.cli._find import UsageError, parse_keys, run_async

ACTIONS = ("create", "set", "complete", "discontinue")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "mpps",
        help="create / update / complete a modality performed procedure step (MPPS)",
        description="dicomkit mpps create HOST PORT -k ... | set|complete|discontinue HOST PORT "
        "UID -k ... | list ARCHIVE",
    )
    p.add_argument("action", choices=[*ACTIONS, "list"])
    p.add_argument("words", nargs="+", metavar="HOST PORT [UID] | ARCHIVE")
    p.add_argument(
        "-k",
        "--key",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an attribute to send (Seq.Key for a key of a sequence item)",
    )
    p.add_argument("--uid", help="create: the step's SOP Instance UID (default: a new one)")
    p.add_argument("--study", metavar="UID", help="list: only steps referencing this study")
    p.add_argument("--db", metavar="URL", help="list: the archive's index, if not in ARCHIVE")
    add_network_options(p)
    p.set_defaults(func=run)
    intermixed(p)  # HOST PORT UID may follow options


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "list":
            return _list(args)
        want = 2 if args.action == "create" else 3
        if len(args.words) != want:
            raise UsageError(
                f"mpps {args.action} takes HOST PORT"
                + (" UID (the step's SOP Instance UID)" if want == 3 else "")
            )
        try:
            args.host, args.port = args.words[0], port_number(args.words[1])
        except argparse.ArgumentTypeError as exc:
            raise UsageError(str(exc)) from None
        args.step = args.words[2] if want == 3 else args.uid
        args.attributes = attributes(args.key)
    except UsageError as exc:
        print(f"dicomkit mpps: {exc}", file=sys.stderr)
        return 2
    return run_async("mpps", _send, args)


def attributes(pairs: list[str]) -> Any:
    """The ``-k`` keys as a Dataset (``Seq.Key``: a key of the sequence's first item)."""
    from dicomkit.core._dataset import Dataset
    from dicomkit.core._sequence import Sequence

    ds = Dataset()
    for kw, value in parse_keys(pairs).items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            item = Dataset()
            for k, v in value[0].items():
                item.set(k, v)
            ds.set(kw, Sequence([item]))
        else:
            ds.set(kw, value)
    return ds


async def _send(args: argparse.Namespace) -> int:
    from dicomkit.errors import DimseError
    from dicomkit.net import AE
    from dicomkit.services import _mpps as mpps
    from dicomkit.services._n_common import apply_modifications

    ae = AE(args.aet, config=config_from_args(args))
    async with ae.associate(args.host, args.port, contexts=[mpps.MPPS], ae_title=args.aec) as assoc:
        try:
            if args.action == "create":
                now = datetime.datetime.now()
                ds = mpps.in_progress(
                    start_date=now.strftime("%Y%m%d"),
                    start_time=now.strftime("%H%M%S"),
                    station_ae=args.aet,
                )
                apply_modifications(ds, args.attributes)
                uid = await mpps.create(assoc, ds, sop_instance_uid=args.step)
                print(uid)
                return 0
            if args.action == "set":
                if not len(args.attributes):
                    raise UsageError("mpps set: give the attributes to change with -k")
                await mpps.update(assoc, args.step, args.attributes)
            else:
                final = args.attributes
                if "PerformedProcedureStepEndDate" not in final:
                    now = datetime.datetime.now()
                    final.PerformedProcedureStepEndDate = now.strftime("%Y%m%d")
                    final.PerformedProcedureStepEndTime = now.strftime("%H%M%S")
                done = mpps.complete if args.action == "complete" else mpps.discontinue
                await done(assoc, args.step, final)
        except DimseError as exc:
            print(f"dicomkit mpps {args.action}: {exc}", file=sys.stderr)
            return 1
    print(f"{args.action}: {args.step}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from dicomkit.archive._db import Database
    from dicomkit.archive._mpps_store import IndexedMPPS

    if len(args.words) != 1:
        raise UsageError("mpps list ARCHIVE")
    root = Path(args.words[0])
    if not args.db and not (root / "index.sqlite").exists():
        raise UsageError(f"{root} is not an archive (no index.sqlite; or give --db URL)")
    db = Database.connect(args.db or str(root / "index.sqlite"))
    try:
        entries = IndexedMPPS(db).entries(args.study)
    finally:
        db.close()
    for e in entries:
        print(
            f"{e.sop_instance_uid}  {e.status:<12}  {e.patient_id}  {e.patient_name}  "
            f"studies: {', '.join(e.study_uids) or '-'}  ({e.updated})"
        )
    print(f"{len(entries)} performed procedure step(s)")
    return 0
