"""``dicomkit anonymize IN OUT``: de-identify a file, or every file of a folder tree, by the
Basic Application Level Confidentiality Profile (PS3.15 Annex E) and chosen options.

UIDs are replaced consistently across all files of one run; ``--uid-map FILE.json`` loads
the map (if the file exists) and saves it afterwards, so later runs stay consistent with
earlier ones. The map re-identifies the data: keep it as safe as the originals.
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
from dicomkit.dictionary import tags
from dicomkit.errors import DicomError

RETAIN = {
    "safe-private": "RETAIN_SAFE_PRIVATE",
    "uids": "RETAIN_UIDS",
    "device-identity": "RETAIN_DEVICE_IDENTITY",
    "institution-identity": "RETAIN_INSTITUTION_IDENTITY",
    "patient-characteristics": "RETAIN_PATIENT_CHARACTERISTICS",
    "full-dates": "RETAIN_LONGITUDINAL_FULL_DATES",
    "modified-dates": "RETAIN_LONGITUDINAL_MODIFIED_DATES",
}
CLEAN = {
    "descriptors": "CLEAN_DESCRIPTORS",
    "structured-content": "CLEAN_STRUCTURED_CONTENT",
    "graphics": "CLEAN_GRAPHICS",
}


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "anonymize",
        help="de-identify files (PS3.15 Annex E basic profile and options)",
        description="De-identify DICOM files by the Basic Application Level Confidentiality "
        "Profile (PS3.15 E). IN and OUT are files, or folders (the tree is "
        "mirrored). Private attributes, curves and overlays are removed; UIDs are "
        "replaced consistently across the run.",
    )
    p.add_argument("input", type=Path, help="DICOM file or folder")
    p.add_argument("output", type=Path, help="output file or folder")
    p.add_argument(
        "--retain",
        action="append",
        default=[],
        choices=sorted(RETAIN),
        metavar="WHAT",
        help="retain option (repeatable): " + ", ".join(RETAIN),
    )
    p.add_argument(
        "--clean",
        action="append",
        default=[],
        choices=sorted(CLEAN),
        metavar="WHAT",
        help="clean option (repeatable): " + ", ".join(CLEAN),
    )
    p.add_argument("--keep-uids", action="store_true", help="same as --retain uids")
    p.add_argument(
        "--uid-map", type=Path, metavar="FILE.json", help="UID map to load (if present) and save"
    )
    p.add_argument(
        "--date-shift",
        type=int,
        metavar="DAYS",
        help="days added to dates (with --retain modified-dates; default: derived per patient)",
    )
    p.add_argument(
        "--salt",
        help="key for UID replacement and date shifts (default: random, "
        "or the one stored in --uid-map)",
    )
    p.add_argument(
        "--patient-id",
        help="Patient ID to write (default: empty, or a dummy where the IOD requires a value)",
    )
    p.add_argument("--patient-name", help="Patient's Name to write (default: empty)")
    p.add_argument(
        "--force",
        action="store_true",
        help="read files without the DICM prefix and File Meta (e.g. raw data sets) too",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar (on a terminal), no summary"
    )
    p.set_defaults(func=run)


def _files(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _err(message: str) -> None:
    print(f"dicomkit anonymize: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    # The profile tables (and the information model they consult) are large: import on use.
    from dicomkit.deid import DEFAULT_DUMMIES, Option, UIDMap, deidentify

    options = {Option[RETAIN[r]] for r in args.retain} | {Option[CLEAN[c]] for c in args.clean}
    if args.keep_uids:
        options.add(Option.RETAIN_UIDS)
    if {
        Option.RETAIN_LONGITUDINAL_FULL_DATES,
        Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
    } <= options:
        _err("choose one of --retain full-dates and --retain modified-dates")
        return 2
    if args.date_shift is not None and Option.RETAIN_LONGITUDINAL_MODIFIED_DATES not in options:
        _err("--date-shift needs --retain modified-dates")
        return 2
    src: Path = args.input
    if not src.exists():
        _err(f"{src} does not exist")
        return 2
    try:
        uid_map = (
            UIDMap.load(args.uid_map)
            if args.uid_map and args.uid_map.exists()
            else UIDMap(args.salt)
        )
    except (ValueError, OSError) as exc:
        _err(str(exc))
        return 2
    if args.salt is not None:
        uid_map.salt = args.salt.encode("utf-8")
    dummies: dict[Any, Any] = dict(DEFAULT_DUMMIES)
    if args.patient_id is not None:
        dummies[tags.PatientID] = args.patient_id
    if args.patient_name is not None:
        dummies[tags.PatientName] = args.patient_name

    def one(path: Path, dst: Path) -> None:
        ds = dicomkit.read(path, force=args.force)
        out = deidentify(
            ds,
            options=options,
            uid_map=uid_map,
            dummy=dummies,
            date_shift=args.date_shift,
            in_place=True,
            patient_id=args.patient_id,
            patient_name=args.patient_name,
        )
        dst.parent.mkdir(parents=True, exist_ok=True)
        dicomkit.write(out, dst, atomic=True)  # dst may be the file just read

    failures = 0
    if src.is_file():
        dst = args.output / src.name if args.output.is_dir() else args.output
        pairs = [(src, dst)]
    else:
        out_root = args.output.resolve()
        pairs = [
            (p, args.output / p.relative_to(src))
            for p in _files(src)
            if out_root not in p.resolve().parents
        ]  # OUT may lie inside IN
    from dicomkit.cli._progress import Progress

    progress = Progress(len(pairs), enabled=not args.quiet)
    errors: list[str] = []
    for path, dst in pairs:
        ok = True
        try:
            one(path, dst)
        except (DicomError, OSError, ValueError) as exc:
            failures += 1
            errors.append(f"{path}: {error_text(exc, args)}")
            ok = False
        progress.step(str(path), ok=ok)
        if ok and not args.quiet and (vars(args).get("verbose", 0) or len(pairs) == 1):
            print(f"{path} -> {dst}")
    progress.close()
    for line in errors:
        _err(line)
    written = len(pairs) - failures
    if not args.quiet:
        print(f"dicomkit anonymize: {written} file(s) written to {args.output}", file=sys.stderr)
    if args.uid_map:
        uid_map.save(args.uid_map)
    if failures:
        _err(f"{failures} of {len(pairs)} file(s) failed")
        return 1
    return 0
