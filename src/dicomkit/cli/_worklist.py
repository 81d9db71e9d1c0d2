"""``dicomkit worklist``: Modality Worklist (PS3.4 K) on the command line.

- ``dicomkit worklist HOST PORT -k KEY=VALUE ...``: C-FIND a worklist SCP (findscu -W's job).
  The typical keys (patient, accession, a Scheduled Procedure Step item with station AE
  title, modality, start date / time ...) are asked for unless ``--only-keys``; ``-k`` sets or
  adds keys, ``-k ScheduledProcedureStepSequence.Modality=CT`` a key of the step item,
  ``-k ScheduledProcedureStepSequence.ScheduledProcedureStepStartDate=20240101-20240131`` a
  date range. Prints a table (``--json``: DICOM JSON).
- ``dicomkit worklist add ARCHIVE FILE|FOLDER ...``: store items in the archive's index
  (``.wl`` / ``.dcm`` DICOM files, ``.json`` DICOM JSON or ``{keyword: value}`` objects).
- ``dicomkit worklist list ARCHIVE`` / ``remove ARCHIVE KEY``: show / delete stored items.

``dicomkit serve`` answers worklist queries from the stored items (``[worklist]`` in its config).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dicomkit.cli._commit import intermixed
from dicomkit.cli._echo import add_network_options, config_from_args, port_number
from dicomkit.cli._find import UsageError, parse_keys, run_async

COLUMNS = (
    ("PatientName", "patient"),
    ("PatientID", "id"),
    ("AccessionNumber", "accession"),
    ("ScheduledProcedureStepSequence.ScheduledProcedureStepStartDate", "date"),
    ("ScheduledProcedureStepSequence.ScheduledProcedureStepStartTime", "time"),
    ("ScheduledProcedureStepSequence.Modality", "mod"),
    ("ScheduledProcedureStepSequence.ScheduledStationAETitle", "station"),
    ("ScheduledProcedureStepSequence.ScheduledProcedureStepDescription", "step"),
)


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "worklist",
        help="query a modality worklist, or add/list/remove items of an archive's worklist",
        description="dicomkit worklist HOST PORT -k KEY=VALUE ... | add ARCHIVE FILE... | "
        "list ARCHIVE | remove ARCHIVE KEY",
    )
    p.add_argument("words", nargs="+", metavar="HOST PORT | add|list|remove ARCHIVE ...")
    p.add_argument(
        "-k",
        "--key",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a matching or return key (Seq.Key for a key of a sequence item)",
    )
    p.add_argument("--only-keys", action="store_true", help="ask for the -k keys only")
    p.add_argument("--json", action="store_true", help="print DICOM JSON")
    p.add_argument("--db", metavar="URL", help="the archive's index, if not ARCHIVE/index.sqlite")
    add_network_options(p)
    p.set_defaults(func=run)
    intermixed(p)  # HOST PORT UID may follow options


def run(args: argparse.Namespace) -> int:
    words = args.words
    if words[0] in ("add", "list", "remove"):
        try:
            return _local(args, words[0], words[1:])
        except UsageError as exc:
            print(f"dicomkit worklist: {exc}", file=sys.stderr)
            return 2
    if len(words) != 2:
        print(
            "dicomkit worklist: give HOST PORT (a query), or add|list|remove ARCHIVE ...",
            file=sys.stderr,
        )
        return 2
    try:
        args.host, args.port = words[0], port_number(words[1])
    except argparse.ArgumentTypeError as exc:
        print(f"dicomkit worklist: {exc}", file=sys.stderr)
        return 2
    return run_async("worklist", _query, args)


def _items(args: argparse.Namespace, archive: str, *, create: bool) -> Any:
    from dicomkit.archive._db import Database
    from dicomkit.archive._worklist_items import WorklistItems

    root = Path(archive)
    if not args.db and not create and not (root / "index.sqlite").exists():
        raise UsageError(f"{root} is not an archive (no index.sqlite; or give --db URL)")
    return WorklistItems(Database.connect(args.db or str(root / "index.sqlite")))


def _local(args: argparse.Namespace, action: str, rest: list[str]) -> int:
    if not rest:
        raise UsageError(f"worklist {action} needs the archive folder")
    items = _items(args, rest[0], create=action == "add")
    try:
        if action == "add":
            if len(rest) < 2:
                raise UsageError("worklist add ARCHIVE FILE|FOLDER ...: no files given")
            added = items.import_files(rest[1:])
            for key in added:
                print(f"added {key}")
            print(f"{len(added)} worklist item(s) stored")
            return 0
        if action == "remove":
            if len(rest) != 2:
                raise UsageError("worklist remove ARCHIVE KEY (the key worklist list shows)")
            if not items.remove(rest[1]):
                print(f"no worklist item {rest[1]}", file=sys.stderr)
                return 1
            print(f"removed {rest[1]}")
            return 0
        entries = items.entries()
        rows = [_row(e) for e in entries]
        if args.json:
            print(json.dumps(rows, ensure_ascii=False))
            return 0
        _table(rows, ["key", "patient", "id", "accession", "mod", "station", "date"])
        print(f"{len(rows)} item(s)")
        return 0
    finally:
        items.db.close()


def _row(e: Any) -> dict[str, str]:
    return {
        "key": e.item_uid,
        "patient": e.patient_name,
        "id": e.patient_id,
        "accession": e.accession_number,
        "mod": e.modality,
        "station": e.station_ae,
        "date": e.start_date,
    }


def _table(rows: list[dict[str, str]], cols: list[str]) -> None:
    widths = {c: max([len(c)] + [len(r.get(c, "")) for r in rows]) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols).rstrip())
    for r in rows:
        print("  ".join(r.get(c, "").ljust(widths[c]) for c in cols).rstrip())


def build_worklist_query(pairs: list[str], only_keys: bool) -> Any:
    """The C-FIND identifier: the typical keys (unless ``only_keys``) with the ``-k`` keys set
    over them; a ``Seq.Key`` key goes into the sequence's (first) item."""
    from dicomkit.core._dataset import Dataset
    from dicomkit.core._sequence import Sequence
    from dicomkit.services._worklist import worklist_query

    keys = parse_keys(pairs)
    ds = Dataset() if only_keys and keys else worklist_query()
    ds.validation = "off"  # wildcards, ranges and empty return keys are not stored values
    for kw, value in keys.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            seq = ds.get(kw)
            item = seq[0] if seq else Dataset()
            item.validation = "off"
            for k, v in value[0].items():
                item.set(k, v)
            if not seq:
                ds.set(kw, Sequence([item]))
        else:
            ds.set(kw, value)
    return ds


async def _query(args: argparse.Namespace) -> int:
    from dicomkit.io._json import to_json
    from dicomkit.net import AE
    from dicomkit.services._worklist import MODALITY_WORKLIST_FIND, find

    query = build_worklist_query(args.key, args.only_keys)
    ae = AE(args.aet, config=config_from_args(args))
    found = []
    async with ae.associate(
        args.host, args.port, contexts=[MODALITY_WORKLIST_FIND], ae_title=args.aec
    ) as assoc:
        async for ds in find(assoc, query):
            found.append(ds)
    if args.json:
        print(json.dumps([to_json(ds) for ds in found], ensure_ascii=False, indent=1))
        return 0
    rows = [{label: _value(ds, path) for path, label in COLUMNS} for ds in found]
    _table(rows, [label for _, label in COLUMNS])
    print(f"{len(found)} worklist item(s)")
    return 0


def _value(ds: Any, path: str) -> str:
    from dicomkit.services._n_common import text

    if "." in path:
        seq, key = path.split(".", 1)
        items = ds.get(seq) or []
        return text(items[0].get(key)) if items else ""
    return text(ds.get(path))
