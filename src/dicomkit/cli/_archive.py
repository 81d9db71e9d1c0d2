"""``dicomkit archive check|rebuild|verify ARCHIVE_DIR``: the operator's commands for an archive
folder (run while the node is stopped, or for ``verify`` at any time: it only reads).

- ``check``: compare the index with the files (files without rows, rows without files,
  temporary leftovers); ``--repair`` fixes what it found, as the node's start-up check does.
- ``rebuild``: a new index from the stored files (the old index file is kept aside as
  ``index.sqlite.damaged-<time>``), for an index that is damaged or lost.
- ``verify``: read every stored file and compare it with the checksum kept when it was stored
  (a scrub); lists the damaged ones.
- ``queue``: what the node still has to deliver (routed instances, availability
  notifications), with each item's tries and last error; ``queue ARCHIVE_DIR retry [ID ...]``
  sends failed (or waiting) items again at once, ``queue ARCHIVE_DIR remove [ID ...]`` drops
  them (no ID: the failed ones). Safe while the node runs.
- ``delete``, ``prune``, ``update-patient``, ``merge-patient``, ``backup``, ``rejected``: the
  archive's lifecycle (:mod:`dicomkit.cli._archive_ops`), safe while the node runs.

Both cover the non-patient objects under ``ARCHIVE_DIR/.nonpatient`` (Hanging Protocols, Color
Palettes ...) as well.

Exit status: 0 nothing wrong, 1 something found, 2 the archive could not be opened.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "archive",
        help="check, verify, back up, prune or delete from an archive folder; patient merge",
        description="Operator commands for a `dicomkit serve` archive folder.",
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (
        ("check", "compare the index with the files (--repair: fix what is found)"),
        ("rebuild", "build a new index from the stored files (the old one is kept aside)"),
        ("verify", "read every stored file and compare it with its checksum"),
        ("queue", "list, retry or remove what the node still has to send (routing, IAN)"),
    ):
        a = sub.add_parser(name, help=text, description=text)
        a.add_argument("archive", metavar="ARCHIVE_DIR", help="the archive folder")
        a.add_argument("--db", metavar="URL", help="index database (default: SQLite inside)")
        if name == "check":
            a.add_argument("--repair", action="store_true", help="fix what the check finds")
        if name == "queue":
            a.add_argument(
                "op",
                nargs="?",
                choices=("list", "retry", "remove"),
                default="list",
                help="list (default); retry: send again now; remove: drop",
            )
            a.add_argument("ids", nargs="*", type=int, metavar="ID", help="items (default: all)")
            a.add_argument("--peer", metavar="AET", help="only the items for this destination")
        a.set_defaults(func=run)
    from dicomkit.cli._archive_ops import add_actions

    add_actions(sub, run)


def run(args: argparse.Namespace) -> int:
    from dicomkit.archive._node import Archive
    from dicomkit.errors import ArchiveError

    root = Path(args.archive)
    if not root.is_dir():
        print(f"dicomkit archive: {root} is not a folder", file=sys.stderr)
        return 2
    try:
        if args.action == "rebuild":
            return _rebuild(root, args.db)
        if args.action == "queue":
            return _queue(root, args)
        with Archive(root, db_url=args.db, check=False) as archive:
            from dicomkit.cli._archive_ops import ACTIONS, run_action

            if args.action in ACTIONS:
                return run_action(args, archive)
            if args.action == "verify":
                return _verify(archive)
            return _check(archive, repair=args.repair)
    except ArchiveError as exc:
        print(f"dicomkit archive: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"dicomkit archive: {exc.strerror or exc} ({exc.filename})", file=sys.stderr)
        return 2


def _check(archive: Any, *, repair: bool) -> int:
    report = archive.check(repair=repair, sweep=repair)
    for what, items in (
        ("file without index row", report.orphan_files),
        ("index row without file", report.missing_files),
        ("unreadable file quarantined", report.quarantined),
        ("temporary file removed", report.temporaries),
    ):
        for item in items:
            print(f"{what}: {item}")
    n = archive.index.count()
    state = "clean" if report.clean else ("repaired" if repair else "NOT clean (--repair fixes)")
    print(f"{archive.root}: {n} instances indexed; {state}")
    return 0 if report.clean or repair else 1


def _verify(archive: Any) -> int:
    report = archive.verify()
    for line in report.damaged:
        print(line)
    print(
        f"{archive.root}: {report.ok} files intact, {len(report.damaged)} damaged, "
        f"{len(report.unchecked)} without a checksum"
    )
    return 1 if report.damaged else 0


def _queue(root: Path, args: argparse.Namespace) -> int:
    from dicomkit.archive import _outbox as outbox
    from dicomkit.archive._db import Database

    db = Database.connect(args.db or str(root / "index.sqlite"))
    try:
        outbox.ensure(db)
        if args.op == "retry":
            n = outbox.retry(db, args.ids, peer=args.peer)
            print(f"{n} item(s) will be sent again at once (the running node picks them up)")
            return 0
        if args.op == "remove":
            n = outbox.remove(db, args.ids, peer=args.peer)
            print(f"{n} item(s) removed")
            return 0
        rows = outbox.items(db, peer=args.peer)
        if args.ids:
            rows = [r for r in rows if r.id in set(args.ids)]
        now = time.time()
        for r in rows:
            when = (
                ""
                if r.state != "pending" or r.next_try <= now
                else (f", next try in {r.next_try - now:.0f} s")
            )
            error = f": {r.last_error}" if r.last_error else ""
            print(
                f"{r.id}\t{r.peer}\t{r.kind}\t{r.ref}\t{r.state} ({r.attempts} tries{when}){error}"
            )
        failed = sum(1 for r in rows if r.state == "failed")
        print(f"{len(rows)} item(s) queued, {failed} failed")
        return 1 if failed else 0
    finally:
        db.close()


def _rebuild(root: Path, db: str | None) -> int:
    from dicomkit.archive._node import Archive

    if db and not db.startswith("sqlite"):
        print(
            "dicomkit archive rebuild: only the SQLite index is rebuilt here; for "
            "PostgreSQL, drop and re-create the database, then run 'dicomkit archive check "
            "--repair' (it indexes every file)",
            file=sys.stderr,
        )
        return 2
    index = Path(db.removeprefix("sqlite:///")) if db else root / "index.sqlite"
    stamp = time.strftime("%Y%m%d%H%M%S")
    for suffix in ("", "-wal", "-shm"):
        old = index.with_name(index.name + suffix)
        if old.exists():
            old.rename(old.with_name(f"{index.name}.damaged-{stamp}{suffix}"))
    with Archive(root, db_url=db, check=False) as archive:
        report = archive.check(repair=True, sweep=True)
        n = archive.index.count()
    for rel in report.quarantined:
        print(f"unreadable file quarantined: {rel}")
    print(f"{root}: index rebuilt from the files: {n} instances")
    return 0
