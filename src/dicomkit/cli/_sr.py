"""``dicomkit sr dump|html|xml|validate|build``: Structured Reporting documents.

``dump`` prints the content tree (like DCMTK's dsrdump), ``html`` a readable page (like
dsr2html), ``xml`` the PS3.19 Native DICOM Model XML, ``validate`` the content-tree
constraints of the document's IOD (PS3.3 A.35), ``dose`` the CT dose summary of a radiation
dose report (TID 10011) as a table, ``build`` a new SR from a JSON description (see the SR
documentation page). Exit status: 0 fine, 1 constraint errors, 2 unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dicomkit.errors import DicomError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sr",
        help="Structured Reports: dump, html, xml, validate, dose, build",
        description="Structured Reporting: print the content tree of SR files (dump), render "
        "them as HTML or PS3.19 XML, check their content-tree constraints, or build one from "
        "a JSON description.",
    )
    sub = p.add_subparsers(dest="sr_command", metavar="ACTION", required=True)
    d = sub.add_parser("dump", help="print the content tree (like dsrdump)")
    d.add_argument("files", nargs="+", type=Path, metavar="FILE")
    d.add_argument("--no-header", action="store_true", help="only the content tree")
    h = sub.add_parser("html", help="render as HTML (like dsr2html)")
    h.add_argument("file", type=Path, metavar="FILE")
    h.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    x = sub.add_parser("xml", help="the whole data set as PS3.19 Native DICOM Model XML")
    x.add_argument("file", type=Path, metavar="FILE")
    x.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    v = sub.add_parser("validate", help="check the content tree against the IOD's constraints")
    v.add_argument("files", nargs="+", type=Path, metavar="FILE")
    dose = sub.add_parser("dose", help="the CT dose summary of a radiation dose SR as a table")
    dose.add_argument("files", nargs="+", type=Path, metavar="FILE")
    b = sub.add_parser("build", help="build an SR from a JSON description")
    b.add_argument("description", type=Path, metavar="REPORT.json")
    b.add_argument("-o", "--output", type=Path, required=True, help="the SR file to write")
    p.set_defaults(func=run)


def _out(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def _print_dose(doc: Any, path: Path | None) -> None:
    from dicomkit.sr._codes import DCM
    from dicomkit.sr.templates import _dose as dose

    if path is not None:
        print(f"# {path}")
    if doc.root.find(DCM.CTAcquisition, recursive=False) is not None:
        ct = dose.ct_dose_summary(doc)
        print(f"CT Dose Length Product Total: {ct.total_dlp} mGy.cm")
        print(f"Total Number of Irradiation Events: {ct.events}")
        sys.stdout.write(dose.format_table(ct.table()))
        return
    projection = dose.projection_dose_summary(doc)
    for name, value in projection.totals.items():
        print(f"{name}: {value}")
    sys.stdout.write(dose.format_table(projection.table()))


def run(args: argparse.Namespace) -> int:
    from dicomkit import sr

    action = args.sr_command
    try:
        if action == "build":
            from dicomkit.sr.templates._build_json import build_from_json

            try:
                description = json.loads(args.description.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                print(
                    f"dicomkit sr build: {args.description}: not valid JSON ({exc}); fix the "
                    "description file",
                    file=sys.stderr,
                )
                return 2
            doc = build_from_json(description, base=args.description.parent)
            problems = doc.check()
            for problem in problems:
                print(f"dicomkit sr build: {problem}", file=sys.stderr)
            doc.save(args.output)
            return 1 if problems else 0
        files = args.files if hasattr(args, "files") else [args.file]
        status = 0
        for path in files:
            try:
                doc = sr.read(path)
            except (DicomError, OSError) as exc:
                print(f"dicomkit sr {action}: {path}: cannot read an SR: {exc}", file=sys.stderr)
                status = 2
                continue
            if action == "dump":
                if len(files) > 1:
                    print(f"# {path}")
                sys.stdout.write(sr.render.text(doc, header=not args.no_header))
            elif action == "html":
                _out(sr.render.html(doc), args.output)
            elif action == "xml":
                _out(sr.render.xml(doc), args.output)
            elif action == "dose":
                _print_dose(doc, path if len(files) > 1 else None)
            else:
                problems = doc.check()
                name = doc.iod_name or "unknown SR IOD"
                print(f"{path}: {name}: {len(problems)} problem(s)")
                for problem in problems:
                    print(f"Error - {problem}")
                if problems:
                    status = max(status, 1)
        return status
    except DicomError as exc:
        print(f"dicomkit sr {action}: {exc}", file=sys.stderr)
        return 2
