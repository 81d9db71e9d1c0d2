"""``dicomkit store HOST PORT PATH...``: C-STORE files and folders on one association.

It runs over the blocking requestor (:mod:`dicomkit.net._blocking`), as ``echo`` does: no
event loop to import or start; each file whose transfer syntax the peer accepted is sent from
its bytes on disk (:func:`dicomkit.services._store_scu.send_files`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from dicomkit.cli._echo import add_network_options, config_from_args, frozen_heap, port_number
from dicomkit.dictionary import uids

MEDIA_STORAGE_DIRECTORY = uids.MediaStorageDirectoryStorage


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "store",
        help="send DICOM files to a storage SCP (C-STORE)",
        description="Send files (folders recursively) on one association; presentation "
        "contexts come from the files. Exit status 1 when any file failed.",
    )
    p.add_argument("host")
    p.add_argument("port", type=port_number)
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, summary only")
    add_network_options(p)
    p.set_defaults(func=run)


class _Progress:
    """:class:`~dicomkit.cli._progress.Progress` fed with store results."""

    def __init__(self, total: int, enabled: bool) -> None:
        from dicomkit.cli._progress import Progress

        self.bar = Progress(total, enabled=enabled)

    def __call__(self, result: Any) -> None:
        self.bar.step(str(getattr(result, "path", "")), ok=bool(result.ok))
        if self.bar.done == self.bar.total:
            self.bar.close()


def run(args: argparse.Namespace) -> int:
    from dicomkit.errors import DicomError
    from dicomkit.net._blocking import associate
    from dicomkit.net.proto._status import describe
    from dicomkit.services._store_scu import (
        StoreResult,
        contexts_for,
        find_files,
        read_instance,
        send_files,
    )

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"dicomkit store: no such file: {missing[0]}", file=sys.stderr)
        return 2
    named = {Path(p) for p in args.paths if not Path(p).is_dir()}
    files = find_files(args.paths)
    instances, failures, skipped = [], [], []
    for path in files:
        try:
            inst = read_instance(path)
        except (DicomError, OSError) as exc:
            if path in named:  # named on the command line: a failure
                failures.append(StoreResult(Path(path), None, f"not a DICOM file: {exc}"))
            else:  # met while scanning a folder: skipped, like a README next to the images
                skipped.append(path)
            continue
        if inst.sop_class == MEDIA_STORAGE_DIRECTORY:
            skipped.append(path)  # a DICOMDIR indexes a file-set; it is not C-STOREd
            continue
        instances.append(inst)
    for path in skipped:
        print(f"skipped {path}: not a storable DICOM instance", file=sys.stderr)
    if not instances:
        for r in failures:
            print(f"FAILED {r.path}: {r.error}", file=sys.stderr)
        print("dicomkit store: no DICOM files to send", file=sys.stderr)
        return 1 if failures else 2
    start = time.perf_counter()
    config = config_from_args(args)
    progress = _Progress(len(instances), not args.quiet)
    with (
        frozen_heap(),  # the scan's instances too
        associate(
            args.host, args.port, config, ae_title=args.aec, contexts=contexts_for(instances)
        ) as assoc,
    ):
        results = send_files(assoc, instances, progress=progress)
    seconds = time.perf_counter() - start
    failures += [r for r in results if not r.ok]
    for r in failures:
        why = r.error or (describe(r.status, "storage") if r.status is not None else "")
        print(f"FAILED {r.path}: {why}", file=sys.stderr)
    warnings = [r for r in results if r.ok and r.status]
    for r in warnings:
        if r.status is not None:
            print(f"WARNING {r.path}: {describe(r.status, 'storage')}", file=sys.stderr)
    ok = len(results) - len([r for r in results if not r.ok])
    print(
        f"stored {ok} of {len(files) - len(skipped)} files in {seconds:.2f} s"
        + (f", {len(warnings)} with warnings" if warnings else "")
        + (f", {len(skipped)} skipped" if skipped else "")
        + (f", {len(failures)} failed" if failures else "")
    )
    return 1 if failures else 0
