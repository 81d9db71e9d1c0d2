"""``dicomkit validate FILE...``: check files against their IOD (PS3.3) and the data dictionary,
one finding per line in the manner of dciodvfy::

    Error - (0020,000D) StudyInstanceUID: missing attribute, Type 1 required [module GeneralStudy]

Exit status: 0 no errors (warnings allowed), 1 at least one error, 2 a file could not be read.
``--json`` prints one JSON document: ``{"files": [{"path", "iod", "findings": [...]}]}``.
``--lenient`` reads what can be read of a damaged file (PS3.10 files a strict read refuses)
and validates that; what the read had to skip is reported first, as errors at the element
where it happened.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import dicomkit
from dicomkit.dictionary import tags
from dicomkit.errors import DicomError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "validate",
        help="check files against their IOD (like dciodvfy)",
        description="Check DICOM files against the IOD of their SOP class (PS3.3): Type 1/2/1C/2C "
        "attributes, enumerated values, sequence contents, VR and VM against the "
        "data dictionary. Exit 1 if any error was found.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="DICOM files")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument(
        "--errors-only",
        action="store_true",
        help="print errors only (not warnings nor what could not be checked)",
    )
    p.add_argument(
        "--lenient",
        action="store_true",
        help="read damaged files as far as they can be read; what was skipped is an error",
    )
    p.add_argument(
        "--no-not-checked",
        action="store_true",
        help="leave out conditions that could not be evaluated",
    )
    p.set_defaults(func=run)


def _shown(findings: list[Any], args: argparse.Namespace) -> list[Any]:
    if args.errors_only:
        return [f for f in findings if f.severity == "error"]
    if args.no_not_checked:
        return [f for f in findings if f.severity != "not-checked"]
    return findings


def _read_finding(err: Any) -> Any:
    """What a lenient read skipped, as an error at the element where it happened."""
    from dicomkit.core._tag import format_tag
    from dicomkit.iod import Finding

    tag = getattr(err, "tag", None) or 0
    return Finding("error", format_tag(tag) if tag else "/", "", f"read: {err}", tag)


def run(args: argparse.Namespace) -> int:
    # The information model tables are large: import them only when validating.
    from dicomkit.iod import sop_class, validate

    status = 0
    report: list[dict[str, Any]] = []
    many = len(args.files) > 1
    for path in args.files:
        try:
            ds = dicomkit.read(path, lenient=args.lenient)
        except (DicomError, OSError) as exc:
            hint = "" if args.lenient else " (try --lenient to validate what can be read)"
            print(f"dicomkit validate: {path}: cannot read: {exc}{hint}", file=sys.stderr)
            status = 2
            continue
        findings = [_read_finding(err) for err in ds.read_errors] + validate(ds)
        if any(f.severity == "error" for f in findings):
            status = max(status, 1)
        shown = _shown(findings, args)
        sop = sop_class(str(ds.get(tags.SOPClassUID) or ""))
        iod_name = sop.iod_name if sop else ""
        if args.json:
            report.append(
                {"path": str(path), "iod": iod_name, "findings": [f.as_dict() for f in shown]}
            )
            continue
        if many:
            print(f"{path}:")
        if iod_name:
            print(f"{iod_name}")
        for finding in shown:
            print(str(finding))
    if args.json:
        json.dump({"files": report}, sys.stdout, indent=1)
        print()
    return status
