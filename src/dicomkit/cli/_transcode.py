"""``dicomkit transcode IN OUT --ts <UID or keyword>``: change the transfer syntax of a file
or of every file in a folder (with a progress bar), compressing or decompressing pixel data.

Lossless syntaxes round-trip: the decoded pixels of OUT equal those of IN.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dicomkit
from dicomkit.cli._main import error_text
from dicomkit.cli._progress import Progress
from dicomkit.dictionary import uids
from dicomkit.errors import DicomError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "transcode",
        help="change the transfer syntax of files (compress / decompress)",
        description="Rewrite DICOM files in another transfer syntax. IN and OUT are files, or "
        "folders (the tree is mirrored). Syntaxes: a UID or a keyword such as "
        "ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian, "
        "RLELossless, JPEGLSLossless, JPEG2000Lossless, JPEGLosslessSV1, "
        "HTJ2KLossless, DeflatedImageFrameCompression.",
    )
    p.add_argument("input", type=Path, help="DICOM file or folder")
    p.add_argument("output", type=Path, help="output file or folder")
    p.add_argument("--ts", required=True, metavar="SYNTAX", help="target transfer syntax")
    p.add_argument(
        "--extended-offset-table",
        action="store_true",
        help="write an Extended Offset Table instead of a Basic Offset Table",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--force",
        action="store_true",
        help="read files without the DICM prefix and File Meta (e.g. raw data sets) too",
    )
    p.set_defaults(func=run)


def transcode_file(
    src: Path, dst: Path, uid: str, *, extended_offset_table: bool = False, force: bool = False
) -> None:
    from dicomkit.pixels import _syntax as syntax
    from dicomkit.pixels._encode import compress, decompress
    from dicomkit.pixels._info import PIXEL_TAGS

    ds = dicomkit.read(src, force=force)
    target = syntax.lookup(uid)
    if any(t in ds for t in PIXEL_TAGS):
        current = syntax.lookup(str(ds.transfer_syntax or uids.ExplicitVRLittleEndian))
        if target.encapsulated:
            if current.uid != uid:
                compress(ds, uid, extended_offset_table=extended_offset_table)
        elif current.encapsulated:
            decompress(ds)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".part")
    dicomkit.write(ds, tmp, transfer_syntax=uid)
    os.replace(tmp, dst)


def _files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def run(args: argparse.Namespace) -> int:
    from dicomkit.pixels import _syntax as syntax

    try:
        uid = syntax.resolve(args.ts)
    except ValueError as exc:
        print(f"dicomkit transcode: {exc}", file=sys.stderr)
        return 2
    src: Path = args.input
    if not src.exists():
        print(f"dicomkit transcode: {src} does not exist", file=sys.stderr)
        return 2
    if src.is_file():
        dst = args.output / src.name if args.output.is_dir() else args.output
        transcode_file(
            src, dst, uid, extended_offset_table=args.extended_offset_table, force=args.force
        )
        return 0
    files = list(_files(src))
    progress = Progress(len(files), enabled=not args.quiet)
    failures: list[str] = []
    for path in files:
        rel = path.relative_to(src)
        ok = True
        try:
            transcode_file(
                path,
                args.output / rel,
                uid,
                extended_offset_table=args.extended_offset_table,
                force=args.force,
            )
        except (DicomError, OSError) as exc:
            failures.append(f"{rel}: {error_text(exc, args)}")
            ok = False
        progress.step(str(rel), ok=ok)
    progress.close()
    for line in failures:
        print(f"dicomkit transcode: {line}", file=sys.stderr)
    if failures:
        print(
            f"dicomkit transcode: {len(failures)} of {len(files)} file(s) failed", file=sys.stderr
        )
        return 1
    return 0
