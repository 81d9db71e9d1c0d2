"""``dicomkit dump FILE...``: print data sets as an indented tree (in the spirit of dcmdump).

Each line shows tag, VR, VM, value length (``u/l`` for undefined length), keyword and value;
sequence items are indented under their sequence, long values are shortened to
``--max-width``. ``--meta`` adds the File Meta group, ``--json`` / ``--xml`` print the PS3.18
DICOM JSON / PS3.19 Native DICOM Model instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from dicomkit.core._dataset import Dataset
from dicomkit.core._element import DataElement
from dicomkit.errors import DicomError, InvalidDicomError

_HEX_PREVIEW = 24


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "dump",
        help="print DICOM files as a tree",
        description="Print DICOM files: tag, VR, VM, length, keyword and value, with sequence "
        "items indented.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="DICOM file(s) to dump ('-': stdin)")
    p.add_argument("--meta", "-M", action="store_true", help="include the File Meta group")
    p.add_argument(
        "--max-width",
        "-w",
        type=int,
        default=120,
        metavar="N",
        help="shorten lines to N characters (0: never; default 120)",
    )
    p.add_argument("--stop-before-pixels", action="store_true", help="do not read the pixel data")
    p.add_argument(
        "--convert-un",
        action="store_true",
        help="give UN elements the VR the data dictionary or the private dictionary knows "
        "(like dcmdump +u; default: UN as in the file)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--lenient",
        action="store_true",
        help="read damaged files leniently: print what can be read, the problems on stderr, "
        "exit 0 (default: a file that does not read strictly is dumped as far as it can be "
        "read, with what could not be read, and exits 1)",
    )
    mode.add_argument(
        "--strict",
        action="store_true",
        help="only dump files that read without error (exit 2 otherwise)",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print DICOM JSON (PS3.18 F)")
    fmt.add_argument("--xml", action="store_true", help="print Native DICOM Model XML (PS3.19 A)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dicomkit.io._part10 import read

    status = 0
    many = len(args.files) > 1
    out: TextIO = sys.stdout
    for path in args.files:
        source: Any = sys.stdin.buffer if path == "-" else path
        if path == "-" and not (args.lenient or args.strict):
            source = sys.stdin.buffer.read()  # may be read twice (strict, then lenient)
        fatal: InvalidDicomError | None = None
        ds: Dataset | None
        try:
            ds = read(
                source,
                stop_before_pixels=args.stop_before_pixels,
                lenient=args.lenient,
                known_vr_for_un=args.convert_un,
            )
        except InvalidDicomError as exc:
            # like dcmdump: show what can be read, then say what could not be
            fatal = exc
            ds = None
            if not args.strict:
                try:
                    ds = read(
                        source,
                        stop_before_pixels=args.stop_before_pixels,
                        lenient=True,
                        known_vr_for_un=args.convert_un,
                    )
                except (DicomError, OSError):
                    ds = None
            if ds is None:
                print(f"dicomkit dump: {path}: {_one_line(exc)}", file=sys.stderr)
                status = 2
                continue
        except (DicomError, OSError) as exc:
            print(f"dicomkit dump: {path}: {_one_line(exc)}", file=sys.stderr)
            status = 2
            continue
        assert ds is not None
        if fatal is not None:
            status = max(status, 1)
        if args.json or args.xml:
            text = _render_other(ds, "json" if args.json else "xml")
            if text is None:
                return 2
            out.write(text if text.endswith("\n") else text + "\n")
            continue
        if many:
            out.write(f"# {path}\n")
        out.writelines(
            line + "\n" for line in dump_lines(ds, meta=args.meta, max_width=args.max_width)
        )
        for err in ds.read_errors:
            print(f"dicomkit dump: {path}: {_one_line(err)}", file=sys.stderr)
        if fatal is not None:
            out.write(f"# could not read the rest: {_one_line(fatal)}\n")
            print(
                f"dicomkit dump: {path}: not a clean read; printed what could be read "
                "(--lenient: accept it, --strict: refuse it)",
                file=sys.stderr,
            )
    return status


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _render_other(ds: Dataset, kind: str) -> str | None:
    import importlib

    try:
        module = importlib.import_module(f"dicomkit.io._{kind}")
    except ModuleNotFoundError:
        print(
            f"dicomkit dump: --{kind} needs dicomkit.io._{kind}, which this installation "
            "does not have",
            file=sys.stderr,
        )
        return None
    if kind == "json":
        obj = module.to_json(ds)
        return obj if isinstance(obj, str) else json.dumps(obj, indent=2, ensure_ascii=False)
    return str(module.to_xml(ds))


def dump_lines(ds: Dataset, *, meta: bool = False, max_width: int = 120) -> Iterator[str]:
    """The dump of ``ds`` line by line (``meta``: the File Meta group first)."""
    if meta and ds.file_meta is not None:
        yield "# File Meta Information"
        yield from _lines(ds.file_meta, 0, max_width)
        yield "# Data Set"
    yield from _lines(ds, 0, max_width)


def _keyword(ds: Dataset, el: DataElement) -> str:
    tag = int(el.tag)
    if tag >> 16 & 1:
        lo = tag & 0xFFFF
        if 0x10 <= lo <= 0xFF:
            return "PrivateCreator"
        if lo >= 0x1000:
            creator = ds.get((tag & 0xFFFF0000) | (lo >> 8))
            if isinstance(creator, str) and creator:
                from dicomkit.dictionary import private_entry

                entry = private_entry(tag, creator.strip())
                if entry is not None and entry.keyword:
                    return f"[{creator.strip()}] {entry.keyword}"
                return f"[{creator.strip()}]"
        return "Private"
    kw = el.keyword
    if kw:
        return kw
    return "GroupLength" if tag & 0xFFFF == 0 else "Unknown"


def _lines(ds: Dataset, depth: int, width: int) -> Iterator[str]:
    pad = "  " * depth
    for el in ds.elements():
        kw = _keyword(ds, el)
        if el.vr == "SQ":
            items = el.value or []
            length = "u/l" if el.is_undefined_length else "-"
            yield _fit(f"{pad}{el.tag} SQ {1:>2} {length:>6} {kw}", f"({len(items)} items)", width)
            for i, item in enumerate(items, 1):
                ul = " u/l" if item.is_undefined_length_item else ""
                yield f"{pad}  (FFFE,E000) item {i}{ul}"
                yield from _lines(item, depth + 2, width)
            continue
        length = "u/l" if el.is_undefined_length else str(el.length if el.length >= 0 else "-")
        try:
            vm = el.VM
            text = format_value(el)
        except DicomError as exc:
            vm = 0
            text = f"<cannot decode: {_one_line(exc)}>"
        yield _fit(f"{pad}{el.tag} {el.vr} {vm:>2} {length:>6} {kw}", text, width)


def _fit(head: str, value: str, width: int) -> str:
    line = f"{head:<60} {value}" if value else head
    if width and len(line) > width:
        line = line[: max(width - 3, len(head))] + "..."
    return line


def format_value(el: DataElement) -> str:
    """A one-line rendering of an element's value."""
    if el.is_undefined_length and el.vr != "SQ":
        raw = el.raw if el.raw is not None else el.value
        return f"<encapsulated, {len(raw)} bytes>"
    v = el.value
    if v is None:
        return ""
    if isinstance(v, (bytes, bytearray, memoryview)):
        data = bytes(v[:_HEX_PREVIEW])
        hexes = " ".join(f"{b:02x}" for b in data)
        return f"({len(v)} bytes) {hexes} ..." if len(v) > _HEX_PREVIEW else hexes
    if isinstance(v, list):
        return "\\".join(_scalar(x) for x in v)
    return _scalar(v)


def _scalar(v: Any) -> str:
    text = str(v)
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
