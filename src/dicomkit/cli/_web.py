"""``dicomkit web find|get|store|ups URL ...``: a DICOMweb client (QIDO-RS, WADO-RS,
STOW-RS, UPS-RS).

``URL`` is the service root, e.g. ``http://127.0.0.1:8042/dicom-web``. ``find`` takes
``-k KEY=VALUE`` like ``dicomkit find`` (keywords or tags as eight hex digits) and prints
the matches as DICOM JSON lines; ``get`` writes the instances of a study / series /
instance into ``--out``; ``store`` sends files and folders (``--json``: as DICOM JSON
metadata with bulk data parts). ``ups`` mirrors ``dicomkit ups`` over UPS-RS
(:mod:`dicomkit.cli._web_ups`): create, find, get, claim, complete, cancel, subscribe,
unsubscribe, and ``watch`` (the WebSocket event channel, one JSON line per event).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "web",
        help="DICOMweb client: find (QIDO-RS), get (WADO-RS), store (STOW-RS), ups (UPS-RS)",
        description="Query, retrieve from and store to a DICOMweb server (PS3.18).",
    )
    sub = p.add_subparsers(dest="web_command", metavar="ACTION", required=True)
    find = sub.add_parser("find", help="QIDO-RS search; matches as DICOM JSON lines")
    find.add_argument("url", metavar="URL", help="service root, e.g. http://HOST:8042/dicom-web")
    find.add_argument(
        "-L", "--level", choices=["studies", "series", "instances"], default="studies"
    )
    find.add_argument("-k", "--key", action="append", default=[], metavar="KEY=VALUE")
    find.add_argument("--study", help="search within this study")
    find.add_argument("--series", help="search within this series (with --study)")
    find.add_argument("--include", action="append", default=[], metavar="KEYWORD|all")
    find.add_argument("--limit", type=int)
    find.add_argument("--offset", type=int)
    find.add_argument("--fuzzy", action="store_true", help="fuzzy person name matching")
    find.set_defaults(func=run_find)
    get = sub.add_parser("get", help="WADO-RS retrieve into a folder")
    get.add_argument("url", metavar="URL")
    get.add_argument("--study", required=True)
    get.add_argument("--series")
    get.add_argument("--instance", dest="sop")
    get.add_argument("--out", default=".", help="folder for the files (default .)")
    get.add_argument("--transfer-syntax", default="*", metavar="UID", help="default *: as stored")
    get.set_defaults(func=run_get)
    store = sub.add_parser("store", help="STOW-RS: send files and folders")
    store.add_argument("url", metavar="URL")
    store.add_argument("paths", nargs="+", metavar="PATH")
    store.add_argument("--study", help="POST to /studies/STUDY (other studies are refused)")
    store.add_argument(
        "--json",
        action="store_true",
        help="send DICOM JSON metadata with the binary values as bulk data parts "
        "(PS3.18 10.5.1.2.2) instead of Part 10 files",
    )
    store.set_defaults(func=run_store)
    delete = sub.add_parser("delete", help="DELETE a study, series or instance (if allowed)")
    delete.add_argument("url", metavar="URL")
    delete.add_argument("--study", required=True)
    delete.add_argument("--series")
    delete.add_argument("--instance", dest="sop")
    delete.set_defaults(func=run_delete)
    caps = sub.add_parser("capabilities", help="what the server offers (OPTIONS, PS3.18 8.9)")
    caps.add_argument("url", metavar="URL")
    caps.set_defaults(func=run_capabilities)
    from dicomkit.cli._web_ups import add_ups_parser

    ups = add_ups_parser(sub)
    for action in (find, get, store, delete, caps, *ups):
        _connection_args(action)


def _connection_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("connection")
    g.add_argument("--user", metavar="NAME[:PASSWORD]", help="HTTP Basic (asks for the password)")
    g.add_argument("--token", help="Authorization: Bearer TOKEN (or env DICOMKIT_WEB_TOKEN)")
    g.add_argument("--ca", metavar="PEM", help="verify an https server against this CA")
    g.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS")


def _client(args: argparse.Namespace) -> Any:
    import getpass
    import os

    from dicomkit.web._client import WebClient

    user, password = None, None
    if args.user:
        user, sep, password = args.user.partition(":")
        if not sep:
            password = os.environ.get("DICOMKIT_WEB_PASSWORD") or getpass.getpass(
                f"password for {user}: "
            )
    return WebClient(
        args.url,
        timeout=args.timeout,
        user=user,
        password=password,
        token=args.token or os.environ.get("DICOMKIT_WEB_TOKEN"),
        cafile=args.ca,
    )


def run_find(args: argparse.Namespace) -> int:
    from dicomkit.io._json import to_json

    filters: dict[str, str] = {}
    for item in args.key:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"dicomkit web find: -k {item!r}: expected KEY=VALUE", file=sys.stderr)
            return 2
        filters[key.strip()] = value
    found = _client(args).search(
        args.level,
        filters,
        study=args.study,
        series=args.series,
        includefield=args.include,
        limit=args.limit,
        offset=args.offset,
        fuzzy=args.fuzzy,
    )
    for ds in found:
        print(json.dumps(to_json(ds), ensure_ascii=False))
    print(f"{len(found)} match(es)", file=sys.stderr)
    return 0


def run_get(args: argparse.Namespace) -> int:
    import dicomkit

    files = _client(args).retrieve(
        args.study, args.series, args.sop, transfer_syntax=args.transfer_syntax
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for data in files:
        ds = dicomkit.read(data, stop_before_pixels=True)
        (out / f"{ds.SOPInstanceUID}.dcm").write_bytes(data)
    print(f"{len(files)} instance(s) written to {out}", file=sys.stderr)
    return 0


def run_store(args: argparse.Namespace) -> int:

    files: list[Path] = []
    for name in args.paths:
        p = Path(name)
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file())
        elif p.is_file():
            files.append(p)
        else:
            print(f"dicomkit web store: {name}: no such file or folder", file=sys.stderr)
            return 2
    client = _client(args)
    datas = [f.read_bytes() for f in files]
    if args.json:
        answer = client.store_files_as_json(datas, study=args.study)
    else:
        answer = client.store(datas, study=args.study)
    stored = len(answer.get("ReferencedSOPSequence", None) or [])
    failed = answer.get("FailedSOPSequence", None) or []
    for item in failed:
        print(
            f"failed: {item.get('ReferencedSOPInstanceUID', '?')} reason "
            f"{int(item.get('FailureReason', 0) or 0):04X}",
            file=sys.stderr,
        )
    print(f"{stored} stored, {len(failed) or len(files) - stored} failed", file=sys.stderr)
    return 0 if stored == len(files) else 1


def run_delete(args: argparse.Namespace) -> int:
    _client(args).delete(args.study, args.series, args.sop)
    what = args.sop or args.series or args.study
    print(f"deleted {what}", file=sys.stderr)
    return 0


def run_capabilities(args: argparse.Namespace) -> int:
    caps = _client(args).capabilities()
    for res in caps.get("resources", []):
        methods = ", ".join(sorted(res.get("methods", {})))
        print(f"{res.get('path', '')}  {methods}")
    return 0
