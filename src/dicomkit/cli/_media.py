"""``dicomkit media``: Media Creation Management (PS3.4 S) client.

- ``dicomkit media create HOST PORT FILES... [--send] [--fileset-id ID] [--label TEXT]
  [--profile NAME] [--copies N] [--no-wait]``: ask the SCP to make media of the instances in
  FILES (files or folders; ``--send`` C-STOREs them first); waits until the media is made
  and prints the outcome (``--no-wait``: prints the request UID at once).
- ``dicomkit media status HOST PORT UID``: where a request stands (N-GET).
- ``dicomkit media cancel HOST PORT UID``: cancel it (N-ACTION Cancel Media Creation).

Exit status 0 when the media was made (or the request was accepted); 1 when the SCP refused
or the media could not be made.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dicomkit.cli._commit import intermixed
from dicomkit.cli._echo import add_network_options, config_from_args
from dicomkit.cli._find import UsageError, run_async
from dicomkit.cli._peer_words import host_port


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "media",
        help="ask a media creation SCP to burn instances to a File-set (CD/DVD image)",
        description="dicomkit media create HOST PORT FILES... | status|cancel HOST PORT UID",
    )
    p.add_argument("action", choices=["create", "status", "cancel"])
    p.add_argument("words", nargs="+", metavar="HOST PORT FILES... | UID")
    p.add_argument("--send", action="store_true", help="create: C-STORE the files first")
    p.add_argument("--fileset-id", default="", metavar="ID", help="create: the File-set ID")
    p.add_argument("--label", default="", help="create: the label text")
    p.add_argument("--profile", help="create: the Media Application Profile (e.g. STD-GEN-CD)")
    p.add_argument("--copies", type=int, default=1, help="create: number of copies")
    p.add_argument("--no-wait", action="store_true", help="create: do not wait for the media")
    p.add_argument("--timeout", type=float, default=600.0, metavar="S", help="create: wait limit")
    add_network_options(p)
    p.set_defaults(func=run)
    intermixed(p)


def run(args: argparse.Namespace) -> int:
    try:
        usage = "HOST PORT FILES..." if args.action == "create" else "HOST PORT UID"
        args.host, args.port, rest = host_port(args.words, usage, extra=1)
        if args.action == "create":
            args.instances = _instances(rest)
        elif len(rest) != 1:
            raise UsageError(f"media {args.action} takes HOST PORT UID")
        else:
            args.uid = rest[0]
    except UsageError as exc:
        print(f"dicomkit media: {exc}", file=sys.stderr)
        return 2
    return run_async("media", _run, args)


def _instances(paths: list[str]) -> list[Any]:
    """The DICOM files under ``paths`` (:func:`dicomkit.services.read_instance`)."""
    from dicomkit.errors import DicomError
    from dicomkit.services import read_instance

    files: list[Path] = []
    for name in paths:
        p = Path(name)
        if p.is_dir():
            files.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.name != "DICOMDIR"))
        elif p.is_file():
            files.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    out = []
    for f in files:
        try:
            out.append(read_instance(f))
        except (DicomError, OSError):
            continue
    if not out:
        raise UsageError("no DICOM instance in the files given")
    return out


async def _run(args: argparse.Namespace) -> int:
    from dicomkit.errors import DimseError
    from dicomkit.net import AE
    from dicomkit.services import (
        MEDIA_CREATION_MANAGEMENT,
        contexts_for,
        media_request,
        store_files,
    )
    from dicomkit.services import media_creation as mc

    ae = AE(args.aet, config=config_from_args(args))
    send = args.action == "create" and args.send
    contexts: list[Any] = [MEDIA_CREATION_MANAGEMENT]
    if send:
        contexts = [*contexts_for(args.instances), *contexts]
    async with ae.associate(args.host, args.port, contexts=contexts, ae_title=args.aec) as assoc:
        if send:
            sent = await store_files(assoc, args.instances)
            refused = [r for r in sent if r.status is None or (r.status and r.status >> 12 != 0xB)]
            for r in refused:
                why = f"0x{r.status:04X}" if r.status is not None else r.error
                print(f"not stored: {r.path} ({why})", file=sys.stderr)
            if refused:
                return 1
        try:
            if args.action == "status":
                got = await mc.status(assoc, args.uid)
            elif args.action == "cancel":
                await mc.cancel(assoc, args.uid)
                print(f"{args.uid}: cancelled")
                return 0
            else:
                attrs = media_request(
                    [(i.sop_class, i.sop_instance) for i in args.instances],
                    fileset_id=args.fileset_id,
                    label=args.label,
                    profile=args.profile,
                )
                if args.no_wait:
                    uid = await mc.create_request(assoc, attrs)
                    await mc.initiate(assoc, uid, copies=args.copies)
                    print(uid)
                    return 0
                uid, got = await mc.create_media(
                    assoc, attrs, copies=args.copies, timeout=args.timeout
                )
                print(uid)
        except DimseError as exc:
            print(f"dicomkit media {args.action}: {exc}", file=sys.stderr)
            return 1
    print(f"{got.status} ({got.info}), {got.pieces} piece(s) of media")
    for inst, reason in got.failed:
        print(f"  left out: {inst} (0x{reason:04X})")
    return 0 if got.status != mc.FAILURE else 1
