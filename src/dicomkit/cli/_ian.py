"""``dicomkit ian``: Instance Availability Notification (PS3.4 R) SCU, and the archive's list.

- ``dicomkit ian send HOST PORT FILES... [--availability ONLINE] [--retrieve-aet AET]``:
  announce the instances of the files (folders are searched), one N-CREATE per study.
- ``dicomkit ian list ARCHIVE [--study UID]``: the notifications ``dicomkit serve`` received.

Exit status 0 on success; 1 when the SCP refused one (its status and reason are printed).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import Any

from dicomkit.cli._commit import intermixed
from dicomkit.cli._echo import add_network_options, config_from_args, port_number
from dicomkit.cli._find import UsageError, run_async


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "ian",
        help="send instance availability notifications, or list those an archive received",
        description="dicomkit ian send HOST PORT FILES... | list ARCHIVE",
    )
    p.add_argument("action", choices=["send", "list"])
    p.add_argument("words", nargs="+", metavar="HOST PORT FILES... | ARCHIVE")
    p.add_argument(
        "--availability",
        default="ONLINE",
        type=str.upper,
        choices=["ONLINE", "NEARLINE", "OFFLINE", "UNAVAILABLE"],
        help="send: Instance Availability of the instances (default ONLINE)",
    )
    p.add_argument(
        "--retrieve-aet", metavar="AET", help="send: where to retrieve them (default: --aet)"
    )
    p.add_argument("--study", metavar="UID", help="list: only notifications of this study")
    p.add_argument("--db", metavar="URL", help="list: the archive's index, if not in ARCHIVE")
    add_network_options(p)
    p.set_defaults(func=run)
    intermixed(p)


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "list":
            return _list(args)
        if len(args.words) < 3:
            raise UsageError("ian send takes HOST PORT FILES...")
        try:
            args.host, args.port = args.words[0], port_number(args.words[1])
        except argparse.ArgumentTypeError as exc:
            raise UsageError(str(exc)) from None
        args.notifications = _notifications(args)
    except UsageError as exc:
        print(f"dicomkit ian: {exc}", file=sys.stderr)
        return 2
    return run_async("ian", _send, args)


def _notifications(args: argparse.Namespace) -> list[Any]:
    """One notification per study of the files."""
    import dicomkit
    from dicomkit.errors import DicomError
    from dicomkit.services._ian import notification
    from dicomkit.services._n_common import text
    from dicomkit.services._storage import find_files

    studies: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for path in find_files(args.words[2:]):
        try:
            ds = dicomkit.read(path, stop_before_pixels=True)
        except (DicomError, OSError) as exc:
            raise UsageError(f"{path}: not a DICOM file ({exc})") from None
        study, series = text(ds.get("StudyInstanceUID")), text(ds.get("SeriesInstanceUID"))
        if not study or not series:
            raise UsageError(f"{path}: no Study / Series Instance UID to announce")
        studies.setdefault(study, {}).setdefault(series, []).append(
            (text(ds.get("SOPClassUID")), text(ds.get("SOPInstanceUID")))
        )
    if not studies:
        raise UsageError("no files found")
    retrieve = args.retrieve_aet or args.aet
    return [
        notification(study, series, retrieve_aet=retrieve, availability=args.availability)
        for study, series in studies.items()
    ]


async def _send(args: argparse.Namespace) -> int:
    from dicomkit.errors import DimseError
    from dicomkit.net import AE
    from dicomkit.services._ian import INSTANCE_AVAILABILITY_NOTIFICATION, instances_of, notify

    ae = AE(args.aet, config=config_from_args(args))
    async with ae.associate(
        args.host, args.port, contexts=[INSTANCE_AVAILABILITY_NOTIFICATION], ae_title=args.aec
    ) as assoc:
        for ds in args.notifications:
            try:
                uid = await notify(assoc, ds)
            except DimseError as exc:
                print(f"dicomkit ian send: {exc}", file=sys.stderr)
                return 1
            print(f"{uid}: study {ds.StudyInstanceUID}, {len(instances_of(ds))} instance(s)")
    return 0


def _list(args: argparse.Namespace) -> int:
    from dicomkit.archive._db import Database
    from dicomkit.archive._ian import ReceivedNotifications
    from dicomkit.services._ian import instances_of

    if len(args.words) != 1:
        raise UsageError("ian list ARCHIVE")
    root = Path(args.words[0])
    if not args.db and not (root / "index.sqlite").exists():
        raise UsageError(f"{root} is not an archive (no index.sqlite; or give --db URL)")
    db = Database.connect(args.db or str(root / "index.sqlite"))
    try:
        entries = ReceivedNotifications(db).list(args.study)
    finally:
        db.close()
    for uid, calling, when, ds in entries:
        stamp = datetime.datetime.fromtimestamp(when).isoformat(timespec="seconds")
        print(
            f"{uid}  from {calling or '-'}  {stamp}  study {ds.StudyInstanceUID}: "
            f"{len(instances_of(ds))} instance(s)"
        )
    print(f"{len(entries)} notification(s)")
    return 0
